"""The Chinese edition (``notebooks/zh/``), kept in step with the English notebooks.

    python tools/translations.py sync            # regenerate every twin (not PENDING) from its English one
    python tools/translations.py sync 03_the_math.ipynb   # one twin (creates it: all cells untranslated)
    python tools/translations.py check           # CI: stale, missing or different cells fail (exit 1)
    python tools/translations.py status          # per twin: translated / stale / untranslated, % Chinese

A twin has the English notebook's file name (``notebooks/zh/NN.ipynb``,
``notebooks/zh/solutions/NN_solutions.ipynb``) and the English cells in the English order:

- **code cells** are copied byte for byte, outputs included (CI executes only the English notebook);
- each **markdown cell** is a translation and records the English cell it translates in its
  metadata: ``"llmstart": {"translates": {"id": <English cell id>, "sha256": <hash of its source>}}``.
  When the English cell changes, its hash no longer matches: ``check`` names it *stale* until a
  translator updates the Chinese and runs ``sync`` (which then records the new hash only for
  cells whose Chinese was edited after the English change: see ``--accept``);
- an English markdown cell with no translation yet is inserted in English under a visible
  "未翻译" marker (metadata ``"untranslated": true``), and ``check`` reports it;
- the header cell (tag ``llmstart-header``) is generated in Chinese by ``tools/course.py``.

``sync`` never merges outputs by hand: it rebuilds each twin from the English notebook and the
translations it finds (by English cell id). Notebooks without a twin yet are in ``PENDING``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from course import HEADER_TAG, NOTEBOOKS, ZH_DIR, header_source, load_course, write_notebook  # noqa: E402

KEY = "llmstart"
MARKER = "> **未翻译（untranslated）**：本单元格尚无中文译文，以下为英文原文。\n\n"

# Notebooks with no Chinese twin yet: `check` skips them. A new English notebook goes here until
# `python tools/translations.py sync NAME` made its twin and it is translated; then remove its line.
PENDING: list[str] = []


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def digest(text: str) -> str:
    """The hash a translation records of its English cell's source.

    >>> digest("# Title")[:12]
    '79aeaf7ba450'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get(KEY, {})


def _is_header(cell: dict) -> bool:
    return HEADER_TAG in cell.get("metadata", {}).get("tags", [])


# ---------------------------------------------------------------- relative links
LINK = re.compile(r"(\]\()([^)\s]+)(\))")


def relink(text: str, rel: str, zh_root: Path = ZH_DIR) -> str:
    """English markdown of ``notebooks/<rel>`` with its relative links made right from the twin
    ``notebooks/zh/<rel>``: to the Chinese twin of a notebook where one exists, else one level up.

    >>> relink("see [04](04_x.ipynb) and [docs](../docs/a.md) and [web](https://a.b)", "00.ipynb",
    ...        Path("/nonexistent"))
    'see [04](../04_x.ipynb) and [docs](../../docs/a.md) and [web](https://a.b)'
    """
    here = Path(rel).parent

    def fix(m: re.Match) -> str:
        url = m.group(2)
        if re.match(r"^[a-z]+:", url) or url.startswith("#"):
            return m.group(0)
        path, _, anchor = url.partition("#")
        if path.endswith(".ipynb") and (zh_root / here / path).exists():
            new = path
        else:
            new = "../" + path
        return m.group(1) + new + ("#" + anchor if anchor else "") + m.group(3)

    return LINK.sub(fix, text)


# ---------------------------------------------------------------- sync
def untranslated_cell(en: dict, rel: str, zh_root: Path = ZH_DIR) -> dict:
    """An English markdown cell as it appears in a twin before it is translated."""
    return {"cell_type": "markdown", "id": en.get("id"),
            "metadata": {**copy.deepcopy(en.get("metadata", {})),
                         KEY: {"translates": {"id": en.get("id"), "sha256": digest(source(en))},
                               "untranslated": True}},
            "source": MARKER + relink(source(en), rel, zh_root)}


