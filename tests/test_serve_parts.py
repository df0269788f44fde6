"""The service's parts without HTTP: batching, validation limits, engines (float/int8/ONNX), drift."""

from __future__ import annotations

import asyncio
import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import tiny_bert
from llmstart.serve import Engine, Limits, ModelFolderError, RequestError, check_model_folder
from llmstart.serve.batcher import Batcher, QueueFull
from llmstart.serve.classifier import TextClassifier
from llmstart.serve.drift import DriftMonitor, drift_report, psi, reference_from_probs
from llmstart.serve.request_checks import parse_classify_body
from llmstart.train import save_model


def test_batcher_groups_waiting_requests_and_caps_the_batch():
    calls = []

    def predict(texts):
        calls.append(list(texts))
        return np.array([[len(t)] for t in texts])

    async def main():
        b = Batcher(predict, max_batch=4, max_wait_ms=200)
        await b.start()
        rows = await asyncio.gather(*(b.submit([f"x{'y' * i}"]) for i in range(6)))
        await b.stop()
        return rows

    rows = asyncio.run(main())
    assert [r.tolist() for r in rows] == [[[1 + i]] for i in range(6)]  # each got its own row
    assert [len(c) for c in calls] == [4, 2]  # 6 waiting requests: one full batch, then the rest


def test_batcher_refuses_beyond_max_pending_and_reports_model_errors():
    async def main():
        b = Batcher(lambda t: np.zeros((len(t), 1)), max_batch=8, max_wait_ms=300, max_pending=3)
        await b.start()
        first = asyncio.create_task(b.submit(["a", "b"]))
        await asyncio.sleep(0.05)
        with pytest.raises(QueueFull):
            await b.submit(["c", "d"])
        ok = await b.submit(["c"])  # exactly at the limit is fine
        await first
        await b.stop()
        broken = Batcher(lambda t: 1 / 0, max_wait_ms=0)
        await broken.start()
        with pytest.raises(ZeroDivisionError):
            await broken.submit(["x"])
        await broken.stop()
        return ok, b.pending

    ok, pending = asyncio.run(main())
    assert ok.shape == (1, 1) and pending == 0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_parse_body_either_returns_texts_or_raises_a_4xx(body):
    try:
        texts = parse_classify_body(body, Limits(max_texts=4, max_chars=20, max_body_bytes=150))
    except RequestError as err:
        assert 400 <= err.status < 500 and err.message
    else:
        assert texts and all(isinstance(t, str) and t.strip() for t in texts)


def test_limits_are_checked():
    with pytest.raises(ValueError, match="max_texts"):
        Limits(max_texts=0)
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(RequestError, match="not valid JSON"):
        parse_classify_body(deep, Limits(max_body_bytes=300_000))


@pytest.fixture(scope="module")
def folder(tmp_path_factory, tokenizer):
    model = tiny_bert(num_labels=3, dropout=0.0)
    model.config.id2label = {0: "food", 1: "sport", 2: "tech"}
    return save_model(model, tmp_path_factory.mktemp("eng") / "clf", tokenizer)


def test_int8_and_onnx_agree_with_float(folder):
    texts = ["pasta and cheese", "goal", "a much longer text about cloud software and chips " * 3]
    ref = Engine.load(folder, "float", threads=1).predict_proba(texts)
    for backend, tol in (("onnx", 1e-4), ("int8", 0.05)):
        engine = Engine.load(folder, backend, threads=1)
        got = engine.predict_proba(texts)
        assert np.abs(got - ref).max() < tol, backend
        assert engine.size_mb() > 0
    assert (folder / "onnx" / "model.onnx").is_file()  # exported once, reused next time


def test_bf16_backend_agrees_with_float_or_is_refused_clearly(folder, monkeypatch):
    import llmstart.serve.engine as engine_module

    texts = ["pasta and cheese", "goal", "a much longer text about cloud software and chips " * 3]
    ref = Engine.load(folder, "float", threads=1).predict_proba(texts)
    monkeypatch.setattr(engine_module, "pick_precision", lambda *a, **k: "bf16")  # as on a bf16 CPU
    got = Engine.load(folder, "bf16", threads=1).predict_proba(texts)
    assert np.abs(got - ref).max() < 0.05 and not np.array_equal(got, ref)  # bf16 rounding, same answers
    monkeypatch.setattr(engine_module, "pick_precision", lambda *a, **k: "fp32")  # a CPU without bf16
    with pytest.raises(ValueError, match="no native bf16"):
        Engine.load(folder, "bf16", threads=1)


