"""Malformed files through `llmstart train` and `predict`: one clear line, exit 2, never a traceback."""

from __future__ import annotations

import codecs
import io
import string

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmstart.cli import main
from llmstart.data import DataValidationError, load_data, read_table, split_frame, validate_frame


def check(tmp_path, capsys, name: str, content: bytes | str, *extra: str) -> str:
    """Run `train --check-only` on a file; return the one error line (asserting exit 2)."""
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    code = main(["train", "--data", str(path), "--out", str(tmp_path / "o"), "--check-only", *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and name in lines[0], err
    assert "Traceback" not in err
    return lines[0]


GOOD = "text,label\n" + "".join(f"text number {i},{'ab'[i % 2]}\n" for i in range(20))


@pytest.mark.parametrize("name, content, expected", [
    ("header.csv", "text,label\n", "no rows of data (only the header line"),
    ("empty.csv", "", "the file is empty"),
    ("one.csv", "text,label\n" + "".join(f"t{i},a\n" for i in range(20)), "holds one label only ('a')"),
    ("semi.csv", GOOD.replace(",", ";"), "seems to be semicolon-separated. Pass --sep ';'"),
    ("tabs.csv", GOOD.replace(",", "\t"), "seems to be tab-separated. Pass --sep tab"),
    ("cp1252.csv", GOOD.encode() + "caf\u00e9 cr\u00e8me,a\n".encode("cp1252"), "--encoding cp1252"),
    ("binary.csv", bytes(range(256)) * 4, "binary"),
    ("ragged.csv", GOOD + "one, two, three,a\n", "line 22 has 4 fields where the header has 2"),
    ("rare.csv", GOOD + "lonely,c\n", "label(s) 'c' (1) have fewer than 3 distinct texts"),
    ("blank.csv", GOOD + ",a\n", "1 empty or missing text in row 20 (line 22)"),
    ("float.csv", "text,label\n" + "".join(f"t{i},{i / 3}\n" for i in range(20)), "whole numbers or names"),
    ("bad.jsonl", '{"text": "a", "label": "x"}\n{oops\n', "not valid JSONL"),
    ("notes.docx", "hello", "unsupported file type '.docx'"),
])
def test_each_malformed_file_gets_one_clear_line(tmp_path, capsys, name, content, expected):
    assert expected in check(tmp_path, capsys, name, content)


def test_missing_columns_name_the_flags_and_the_likely_columns(tmp_path, capsys):
    content = "id,message,team\n" + "".join(f"{i},a long message number {i},{'xy'[i % 2]}\n" for i in range(20))
    line = check(tmp_path, capsys, "tickets.csv", content)
    assert "2 problems" in line and "--text-col NAME" in line and "--label-col NAME" in line
    assert "'message'" in line and "'team'" in line and "columns found: ['id', 'message', 'team']" in line


def test_all_problems_of_a_file_come_in_one_message(tmp_path, capsys):
    content = GOOD + ",a\nbroken \ufffd text,b\nx,\n"
    line = check(tmp_path, capsys, "many.csv", content)
    assert "3 problems" in line and "empty or missing text" in line and "U+FFFD" in line and "missing label" in line


def test_the_right_flag_fixes_the_separator_and_the_encoding(tmp_path, capsys):
    (tmp_path / "semi.csv").write_text(GOOD.replace(",", ";"))
    assert read_table(tmp_path / "semi.csv", sep=";").shape == (20, 2)
    (tmp_path / "legacy.csv").write_bytes((GOOD + "caf\u00e9,a\n").encode("cp1252"))
    assert read_table(tmp_path / "legacy.csv", encoding="cp1252").text.iloc[-1] == "caf\u00e9"
    code = main(["train", "--data", str(tmp_path / "semi.csv"), "--sep", ";", "--out", str(tmp_path / "o"),
                 "--check-only"])
    assert code == 0, capsys.readouterr().err


def test_a_dataframe_gets_the_same_checks_as_a_file():
    df = pd.DataFrame({"text": ["fine", "broken \ufffd\ufffd quote", ""], "label": ["a", "b", "a"]})
    with pytest.raises(DataValidationError, match=r"2 problems.*empty or missing text.*U\+FFFD"):
        load_data(df)
    with pytest.raises(DataValidationError, match="the DataFrame: no rows of data"):
        validate_frame(df.iloc[:0])


CELL = st.one_of(st.text(alphabet=string.printable + "éü\ufffd\u4e2d;\t\"", max_size=12),
                 st.integers(-3, 3).map(str), st.just(""))


@st.composite
def small_tables(draw):
    """Random small CSV-ish bytes: a header that may or may not name text/label, random cells,
    random separators and quoting, sometimes a stray non-UTF-8 byte."""
    ncols = draw(st.integers(1, 4))
    header = draw(st.lists(st.sampled_from(["text", "label", "x", "", "text"]), min_size=ncols, max_size=ncols))
    rows = draw(st.lists(st.lists(CELL, min_size=0, max_size=ncols + 1), max_size=12))
    sep = draw(st.sampled_from([",", ";", "\t", ","]))
    body = "\n".join(sep.join(r) for r in [header, *rows]) + draw(st.sampled_from(["", "\n", "\r\n"]))
    raw = body.encode("utf-8")
    if draw(st.booleans()) and draw(st.booleans()):
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + draw(st.sampled_from([b"\xff", b"\x00", b"\xe9", b"\x93"])) + raw[cut:]
    return raw


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=small_tables())
def test_random_small_csvs_pass_or_fail_in_one_clear_line(tmp_path, capsys, raw):
    path = tmp_path / "random.csv"
    path.write_bytes(raw)
    code = main(["train", "--data", str(path), "--out", str(tmp_path / "o"), "--check-only"])
    out = capsys.readouterr()
    assert code in (0, 2), out.err
    if code == 2:
        lines = out.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "random.csv" in lines[0], out.err


# --------------------------------------------------------------- files users actually have (issue 23)

EMOJI = ["🙂👍", "😡👎", "🎉🔥", "😢💔"]


def passes(tmp_path, capsys, name: str, content: bytes | str, *extra: str) -> str:
    """Run `train --check-only` on a file that must pass; return what it printed."""
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    code = main(["train", "--data", str(path), "--out", str(tmp_path / "o"), "--check-only", *extra])
    out = capsys.readouterr()
    assert code == 0 and "Traceback" not in out.err, out.err
    return out.out


def test_texts_ending_in_emoji_train_and_the_emoji_are_said_to_be_ignored(tmp_path, capsys):
    """84 short English tickets, each ending in two emoji: 11 % of the tokens are [UNK], every word is read."""
    rows = [f"ticket {i} the delivery was {'late' if i % 2 else 'fast'} again {EMOJI[i % 4]}" for i in range(84)]
    content = "text,label\n" + "".join(f"{t},{'ab'[i % 2]}\n" for i, t in enumerate(rows))
    out = passes(tmp_path, capsys, "tickets.csv", content)
    line = next(x for x in out.splitlines() if x.startswith("tokenizer: "))
    assert "on emoji or symbols only" in line and "ignored" in line and "every word is readable" in line


def test_emoji_do_not_hide_an_unreadable_language(tmp_path, capsys):
    content = "text,label\n" + "".join(f"这个{'很好' if i % 2 else '太差'}了{i} {EMOJI[i % 4]},{'ab'[i % 2]}\n"
                                       for i in range(40))
    line = check(tmp_path, capsys, "reviews.csv", content)
    assert "cannot read this text" in line and "mostly CJK" in line and "emoji or symbols alone not counted" in line


EXCEL_TEXT = "text\tlabel\r\n" + "".join(f"text number {i}, with a comma\t{'ab'[i % 2]}\r\n" for i in range(20))


@pytest.mark.parametrize("name, raw, read_as", [
    ("unicode.txt", codecs.BOM_UTF16_LE + EXCEL_TEXT.encode("utf-16-le"), "UTF-16 text (byte-order mark), tab"),
    ("unicode_be.txt", codecs.BOM_UTF16_BE + EXCEL_TEXT.encode("utf-16-be"), "UTF-16 text (byte-order mark), tab"),
    ("unicode.csv", codecs.BOM_UTF16_LE + EXCEL_TEXT.encode("utf-16-le"), "UTF-16 text (byte-order mark), tab"),
    ("excel.csv", codecs.BOM_UTF8 + GOOD.encode(), None),  # Excel's "CSV UTF-8"
])
def test_a_byte_order_mark_decides_the_encoding_and_utf16_the_separator(tmp_path, capsys, name, raw, read_as):
    """Excel's "Unicode Text" export is UTF-16 LE with a BOM, tab-separated, \\r\\n line ends."""
    out = passes(tmp_path, capsys, name, raw)
    assert (f"read: {tmp_path / name}: {read_as}" in out) if read_as else "read: " not in out
    df = read_table(tmp_path / name)
    assert df.columns.tolist() == ["text", "label"] and len(df) == 20
    assert df.text.iloc[3] in {"text number 3, with a comma", "text number 3"} and df.label.iloc[3] == "b"


def test_utf16_without_a_byte_order_mark_names_the_encoding_to_pass(tmp_path, capsys):
    line = check(tmp_path, capsys, "nobom.txt", EXCEL_TEXT.encode("utf-16-le"))
    assert "UTF-16 text without a byte-order mark. Pass --encoding utf-16-le" in line and "CSV UTF-8" in line
    passes(tmp_path, capsys, "nobom.txt", EXCEL_TEXT.encode("utf-16-le"), "--encoding", "utf-16-le", "--sep", "tab")


def workbook(**sheets: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, df in sheets.items():
            df.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()


TICKETS = pd.DataFrame({"message": [f"ticket number {i} about {'billing' if i % 2 else 'login'}" for i in range(30)],
                        "team": ["billing" if i % 2 else "accounts" for i in range(30)]})


def test_an_xlsx_workbook_is_read_and_the_output_names_the_sheet(tmp_path, capsys):
    raw = workbook(Tickets=TICKETS, Notes=pd.DataFrame({"note": ["read me first"]}))
    out = passes(tmp_path, capsys, "labels.xlsx", raw, "--text-col", "message", "--label-col", "team")
    assert "sheet 'Tickets' (the first of 2: ['Tickets', 'Notes']; pick another with --sheet NAME)" in out
    assert "'train': 21" in out  # all 30 rows: 21 / 3 / 6
    by_name = passes(tmp_path, capsys, "labels.xlsx", raw, "--text-col", "message", "--label-col", "team",
                     "--sheet", "Tickets")
    assert "sheet 'Tickets'" in by_name
    single = passes(tmp_path, capsys, "one.xlsx", workbook(Data=TICKETS), "--text-col", "message",
                    "--label-col", "team")
    assert "read: " in single and "sheet 'Data'" in single and "--sheet" not in single


def test_an_xlsx_without_the_text_column_or_empty_or_a_missing_sheet_is_one_clear_line(tmp_path, capsys):
    raw = workbook(Tickets=TICKETS, Notes=pd.DataFrame({"note": ["read me first"]}), Empty=pd.DataFrame())
    line = check(tmp_path, capsys, "labels.xlsx", raw)  # the default columns are not there
    assert "no column 'text'" in line and "'message'" in line and "; read sheet 'Tickets' (the first of 3" in line
    line = check(tmp_path, capsys, "labels.xlsx", raw, "--sheet", "Notes", "--text-col", "message")
    assert "no column 'message'" in line and "; read sheet 'Notes' (number 2 of 3" in line
    line = check(tmp_path, capsys, "labels.xlsx", raw, "--sheet", "Empty")
    assert "sheet 'Empty'" in line and "is empty" in line and "pick one with --sheet NAME" in line
    line = check(tmp_path, capsys, "labels.xlsx", raw, "--sheet", "Sheet9")
    assert "no sheet 'Sheet9'; its sheets are ['Tickets', 'Notes', 'Empty']" in line
    assert "--sheet" in check(tmp_path, capsys, "plain.csv", GOOD, "--sheet", "Tickets")
    assert "not a readable Excel workbook" in check(tmp_path, capsys, "fake.xlsx", GOOD)


@pytest.mark.parametrize("rare", [3, 4])
def test_a_label_with_exactly_three_texts_lands_in_every_split(tmp_path, capsys, rare):
    """The check asks for 3 distinct texts per label; 3 are enough for the split too."""
    content = GOOD + "".join(f"rare text {i},c\n" for i in range(rare))
    out = passes(tmp_path, capsys, "rare3.csv", content)
    assert "3 labels ['a', 'b', 'c']" in out
    splits = split_frame(load_data(tmp_path / "rare3.csv"), seed=0)
    assert (splits.label_counts().loc["c"] >= 1).all() and splits.label_counts().loc["c"].sum() == rare
    two = check(tmp_path, capsys, "rare2.csv", GOOD + "rare text 1,c\nrare text 2,c\n")
    assert "'c' (2) have fewer than 3 distinct texts" in two


def test_the_smallest_table_the_check_accepts_also_splits(tmp_path, capsys):
    """Two labels with 3 texts each: too few rows for scikit-learn's stratified split, split per label."""
    out = passes(tmp_path, capsys, "six.csv", "text,label\n" + "".join(f"text {i},{'ab'[i % 2]}\n" for i in range(6)))
    assert "{'train': 2, 'val': 2, 'test': 2}" in out and "each label was split on its own" in out
