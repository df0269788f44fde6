"""Helpers only the notebooks use: longer teaching experiments, kept out of the cells.

- :mod:`~llmstart.lessons.pretrain`: a tiny character-level causal LM pre-trained from scratch (notebook 01)
- :mod:`~llmstart.lessons.zeroshot`: zero-shot and few-shot classification (notebook 01)
- :mod:`~llmstart.lessons.schedules`: learning-rate schedules and sweeps, gradient noise (notebook 03)
- :mod:`~llmstart.lessons.checks`: check a learner's exercise answer without revealing it
- :mod:`~llmstart.lessons.results`: results files the notebooks write, read back and checked (the FAQ, notebook 14)

What a startup reuses after the course lives in the rest of the package.
"""
