"""notebooks/course.yml: the README table and set-up cells it generates, and every link target."""

from __future__ import annotations

import ast
import copy
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import course  # noqa: E402
from course import (  # noqa: E402
    HEADER_TAG,
    NOTEBOOKS,
    SETUP_TAG,
    Notebook,
    link_targets,
    load_course,
    problems,
    setup_source,
    update_readme,
    with_setup_cells,
)

from llmstart import __version__  # noqa: E402


def test_course_list_readme_and_links_agree():
    """Every notebook is listed, README's table is current, every link target exists."""
    assert problems(load_course()) == []


def test_a_broken_link_is_reported(tmp_path, monkeypatch):
    text = f"[x]({course.colab_url('77_missing.ipynb')}) [y]({course.binder_url('00_setup.ipynb')}) [z](nope.md)"
    targets = dict(link_targets(text, ROOT))
    assert targets[course.colab_url("77_missing.ipynb")] == ROOT / "notebooks" / "77_missing.ipynb"
    assert targets[course.binder_url("00_setup.ipynb")] == ROOT / "notebooks" / "00_setup.ipynb"
    assert targets["nope.md"] == ROOT / "nope.md"


def test_links_point_at_the_release_tag():
    assert f"/blob/v{__version__}/notebooks/00_setup.ipynb" in course.colab_url("00_setup.ipynb")
    assert course.binder_url("00_setup.ipynb").endswith(
        f"/v{__version__}?labpath=notebooks%2F00_setup.ipynb")


def test_setup_cell_is_python_and_installs_the_matching_tag():
    source = setup_source()
    ast.parse(source)
    assert f"@v{__version__}" in source and "llmstart.setup()" in source


def test_setup_cells_are_idempotent():
    nb = json.loads((NOTEBOOKS / "00_setup.ipynb").read_text(encoding="utf-8"))
    nb["cells"] = [c for c in nb["cells"]  # as it was before the generated cells
                   if not {HEADER_TAG, SETUP_TAG} & set(c["metadata"].get("tags", []))]
    entry = Notebook("00_setup.ipynb", "—", "x", cpu_seconds=71)
    once = with_setup_cells(copy.deepcopy(nb), entry)
    twice = with_setup_cells(copy.deepcopy(once), entry)
    assert once == twice
    tags = [c["metadata"].get("tags", []) for c in once["cells"]]
    assert tags[1] == [HEADER_TAG] and tags[2] == [SETUP_TAG]
    assert sum(SETUP_TAG in t for t in tags) == 1
    assert once["cells"][0] == nb["cells"][0] and once["cells"][3:] == nb["cells"][1:]
    assert "1.2 min" in once["cells"][1]["source"]
    # a new runtime updates the header in place, nothing moves
    entry.cpu_seconds = 150
    updated = with_setup_cells(copy.deepcopy(once), entry)
    assert "2.5 min" in updated["cells"][1]["source"] and len(updated["cells"]) == len(once["cells"])


def test_every_notebook_has_the_setup_cell_once_generated():
    notebooks = [NOTEBOOKS / n.file for n in load_course()]
    notebooks += [NOTEBOOKS / n.solutions for n in load_course() if n.solutions]
    has = {p.name: any(SETUP_TAG in c["metadata"].get("tags", []) for c in
                       json.loads(p.read_text(encoding="utf-8"))["cells"]) for p in notebooks}
    if not any(has.values()):
        pytest.skip("no notebook has the set-up cell yet: run python tools/course.py setup-cells")
    assert all(has.values()), f"run python tools/course.py setup-cells: missing in {[k for k, v in has.items() if not v]}"
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cell = next(c for c in nb["cells"] if SETUP_TAG in c["metadata"].get("tags", []))
        assert "".join(cell["source"]) == setup_source(), f"{path.name}: stale set-up cell"
        first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
        assert first_code is cell, f"{path.name}: the set-up cell must be the first code cell"


def test_readme_table_replaces_the_hand_written_one_once():
    text = "# x\n\n## The course\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nAfter.\n"
    entries = [Notebook("00_setup.ipynb", "—", "check", 71)]
    once = update_readme(text, entries)
    assert "| 1 | 2 |" not in once and "After." in once and course.TABLE_START in once
    assert update_readme(once, entries) == once
    assert "00_setup" in once and "1.2 min" in once


def test_junit_seconds_sums_cells_per_notebook(tmp_path):
    xml = ('<testsuites><testsuite>'
           '<testcase classname="notebooks.00_setup.ipynb" name="Cell 0" time="1.5" />'
           '<testcase classname="notebooks.00_setup.ipynb" name="Cell 1" time="2.0" />'
           '<testcase classname="notebooks.solutions.03_the_math_solutions.ipynb" name="Cell 0" time="4" />'
           '<testcase classname="tests.test_data" name="test_x" time="9" />'
           '</testsuite></testsuites>')
    (tmp_path / "run-1.xml").write_text(xml)
    assert course.junit_seconds([tmp_path / "run-1.xml"]) == {
        "00_setup.ipynb": 3.5, "solutions/03_the_math_solutions.ipynb": 4.0}
