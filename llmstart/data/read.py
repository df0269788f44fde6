"""Read a table from a file (CSV, TSV, JSONL/JSON, Parquet), checking its encoding first.

>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "d.csv")
>>> _ = open(p, "w").write("text,label\\nhello,pos\\n")
>>> read_table(p).shape
(1, 2)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from llmstart.data.validate import DataValidationError


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
    >>> read_table(p).columns.tolist()
    ['text', 'label']
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path}: no such file. Check the path (current folder: {Path.cwd()}).")
    suffix = path.suffix.lower()
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
