"""The package's layout a newcomer can walk (issue 21): few top-level modules, one name per idea,
no module shadowing a library, short modules and functions, and a README table that cannot drift."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "llmstart"
sys.path.insert(0, str(ROOT / "tools"))

import module_table  # noqa: E402

MODULES = sorted(PACKAGE.rglob("*.py"))
SPECIAL = {"__init__", "__main__"}
MAX_TOP_LEVEL, MAX_MODULE_LINES, MAX_FUNCTION_LINES = 8, 400, 110
# Libraries the package's docstrings name and a learner may install beside it: HF ``evaluate``
# (llmstart's metrics say why they do not use it), so no module may be called after it either.
KNOWN_LIBRARIES = {"evaluate"}


def installed_names() -> set[str]:
    """Every distribution name and every top-level import name installed in this environment."""
    names = set(KNOWN_LIBRARIES) | set(sys.stdlib_module_names)
    for dist in importlib.metadata.distributions():
        names.add((dist.metadata["Name"] or "").lower().replace("-", "_"))
        names.update((dist.read_text("top_level.txt") or "").lower().split())
        for f in dist.files or []:
            top = f.parts[0]
            if top.endswith((".dist-info", ".egg-info", ".data")) or top in {"..", "bin"}:
                continue
            if top.endswith(".py"):
                names.add(top[:-3].lower())
            elif len(f.parts) > 1:
                names.add(top.lower())
    return names - {"llmstart", ""}


def function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef, source: list[str]) -> int:
    """Lines of code of a function, ``def`` to end: its docstring, blank and comment-only lines excluded."""
    skip: set[int] = set()
    body = node.body[0] if node.body else None
    if isinstance(body, ast.Expr) and isinstance(body.value, ast.Constant) and isinstance(body.value.value, str):
        skip = set(range(body.lineno, body.end_lineno + 1))
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return sum(1 for n in range(start, node.end_lineno + 1)
               if n not in skip and source[n - 1].strip() and not source[n - 1].strip().startswith("#"))


def test_at_most_eight_modules_at_the_top():
    top = sorted(p.name for p in PACKAGE.glob("*.py") if p.stem not in SPECIAL)
    assert len(top) <= MAX_TOP_LEVEL, f"{len(top)} modules directly under llmstart/ (group them): {top}"


def test_no_two_modules_share_a_file_name():
    seen = defaultdict(list)
    for p in MODULES:
        if p.stem not in SPECIAL:
            seen[p.name].append(str(p.relative_to(ROOT)))
    twins = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not twins, f"one name per idea; these file names are used twice: {twins}"


def test_no_module_is_named_like_an_installed_library():
    names = installed_names()
    clashes = sorted(str(p.relative_to(ROOT)) for p in MODULES
                     if p.stem not in SPECIAL and p.stem.lower() in names)
    clashes += sorted(str(p.relative_to(ROOT)) for p in PACKAGE.rglob("__init__.py")
                      if p.parent != PACKAGE and p.parent.name.lower() in names)
    assert not clashes, f"named like an installed distribution or import name (rename them): {clashes}"


def test_installed_names_include_the_libraries_the_package_uses():
    """The check above would pass vacuously if it found no names: it must see torch and gguf."""
    names = installed_names()
    assert {"torch", "transformers", "gguf", "coverage", "evaluate", "json"} <= names


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in MODULES
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by idea): {long}"


def longest_functions(limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    out = {}
    for p in MODULES:
        text = p.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and function_lines(node, lines) > limit:
                out[f"{p.relative_to(ROOT)}:{node.lineno} {node.name}"] = function_lines(node, lines)
    return out


def test_function_lines_excludes_the_docstring():
    text = 'def f():\n    """Doc.\n\n    More.\n    """\n    x = 1\n\n    # why\n    return x\n'
    assert function_lines(ast.parse(text).body[0], text.splitlines()) == 3


def test_longest_function_is_at_most_110_lines():
    assert longest_functions() == {}


def test_readme_module_table_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert module_table.START in readme, "README.md lost its module-table markers"
    assert module_table.updated(readme) == readme, "README's module table is stale: python tools/module_table.py"


def test_a_stale_module_table_is_caught():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stale = readme.replace("| `llmstart.data` |", "| `llmstart.olddata` |")
    assert stale != readme and module_table.updated(stale) != stale
