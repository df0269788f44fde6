"""Split a table into train / validation / test: stratified, after dropping duplicate texts.

>>> from llmstart.data import load_data
>>> splits = split_frame(load_data("bbc_news"), seed=0)
>>> sum(splits.sizes().values()) == 2225 - splits.report["duplicates_dropped"]
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from llmstart.data.validate import (
    DataValidationError,
    label_names_of,
    label_strings,
    validate_frame,
)


@dataclass
class Splits:
    """Train / validation / test tables with the label names they share."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    label_names: list[str]
    report: dict = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        """Rows per split.

        >>> Splits(pd.DataFrame({"text": ["a"]}), pd.DataFrame(), pd.DataFrame(), ["x"]).sizes()
        {'train': 1, 'val': 0, 'test': 0}
        """
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def label_counts(self) -> pd.DataFrame:
        """Examples per label and split (a table to eyeball class balance)."""
        return pd.DataFrame(
            {name: part.label.astype(str).value_counts() for name, part in
             [("train", self.train), ("val", self.val), ("test", self.test)]}
        ).reindex(self.label_names).fillna(0).astype(int)


def check_splits(splits: Splits, text_col: str = "text", label_col: str = "label") -> None:
    """Check that splits are usable: each label present in each split, no text in two splits.

    >>> a = pd.DataFrame({"text": ["x", "y"], "label": ["p", "q"]})
    >>> check_splits(Splits(a, a.iloc[:0], a.iloc[:0], ["p", "q"]))
    Traceback (most recent call last):
    ...
    llmstart.data.validate.DataValidationError: label 'p' is absent from the val split (train has 1, val 0, test 0). Add examples of it or drop the label.
    """
    parts = {"train": splits.train, "val": splits.val, "test": splits.test}
    counts = {n: label_strings(p[label_col]).value_counts() for n, p in parts.items()}
    for label in splits.label_names:
        for name in parts:
            if counts[name].get(label, 0) == 0:
                n = {k: int(c.get(label, 0)) for k, c in counts.items()}
                raise DataValidationError(
                    f"label {label!r} is absent from the {name} split (train has {n['train']}, "
                    f"val {n['val']}, test {n['test']}). Add examples of it or drop the label."
                )
    seen: dict[str, str] = {}
    for name, part in parts.items():
        for i, text in zip(part.index, part[text_col].astype(str).str.strip(), strict=True):
            other = seen.get(text)
            if other is not None and other != name:
                raise DataValidationError(
                    f"the same text is in the {other} and {name} splits (e.g. {name} row {i}: "
                    f"{text[:60]!r}). Duplicates leak test answers into training: de-duplicate "
                    "before splitting (split_frame does this)."
                )
            seen.setdefault(text, name)


