"""The service keeps its OpenAPI contract: the stored copy is what the code declares, and a
served model answers as the document says (Schemathesis, every check, on loopback only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from llmstart.serve import Limits, ServingSettings
from llmstart.serve.app import create_app, openapi_document

STORED = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"
REGENERATE = "python -m llmstart serve --print-openapi > docs/openapi.json"


def contract_diff(stored, generated, where: str = "") -> list[str]:
    """Every place where two JSON documents differ, as 'path: stored -> generated' lines."""
    if isinstance(stored, dict) and isinstance(generated, dict):
        return [line for key in sorted(set(stored) | set(generated), key=str)
                for line in contract_diff(stored.get(key, "<absent>"), generated.get(key, "<absent>"),
                                          f"{where}/{key}")]
    if isinstance(stored, list) and isinstance(generated, list) and len(stored) == len(generated):
        return [line for i, (a, b) in enumerate(zip(stored, generated, strict=True))
                for line in contract_diff(a, b, f"{where}/{i}")]
    return [] if stored == generated else [f"{where}: {stored!r} -> {generated!r}"]


def test_stored_openapi_is_what_the_service_declares():
    diff = contract_diff(json.loads(STORED.read_text(encoding="utf-8")), openapi_document())
    assert not diff, ("the API contract changed; if on purpose, regenerate the stored copy with "
                      f"`{REGENERATE}` and commit the diff:\n" + "\n".join(diff[:20]))


def test_a_planted_change_to_a_request_field_is_caught(monkeypatch):
    import llmstart.serve.app as app_module
    from llmstart.serve.schema import classify_request_model

    def loosened(limits):  # one more text per request than the stored contract allows
        return classify_request_model(Limits(limits.max_texts + 1, limits.max_chars,
                                             limits.max_body_bytes))

    monkeypatch.setattr(app_module, "classify_request_model", loosened)
    diff = contract_diff(json.loads(STORED.read_text(encoding="utf-8")), openapi_document())
    assert "/components/schemas/ClassifyRequest/properties/texts/maxItems: 64 -> 65" in diff


class Fake:
    labels, name, backend = ["neg", "pos"], "fake", "float"
    settings = ServingSettings()

    def predict_proba(self, texts):
        return np.tile([0.25, 0.75], (len(texts), 1))


def test_schema_states_the_limits_the_server_enforces():
    """maxItems/maxLength are the --max-texts/--max-chars the app was built with, and a body at
    the limit passes while one past it gets the limit's own sentence."""
    limits = Limits(max_texts=3, max_chars=10)
    with TestClient(create_app(Fake(), limits=limits)) as client:
        texts = client.get("/openapi.json").json()["components"]["schemas"]["ClassifyRequest"][
            "properties"]["texts"]
        assert (texts["maxItems"], texts["minItems"], texts["items"]["maxLength"]) == (3, 1, 10)
        assert client.post("/v1/classify", json={"texts": ["x" * 10] * 3}).status_code == 200
        r = client.post("/v1/classify", json={"texts": ["x"] * 4})
        assert r.status_code == 422 and "over the limit of 3" in r.json()["error"]
        r = client.post("/v1/classify", json={"texts": ["x" * 11]})
        assert r.status_code == 422 and "over the limit of 10" in r.json()["error"]


def test_blank_pattern_means_what_str_strip_means():
    """The schema's pattern for 'not only whitespace' agrees with Python's str.strip() on every
    code point, so a client validating with the schema and the server never disagree."""
    import re

    from llmstart.serve.schema import NOT_BLANK

    pattern = re.compile(NOT_BLANK)
    disagree = [hex(c) for c in range(sys.maxunicode + 1)
                if not 0xD800 <= c <= 0xDFFF and bool(pattern.search(chr(c))) != bool(chr(c).strip())]
    assert disagree == []


def test_every_error_status_is_declared_with_its_body_and_headers():
    doc = openapi_document()
    classify = doc["paths"]["/v1/classify"]["post"]["responses"]
    assert {"200", "400", "404", "405", "413", "415", "422", "500", "503"} <= set(classify)
    for status in ("400", "413", "415", "422", "503"):
        assert classify[status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"}
    assert classify["503"]["headers"]["Retry-After"]["required"] is True
    assert classify["405"]["headers"]["Allow"]["required"] is True
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain; version=1.0.0; charset=utf-8"]
    prediction = doc["components"]["schemas"]["Prediction"]
    assert sorted(prediction["required"]) == ["abstain", "label", "score", "scores"]


def test_wrong_method_answers_405_with_allow_and_non_json_415():
    with TestClient(create_app(Fake())) as client:
        for path in ("/v1/classify", "/healthz", "/readyz", "/v1/model", "/metrics"):
            r = client.request("TRACE", path)
            assert r.status_code == 405 and r.headers["allow"], path
            assert r.headers["allow"] in r.json()["error"]
        r = client.post("/v1/classify", content=b'{"texts": ["hi"]}',
                        headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 415 and "Content-Type: application/json" in r.json()["error"]
        r = client.post("/v1/classify", content=b'{"texts": ["hi"]}')  # no Content-Type: JSON
        assert r.status_code == 200


@pytest.mark.slow
def test_schemathesis_finds_no_failure_against_a_served_model(tmp_path, tokenizer):
    """`schemathesis run --checks all` against `llmstart serve` of a tiny model on 127.0.0.1,
    bounded: at most 40 cases per operation and phase, a fixed seed, 10 minutes in all."""
    from test_serve_http import ENV, Server, save_tiny

    srv = Server(save_tiny(tmp_path / "clf", tokenizer), "--max-texts", "4", "--max-chars", "100",
                 "--max-body-bytes", "100000")
    try:
        out = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", srv.url + "/openapi.json",
             "--checks", "all", "--max-examples", "40", "--seed", "1", "--workers", "1",
             "--request-timeout", "60", "--suppress-health-check", "too_slow",
             "--report", "junit", "--report-dir", str(tmp_path / "report")],
            capture_output=True, text=True, env=ENV, timeout=600, cwd=tmp_path)
    finally:
        srv.stop()
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "No issues found" in out.stdout or " 0 failures" in out.stdout, out.stdout[-3000:]
