"""The course in a real browser: JupyterLab started as ``make lab`` starts it, driven by Chromium.

Opens ``notebooks/00_setup.ipynb`` (a copy, so the stored outputs stay untouched), runs every
cell through the menu a learner uses (Kernel -> Restart Kernel and Run All Cells), and checks
that the progress widget and the live plot render and that no cell shows an error. Then it
opens a Chinese twin (``notebooks/zh/03_the_math.ipynb``, not run) and checks that its Chinese
renders as glyphs, not empty boxes (a CJK font: ``fonts-noto-cjk``). The
screenshots are saved in the test's tmp folder (its path is printed). The ``playwright`` package
comes with ``make install`` (the ``dev`` extra, pinned); the browser is Debian's ``chromium``,
which ``.ci/run`` installs. Without chromium the test is skipped and says so.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "00_setup.ipynb"
ZH_NOTEBOOK = ROOT / "notebooks" / "zh" / "03_the_math.ipynb"  # the Chinese edition, opened after
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
RUN_TIMEOUT_S = 300  # 00_setup: about 70 s on 2 idle cores, 2-3 min on one thread beside another worker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: apt-get install "
                       "chromium (CI installs it in .ci/run)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(root: Path, port: int, token: str, log: Path) -> subprocess.Popen:
    """JupyterLab as ``make lab`` runs it, but headless, on loopback, with a fixed token."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false", "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
           "JUPYTERLAB_SETTINGS_DIR": str(root / ".jupyter" / "lab" / "user-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / ".jupyter" / "lab" / "workspaces")}
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.port_retries=0"]
    # Render every cell (no virtual scrolling), so every prompt, widget and image is in the DOM;
    # no "Jupyter news" prompt.
    settings = root / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True, exist_ok=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    (settings / "apputils-extension").mkdir(parents=True, exist_ok=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false"}')
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    return subprocess.Popen(cmd, cwd=root, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_for_server(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def wait_for_kernel(page, timeout: float = 90) -> None:
    """Until the notebook's kernel is connected and idle; accept a "Select Kernel" dialog
    (a fresh JupyterLab sometimes asks) with its default, the notebook's own kernel."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.locator(".jp-Dialog .jp-mod-accept").count():
            page.locator(".jp-Dialog .jp-mod-accept").click()
        name = page.locator(".jp-Toolbar-kernelName").first.get_attribute("aria-label") or ""
        idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count()
        if name and name != "No Kernel" and idle:
            return
        time.sleep(1)
    pytest.fail(f"the kernel did not start within {timeout:.0f} s")


# A Chinese glyph drawn on a canvas must differ from the "missing glyph" box that a font-less
# browser draws for every character (here: a private-use code point no font has).
TOFU_JS = """() => {
  const draw = (t) => { const c = document.createElement('canvas'); c.width = 64; c.height = 32;
    const x = c.getContext('2d'); x.font = '24px sans-serif'; x.fillText(t, 2, 26);
    return Array.from(x.getImageData(0, 0, 64, 32).data).join(','); };
  return draw('交叉熵') !== draw('\\u{10FFFD}\\u{10FFFD}\\u{10FFFD}');
}"""


def check_chinese_twin(browser, port: int, token: str, tmp_path: Path) -> None:
    """Open the Chinese twin (stored outputs, not run): its markdown renders as Chinese glyphs."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"http://127.0.0.1:{port}/lab/tree/zh/{ZH_NOTEBOOK.name}?token={token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-MarkdownCell .jp-RenderedMarkdown", timeout=60_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(tmp_path / f"zh_{ZH_NOTEBOOK.stem}.png"))
        print(f"screenshot: {tmp_path / f'zh_{ZH_NOTEBOOK.stem}.png'}")
        text = " ".join(page.locator(".jp-RenderedMarkdown").all_inner_texts())
        assert "交叉熵" in text and "数学模型构建" in text, text[:500]
        assert page.evaluate(TOFU_JS), "Chinese renders as empty boxes: no CJK font (apt-get install fonts-noto-cjk)"
    finally:
        page.close()


def test_setup_notebook_runs_in_jupyterlab(tmp_path: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("chromium is installed but the playwright package is not: make install (or "
                    "pip install -c constraints.txt -e '.[dev]') installs it")
    work = tmp_path / "course"
    work.mkdir()
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in nb["cells"]:  # start blank: every output on screen must come from this run
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb["metadata"].pop("widgets", None)
    (work / NOTEBOOK.name).write_text(json.dumps(nb), encoding="utf-8")
    if (NOTEBOOK.parent / "results").is_dir():
        shutil.copytree(NOTEBOOK.parent / "results", work / "results")
    (work / "zh").mkdir()
    shutil.copy(ZH_NOTEBOOK, work / "zh" / ZH_NOTEBOOK.name)  # stored outputs kept: only opened
    port, token, log = free_port(), secrets.token_hex(16), tmp_path / "jupyter.log"
    lab = start_lab(work, port, token, log)
    screenshot = tmp_path / "00_setup.png"
    try:
        wait_for_server(f"http://127.0.0.1:{port}/api/status?token={token}", lab, log)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            try:
                page.goto(f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK.name}?token={token}")
                page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
                wait_for_kernel(page)
                page.get_by_role("menuitem", name="Kernel").click()
                page.get_by_role("menuitem", name="Restart Kernel and Run All Cells…").click()
                page.locator(".jp-Dialog .jp-mod-accept").click()  # "Restart"
                n_code = page.locator(".jp-CodeCell").count()
                deadline = time.monotonic() + RUN_TIMEOUT_S
                prompts: list[str] = []
                while time.monotonic() < deadline:
                    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
                    done = [t for t in prompts if t.strip() not in ("[ ]:", "[*]:", "")]
                    if len(done) == n_code and not page.locator(".jp-mod-busy").count() \
                            and page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count():
                        break
                    time.sleep(2)
                page.wait_for_timeout(1500)  # let the last outputs and widgets paint
                page.screenshot(path=str(screenshot), full_page=True)
                print(f"screenshot: {screenshot}")
                stderr = page.locator(".jp-OutputArea-output[data-mime-type="
                                      "'application/vnd.jupyter.stderr']").all_inner_texts()
                tracebacks = [t for t in stderr if "Traceback" in t or "Error" in t.split("\n", 2)[1:2]]
                assert not tracebacks, f"a cell shows an error:\n{tracebacks[0][-2000:]}"
                page.keyboard.press("Control+s")  # the saved file says it too
                page.wait_for_timeout(2000)
                saved = json.loads((work / NOTEBOOK.name).read_text(encoding="utf-8"))
                errors = [f"{o['ename']}: {o['evalue']}" for c in saved["cells"]
                          for o in c.get("outputs", []) if o.get("output_type") == "error"]
                assert not errors, f"a cell raised {errors}"
                assert len(done) == n_code, (
                    f"only {len(done)} of {n_code} code cells ran within {RUN_TIMEOUT_S} s: {prompts}")
                bars = page.locator(".widget-hprogress .progress-bar")
                assert bars.count() >= 1, "no progress widget rendered (ipywidgets not loaded?)"
                widths = [bars.nth(i).evaluate("e => e.style.width") for i in range(bars.count())]
                assert "100%" in widths, f"no progress bar reached 100 %: {widths}"
                images = page.locator(".jp-OutputArea-output img")
                sizes = [images.nth(i).evaluate("e => e.naturalWidth") for i in range(images.count())]
                assert any(w > 300 for w in sizes), f"no live plot rendered: image widths {sizes}"
                bars.first.scroll_into_view_if_needed()  # a second screenshot: the training cell
                page.screenshot(path=str(tmp_path / "00_setup_training.png"))
                check_chinese_twin(browser, port, token, tmp_path)
            finally:
                if not screenshot.exists():
                    page.screenshot(path=str(screenshot), full_page=True)
                browser.close()
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            lab.kill()
