"""Check a table before training: all its problems in one message that names the source,
the user's columns, the rows, and the flag (or argument) that fixes each.

The same checks run on a file and on a DataFrame passed to the Python API.

>>> validate_frame(pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]}))
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["DataValidationError", "validate_frame", "label_strings", "label_names_of"]

REPLACEMENT = "\ufffd"


class DataValidationError(ValueError):
    """The data cannot be used as it is; the message says where and what to do."""


def _rows(index: Sequence, source: str, limit: int = 5) -> str:
    """Human row numbers: for a file, the line number too (header is line 1)."""
    shown = [int(i) for i in list(index)[:limit]]
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    if source.endswith((".csv", ".tsv", ".txt")):
        return ", ".join(f"row {i} (line {i + 2})" for i in shown) + more
    return ", ".join(f"row {i}" for i in shown) + more


def _flag(kind: str) -> str:
    """How to name a column: the CLI flag, and the Python argument."""
    return f"--{kind}-col NAME (Python: {kind}_col='NAME')"


def _likely_text_column(df: pd.DataFrame, exclude: str | None) -> str | None:
    """The column whose values are the longest strings: usually the text."""
    best, length = None, 0.0
    for col in df.columns:
        if col == exclude or not (pd.api.types.is_object_dtype(df[col]) or pd.api.types.is_string_dtype(df[col])):
            continue
        mean = df[col].dropna().astype(str).str.len().mean() if len(df) else 0.0
        if mean == mean and mean > length:
            best, length = str(col), float(mean)
    return best


def _likely_label_column(df: pd.DataFrame, exclude: str | None) -> str | None:
    """A column with few distinct values (2 to 50), repeated: usually the label."""
    candidates = [(df[c].nunique(), str(c)) for c in df.columns
                  if c != exclude and 2 <= df[c].nunique() <= min(50, max(2, len(df) // 2))]
    return min(candidates)[1] if candidates else None


def _column_problems(df: pd.DataFrame, text_col: str, label_col: str | None, source: str) -> list[str]:
    found = [str(c) for c in df.columns]
    problems = []
    if text_col not in df.columns:
        guess = _likely_text_column(df, label_col)
        hint = f" (the text looks like it is in {guess!r})" if guess else ""
        problems.append(f"no column {text_col!r} for the text{hint}: pass {_flag('text')}")
    if label_col is not None and label_col not in df.columns:
        guess = _likely_label_column(df, text_col)
        hint = f" (the labels look like they are in {guess!r})" if guess else ""
        problems.append(f"no column {label_col!r} for the labels{hint}: pass {_flag('label')}")
    if problems:
        problems[-1] += f" (columns found: {found})"
    return problems


def _text_problems(text: pd.Series, col: str, source: str) -> list[str]:
    problems = []
    blank = text.isna() | text.astype(str).str.strip().eq("")
    if blank.any():
        idx = text.index[blank]
        problems.append(f"column {col!r}: {len(idx)} empty or missing text in {_rows(idx, source)}; "
                        "fill in or delete these rows")
    garbled = text.astype(str).str.contains(REPLACEMENT, regex=False) & ~blank
    if garbled.any():
        idx = text.index[garbled]
        problems.append(
            f"column {col!r}: {len(idx)} text(s) contain the replacement character U+FFFD ('{REPLACEMENT}') "
            f"in {_rows(idx, source)}: the text was decoded with the wrong encoding before it got here. "
            "Read the file with its real encoding (--encoding; Python: encoding=...) or repair these rows")
    return problems


def _label_problems(labels: pd.Series, col: str, source: str, label_names: Sequence[str] | None,
                    min_per_label: int, text: pd.Series | None) -> list[str]:
    missing = labels.isna() | labels.astype(str).str.strip().eq("")
    if missing.any():
        idx = labels.index[missing]
        return [f"column {col!r}: {len(idx)} missing label in {_rows(idx, source)}; label these rows or "
                "delete them"]
    if pd.api.types.is_bool_dtype(labels):
        return [f"column {col!r}: holds True/False, not labels. Is this the label column? If it is, "
                "write the classes as names (e.g. yes/no)"]
    if pd.api.types.is_float_dtype(labels):
        frac = labels.astype(float) % 1 != 0
        if frac.any():
            idx = labels.index[frac]
            return [f"column {col!r}: labels must be whole numbers or names, found {labels[idx[0]]!r} in "
                    f"{_rows(idx, source)}. Is this the label column? (--label-col)"]
    strings = label_strings(labels)
    if label_names is not None:
        known = {str(x) for x in label_names}
        unknown = ~strings.isin(known)
        if unknown.any():
            idx = labels.index[unknown]
            values = sorted(set(strings[unknown]))[:5]
            return [f"column {col!r}: unknown label(s) {values} in {_rows(idx, source)}. Known labels: "
                    f"{sorted(known)}. Fix the typo or add the label"]
        return []
    if min_per_label <= 0:
        return []
    counts = (strings[~text.astype(str).str.strip().duplicated()] if text is not None else strings).value_counts()
    if len(counts) < 2:
        return [f"column {col!r} holds one label only ({counts.index[0]!r}): a classifier needs at least two "
                "classes. Add examples of the other classes, or check --label-col"]
    rare = counts[counts < min_per_label]
    if len(rare):
        shown = ", ".join(f"{k!r} ({v})" for k, v in list(rare.sort_values().items())[:8])
        return [f"column {col!r}: label(s) {shown} have fewer than {min_per_label} distinct texts, so they "
                "cannot appear in train, validation and test. Add examples or delete those rows"]
    return []


def validate_frame(
    df: pd.DataFrame,
    text_col: str = "text",
    label_col: str | None = "label",
    source: str = "the DataFrame",
    label_names: Sequence[str] | None = None,
    min_per_label: int = 0,
) -> None:
    """Check a table; raise one :class:`DataValidationError` listing every problem found.

    Checks: at least one row; the columns exist (and which columns look like text and
    labels when they do not); no missing or blank text; no text with U+FFFD replacement
    characters (left by a wrong decoding); no missing labels; numeric labels are whole
    numbers; labels are among ``label_names`` when given. For training data,
    ``min_per_label > 0`` also asks for two classes or more, each with that many distinct texts.

    >>> validate_frame(pd.DataFrame({"msg": ["a", "", "b\\ufffd"], "label": [0, 1, 1]}), text_col="msg")
    Traceback (most recent call last):
    ...
    llmstart.data.validate.DataValidationError: the DataFrame: 2 problems: (1) column 'msg': 1 empty or missing text in row 1; fill in or delete these rows; (2) column 'msg': 1 text(s) contain the replacement character U+FFFD ('\ufffd') in row 2: the text was decoded with the wrong encoding before it got here. Read the file with its real encoding (--encoding; Python: encoding=...) or repair these rows
    """
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(f"{source}: expected a table (pandas DataFrame), got {type(df).__name__}")
    if len(df) == 0:
        where = "only the header line, " if source.endswith((".csv", ".tsv", ".txt")) else ""
        raise DataValidationError(f"{source}: no rows of data ({where}columns {[str(c) for c in df.columns]}). "
                                  "Add rows, one example per row.")
    problems = _column_problems(df, text_col, label_col, source)
    if not problems:
        text = df[text_col]
        if isinstance(text, pd.DataFrame):
            problems.append(f"two columns are named {text_col!r}: rename one")
        else:
            problems += _text_problems(text, text_col, source)
            if label_col is not None:
                problems += _label_problems(df[label_col], label_col, source, label_names, min_per_label, text)
    if len(problems) == 1:
        raise DataValidationError(f"{source}: {problems[0]}")
    if problems:
        numbered = "; ".join(f"({i}) {p}" for i, p in enumerate(problems, 1))
        raise DataValidationError(f"{source}: {len(problems)} problems: {numbered}")


def label_strings(labels: pd.Series) -> pd.Series:
    """Labels as the strings they are stored under (whole-number floats lose their ``.0``).

    >>> label_strings(pd.Series([1.0, 2.0])).tolist()
    ['1', '2']
    """
    if pd.api.types.is_float_dtype(labels) and not labels.isna().any():
        labels = labels.astype("int64")
    return labels.astype(str)


def label_names_of(labels: pd.Series) -> list[str]:
    """Sorted label names (numeric labels sorted as numbers).

    >>> label_names_of(pd.Series([10, 2, 2]))
    ['2', '10']
    """
    if pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels):
        return [str(x) for x in sorted({int(x) for x in labels})]
    return sorted({str(x) for x in labels})
