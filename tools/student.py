"""Student copies of the course: ``make student`` (``python tools/student.py [--out student]``).

Each notebook of ``notebooks/`` is copied with its outputs cleared, its solution cells removed
and its prompts kept; the solution notebooks (``notebooks/solutions/``) are not copied, and
``notebooks/results/`` is (later notebooks read it). How authors mark cells (CONTRIBUTING.md):

- a cell tagged ``solution`` is a worked answer: a code cell becomes an empty code cell
  (``# Your answer here``), a markdown cell is dropped;
- inside a code cell, the lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` become
  ``...  # your code here`` (the lines around them, such as a ``check_answer`` call, stay);
- a cell tagged ``exercise``, or a markdown heading ``## Exercises`` (any level), starts the
  exercises; everything before the first one must run in the student copy.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
ANSWER_PLACEHOLDER = "# Your answer here\n"
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
EXERCISES_HEADING = re.compile(r"^#{1,6}\s*(exercises?|练习)\b", re.IGNORECASE | re.MULTILINE)


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def strip_solution_lines(source: str, where: str = "a cell") -> str:
    """Replace each ``# BEGIN SOLUTION`` … ``# END SOLUTION`` block by ``...  # your code here``.

    >>> print(strip_solution_lines("x = 1\\n# BEGIN SOLUTION\\nanswer = x + 1\\n# END SOLUTION\\ncheck(answer)"))
    x = 1
    answer = ...  # your code here
    check(answer)
    """
    out: list[str] = []
    inside: list[str] | None = None
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside is not None:
                raise ValueError(f"{where}: nested {BEGIN}")
            inside = []
            indent = line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if inside is None:
                raise ValueError(f"{where}: {END} without {BEGIN}")
            first = next((s for s in inside if s.strip()), "")
            m = re.match(r"\s*([A-Za-z_][\w.]*)\s*=[^=]", first)
            out.append(f"{indent}{m.group(1)} = ...  # your code here" if m
                       else f"{indent}...  # your code here")
            inside = None
        elif inside is not None:
            inside.append(line)
        else:
            out.append(line)
    if inside is not None:
        raise ValueError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out)


def first_exercise(nb: dict) -> int | None:
    """Index of the first cell that starts the exercises (tag or heading), or None.

    >>> first_exercise({"cells": [{"cell_type": "code", "source": "x"},
    ...                           {"cell_type": "markdown", "source": "## Exercises\\n1. ..."}]})
    1
    """
    for i, cell in enumerate(nb["cells"]):
        if EXERCISE_TAG in _tags(cell) or SOLUTION_TAG in _tags(cell):
            return i
        if cell.get("cell_type") == "markdown" and EXERCISES_HEADING.search(_source(cell)):
            return i
    return None


def student_notebook(nb: dict, where: str = "notebook") -> dict:
    """A student copy of ``nb``: outputs cleared, solutions removed, prompts kept."""
    nb = copy.deepcopy(nb)
    nb.get("metadata", {}).pop("widgets", None)
    cells = []
    for i, cell in enumerate(nb["cells"]):
        cell.get("metadata", {}).pop("execution", None)
        if SOLUTION_TAG in _tags(cell):
            if cell["cell_type"] != "code":
                continue
            cell = {"cell_type": "code", "id": cell.get("id", f"answer-{i}"),
                    "metadata": {"tags": ["answer"]}, "source": ANSWER_PLACEHOLDER}
        elif cell["cell_type"] == "code":
            cell["source"] = strip_solution_lines(_source(cell), f"{where}, cell {i}")
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cells.append(cell)
    nb["cells"] = cells
    return nb


def make_student(out: Path, src: Path = NOTEBOOKS) -> list[Path]:
    """Write the student copies of ``src/*.ipynb`` (and ``src/results``) into ``out``."""
    if out.resolve() == src.resolve() or src.resolve() in out.resolve().parents:
        raise ValueError(f"{out} is inside {src}: write the student copies elsewhere")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written = []
    for path in sorted(src.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        copy_ = student_notebook(nb, str(path))
        target = out / path.name
        target.write_text(json.dumps(copy_, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(target)
    if (src / "results").is_dir():
        shutil.copytree(src / "results", out / "results")
    (out / "README.md").write_text(
        "# Student copies of the llmstart course\n\n"
        "Generated by `make student` from `notebooks/`: outputs cleared, worked solutions "
        "removed. Do not edit here; regenerate instead.\n", encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "student")
    parser.add_argument("--src", type=Path, default=NOTEBOOKS)
    args = parser.parse_args(argv)
    try:
        written = make_student(args.out, args.src)
    except ValueError as err:
        print(f"make student: {err}", file=sys.stderr)
        return 1
    print(f"{len(written)} student notebooks in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
