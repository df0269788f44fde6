"""`/docs` and `/redoc` work on a machine with no network: the pages name only the service's own
files (fastapi-offline's copy of Swagger UI and ReDoc), the service serves them, and a real
browser renders the operations with every request staying on 127.0.0.1.

The browser test drives Debian's Chromium through Playwright, as ``tests/test_browser.py`` does,
and saves a screenshot in its tmp folder (its path is printed): ``docs/serve-docs.png`` in the
README is that screenshot.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from fastapi.testclient import TestClient

from llmstart.serve import ServingSettings
from llmstart.serve.app import DOCS_ASSETS, create_app

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


class Fake:
    labels, name, backend = ["neg", "pos"], "fake", "float"
    settings = ServingSettings()

    def predict_proba(self, texts):
        return np.tile([0.25, 0.75], (len(texts), 1))


class _Links(HTMLParser):
    """Every URL a page loads: <script src>, <link href>, <img src>, <redoc spec-url>."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)


def page_assets(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets_and_they_are_served(page):
    with TestClient(create_app(Fake())) as client:
        r = client.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert not re.findall(r"https?://", r.text), "the page names a remote URL (a CDN?)"
        urls = page_assets(r.text)
        assets = [u for u in urls if u != "/openapi.json"]
        assert any(u.endswith(".js") for u in assets), urls  # the page has its script
        for url in assets:
            assert not urlsplit(url).netloc and url.startswith(DOCS_ASSETS + "/"), url
            asset = client.get(url)
            expected = CONTENT_TYPES[Path(url).suffix]
            assert asset.status_code == 200, url
            assert asset.headers["content-type"].startswith(expected), (url, asset.headers)
            assert len(asset.content) > 1000, url  # the real file, not a stub
        assert client.get("/openapi.json").status_code == 200


def test_docs_assets_are_not_part_of_the_contract():
    with TestClient(create_app(Fake())) as client:
        paths = client.get("/openapi.json").json()["paths"]
        assert sorted(paths) == ["/healthz", "/metrics", "/readyz", "/v1/classify", "/v1/model"]
        missing = client.get(DOCS_ASSETS + "/no-such-file.js")
        assert missing.status_code == 404 and "no route" in missing.json()["error"]


@pytest.mark.slow
def test_docs_render_offline_in_chromium(tmp_path, tokenizer):
    """`llmstart serve` of the tiny model on 127.0.0.1; headless Chromium opens /docs with every
    request to another host refused, and Swagger UI renders the operations."""
    from test_browser import CHROMIUM, CHROMIUM_ARGS
    from test_serve_http import Server, save_tiny

    if CHROMIUM is None:
        pytest.skip("chromium is not installed: apt-get install chromium (CI installs it in .ci/run)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("chromium is installed but the playwright package is not: make install (or "
                    "pip install -c constraints.txt -e '.[dev]') installs it")
    srv = Server(save_tiny(tmp_path / "clf", tokenizer))
    remote: list[str] = []
    local: list[str] = []
    screenshot = tmp_path / "serve-docs.png"

    def only_loopback(route):
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
            local.append(url)
            route.continue_()
        else:
            remote.append(url)
            route.abort()

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            try:
                page.route("**/*", only_loopback)
                page.goto(srv.url + "/docs")
                classify = page.locator(".opblock-post", has_text="/v1/classify")
                classify.wait_for(state="visible", timeout=60_000)
                page.wait_for_timeout(500)  # let fonts and layout settle
                assert classify.is_visible()
                assert "Classify texts" in classify.inner_text()
                shown = page.locator(".opblock-summary-path").all_inner_texts()
                last = page.locator(".opblock").last.bounding_box()
                page.screenshot(path=str(screenshot), clip={  # the title and the five operations
                    "x": 0, "y": 0, "width": 1000, "height": last["y"] + last["height"] + 24})
                print(f"screenshot: {screenshot}")
                classify.locator(".opblock-summary").click()  # open it: the schema renders too
                body = classify.locator(".opblock-body")
                body.get_by_text("Request body").wait_for(timeout=30_000)
                opened = body.inner_text()
            finally:
                browser.close()
    finally:
        srv.stop()
    assert not remote, f"the page asked for remote URLs: {remote}"
    assert any(u.endswith("/openapi.json") for u in local), local
    assert any(DOCS_ASSETS in u for u in local), local
    assert {s.replace("\u200b", "") for s in shown} >= {
        "/v1/classify", "/healthz", "/readyz", "/v1/model", "/metrics"}, shown
    assert screenshot.stat().st_size > 10_000
    codes = set(re.findall(r"^\s*(\d{3})\s*$", opened, flags=re.M))
    assert {"200", "400", "413", "415", "422", "503"} <= codes, opened[:3000]
    assert "texts" in opened and "application/json" in opened, opened[:3000]
