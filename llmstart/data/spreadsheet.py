"""Read one sheet of an Excel workbook (``.xlsx``): where a startup's labels usually live.

pandas reads it with openpyxl. The first sheet is read unless ``sheet`` names another (by name,
or by position from 1); ``df.attrs["read_as"]`` says which sheet was read, and, when the
workbook has several, how to pick another (``--sheet NAME``). Rows and columns left entirely
empty (formatting, not data) are dropped and counted there; an empty sheet, a sheet that does
not exist, or a file that is not a workbook is one clear error.

>>> import tempfile, os, pandas as pd
>>> p = os.path.join(tempfile.mkdtemp(), "labels.xlsx")
>>> with pd.ExcelWriter(p) as w:
...     pd.DataFrame({"text": ["hi", "yo"], "label": ["a", "b"]}).to_excel(w, sheet_name="Tickets", index=False)
...     pd.DataFrame({"note": ["x"]}).to_excel(w, sheet_name="Notes", index=False)
>>> df = read_spreadsheet(p)
>>> df.shape, df.attrs["read_as"]
((2, 2), "sheet 'Tickets' (the first of 2: ['Tickets', 'Notes']; pick another with --sheet NAME)")
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

from llmstart.data.validate import DataValidationError

__all__ = ["EXCEL_SUFFIXES", "read_spreadsheet"]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
RESAVE = "Open it in Excel and save it again as .xlsx (Excel Workbook), or as 'CSV UTF-8'."


def _workbook(path: Path) -> pd.ExcelFile:
    try:
        import openpyxl  # noqa: F401  (pandas' engine for .xlsx)
    except ImportError:
        raise DataValidationError(f"{path}: reading .xlsx needs openpyxl (pip install openpyxl), or save the "
                                  "sheet as 'CSV UTF-8'.") from None
    try:
        return pd.ExcelFile(path, engine="openpyxl")
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as err:
        kind = "it is encrypted (password-protected)" if "encrypt" in str(err).lower() else type(err).__name__
        raise DataValidationError(f"{path}: not a readable Excel workbook ({kind}). {RESAVE}") from None


def _pick(path: Path, names: list[str], sheet: str | None) -> str:
    if sheet is None:
        return names[0]
    if sheet in names:
        return sheet
    if sheet.isdigit() and 1 <= int(sheet) <= len(names):
        return names[int(sheet) - 1]
    raise DataValidationError(f"{path}: no sheet {sheet!r}; its sheets are {names}. Pass --sheet with one of "
                              "these names (or its position, 1 for the first).")


def read_spreadsheet(path: str | Path, sheet: str | None = None) -> pd.DataFrame:
    """One sheet of an ``.xlsx`` workbook as a DataFrame (the first sheet unless ``sheet`` names one).

    The first row holds the column names. See the module's example.
    """
    path = Path(path)
    with _workbook(path) as book:
        names = [str(n) for n in book.sheet_names]
        if not names:
            raise DataValidationError(f"{path}: the workbook has no sheets. {RESAVE}")
        chosen = _pick(path, names, sheet)
        try:
            df = book.parse(chosen)
        except (ValueError, KeyError, TypeError) as err:
            raise DataValidationError(f"{path}: sheet {chosen!r} could not be read ({err}). {RESAVE}") from None
    others = [n for n in names if n != chosen]
    where = f"sheet {chosen!r}"
    if others:
        first = "the first" if chosen == names[0] else f"number {names.index(chosen) + 1}"
        where += f" ({first} of {len(names)}: {names}; pick another with --sheet NAME)"
    empty_rows, empty_cols = int(df.isna().all(axis=1).sum()), int(df.isna().all(axis=0).sum())
    df = df.dropna(how="all").dropna(axis=1, how="all")
    if df.shape[1] == 0:
        hint = f" Its other sheets: {others}; pick one with --sheet NAME." if others else ""
        raise DataValidationError(f"{path}: {where} is empty: no column names in its first row and no data.{hint}")
    skipped = [f"{n} empty {kind}" for n, kind in [(empty_rows, "row(s)"), (empty_cols, "column(s)")] if n]
    if skipped:
        where += f", {' and '.join(skipped)} skipped"
    df.attrs["read_as"] = where
    return df.reset_index(drop=True)