def test_dynamic_padding_does_not_change_answers(folder):
    engine = Engine.load(folder, "float", threads=1, batch_size=2)
    texts = ["short", "a far longer text " * 10, "mid size text", "x"]
    together = engine.predict_proba(texts)
    alone = np.concatenate([engine.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_predict_and_serve_read_texts_as_train_did_through_one_inference_path(folder, tmp_path):
    """`predict` and `serve` keep as many tokens per text as `train` did (its metrics.json), 128
    without one; and the float engine's logits are exactly `predict`'s."""
    long_text = "a much longer text about cloud software and chips " * 30  # over 128 tokens
    texts = ["pasta and cheese", long_text]
    clf, engine = TextClassifier.load(folder), Engine.load(folder, "float", threads=1)
    assert clf.max_length == engine.max_length == 128
    np.testing.assert_allclose(engine.predict_logits(texts), clf.logits(texts), atol=1e-5)
    trained = shutil.copytree(folder, tmp_path / "trained_with_16")
    (trained / "metrics.json").write_text(json.dumps({"model": {"max_length": 16}}))
    clf16, engine16 = TextClassifier.load(trained), Engine.load(trained, "float", threads=1)
    assert clf16.max_length == engine16.max_length == 16
    np.testing.assert_allclose(engine16.predict_logits(texts), clf16.logits(texts), atol=1e-5)
    assert not np.allclose(clf16.logits([long_text]), clf.logits([long_text]), atol=1e-4)  # the length matters
    assert TextClassifier.load(trained, max_length=64).max_length == 64  # an explicit length wins


def test_serving_settings_apply_temperature(folder, tmp_path):
    import shutil

    from llmstart.evaluation import write_serving_settings

    hot = tmp_path / "hot"
    shutil.copytree(folder, hot)
    write_serving_settings(hot, temperature=100.0, abstain_threshold=0.9)
    p = Engine.load(hot, "float", threads=1).predict_proba(["pasta"])
    assert np.abs(p - 1 / 3).max() < 0.01  # a huge temperature flattens every prediction
    assert Engine.load(hot, "float", threads=1).info()["abstain_threshold"] == 0.9


def test_model_folder_errors_say_what_is_wrong(tmp_path, folder):
    with pytest.raises(ModelFolderError, match="no such folder"):
        check_model_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFolderError, match="config.json missing"):
        check_model_folder(tmp_path / "empty")
    import shutil

    partial = tmp_path / "partial"
    shutil.copytree(folder, partial)
    (partial / "model.safetensors").unlink()
    with pytest.raises(ModelFolderError, match="model.safetensors missing"):
        check_model_folder(partial)
    cfg = json.loads((folder / "config.json").read_text())
    assert check_model_folder(folder) == folder and cfg["id2label"]


def test_psi_and_drift():
    assert psi([1, 1], [1, 1]) == 0.0 and psi([90, 10], [10, 90]) > 1
    rng = np.random.default_rng(1)
    ref = reference_from_probs(rng.dirichlet([8, 1, 1], 1000), ["a", "b", "c"])
    quiet = DriftMonitor(ref, window=300).update(rng.dirichlet([8, 1, 1], 300)).check()
    shifted = DriftMonitor(ref, window=300).update(rng.dirichlet([1, 1, 1], 300)).check()
    assert not quiet["drift"] and quiet["label_psi"] < 0.1
    assert shifted["drift"] and shifted["confidence_psi"] > 0.2 and shifted["confidence_ks_p"] < 0.01
    assert not drift_report(ref, rng.dirichlet([1, 1, 8], 10))["drift"]  # too few to say


def test_the_serving_device_is_chosen_and_said(folder, monkeypatch):
    import torch

    from llmstart.serve.engine import serving_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert Engine.load(folder, "float", threads=1).device == "cpu"
    assert Engine.load(folder, "int8", threads=1).device == "cpu"
    with pytest.raises(ValueError, match="no CUDA GPU is visible on this machine; use --device cpu"):
        Engine.load(folder, "float", threads=1, device="cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU machine, as the choice sees it
    assert [serving_device("auto", b) for b in ("float", "bf16", "int8", "onnx")] == ["cuda", "cuda", "cpu", "cpu"]
    with pytest.raises(ValueError, match="backend int8 runs on the CPU only"):
        serving_device("cuda", "int8")
