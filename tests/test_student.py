"""make student: outputs cleared, solutions removed, prompts kept; the copy runs up to the exercises."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from student import (  # noqa: E402
    NOTEBOOKS,
    first_exercise,
    make_student,
    strip_solution_lines,
    student_notebook,
)


def tiny_course(folder: Path) -> Path:
    """A two-minute-free course: one notebook with every kind of cell, a solutions notebook."""
    nb = new_notebook(cells=[
        new_markdown_cell("# 99 · Tiny — 小课"),
        new_code_cell("x = 21\nprint(x)", outputs=[new_output("stream", text="21\n")], execution_count=1),
        new_markdown_cell("## Exercises\n\n**Warm-up.** Double `x`.", metadata={"tags": ["exercise"]}),
        new_code_cell("# BEGIN SOLUTION\nanswer = x * 2\n# END SOLUTION\nprint(answer)"),
        new_code_cell("raise RuntimeError('the worked solution ran in a student copy')",
                      metadata={"tags": ["solution"]}),
        new_markdown_cell("The answer is 42 because ...", metadata={"tags": ["solution"]}),
    ])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "99_tiny.ipynb")
    (folder / "solutions").mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("print(42)")]), folder / "solutions" / "99_tiny_solutions.ipynb")
    (folder / "results").mkdir()
    (folder / "results" / "99_tiny.json").write_text('{"accuracy": 0.5}')
    return folder


def test_student_copy_of_a_tiny_course(tmp_path):
    src = tiny_course(tmp_path / "notebooks")
    written = make_student(tmp_path / "student", src)
    assert [p.name for p in written] == ["99_tiny.ipynb"]  # no solution notebooks
    assert (tmp_path / "student" / "results" / "99_tiny.json").exists()
    assert not (tmp_path / "student" / "solutions").exists()
    copy = json.loads(written[0].read_text())
    text = json.dumps(copy)
    assert "the worked solution ran" not in text and "answer = x * 2" not in text
    assert "The answer is 42" not in text
    assert "answer = ...  # your code here" in text and "**Warm-up.** Double" in text
    assert "widgets" not in copy["metadata"]
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None
               for c in copy["cells"] if c["cell_type"] == "code")
    assert [c["source"] for c in copy["cells"] if "answer" in c["metadata"].get("tags", [])] == [
        "# Your answer here\n"]


def test_student_copy_runs_up_to_the_first_exercise(tmp_path):
    from nbclient import NotebookClient

    src = tiny_course(tmp_path / "notebooks")
    path = make_student(tmp_path / "student", src)[0]
    nb = nbformat.read(path, as_version=4)
    stop = first_exercise(nb)
    assert stop == 2
    nb.cells = nb.cells[:stop]
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    assert nb.cells[1].outputs[0]["text"] == "21\n"


def test_student_output_must_not_overwrite_the_notebooks(tmp_path):
    src = tiny_course(tmp_path / "notebooks")
    with pytest.raises(ValueError, match="inside"):
        make_student(src / "student", src)


def test_solution_markers_must_pair():
    with pytest.raises(ValueError, match="without # END SOLUTION"):
        strip_solution_lines("# BEGIN SOLUTION\nx = 1", "nb, cell 3")
    with pytest.raises(ValueError, match="without # BEGIN SOLUTION"):
        strip_solution_lines("x = 1\n# END SOLUTION", "nb, cell 3")
    assert strip_solution_lines("    # BEGIN SOLUTION\n    loss.backward()\n    # END SOLUTION") == (
        "    ...  # your code here")


def test_student_copies_of_the_real_course(tmp_path):
    """Generation works on every notebook, and up to the first exercise the student copy runs
    the very code that nbval runs in the original (so `make test` proves it runs)."""
    written = make_student(tmp_path / "student")
    written = [p for p in written if p.parent == tmp_path / "student"]
    originals = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert [p.name for p in written] == [p.name for p in originals]
    for original, copy_path in zip(originals, written, strict=True):
        nb = json.loads(original.read_text(encoding="utf-8"))
        copy = json.loads(copy_path.read_text(encoding="utf-8"))
        stop = first_exercise(nb)
        before = [c for c in nb["cells"][:stop] if c["cell_type"] == "code"]
        after = [c for c in copy["cells"][: first_exercise(copy)] if c["cell_type"] == "code"]
        assert [("".join(c["source"])) for c in before] == [c["source"] if isinstance(c["source"], str)
                                                            else "".join(c["source"]) for c in after], original.name
        assert not any(c.get("outputs") for c in copy["cells"]), copy_path.name
        assert not any("solution" in c["metadata"].get("tags", []) for c in copy["cells"]), copy_path.name
        assert student_notebook(nb) == copy


def test_student_copies_of_the_chinese_twins(tmp_path):
    """make student writes both languages: each Chinese twin in zh/, with the same code as the
    English student copy (so the English run proves it) and Chinese prose."""
    out = tmp_path / "student"
    written = make_student(out)
    twins = sorted((NOTEBOOKS / "zh").glob("*.ipynb"))
    assert twins, "no Chinese twin in notebooks/zh"
    assert [p.name for p in written if p.parent == out / "zh"] == [p.name for p in twins]
    for twin in twins:
        zh = json.loads((out / "zh" / twin.name).read_text(encoding="utf-8"))
        en = json.loads((out / twin.name).read_text(encoding="utf-8"))
        code = [[c["source"] for c in nb["cells"] if c["cell_type"] == "code"] for nb in (zh, en)]
        assert code[0] == code[1], twin.name
        assert not any(c.get("outputs") for c in zh["cells"]), twin.name
        assert "练习" in "".join("".join(c["source"]) for c in zh["cells"] if c["cell_type"] == "markdown")
    assert (out / "zh" / "results").is_dir() == (NOTEBOOKS / "results").is_dir()
