"""make site: stored outputs as static HTML; widgets as final text, no memory addresses, CJK fonts."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from build_site import build, clean_outputs, render  # noqa: E402

STATE = {
    "box": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_left", "IPY_MODEL_bar", "IPY_MODEL_right"]}},
    "left": {"model_name": "HTMLModel", "state": {"value": "training:\u2007100%"}},
    "bar": {"model_name": "FloatProgressModel", "state": {"value": 57.0, "max": 57.0, "min": 0}},
    "right": {"model_name": "HTMLModel", "state": {"value": "\u200757/57\u2007[00:48&lt;00:00]"}},
}


def fixture_notebook() -> dict:
    widget = new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "box", "version_major": 2, "version_minor": 0},
        "text/plain": "training:   0%|          | 0/57 [00:00<?, ?it/s]"})
    nb = new_notebook(cells=[
        new_markdown_cell("# 00 · 环境准备与第一个微调模型"),
        new_code_cell("train()", outputs=[widget]),
        new_code_cell("plt.plot(x)", outputs=[new_output(
            "execute_result", data={"text/plain": "[<matplotlib.lines.Line2D at 0x7f3a2b1c9d50>]"},
            execution_count=3)]),
        new_code_cell("print(table)", outputs=[new_output(
            "stream", text="model  <llmstart.serve.classifier.TextClassifier object at 0x7f3a2b1c9d50>  0.91\n")]),
    ])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": STATE}}
    return nb


def test_widgets_become_their_final_text_and_addresses_go():
    nb = clean_outputs(json.loads(json.dumps(fixture_notebook())))
    assert nb["cells"][1]["outputs"][0]["data"] == {
        "text/plain": "training: 100%|██████████| 57/57 [00:48<00:00]"}
    assert nb["cells"][2]["outputs"] == []  # a bare Line2D repr is noise
    assert nb["cells"][3]["outputs"][0]["text"] == "model  <llmstart.serve.classifier.TextClassifier object>  0.91\n"
    assert "widgets" not in nb["metadata"]


def test_page_renders_chinese_fonts_and_no_widget_script(tmp_path):
    path = tmp_path / "00_fixture.ipynb"
    path.write_text(json.dumps(fixture_notebook()), encoding="utf-8")
    page = render(path, "00_fixture")
    assert "环境准备与第一个微调模型" in page and "Noto Sans CJK SC" in page
    assert "100%|██████████| 57/57" in page
    assert not re.search(r"0x[0-9a-f]{6,}", page)
    assert "widget-state+json" not in page


@pytest.fixture(scope="module")
def real_site(tmp_path_factory):
    """The site of the real course, built once for the tests below (both languages)."""
    site = tmp_path_factory.mktemp("real") / "site"
    return site, build(site)


def test_site_of_the_real_course(real_site):
    site, pages = real_site
    assert pages[0].name == "index.html"
    index = pages[0].read_text(encoding="utf-8")
    for page in pages[1:]:
        assert f"{page.name}" in index or "solutions" in page.name or page.parent.name == "zh"
        html = page.read_text(encoding="utf-8")
        assert not re.search(r" at 0x[0-9a-fA-F]{6,}", html), page.name
        assert "application/vnd.jupyter.widget-view+json" not in html, page.name
    setup = (site / "00_setup.html").read_text(encoding="utf-8")
    assert "100%|██████████|" in setup  # the training bar's final state
    title = json.loads((ROOT / "notebooks" / "00_setup.ipynb").read_text(encoding="utf-8"))["cells"][0]["source"]
    chinese = re.findall(r"[\u4e00-\u9fff]+", "".join(title))
    assert chinese and all(word in setup for word in chinese)  # the title's Chinese, as text


def test_site_has_both_languages_and_a_switch_on_every_page(real_site):
    site, pages = real_site
    twins = {p.stem for p in (ROOT / "notebooks" / "zh").rglob("*.ipynb")}
    assert twins and {p.stem for p in (site / "zh").glob("*.html")} == twins | {"index"}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        links = re.findall(r"class=.llmstart-lang. href=.([^'\"]+)", text)
        assert len(links) == 1, page
        assert (page.parent / links[0]).exists(), (page, links[0])  # the switch leads somewhere
        if page.parent.name == "zh" and page.stem != "index":
            assert links[0] == f"../{page.name}" and 'lang="zh-CN"' in text
            assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 200, page  # Chinese prose, not headings
        elif page.stem in twins:
            assert links[0] == f"zh/{page.name}"
    index = (site / "zh" / "index.html").read_text(encoding="utf-8")
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):  # each twin, else the English page
        assert (f"href='{nb.stem}.html'" if nb.stem in twins else f"href='../{nb.stem}.html'") in index, nb.stem
