"""`llmstart serve` as a client sees it: a real uvicorn process on a loopback port, spoken to over HTTP."""

from __future__ import annotations

import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import tiny_bert
from llmstart.train import save_model

# Each server start imports torch and transformers in a fresh process (several seconds, far more
# on a busy machine): the module as a whole takes longer than the fast tests.
pytestmark = pytest.mark.slow

LABELS = ["food", "sport", "tech"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "TOKENIZERS_PARALLELISM": "false"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def save_tiny(folder: Path, tokenizer) -> Path:
    model = tiny_bert(num_labels=3, dropout=0.0)
    model.config.id2label = dict(enumerate(LABELS))
    model.config.label2id = {n: i for i, n in enumerate(LABELS)}
    save_model(model, folder, tokenizer)
    (folder / "metrics.json").write_text(json.dumps({"model": "tiny-bert", "test": {"accuracy": 0.5}}))
    return folder


class Server:
    """``python -m llmstart serve`` in a subprocess; stopped (by its own pid) at the end."""

    def __init__(self, folder: Path, *extra: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llmstart", "serve", "--model", str(folder), "--host", "127.0.0.1",
             "--port", str(self.port), "--threads", "1", *extra],
            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(600):  # at most 120 s on a busy machine
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start in 120 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tokenizer) -> Path:
    return save_tiny(tmp_path_factory.mktemp("serve") / "clf", tokenizer)


@pytest.fixture(scope="module")
def server(model_dir):
    srv = Server(model_dir, "--max-texts", "8", "--max-chars", "200", "--max-body-bytes", "4000")
    yield srv
    srv.stop()


def post(server, body: bytes | str, **headers) -> httpx.Response:
    data = body.encode() if isinstance(body, str) else body
    return httpx.post(server.url + "/v1/classify", content=data, timeout=30,
                      headers={"content-type": "application/json", **headers})


