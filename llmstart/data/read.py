"""Read a table from a file (CSV, TSV, JSONL/JSON, Parquet, Excel), checking its bytes first.

Every problem a new user meets with a file ends in one :class:`DataValidationError` line that
names the file and the flag that fixes it: an empty or binary file, text that is not in the
expected encoding (``--encoding``), a CSV that uses another separator (``--sep``), a line with
too many fields (quotes). A byte-order mark decides the encoding: Excel's "Unicode Text" export
(UTF-16 with a BOM, tab-separated) and "CSV UTF-8" (UTF-8 with a BOM) are read as they are.

>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "d.csv")
>>> _ = open(p, "w").write("text,label\\nhello,pos\\n")
>>> read_table(p).shape
(1, 2)
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from llmstart.data.spreadsheet import EXCEL_SUFFIXES, read_spreadsheet
from llmstart.data.validate import DataValidationError

__all__ = ["read_table", "read_csv_chunks", "bare_carriage_returns", "bom_encoding", "check_bytes", "decode_text",
           "file_encoding", "sniff_separator", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".json", ".parquet", *EXCEL_SUFFIXES)
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
_BLOCK = 1 << 20
BINARY = ("this looks like binary data (it contains NUL bytes), not text. Pass a CSV (UTF-8), TSV, JSONL, "
          "Parquet or .xlsx file, or plain text with one text per line.")
#: Byte-order marks and the codec that reads (and drops) them; UTF-32 first (it starts like UTF-16 LE).
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def bom_encoding(start: bytes) -> str | None:
    """The encoding a byte-order mark at the start of a file declares (``None``: no mark).

    >>> bom_encoding("text\\tlabel".encode("utf-16")), bom_encoding(b"\\xef\\xbb\\xbftext"), bom_encoding(b"text")
    ('utf-16', 'utf-8-sig', None)
    """
    return next((name for mark, name in BOMS if start.startswith(mark)), None)


def _wide(encoding: str) -> bool:
    return encoding.lower().replace("_", "-").startswith(("utf-16", "utf-32"))


def _utf16_without_bom(block: bytes) -> str | None:
    """``utf-16-le``/``-be`` when NUL bytes sit at every other position (ASCII text in UTF-16)."""
    even, odd = block[0::2], block[1::2]
    if len(block) < 8:
        return None
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / max(1, len(odd))
    if zeros_odd > 0.4 and zeros_even < 0.05:
        return "utf-16-le"
    if zeros_even > 0.4 and zeros_odd < 0.05:
        return "utf-16-be"
    return None


def _binary_error(source: str, block: bytes) -> DataValidationError:
    guess = _utf16_without_bom(block[:4096])
    if guess:
        return DataValidationError(
            f"{source}: this looks like UTF-16 text without a byte-order mark. Pass --encoding {guess} "
            f"(Python: encoding={guess!r}), or re-save it as 'CSV UTF-8' (Excel: File > Save As).")
    return DataValidationError(f"{source}: {BINARY}")


def file_encoding(path: str | Path, encoding: str = "utf-8") -> str:
    """The encoding to read ``path`` with: the one its byte-order mark declares, else ``encoding``.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "d.txt")
    >>> _ = open(p, "wb").write("text\\tlabel\\n".encode("utf-16"))
    >>> file_encoding(p), file_encoding(p, "cp1252")
    ('utf-16', 'utf-16')
    """
    with Path(path).open("rb") as f:
        return bom_encoding(f.read(4)) or encoding


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("-", "").replace("_", "") in {"utf8", "utf8sig"}


def _guess_encoding(raw: bytes) -> str:
    """A likely legacy encoding for bytes that are not UTF-8 (for the hint only)."""
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _encoding_error(source: str, raw: bytes, start: int, line: int, encoding: str) -> DataValidationError:
    guess = _guess_encoding(raw[max(0, start - 64): start + 64])
    name = "UTF-8" if _is_utf8(encoding) else encoding
    return DataValidationError(
        f"{source}: not valid {name} (byte 0x{raw[start]:02x} on line {line}). Re-save it as UTF-8 "
        f"(Excel: 'CSV UTF-8'; or iconv -f {guess} -t utf-8), or pass its real encoding: "
        f"--encoding {guess} (Python: encoding={guess!r}).")


def decode_text(raw: bytes, source: str = "standard input", encoding: str = "utf-8") -> str:
    """Bytes to text, or one clear error for binary data or the wrong encoding.

    >>> decode_text("café\\n".encode())
    'café\\n'
    >>> decode_text(bytes([0x93, 0x68, 0x69, 0x94]))
    Traceback (most recent call last):
    ...
    llmstart.data.validate.DataValidationError: standard input: not valid UTF-8 (byte 0x93 on line 1). Re-save it as UTF-8 (Excel: 'CSV UTF-8'; or iconv -f cp1252 -t utf-8), or pass its real encoding: --encoding cp1252 (Python: encoding='cp1252').
    """
    encoding = bom_encoding(raw[:4]) or encoding
    if b"\x00" in raw[:_BLOCK] and not _wide(encoding):
        raise _binary_error(source, raw[:_BLOCK])
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise _encoding_error(source, raw, err.start, raw[: err.start].count(b"\n") + 1, encoding) from None
    except LookupError:
        raise DataValidationError(f"{source}: unknown encoding {encoding!r}; pass e.g. --encoding "
                                  "utf-8, cp1252 or latin-1.") from None


def check_bytes(path: str | Path, encoding: str = "utf-8") -> None:
    """Check, block by block (never the whole file in memory), that a file is text in ``encoding``.

    Raises :class:`DataValidationError` for an empty file, a binary file, or a byte the
    encoding cannot decode (with its line and a likely real encoding).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> _ = open(p, "wb").write(b"text,label\\nna\\xefve,a\\n")
    >>> check_bytes(p, "cp1252")
    """
    path = Path(path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataValidationError(f"{path}: unknown encoding {encoding!r}; pass e.g. --encoding "
                                  "utf-8, cp1252 or latin-1.") from None
    if path.stat().st_size == 0:
        raise DataValidationError(f"{path}: the file is empty (0 bytes). Export the table again.")
    decoder = codecs.getincrementaldecoder(encoding)()
    lines, wide = 1, _wide(encoding)
    with path.open("rb") as f:
        first = True
        while block := f.read(_BLOCK):
            if first and b"\x00" in block and not wide:
                raise _binary_error(str(path), block)
            first = False
            try:
                decoder.decode(block)
            except UnicodeDecodeError as err:
                raise _encoding_error(str(path), block, err.start,
                                      lines + block[: err.start].count(b"\n"), encoding) from None
            lines += block.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise DataValidationError(f"{path}: the file ends in the middle of a character: it is "
                                      f"cut short or not {encoding}. Pass --encoding.") from None


def sniff_separator(header: str) -> str | None:
    """The separator a CSV header line most likely uses (None when it holds one column).

    >>> sniff_separator("text;label"), sniff_separator("text\\tlabel"), sniff_separator("text")
    (';', '\\t', None)
    """
    counts = {sep: len(re.findall(re.escape(sep), header)) for sep in SEPARATORS}
    sep, n = max(counts.items(), key=lambda kv: kv[1])
    return sep if n else None


def _first_line(path: Path, encoding: str) -> str:
    with path.open(encoding=encoding, errors="replace", newline="") as f:
        return f.readline().lstrip("\ufeff").rstrip("\r\n")


def _check_separator(path: Path, sep: str, encoding: str) -> None:
    """A file whose header does not use ``sep`` but another separator: say which, and the flag."""
    header = _first_line(path, encoding)
    if not header.strip():
        raise DataValidationError(f"{path}: the first line is empty; it must be the header with the "
                                  "column names (e.g. text,label).")
    seen = sniff_separator(header)
    if seen is not None and seen != sep and header.count(sep) == 0:
        raise DataValidationError(
            f"{path}: the header {header[:80]!r} has no {SEPARATORS.get(sep, repr(sep))} but "
            f"{header.count(seen)} {SEPARATORS[seen]}(s): the file seems to be {SEPARATORS[seen]}-separated. "
            f"Pass --sep {_sep_flag(seen)} (Python: sep={seen!r}).")


def _sep_flag(sep: str) -> str:
    return {"\t": "tab", ";": "';'", "|": "'|'"}.get(sep, sep)


def _csv_sep(path: Path, sep: str | None) -> str:
    if sep is not None:
        return {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}.get(sep, sep)
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _parse_error(path: Path, err: Exception, sep: str) -> DataValidationError:
    text = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
    if isinstance(err, pd.errors.ParserWarning):
        return DataValidationError(
            f"{path}: some lines have more fields than the header. A text that contains the separator "
            f"{SEPARATORS.get(sep, repr(sep))} must be in double quotes (spreadsheet exports do this); "
            "or pass the right --sep.")
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if match:
        want, line, saw = match.groups()
        return DataValidationError(
            f"{path}: line {line} has {saw} fields where the header has {want}. A text that contains "
            f"the separator {SEPARATORS.get(sep, repr(sep))} must be in double quotes (spreadsheet "
            "exports do this); or pass the right --sep.")
    return DataValidationError(f"{path}: could not be read as a {SEPARATORS.get(sep, repr(sep))}-"
                               f"separated table: {text}. Check --sep and --encoding.")



def bare_carriage_returns(path: str | Path, encoding: str = "utf-8") -> int:
    """How many carriage returns (``\\r``) in ``path`` are not part of a ``\\r\\n`` line ending.

    pandas' ``to_csv`` writes a text holding a lone ``\\r`` without quotes, and its reader then
    splits the row there (one row becomes two, half of it without a label): 1,263 of the course's
    38,158 tweets hold one. The readers here read such files with ``\\n`` as the only line break.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> _ = open(p, "wb").write(b"text,label\\r\\na\\rb,x\\r\\n")
    >>> bare_carriage_returns(p)
    1
    """
    if _wide(encoding):
        return 0
    bare, previous = 0, b""
    with Path(path).open("rb") as f:
        while block := f.read(_BLOCK):
            data = previous + block
            # a trailing \r may be followed by \n in the next block: count it there
            body, previous = (data[:-1], data[-1:]) if data.endswith(b"\r") else (data, b"")
            bare += body.count(b"\r") - body.count(b"\r\n")
    return bare + len(previous)


def _checked_csv(path: Path, sep: str | None, encoding: str) -> tuple[str, dict, str]:
    """The separator, extra ``read_csv`` options and encoding for ``path``, after checking its bytes
    and separator. A UTF-16/32 file (Excel's "Unicode Text") without ``--sep`` gets the separator
    its header uses (a tab, for Excel)."""
    encoding = file_encoding(path, encoding)
    check_bytes(path, encoding)
    separator = _csv_sep(path, sep)
    if sep is None and _wide(encoding):
        separator = sniff_separator(_first_line(path, encoding)) or separator
    _check_separator(path, separator, encoding)
    options = {"lineterminator": "\n"} if bare_carriage_returns(path, encoding) else {}
    return separator, options, encoding


def _described(df: pd.DataFrame, separator: str, encoding: str) -> pd.DataFrame:
    """Note how a UTF-16/32 file was read in ``df.attrs["read_as"]`` (the CLI prints it)."""
    if _wide(encoding):
        df.attrs["read_as"] = (f"{encoding.upper()} text (byte-order mark), "
                               f"{SEPARATORS.get(separator, repr(separator))}-separated")
    return df


def _strip_line_ending(df: pd.DataFrame, options: dict) -> pd.DataFrame:
    """Read with ``\\n`` as the only line break, a ``\\r\\n`` file leaves ``\\r`` on its last column."""
    if not options or df.shape[1] == 0:
        return df
    last = df.columns[-1]
    df = df.rename(columns={last: str(last).rstrip("\r")})
    col = df.columns[-1]
    if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
        df[col] = df[col].map(lambda v: v.rstrip("\r") if isinstance(v, str) else v)
    return df

def read_csv_chunks(path: str | Path, encoding: str = "utf-8", sep: str | None = None,
                    chunksize: int = 1000) -> Iterator[pd.DataFrame]:
    """Read a CSV/TSV in chunks of ``chunksize`` rows (for files too large to hold at once).

    Checks the bytes and the separator first, like :func:`read_table`.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> _ = open(p, "w").write("text\\n" + "".join(f"t{i}\\n" for i in range(5)))
    >>> [len(c) for c in read_csv_chunks(p, chunksize=2)]
    [2, 2, 1]
    """
    path = _existing(path)
    separator, options, encoding = _checked_csv(path, sep, encoding)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            for chunk in pd.read_csv(path, sep=separator, encoding=encoding, chunksize=chunksize,
                                     dtype=str, keep_default_na=False, index_col=False, **options):
                yield _strip_line_ending(chunk, options)
    except (pd.errors.ParserError, pd.errors.ParserWarning, csv.Error, ValueError) as err:
        raise _parse_error(path, err, separator) from None


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise DataValidationError(f"{path}: this is a folder; pass a file (.csv .tsv .jsonl .parquet).")
    if not path.is_file():
        raise DataValidationError(f"{path}: no such file. Check the path (current folder: {Path.cwd()}).")
    return path


def read_table(path: str | Path, encoding: str = "utf-8", sep: str | None = None,
               sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV, JSONL/JSON, Parquet or Excel file into a DataFrame, checking its bytes first.

    ``sep`` is the CSV separator (default: ``,`` for ``.csv``/``.txt``, tab for ``.tsv``); a file
    that plainly uses another one is refused with a message naming it. A byte-order mark decides
    the encoding (UTF-16 files get the separator their header uses). ``sheet`` picks the sheet of
    an ``.xlsx`` workbook (default: the first). How a file was read, when that is not plain
    (the sheet, UTF-16), is in ``df.attrs["read_as"]``.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> _ = open(p, "w").write("text;label\\nhello;pos\\n")
    >>> read_table(p)
    Traceback (most recent call last):
    ...
    llmstart.data.validate.DataValidationError: ...d.csv: the header 'text;label' has no comma but 1 semicolon(s): the file seems to be semicolon-separated. Pass --sep ';' (Python: sep=';').
    >>> read_table(p, sep=";").columns.tolist()
    ['text', 'label']
    """
    path = _existing(path)
    suffix = path.suffix.lower()
    if sheet is not None and suffix not in EXCEL_SUFFIXES:
        raise DataValidationError(f"{path}: --sheet {sheet} applies to Excel workbooks (.xlsx) only; "
                                  f"this is a {suffix or 'suffix-less'} file. Drop --sheet.")
    if suffix in EXCEL_SUFFIXES:
        return read_spreadsheet(path, sheet)
    if suffix in {".csv", ".tsv", ".txt"}:
        separator, options, encoding = _checked_csv(path, sep, encoding)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                df = pd.read_csv(path, sep=separator, encoding=encoding, index_col=False, **options)
                return _described(_strip_line_ending(df, options), separator, encoding)
        except (pd.errors.ParserError, pd.errors.ParserWarning, csv.Error, ValueError) as err:
            raise _parse_error(path, err, separator) from None
    if suffix in {".jsonl", ".json"}:
        encoding = file_encoding(path, encoding)
        check_bytes(path, encoding)
        try:
            return pd.read_json(path, lines=suffix == ".jsonl", encoding=encoding)
        except ValueError as err:
            raise DataValidationError(f"{path}: not valid {suffix[1:].upper()} ({str(err).strip()[:120]}). "
                                      "JSONL needs one JSON object per line, e.g. "
                                      '{"text": "...", "label": "..."}.') from None
    if suffix == ".parquet":
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError, ImportError) as err:
            raise DataValidationError(f"{path}: could not be read as Parquet: {str(err)[:160]}") from None
    if suffix in {".xls", ".ods", ".numbers"}:
        raise DataValidationError(
            f"{path}: {suffix} spreadsheets are not read here. Open it and save it as .xlsx (Excel Workbook) "
            "or as 'CSV UTF-8'.")
    raise DataValidationError(
        f"{path}: unsupported file type {suffix!r}. Use .csv, .tsv, .jsonl, .json, .parquet or .xlsx.")


def read_text_lines(raw: bytes, source: str = "standard input", encoding: str = "utf-8") -> list[str]:
    """One text per line from raw bytes (standard input), decoded with the same checks as files.

    >>> read_text_lines(b"first\\n\\nsecond\\n")
    ['first', '', 'second']
    """
    text = decode_text(raw, source, encoding)
    return [line.strip() for line in io.StringIO(text).read().splitlines()]
