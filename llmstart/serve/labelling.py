"""Label many texts with a fine-tuned classifier: lists in memory, or a whole CSV streamed in chunks.

Empty texts are reported, never labelled: they get no label and no score. ``score`` is the
probability of the predicted label, as ``TextClassifier.predict`` and ``llmstart serve`` name and
compute it (the model folder's temperature applied). A CSV is read
``chunksize`` rows at a time and each labelled chunk is appended to a temporary file that
replaces the output only when every row is done, so a file of any size labels in constant
memory, keeps its columns and row order, and never leaves half an output behind.

>>> class Echo:  # anything with predict(texts) -> [{"label", "score"}] works
...     def predict(self, texts, batch_size=32):
...         return [{"label": t.split()[0], "score": 1.0} for t in texts]
>>> label_texts(Echo(), ["good day", "  ", "bad day"])
[('good', 1.0), (None, None), ('bad', 1.0)]
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["predict_texts", "label_texts", "label_csv", "LabelStats", "output_columns", "json_row"]


def predict_texts(clf, texts: Sequence[str], batch_size: int = 32) -> list[dict | None]:
    """``clf.predict``'s dict per text, in order; ``None`` for an empty text.

    Texts are batched by length (less padding), and put back in their order.

    >>> class First:
    ...     def predict(self, texts, batch_size=32):
    ...         return [{"label": t.split()[0], "score": 1.0} for t in texts]
    >>> predict_texts(First(), ["good day", ""])
    [{'label': 'good', 'score': 1.0}, None]
    """
    keep = [i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]
    order = sorted(keep, key=lambda i: len(texts[i]))
    results = clf.predict([texts[i] for i in order], batch_size=batch_size) if order else []
    out: list[dict | None] = [None] * len(texts)
    for i, r in zip(order, results, strict=True):
        out[i] = r
    return out


def label_texts(clf, texts: Sequence[str], batch_size: int = 32) -> list[tuple[str | None, float | None]]:
    """``(label, score)`` per text, in order (the score to 6 decimals); ``(None, None)`` for an empty text."""
    return [(None, None) if r is None else (r["label"], round(float(r["score"]), 6))
            for r in predict_texts(clf, texts, batch_size)]


def json_row(text: str, result: dict | None, **extra) -> dict:
    """One ``predict --json`` object: the text and the prediction with ``serve``'s field names
    (``label``, ``score``, ``abstain``, ``scores``), or an ``error`` for an empty text.

    >>> json_row("hi", {"label": "a", "score": 0.9, "abstain": False, "scores": {"a": 0.9, "b": 0.1}})
    {'text': 'hi', 'label': 'a', 'score': 0.9, 'abstain': False, 'scores': {'a': 0.9, 'b': 0.1}}
    >>> json_row("", None, row=3)
    {'row': 3, 'text': '', 'label': None, 'score': None, 'error': 'empty text: not labelled'}
    """
    if result is None:
        return {**extra, "text": text, "label": None, "score": None, "error": "empty text: not labelled"}
    return {**extra, "text": text, **{k: result[k] for k in ("label", "score", "abstain", "scores") if k in result}}


def output_columns(columns: Sequence[str]) -> tuple[str, str]:
    """Names of the two added columns: ``label``/``score``, prefixed when the input has them.

    >>> output_columns(["text"]), output_columns(["text", "label"])
    (('label', 'score'), ('predicted_label', 'predicted_score'))
    """
    if "label" in columns or "score" in columns:
        return "predicted_label", "predicted_score"
    return "label", "score"


@dataclass
class LabelStats:
    """What :func:`label_csv` did."""

    rows: int = 0
    labelled: int = 0
    empty_rows: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def summary(self, source: str) -> str:
        """One line for the user.

        >>> LabelStats(rows=3, labelled=2, empty_rows=[1], seconds=1.5).summary("a.csv")
        'a.csv: labelled 2 of 3 rows in 1.5 s (2 rows/s); 1 empty text(s) not labelled: row 1 (line 3)'
        """
        line = (f"{source}: labelled {self.labelled:,} of {self.rows:,} rows in {self.seconds:.1f} s "
                f"({self.rows_per_second:,.0f} rows/s)")
        if self.empty_rows:
            shown = ", ".join(f"row {i} (line {i + 2})" for i in self.empty_rows[:5])
            more = f" and {len(self.empty_rows) - 5} more" if len(self.empty_rows) > 5 else ""
            line += f"; {len(self.empty_rows)} empty text(s) not labelled: {shown}{more}"
        return line


def _chunks(path: Path, text_col: str, encoding: str, sep: str | None, chunksize: int) -> Iterator[pd.DataFrame]:
    from llmstart.data import DataValidationError
    from llmstart.data.read import read_csv_chunks

    for i, chunk in enumerate(read_csv_chunks(path, encoding=encoding, sep=sep, chunksize=chunksize)):
        if i == 0 and text_col not in chunk.columns:
            raise DataValidationError(f"{path}: no text column {text_col!r}: pass --text-col NAME "
                                      f"(columns found: {[str(c) for c in chunk.columns]})")
        yield chunk


def label_csv(clf, path: str | Path, text_col: str, out: str | Path | None, *, encoding: str = "utf-8",
              sep: str | None = None, chunksize: int = 1000, batch_size: int = 32, json_lines=None,
              stream=None) -> LabelStats:
    """Label every row of a CSV/TSV, ``chunksize`` rows at a time; returns :class:`LabelStats`.

    ``out``: a CSV with the input's columns (as text, unchanged) plus label and score,
    written atomically; or ``stream``: an open text file (e.g. ``sys.stdout``) the labelled
    chunks are written to as they come. ``json_lines``: a callable that receives one dict per row.

    >>> import tempfile, os
    >>> class Echo:
    ...     def predict(self, texts, batch_size=32):
    ...         return [{"label": t[0], "score": 0.9} for t in texts]
    >>> d = tempfile.mkdtemp(); src = os.path.join(d, "in.csv"); dst = os.path.join(d, "out.csv")
    >>> _ = open(src, "w").write("id,msg\\n007,apple\\n008,\\n009,banana\\n")
    >>> label_csv(Echo(), src, "msg", dst, chunksize=2).labelled
    2
    >>> print(open(dst).read().strip())
    id,msg,label,score
    007,apple,a,0.9
    008,,,
    009,banana,b,0.9
    """
    path, stats, tic = Path(path), LabelStats(), time.perf_counter()
    target = Path(out) if out is not None else None
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp") if target is not None else None
    try:
        for chunk in _chunks(path, text_col, encoding, sep, chunksize):
            texts = chunk[text_col].fillna("").astype(str).tolist()
            predictions = predict_texts(clf, texts, batch_size)
            results = [(None, None) if r is None else (r["label"], round(float(r["score"]), 6)) for r in predictions]
            label_col, conf_col = output_columns(list(chunk.columns))
            chunk[label_col] = [r[0] for r in results]
            chunk[conf_col] = [r[1] for r in results]
            for j, (label, _) in enumerate(results):
                if label is None:
                    stats.empty_rows.append(stats.rows + j)
            stats.labelled += sum(r[0] is not None for r in results)
            if tmp is not None:
                chunk.to_csv(tmp, mode="a" if stats.rows else "w", header=not stats.rows, index=False)
            elif stream is not None:
                chunk.to_csv(stream, header=not stats.rows, index=False)
            if json_lines is not None:
                for j, (text, r) in enumerate(zip(texts, predictions, strict=True)):
                    json_lines(json_row(text, r, row=stats.rows + j))
            stats.rows += len(chunk)
        if tmp is not None:
            if not stats.rows:
                from llmstart.data import DataValidationError

                raise DataValidationError(f"{path}: no rows of data (only the header line): nothing to label.")
            os.replace(tmp, target)
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()
    stats.seconds = time.perf_counter() - tic
    return stats