def test_classify_answers_one_prediction_per_text_in_order(server):
    texts = ["pasta and cheese", "the striker scored a goal", "cloud software", "pasta and cheese"]
    r = httpx.post(server.url + "/v1/classify", json={"texts": texts}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "clf" and len(body["predictions"]) == 4
    for p in body["predictions"]:
        assert set(p["scores"]) == set(LABELS)
        assert abs(sum(p["scores"].values()) - 1) < 1e-5
        assert p["label"] == max(p["scores"], key=p["scores"].get) and p["abstain"] is False
    assert body["predictions"][0] == body["predictions"][3]  # same text, same answer, whatever its batch


def test_health_ready_and_model_info(server):
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(server.url + "/readyz", timeout=30)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    info = httpx.get(server.url + "/v1/model").json()
    assert info["labels"] == LABELS and info["backend"] == "float"
    assert info["training"]["test"]["accuracy"] == 0.5 and info["folder"].endswith("clf")


BAD = [
    ("invalid JSON", b'{"texts": ["a"', 400, "not valid JSON"),
    ("not UTF-8", b'{"texts": ["caf\xe9"]}', 400, "UTF-8"),
    ("empty body", b"", 400, "empty body"),
    ("not an object", b'["a", "b"]', 422, "JSON object"),
    ("texts missing", b'{"text": ["a"]}', 422, "'texts' is missing"),
    ("texts a string", b'{"texts": "a"}', 422, "got a string"),
    ("texts a number", b'{"texts": 3}', 422, "got a number"),
    ("texts empty", b'{"texts": []}', 422, "is empty"),
    ("non-string text", b'{"texts": ["a", 5]}', 422, "texts[1] must be a string"),
    ("null text", b'{"texts": [null]}', 422, "texts[0] must be a string, got null"),
    ("empty string", b'{"texts": ["a", ""]}', 422, "texts[1] is empty"),
    ("whitespace", b'{"texts": ["   "]}', 422, "texts[0] is empty"),
    ("too many texts", json.dumps({"texts": ["a"] * 9}).encode(), 422, "over the limit of 8"),
    ("text too long", json.dumps({"texts": ["a" * 201]}).encode(), 422, "201 characters"),
    ("body too large", json.dumps({"texts": ["a" * 150] * 30}).encode(), 413, "over the limit of 4000"),
]


@pytest.mark.parametrize("name,body,status,message", BAD, ids=[b[0] for b in BAD])
def test_every_bad_input_gets_a_clear_4xx_json(server, name, body, status, message):
    r = post(server, body)
    assert r.status_code == status, (name, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert message in r.json()["error"] and r.json()["status"] == status


def test_unknown_route_and_wrong_method_are_json(server):
    r = httpx.get(server.url + "/v1/classify")
    assert r.status_code == 405 and "not allowed" in r.json()["error"]
    r = httpx.get(server.url + "/nope")
    assert r.status_code == 404 and "/nope" in r.json()["error"]


def test_concurrent_clients_get_their_own_answers(server):
    texts = [f"{i} " + ("goal match " * (i % 5) + "pasta") for i in range(24)]
    alone = [httpx.post(server.url + "/v1/classify", json={"texts": [t]}, timeout=30).json()
             ["predictions"][0] for t in texts[:4]]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda t: httpx.post(server.url + "/v1/classify", json={"texts": [t]},
                                                     timeout=60).json()["predictions"][0], texts))
    for a, b in zip(alone, answers[:4], strict=True):  # batched with others = answered alone
        assert a["label"] == b["label"]
        assert all(abs(a["scores"][k] - b["scores"][k]) < 1e-4 for k in LABELS)
    metrics = httpx.get(server.url + "/metrics").text
    assert 'llmstart_requests_total{path="/v1/classify",status="200"}' in metrics
    assert "llmstart_batch_size_bucket" in metrics and "llmstart_confidence_bucket" in metrics


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                           | st.text(max_size=30), lambda c: st.lists(c, max_size=5)
                           | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=12)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(st.one_of(st.text(max_size=40), st.integers(), st.none()), max_size=12).map(
        lambda t: json.dumps({"texts": t}).encode()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_fuzzed_bodies_never_break_the_server(server, body):
    r = post(server, body)
    assert r.status_code in (200, 400, 413, 422), r.text
    payload = r.json()
    assert ("predictions" in payload) if r.status_code == 200 else ("error" in payload)


def test_still_answering_after_the_abuse(server):
    assert httpx.get(server.url + "/readyz", timeout=30).status_code == 200
    r = httpx.post(server.url + "/v1/classify", json={"texts": ["still here?"]}, timeout=30)
    assert r.status_code == 200 and len(r.json()["predictions"]) == 1
    metrics = httpx.get(server.url + "/metrics").text
    assert 'status="422"' in metrics and 'status="400"' in metrics and 'status="413"' in metrics


def test_full_queue_answers_503_with_retry_after(model_dir):
    # Two texts may wait; the batcher holds a batch open 3 s, so a third text finds the queue full.
    srv = Server(model_dir, "--max-pending", "2", "--max-texts", "2", "--max-wait-ms", "3000",
                 "--max-batch", "64")
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            waiting = [pool.submit(httpx.post, srv.url + "/v1/classify", json={"texts": [t]}, timeout=60)
                       for t in ("first", "second")]
            for _ in range(100):  # until both are queued (bounded: 10 s)
                if "llmstart_pending_texts 2.0" in httpx.get(srv.url + "/metrics").text:
                    break
                time.sleep(0.1)
            r = httpx.post(srv.url + "/v1/classify", json={"texts": ["third"]}, timeout=30)
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            assert "busy" in r.json()["error"]
            assert [f.result().status_code for f in waiting] == [200, 200]
        metrics = httpx.get(srv.url + "/metrics").text
        assert "llmstart_rejected_total 1.0" in metrics
        assert 'llmstart_batch_size_bucket{le="2.0"} 2.0' in metrics  # warm-up (1) + the pair (2)
        assert 'llmstart_batch_size_bucket{le="1.0"} 1.0' in metrics
    finally:
        srv.stop()


def test_missing_or_broken_model_folder_stops_with_one_line(tmp_path):
    def serve(folder):
        return subprocess.run([sys.executable, "-m", "llmstart", "serve", "--model", str(folder),
                               "--port", str(free_port())], capture_output=True, text=True, env=ENV,
                              timeout=300)

    out = serve(tmp_path / "nothing")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0 and "no such folder" in out.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    out = serve(broken)
    assert out.returncode == 2 and "config.json: not valid JSON" in out.stderr
    assert out.stderr.strip().count("\n") == 0


def train_cli(tmp_path: Path, tokenizer, *flags: str) -> Path:
    """`llmstart train` on a CSV of synthetic tickets with a tiny BERT as the base; returns --out."""
    from conftest import synthetic_frame
    from llmstart.cli import main

    base = tmp_path / "base"
    tiny_bert().save_pretrained(base)
    tokenizer.save_pretrained(base)
    synthetic_frame(240).to_csv(tmp_path / "tickets.csv", index=False)
    assert main(["train", "--data", str(tmp_path / "tickets.csv"), "--model", str(base), "--out",
                 str(tmp_path / "clf"), "--epochs", "4", "--batch-size", "8", *flags]) == 0
    return tmp_path / "clf"


def test_train_then_serve_answers_like_predict(tmp_path, tokenizer):
    """The acceptance path: `llmstart train` on a CSV, then `llmstart serve` on its output."""
    srv = Server(train_cli(tmp_path, tokenizer, "--lr", "2e-3"))
    try:
        r = httpx.post(srv.url + "/v1/classify", timeout=30,
                       json={"texts": ["a goal for the striker and the team", "pasta with cheese"]})
        assert [p["label"] for p in r.json()["predictions"]] == ["sport", "food"]
        info = httpx.get(srv.url + "/v1/model").json()
        assert info["labels"] == ["food", "sport", "tech"] and info["training"]["test"]["accuracy"] > 0.9
        # train wrote the evaluation and what serving needs: the temperature it chose on validation
        # (fitted, or 1 when validation cannot support a fit) and why, a threshold, a reference
        settings = json.loads((tmp_path / "clf" / "serving.json").read_text())
        report = json.loads((tmp_path / "clf" / "evaluation" / "report.json").read_text())
        assert (tmp_path / "clf" / "evaluation" / "reliability.png").is_file()
        assert settings["temperature"] == report["calibration"]["temperature"]
        assert settings["temperature_choice"]["kept"] == report["calibration"]["choice"]["kept"]
        assert settings["temperature_choice"]["reason"].startswith(("fitted T", "kept T = 1"))
        assert info["temperature"] == settings["temperature"] and info["abstain_threshold"] == (
            settings["abstain_threshold"])
        assert settings["reference"]["labels"] == LABELS and settings["reference"]["n"] > 40
        assert "llmstart_drift_psi" in httpx.get(srv.url + "/metrics").text
    finally:
        srv.stop()


def test_train_lora_then_serve(tmp_path, tokenizer):
    """A `train --lora` folder (adapter and head only) is served like a full one: same labels as predict."""
    from llmstart.serve.classifier import TextClassifier

    train_cli(tmp_path, tokenizer, "--lr", "5e-3", "--lora")
    assert not (tmp_path / "clf" / "model.safetensors").exists()  # small: adapter and head only
    texts = ["a goal for the striker and the team", "pasta with cheese", "a new laptop chip"]
    expected = [p["label"] for p in TextClassifier.load(tmp_path / "clf").predict(texts)]
    srv = Server(tmp_path / "clf")
    try:
        r = httpx.post(srv.url + "/v1/classify", timeout=30, json={"texts": texts})
        assert r.status_code == 200 and [p["label"] for p in r.json()["predictions"]] == expected
    finally:
        srv.stop()
