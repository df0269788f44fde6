"""Malformed files through `llmstart train` and `predict`: one clear line, exit 2, never a traceback."""

from __future__ import annotations

import string

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmstart.cli import main
from llmstart.data import DataValidationError, load_data, read_table, validate_frame


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
