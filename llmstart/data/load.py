"""One entry point for data: a course corpus name, a file, a DataFrame, or a Hub dataset id.

>>> load_data("bbc_news").shape[0]
2225
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from llmstart.data.read import read_table
from llmstart.data.validate import DataValidationError, validate_frame


def load_data(
    source: str | Path | pd.DataFrame,
    text_col: str = "text",
    label_col: str | None = "label",
    split: str = "train",
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Load and validate a dataset; returns a DataFrame with ``text`` and ``label`` columns.

    ``source`` is a course corpus name (see :data:`llmstart.corpora.CORPORA`), a file path
    (``.csv .tsv .jsonl .json .parquet``), a DataFrame, or a Hugging Face Hub dataset id such as
    ``"stanfordnlp/sst2"`` (online; ``text_col`` then names its text column, e.g. ``"sentence"``).
    This fills in the ``load_data()`` that the article's §5.2 snippet calls but never defines.

    >>> df = load_data(pd.DataFrame({"message": ["hi", "yo"], "team": ["a", "b"]}), "message", "team")
    >>> df.columns.tolist()
    ['text', 'label']
    """
    from llmstart.corpora import CORPORA

    if isinstance(source, pd.DataFrame):
        df, where = source.copy(), "the DataFrame"
    elif str(source) in CORPORA:
        df, where = CORPORA[str(source)].load(), str(source)
    elif Path(source).suffix or Path(source).exists():
        df, where = read_table(source, encoding), str(source)
    else:
        df, where = _hub_dataset(str(source), split, label_col), str(source)
    validate_frame(df, text_col, label_col, where)
    rename = {text_col: "text"}
    if label_col:
        rename[label_col] = "label"
    attrs = dict(df.attrs)
    df = df.rename(columns=rename)
    df.attrs = attrs
    return df


def _hub_dataset(name: str, split: str, label_col: str | None) -> pd.DataFrame:
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    from llmstart.corpora import CORPORA
    from llmstart.models.hub import is_offline

    hint = "Use a course corpus instead: " + ", ".join(CORPORA) + ", or a local file."
    if is_offline():
        raise DataValidationError(
            f"{name!r} is not a course corpus or an existing file, and this machine is offline, so it "
            f"cannot be a Hub dataset. {hint}")
    try:
        ds = datasets.load_dataset(name, split=split)
    except (DatasetNotFoundError, FileNotFoundError, ConnectionError, ValueError) as err:
        raise DataValidationError(
            f"Could not load the Hub dataset {name!r} (split {split!r}): {type(err).__name__}: {err}. {hint}"
        ) from err
    df = ds.to_pandas()
    feature = ds.features.get(label_col) if label_col else None
    if feature is not None and hasattr(feature, "names"):
        df[label_col] = [feature.names[i] if i >= 0 else None for i in df[label_col]]
    return df