def split_frame(
    df: pd.DataFrame,
    val_size: float = 0.1,
    test_size: float = 0.2,
    seed: int = 0,
    text_col: str = "text",
    label_col: str = "label",
    max_per_label: int | None = None,
) -> Splits:
    """Stratified train/validation/test split, after dropping duplicate texts (reported).

    ``max_per_label`` subsamples each label first (a quick CPU profile). Texts that appear
    twice are kept once, so no example can sit in both train and test;
    ``splits.report["duplicates_dropped"]`` says how many went. Every label needs 3 distinct
    texts, and 3 are enough: a rare label the stratified split leaves out of validation or test
    gets one of its training rows moved there (``splits.report["rare_labels"]`` says so).

    >>> from llmstart.data import load_data
    >>> s = split_frame(load_data("bbc_news"), seed=0)
    >>> s.sizes()["test"] > 400 and s.label_names[0] == "business"
    True
    >>> few = pd.DataFrame({"text": [f"t{i}" for i in range(23)], "label": ["a", "b"] * 10 + ["c"] * 3})
    >>> split_frame(few).label_counts().loc["c"].tolist()
    [1, 1, 1]
    """
    validate_frame(df, text_col, label_col)
    df = df.reset_index(drop=True)
    key = df[text_col].astype(str).str.strip()
    dup = key.duplicated(keep="first")
    conflicts = int(df[key.duplicated(keep=False)].groupby(key)[label_col].nunique().gt(1).sum())
    data = df[~dup]
    if max_per_label is not None:
        groups = data.groupby(label_strings(data[label_col]).to_numpy())
        data = pd.concat([g.sample(min(len(g), max_per_label), random_state=seed) for _, g in groups])
    names = label_names_of(data[label_col])
    counts = label_strings(data[label_col]).value_counts()
    too_few = counts[counts < 3]
    if len(too_few):
        raise DataValidationError(
            f"column {label_col!r}: label(s) {sorted(too_few.index)} have fewer than 3 examples, so they "
            "cannot appear in train, validation and test. Add examples or drop those rows."
        )
    parts, how = _stratified(data, label_col, val_size, test_size, seed)
    parts, moved = _one_of_each(parts, label_col, names, seed)
    train, val, test = parts
    report = {"rows_in": len(df), "duplicates_dropped": int(dup.sum()),
              "duplicates_with_conflicting_labels": conflicts, "seed": seed}
    if moved or how:
        report["rare_labels"] = how or (f"{moved} row(s) of rare labels moved from train so that each label "
                                        "is in every split")
    splits = Splits(train.reset_index(drop=True), val.reset_index(drop=True),
                    test.reset_index(drop=True), names, report)
    check_splits(splits, text_col, label_col)
    return splits


def _stratified(data: pd.DataFrame, label_col: str, val_size: float, test_size: float, seed: int):
    """scikit-learn's stratified train/val/test split; when it refuses (a split smaller than the
    number of labels), a split per label with at least one row of each label in each part."""
    from sklearn.model_selection import train_test_split

    try:
        train_val, test = train_test_split(data, test_size=test_size, random_state=seed,
                                           stratify=label_strings(data[label_col]))
        train, val = train_test_split(train_val, test_size=val_size / (1 - test_size), random_state=seed,
                                      stratify=label_strings(train_val[label_col]))
        return (train, val, test), None
    except ValueError:
        if not (0 < val_size < 1 and 0 < test_size < 1 and val_size + test_size < 1):
            raise
    parts: tuple[list, list, list] = ([], [], [])
    for _, group in data.groupby(label_strings(data[label_col]).to_numpy(), sort=True):
        group = group.sample(frac=1, random_state=seed)
        n = len(group)
        n_test = min(n - 2, max(1, round(n * test_size)))
        n_val = min(n - n_test - 1, max(1, round(n * val_size)))
        for part, rows in zip(parts, (group.iloc[n_test + n_val:], group.iloc[n_test:n_test + n_val],
                                      group.iloc[:n_test]), strict=True):
            part.append(rows)
    how = (f"{len(data)} rows are too few for scikit-learn's stratified split of {data[label_col].nunique()} "
           "labels: each label was split on its own, at least one row in each split")
    return tuple(pd.concat(p) for p in parts), how


def _one_of_each(parts, label_col: str, names: list[str], seed: int):
    """Move one row of a label from the split holding most of it into a split that has none
    (a label with 3 rows may get 0 in validation or test from a stratified split by rounding)."""
    parts, moved = list(parts), 0
    for label in names:
        for target in range(3):
            counts = [int(label_strings(p[label_col]).eq(label).sum()) for p in parts]
            if counts[target] or max(counts) < 2:
                continue
            donor = counts.index(max(counts))
            rows = parts[donor][label_strings(parts[donor][label_col]).eq(label).to_numpy()]
            row = rows.sample(1, random_state=seed)
            parts[donor] = parts[donor].drop(row.index)
            parts[target] = pd.concat([parts[target], row])
            moved += 1
    return tuple(parts), moved