def synced(en: dict, zh: dict | None, rel: str, header: str | None = None,
           zh_root: Path = ZH_DIR) -> dict:
    """The twin of the English notebook ``en`` (``notebooks/<rel>``), keeping the translations
    of ``zh`` (by English cell id). ``header``: the Chinese header cell's source."""
    known = {}
    for cell in (zh or {}).get("cells", []):
        tid = _meta(cell).get("translates", {}).get("id")
        if cell.get("cell_type") == "markdown" and tid and not _meta(cell).get("untranslated"):
            known[tid] = cell
    cells = []
    for cell in en["cells"]:
        cid = cell.get("id")
        if cell.get("cell_type") != "markdown":
            cells.append(copy.deepcopy(cell))
        elif _is_header(cell) and header is not None:
            meta = copy.deepcopy(cell.get("metadata", {}))
            meta[KEY] = {"translates": {"id": cid, "sha256": digest(source(cell))}, "generated": True}
            cells.append({"cell_type": "markdown", "id": cid, "metadata": meta, "source": header})
        elif cid in known:
            kept = copy.deepcopy(known[cid])
            kept["id"] = cid
            cells.append(kept)
        else:
            cells.append(untranslated_cell(cell, rel, zh_root))
    twin = copy.deepcopy({k: v for k, v in en.items() if k != "cells"})
    twin["cells"] = cells
    twin.setdefault("metadata", {})[KEY] = {"translation_of": f"notebooks/{rel}", "language": "zh-CN"}
    return twin


def accept(zh: dict, en: dict, ids: list[str]) -> dict:
    """Record the current English hash for the translated cells ``ids`` (after updating them)."""
    by_id = {c.get("id"): c for c in en["cells"]}
    for cell in zh["cells"]:
        tid = _meta(cell).get("translates", {}).get("id")
        if tid in ids and tid in by_id:
            cell["metadata"][KEY]["translates"]["sha256"] = digest(source(by_id[tid]))
    return zh


# ---------------------------------------------------------------- check and status
def problems(en: dict, zh: dict, name: str, header: str | None = None) -> list[str]:
    """What is wrong with the twin ``zh`` of ``en``: one line per cell, naming ``name`` and the id."""
    found = []
    zh_cells = zh.get("cells", [])
    en_ids = [c.get("id") for c in en["cells"]]
    zh_ids = [c.get("id") if c.get("cell_type") != "markdown"
              else _meta(c).get("translates", {}).get("id") for c in zh_cells]
    by_id = {i: c for i, c in zip(zh_ids, zh_cells, strict=True)}
    for cell in en["cells"]:
        cid = cell.get("id")
        twin = by_id.get(cid)
        if twin is None or twin.get("cell_type") != cell.get("cell_type"):
            found.append(f"{name}: cell {cid}: missing in the Chinese twin ({cell.get('cell_type')}; "
                         "run tools/translations.py sync)")
        elif cell.get("cell_type") != "markdown":
            if source(twin) != source(cell):
                found.append(f"{name}: cell {cid}: code differs from the English cell "
                             "(run tools/translations.py sync; never edit code in notebooks/zh)")
            elif twin.get("outputs") != cell.get("outputs"):
                found.append(f"{name}: cell {cid}: outputs differ from the English cell's "
                             "(the English notebook was re-executed: run tools/translations.py sync)")
        elif _is_header(cell) and header is not None:
            if source(twin) != header:
                found.append(f"{name}: cell {cid}: the generated header is stale "
                             "(run tools/translations.py sync)")
        elif _meta(twin).get("untranslated"):
            found.append(f"{name}: cell {cid}: untranslated")
        elif _meta(twin)["translates"].get("sha256") != digest(source(cell)):
            found.append(f"{name}: cell {cid}: stale: the English cell changed after its translation "
                         f"(update the Chinese, then tools/translations.py sync --accept {cid})")
    extra = [i for i in zh_ids if i not in set(en_ids)]
    found += [f"{name}: cell {i}: has no English counterpart (run tools/translations.py sync)"
              for i in extra]
    if not found and zh_ids != en_ids:
        found.append(f"{name}: cells are not in the English order (run tools/translations.py sync)")
    return found


FENCE = re.compile(r"```.*?```|~~~.*?~~~", re.DOTALL)
EXCLUDED = [
    FENCE,
    re.compile(r"\$\$.*?\$\$", re.DOTALL),  # display math
    re.compile(r"\$[^$\n]+\$"),  # inline math
    re.compile(r"`[^`\n]*`"),  # code spans
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"<[^>]+>"),  # HTML tags
    re.compile(r"https?://\S+"),  # bare URLs
    re.compile(r"\b[A-Za-z_][\w]*(?:[._][\w]+)+\b"),  # identifiers: snake_case, dotted.names
]
MARKUP = re.compile(r"[\s#*>|`_\-=~\[\]()]")
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def chinese_share(markdown: str) -> tuple[int, int]:
    """(Chinese characters, countable characters) of markdown: code, math, URLs, link targets,
    HTML tags, identifiers and markup excluded; Chinese = Han characters and CJK punctuation.

    >>> chinese_share("微调 `model.train()` the $x^2$ 模型")
    (4, 7)
    """
    for pattern in EXCLUDED:
        markdown = pattern.sub(" ", markdown)
    text = MARKUP.sub("", markdown)
    return len(CHINESE.findall(text)), len(text)


