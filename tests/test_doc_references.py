"""Every ``llmstart.<module>.<name>`` and every ``llmstart/...py`` path the prose names exists.

The prose (README, docs, the notebooks' markdown in both languages) names functions and files a
learner will look for; a move inside the package must not leave them pointing at nothing.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A dotted name, not part of a URL or a path (``github.com/llmstart/llmstart.git``).
DOTTED = re.compile(r"(?<![/\w.])llmstart(?:\.[A-Za-z_]\w*)+")
PATH = re.compile(r"(?<![/\w.])llmstart/[\w/]+\.py")


def prose() -> dict[str, str]:
    """The readable text of every document, by file name; notebooks give their markdown cells."""
    texts = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
             for p in [*ROOT.glob("*.md"), *(ROOT / "docs").glob("*.md")]}
    for nb in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        texts[str(nb.relative_to(ROOT))] = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return texts


def resolves(dotted: str) -> bool:
    """True if ``dotted`` is a module of the package, or an attribute reached from one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


def dangling(texts: dict[str, str]) -> list[str]:
    found = []
    for doc, text in texts.items():
        found += [f"{doc}: {name}" for name in sorted(set(DOTTED.findall(text)))
                  if not resolves(name.rstrip("."))]
        found += [f"{doc}: {path}" for path in sorted(set(PATH.findall(text))) if not (ROOT / path).exists()]
    return found


def test_every_name_and_path_in_the_prose_exists():
    assert dangling(prose()) == []


def test_a_moved_function_is_caught():
    planted = {"README.md": "Train with `llmstart.fit` (in `llmstart/training.py`); "
                            "clone github.com/llmstart/llmstart.git; `llmstart.train.fit` is right."}
    assert dangling(planted) == ["README.md: llmstart.fit", "README.md: llmstart/training.py"]
