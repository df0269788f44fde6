"""A static HTML site of the course from the stored outputs: ``make site`` (``python tools/site.py``).

Readable without running anything or loading a script: progress widgets are replaced by their
final state as text (``training: 100%|██████████| 57/57 [00:48<00:00]``), object reprs lose
their memory addresses (and a bare ``[<matplotlib.lines.Line2D at 0x…>]`` result is dropped),
and the stylesheet names fonts that render Chinese. Uses nbconvert's ``lab`` template. The
Chinese edition (``notebooks/zh``) is built beside it in ``zh/``; every page links its twin.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from course import NOTEBOOKS, load_course, minutes, what_zh  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
ADDRESS = re.compile(r"\s+at 0x[0-9a-fA-F]{4,}")
BARE_REPR = re.compile(r"^\[?(<[\w.]+ (object )?at 0x[0-9a-fA-F]+>(,\s*)?)+\]?$")
CJK_FONTS = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei"'
CSS = f"""
body, .jp-Notebook, .jp-RenderedHTMLCommon {{
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, {CJK_FONTS}, sans-serif;
}}
pre, code, .jp-RenderedText pre {{
  font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, "Noto Sans Mono CJK SC", {CJK_FONTS}, monospace;
}}
.llmstart-nav {{ max-width: 1100px; margin: 1em auto; font-family: system-ui, {CJK_FONTS}, sans-serif; }}
.llmstart-widget {{ font-family: ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre; }}
"""


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def widget_text(model_id: str, state: dict) -> str | None:
    """The final state of a stored widget as text (tqdm's bar, a progress bar, an HTML label)."""
    model = state.get(model_id)
    if model is None:
        return None
    name, s = model.get("model_name", ""), model.get("state", {})
    if name in ("FloatProgressModel", "IntProgressModel"):
        low, high, value = s.get("min", 0), s.get("max", 1) or 1, s.get("value", 0)
        frac = max(0.0, min(1.0, (value - low) / (high - low))) if high != low else 1.0
        filled = round(10 * frac)
        return "|" + "█" * filled + " " * (10 - filled) + "|"
    if name in ("HTMLModel", "LabelModel", "TextModel", "HTMLMathModel"):
        text = re.sub(r"<[^>]+>", "", str(s.get("value", "")))
        return html.unescape(text).replace("\u2007", " ")
    if name in ("HBoxModel", "VBoxModel", "BoxModel"):
        parts = [widget_text(c.removeprefix("IPY_MODEL_"), state) for c in s.get("children", [])]
        return ("" if name == "HBoxModel" else "\n").join(p for p in parts if p)
    return None


def clean_outputs(nb: dict) -> dict:
    """Widgets as their final text, memory addresses out of reprs (in place; returns ``nb``)."""
    state = nb.get("metadata", {}).pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb["cells"]:
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                text = widget_text(data.pop(WIDGET_VIEW)["model_id"], state)
                if text is not None:
                    data.clear()
                    data["text/plain"] = text
            plain = _text(data.get("text/plain", "")).strip()
            if out.get("output_type") == "execute_result" and BARE_REPR.match(plain) and len(data) == 1:
                continue  # e.g. [<matplotlib.lines.Line2D at 0x7f...>]: noise, not a result
            for key in ("text/plain", "text/html"):
                if key in data:
                    data[key] = ADDRESS.sub("", _text(data[key]))
            if "text" in out:
                out["text"] = ADDRESS.sub("", _text(out["text"]))
            outputs.append(out)
        if "outputs" in cell:
            cell["outputs"] = outputs
    return nb


def render(path: Path, title: str, switch: tuple[str, str] | None = None, lang: str = "en") -> str:
    """One notebook as a standalone HTML page; ``switch``: (href, label) of the language switch."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = clean_outputs(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    back = "← llmstart 课程" if lang == "zh" else "← llmstart course"
    other = (f' · <a class="llmstart-lang" href="{switch[0]}">{html.escape(switch[1])}</a>'
             if switch else "")
    nav = f'<nav class="llmstart-nav"><a href="index.html">{back}</a>{other}</nav>'
    body = body.replace("</head>", f"<style>{CSS}</style>\n</head>", 1)
    if lang == "zh":
        body = re.sub(r"<html[^>]*>", '<html lang="zh-CN">', body, count=1)
    return re.sub(r"(<body[^>]*>)", r"\1" + nav, body, count=1)


def build(out: Path, src: Path = NOTEBOOKS) -> list[Path]:
    """Write ``index.html`` and one page per notebook (and solution notebook) into ``out``, and
    the Chinese edition into ``out/zh/`` (a page per twin of ``src/zh``); every page links its
    other language: the twin, or the English page (or Chinese index) where no twin exists."""
    if out.exists():
        shutil.rmtree(out)
    (out / "zh").mkdir(parents=True)
    rows, rows_zh, pages = [], [], []
    for n in load_course():
        for rel in [n.file] + ([n.solutions] if n.solutions else []):
            name = Path(rel).stem + ".html"
            twin = (src / "zh" / rel).exists()
            switch = (f"zh/{name}", "中文") if twin else ("zh/index.html", "中文（本页尚无中文版）")
            page = out / name
            page.write_text(render(src / rel, Path(rel).stem, switch), encoding="utf-8")
            pages.append(page)
            if twin:
                page = out / "zh" / name
                page.write_text(render(src / "zh" / rel, Path(rel).stem, (f"../{name}", "English"), "zh"),
                                encoding="utf-8")
                pages.append(page)
        sol = (f' · <a href="{Path(n.solutions).stem}.html">solutions</a>' if n.solutions else "")
        rows.append(f"<tr><td><a href='{n.stem}.html'>{html.escape(n.stem)}</a>{sol}</td>"
                    f"<td>{html.escape(n.section)}</td><td>{html.escape(n.what)}</td>"
                    f"<td>{minutes(n.cpu_seconds)}</td></tr>")
        rows_zh.append(f"<tr><td>{_zh_link(src, n.file, n.stem)}"
                       + (f" · {_zh_link(src, n.solutions, '参考答案')}" if n.solutions else "")
                       + f"</td><td>{html.escape(n.section)}</td><td>{html.escape(what_zh(n))}</td>"
                       f"<td>{minutes(n.cpu_seconds)}</td></tr>")
    (out / "index.html").write_text(_index(
        "en", "llmstart: from a pre-trained language model to a product",
        "The course as stored, outputs included: read it here, run it with <code>make lab</code>.",
        ("notebook", "article section", "what you do", "CPU (2 cores)"), rows,
        ("zh/index.html", "中文")), encoding="utf-8")
    (out / "zh" / "index.html").write_text(_index(
        "zh", "llmstart：从预训练模型到产品",
        "课程原样呈现，包含运行输出：在这里阅读，用 <code>make lab</code> 运行。"
        "标“英文版”的 notebook 尚无中文版。",
        ("notebook", "文章章节", "内容", "CPU（2 核）"), rows_zh, ("../index.html", "English")),
        encoding="utf-8")
    return [out / "index.html", *pages, out / "zh" / "index.html"]


def _zh_link(src: Path, rel: str, text: str) -> str:
    name = Path(rel).stem + ".html"
    if (src / "zh" / rel).exists():
        return f"<a href='{name}'>{html.escape(text)}</a>"
    return f"<a href='../{name}'>{html.escape(text)}</a>（英文版）"


def _index(lang: str, title: str, intro: str, heads: tuple[str, ...], rows: list[str],
           switch: tuple[str, str]) -> str:
    return (
        f"<!DOCTYPE html><html lang='{'zh-CN' if lang == 'zh' else 'en'}'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        f"<style>{CSS} table {{ border-collapse: collapse; }} td, th {{ padding: .3em .8em; "
        "border-bottom: 1px solid #ddd; text-align: left; }</style></head><body class='llmstart-nav'>"
        f"<nav><a class='llmstart-lang' href='{switch[0]}'>{switch[1]}</a></nav>"
        f"<h1>{html.escape(title)}</h1><p>{intro}</p>"
        "<table><tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>"
        + "\n".join(rows) + "</table></body></html>"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "_site")
    args = parser.parse_args(argv)
    pages = build(args.out)
    print(f"{len(pages)} pages in {args.out} (open {args.out / 'index.html'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
