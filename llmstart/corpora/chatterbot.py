"""Question/answer turns from ``chatterbot-corpus`` (English, 21 categories)."""

from __future__ import annotations

import pandas as pd

from llmstart.corpora.registry import package_path

SOURCE = "about 2,000 question/answer turns in 21 English categories (package chatterbot-corpus 1.3.3)"


def chatterbot() -> pd.DataFrame:
    """Question/answer turns from ``chatterbot-corpus`` (English, 21 categories).

    Each conversation ``[a, b, c]`` gives the pairs (a, b) and (b, c). Columns:
    ``category``, ``question``, ``answer``, plus ``text`` (= question) and ``label``
    (= category) so the same table serves intent classification.

    >>> df = chatterbot()
    >>> df.category.nunique()
    21
    """
    import yaml

    root = package_path("chatterbot_corpus", "chatterbot-corpus") / "data" / "english"
    rows = []
    for path in sorted(root.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for conv in doc.get("conversations", []):
            turns = [str(t).strip() for t in conv if t is not None and str(t).strip()]
            for q, a in zip(turns, turns[1:], strict=False):
                rows.append({"category": path.stem, "question": q, "answer": a})
    df = pd.DataFrame(rows)
    df["text"], df["label"] = df.question, df.category
    df.attrs["report"] = {"source": SOURCE, "pairs": len(df)}
    return df
