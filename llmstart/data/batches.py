"""Tokenise a table once and batch it: dynamic padding, batches of similar length.

>>> from llmstart.models.pretrained import load_tokenizer
>>> df = pd.DataFrame({"text": ["a b c d", "a"], "label": ["x", "y"]})
>>> batch = next(iter(make_loader(df, load_tokenizer("minilm"), ["x", "y"], batch_size=2)))
>>> sorted(batch)
['attention_mask', 'input_ids', 'labels', 'token_type_ids']
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from llmstart.data.validate import label_strings, validate_frame
from llmstart.models.hub import DEFAULT_MAX_LENGTH


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
    max_length: int = DEFAULT_MAX_LENGTH,
    text_col: str = "text",
    label_col: str = "label",
) -> EncodedDataset:
    """Tokenise a table once (truncated, not padded); labels become integer ids.

    >>> from llmstart.models.pretrained import load_tokenizer
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
        labels = [index[s] for s in label_strings(df[label_col])]
    return EncodedDataset(enc, labels)


def make_loader(
    df: pd.DataFrame,
    tokenizer,
    label_names: Sequence[str] | None = None,
    batch_size: int = 32,
    max_length: int = DEFAULT_MAX_LENGTH,
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

    >>> from llmstart.models.pretrained import load_tokenizer
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