def counts(en: dict, zh: dict) -> dict:
    """Translated / stale / untranslated markdown cells of a twin, and its Chinese share."""
    hashes = {c.get("id"): digest(source(c)) for c in en["cells"] if c.get("cell_type") == "markdown"}
    out = {"translated": 0, "stale": 0, "untranslated": 0, "chinese": 0, "chars": 0}
    for cell in zh.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        zh_n, n = chinese_share(source(cell))
        out["chinese"] += zh_n
        out["chars"] += n
        meta = _meta(cell)
        if meta.get("untranslated"):
            out["untranslated"] += 1
        elif meta.get("generated") or hashes.get(meta.get("translates", {}).get("id")) == \
                meta.get("translates", {}).get("sha256"):
            out["translated"] += 1
        else:
            out["stale"] += 1
    out["untranslated"] += len(set(hashes) - {_meta(c).get("translates", {}).get("id")
                                               for c in zh.get("cells", [])})
    return out


# ---------------------------------------------------------------- the course
def course_notebooks() -> list[tuple[str, str]]:
    """(rel, header of its twin) for every course notebook and solutions notebook."""
    out = []
    for n in load_course():
        for rel in [n.file] + ([n.solutions] if n.solutions else []):
            out.append((rel, header_source(n, rel, "zh")))
    return out


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise SystemExit(f"{path}: cannot read the notebook ({err})") from None


def check(en_root: Path = NOTEBOOKS, zh_root: Path = ZH_DIR,
          pending: list[str] | None = None) -> list[str]:
    """Every problem of every twin that should exist (course notebooks not in ``pending``)."""
    pending = PENDING if pending is None else pending
    found = []
    for rel, header in course_notebooks():
        twin = zh_root / rel
        if rel in pending:
            if twin.exists():
                found.append(f"notebooks/zh/{rel}: exists but is in PENDING "
                             "(remove it from PENDING in tools/translations.py)")
            continue
        if not twin.exists():
            found.append(f"notebooks/zh/{rel}: missing (python tools/translations.py sync {rel})")
            continue
        found += problems(_read(en_root / rel), _read(twin), f"notebooks/zh/{rel}", header)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["sync", "check", "status"])
    parser.add_argument("notebooks", nargs="*", help="for sync: these (paths under notebooks/), "
                        "even if PENDING; default: every twin that exists or should")
    parser.add_argument("--accept", nargs="+", default=[], metavar="CELL_ID",
                        help="for sync: these translated cells are up to date with their English cell")
    parser.add_argument("--en", type=Path, default=NOTEBOOKS, help=argparse.SUPPRESS)
    parser.add_argument("--zh", type=Path, default=ZH_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    headers = dict(course_notebooks())
    if args.command == "check":
        found = check(args.en, args.zh)
        for line in found:
            print(line)
        print(f"translations: {len(found)} problems" if found else "translations: every twin in step")
        return 1 if found else 0
    if args.command == "sync":
        chosen = args.notebooks or [rel for rel in headers
                                    if rel not in PENDING or (args.zh / rel).exists()]
        for rel in chosen:
            rel = rel.removeprefix("notebooks/").removeprefix("zh/")
            if rel not in headers:
                raise SystemExit(f"{rel}: not a notebook of notebooks/course.yml (or its solutions)")
            en = _read(args.en / rel)
            path = args.zh / rel
            zh = _read(path) if path.exists() else None
            twin = synced(en, zh, rel, headers[rel], args.zh)
            if args.accept:
                twin = accept(twin, en, args.accept)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_text("", encoding="utf-8")
            write_notebook(path, twin)
            print(f"notebooks/zh/{rel}: synced")
        return 0
    print(f"{'twin':58} {'translated':>10} {'stale':>6} {'untransl.':>9} {'Chinese':>8}")
    for rel in headers:
        path = args.zh / rel
        if not path.exists():
            continue
        c = counts(_read(args.en / rel), _read(path))
        share = c["chinese"] / c["chars"] if c["chars"] else 0.0
        print(f"{rel:58} {c['translated']:>10} {c['stale']:>6} {c['untranslated']:>9} {share:>8.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
