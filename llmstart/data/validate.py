"""Check a table before training: every problem names the source, the column, the rows and the fix.

>>> validate_frame(pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]}))
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


class DataValidationError(ValueError):
    """The data cannot be used as it is; the message says where and what to do."""


def _rows(index: Sequence, source: str, limit: int = 5) -> str:
    """Human row numbers: for a file, the line number too (header is line 1)."""
    shown = [int(i) for i in list(index)[:limit]]
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    if source.endswith((".csv", ".tsv")):
        return ", ".join(f"row {i} (line {i + 2})" for i in shown) + more
    return ", ".join(f"row {i}" for i in shown) + more


def validate_frame(
    df: pd.DataFrame,
    text_col: str = "text",
    label_col: str | None = "label",
    source: str = "the DataFrame",
    label_names: Sequence[str] | None = None,
) -> None:
    """Check a table before training; raise :class:`DataValidationError` on the first problem.

    Checks: the columns exist; no missing or blank text; no missing labels; numeric labels
    are whole numbers; labels are among ``label_names`` when given.

    >>> validate_frame(pd.DataFrame({"text": ["a", ""], "label": [0, 1]}))
    Traceback (most recent call last):
    ...
    llmstart.data.validate.DataValidationError: the DataFrame, column 'text': 1 empty or missing text in row 1. Fill in or delete these rows.
    """
    for col in [text_col] + ([label_col] if label_col else []):
        if col not in df.columns:
            raise DataValidationError(
                f"{source}: no column {col!r}. Columns found: {list(map(str, df.columns))}. "
                f"Pass the right name (e.g. text_col=..., label_col=...)."
            )
    text = df[text_col]
    blank = text.isna() | text.astype(str).str.strip().eq("")
    if blank.any():
        idx = df.index[blank]
        raise DataValidationError(
            f"{source}, column {text_col!r}: {len(idx)} empty or missing text in {_rows(idx, source)}. "
            "Fill in or delete these rows."
        )
    if label_col is None:
        return
    labels = df[label_col]
    missing = labels.isna()
    if missing.any():
        idx = df.index[missing]
        raise DataValidationError(
            f"{source}, column {label_col!r}: {len(idx)} missing label in {_rows(idx, source)}. "
            "Label these rows or delete them."
        )
    if pd.api.types.is_float_dtype(labels) or pd.api.types.is_bool_dtype(labels):
        frac = labels.astype(float) % 1 != 0
        if frac.any() or pd.api.types.is_bool_dtype(labels):
            idx = df.index[frac] if frac.any() else df.index
            raise DataValidationError(
                f"{source}, column {label_col!r}: labels must be whole numbers or names, found "
                f"{labels[idx[0]]!r} in {_rows(idx, source)}. Is this the label column?"
            )
    if label_names is not None:
        known = {str(x) for x in label_names}
        unknown = ~label_strings(labels).isin(known)
        if unknown.any():
            idx = df.index[unknown]
            values = sorted(set(label_strings(labels[unknown])))[:5]
            raise DataValidationError(
                f"{source}, column {label_col!r}: unknown label(s) {values} in {_rows(idx, source)}. "
                f"Known labels: {sorted(known)}. Fix the typo or add the label to label_names."
            )


def label_strings(labels: pd.Series) -> pd.Series:
    """Labels as the strings they are stored under (whole-number floats lose their ``.0``).

    >>> label_strings(pd.Series([1.0, 2.0])).tolist()
    ['1', '2']
    """
    if pd.api.types.is_float_dtype(labels):
        labels = labels.astype("int64")
    return labels.astype(str)


def label_names_of(labels: pd.Series) -> list[str]:
    """Sorted label names (numeric labels sorted as numbers).

    >>> label_names_of(pd.Series([10, 2, 2]))
    ['2', '10']
    """
    if pd.api.types.is_numeric_dtype(labels):
        return [str(x) for x in sorted({int(x) for x in labels})]
    return sorted({str(x) for x in labels})
