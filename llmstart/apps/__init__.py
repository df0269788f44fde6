"""Applications built from the package's parts (the article's §6), one idea per module.

- :mod:`~llmstart.apps.support`: retrieval, hand-over threshold and reply measures of a support assistant
- :mod:`~llmstart.apps.alerts`: a sentiment monitor's alert rule, injected test streams, precision and lead time
- :mod:`~llmstart.apps.recommend`: time-ordered splits, text recommenders, hit@k / NDCG@k, contrastive fine-tuning
"""
