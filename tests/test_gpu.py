"""The GPU path: fit in bf16 and fp16 on CUDA, exact resume there, GPU-trained models on CPU, serving.

Every test is marked ``gpu``: skipped without CUDA (tests/conftest.py). ``make gpu-check`` runs
them on a GPU and records what they measured (``record_property``: the JUnit XML carries it).
With ``LLMSTART_GPU_TESTS=cpu`` they run on the CPU as stand-ins (one seed, no server process),
so ``benchmarks/gpu_check.py --dry-run`` keeps their code running in CI; the comparisons then hold
trivially and prove nothing about a GPU.

The helpers and the data of the CPU tests are reused (tests/test_train.py: the loaders, the
crashing collate function, the weight comparison; tests/test_serve_http.py: the server process),
so a GPU test checks the same thing its CPU twin checks, on the other device.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from test_train import CrashAfter, assert_same, loaders, weights  # noqa: F401 (loaders: a fixture)

from conftest import gpu_test_device, synthetic_frame, tiny_bert
from llmstart.data import make_loader, split_frame
from llmstart.train import TrainConfig, evaluate_model, fit, save_model

# cuBLAS is deterministic only with a fixed workspace, set before its first call (collection
# imports this module before any test runs); torch.use_deterministic_algorithms does the rest.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

pytestmark = pytest.mark.gpu
DEVICE = gpu_test_device() or "cuda"
STAND_IN = DEVICE == "cpu"
SEEDS = [0] if STAND_IN else [0, 1, 2]
ROWS, EPOCHS = (240, 2) if STAND_IN else (600, 3)  # the stand-in only keeps the code running: small
TEXTS = ["a goal for the striker and the team", "pasta with cheese", "a new laptop chip",
         "the coach and the league", "soup and bread for dinner", "cloud software"]


@pytest.fixture(scope="module")
def task(tokenizer):
    """The synthetic topic task with a test split large enough to compare accuracies (120 rows)."""
    s = split_frame(synthetic_frame(ROWS, seed=1), seed=0)
    train = make_loader(s.train, tokenizer, s.label_names, batch_size=16, shuffle=True, seed=0)
    val = make_loader(s.val, tokenizer, s.label_names, batch_size=64)
    test = make_loader(s.test, tokenizer, s.label_names, batch_size=64)
    return train, val, test, len(s.test)


def train_and_test(task, seed: int, precision: str, cpu: bool = False):
    train, val, test, _ = task
    model = tiny_bert(seed=seed)
    h = fit(model, train, val, TrainConfig(epochs=EPOCHS, lr=2e-3, precision=precision, seed=seed),
            cpu=cpu, progress=False)
    return h, evaluate_model(model, test)["accuracy"]


@pytest.fixture(scope="module")
def cpu_reference(task):
    """Test accuracy of the CPU fp32 run, one per seed: the figure a GPU run must reach."""
    return [train_and_test(task, seed, "fp32", cpu=True)[1] for seed in SEEDS]


def noise_margin(accuracies: list[float], n: int) -> float:
    """How far below the CPU runs' mean a run may land and still be "the same accuracy": two
    binomial standard errors of a difference of two accuracies on ``n`` rows, or the spread of the
    CPU runs over seeds, whichever is larger (at least one test row).

    >>> round(noise_margin([0.9, 0.9], 100), 3)
    0.085
    """
    p = float(np.mean(accuracies))
    return max(2 * math.sqrt(2 * p * (1 - p) / n), max(accuracies) - min(accuracies), 1 / n)


class SpyScaler(torch.amp.GradScaler):
    """The loss scaler fit makes, remembered so a test can look at it afterwards."""

    made: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        SpyScaler.made.append(self)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_fit_on_the_gpu_reaches_the_cpu_accuracy(task, cpu_reference, precision, monkeypatch, record_property):
    """bf16 autocast, and fp16 autocast with loss scaling, against the CPU fp32 run on the same
    data and seeds: the mean test accuracy lands within the CPU run's noise."""
    monkeypatch.setattr(torch.amp, "GradScaler", SpyScaler)
    SpyScaler.made.clear()
    runs = [train_and_test(task, seed, precision) for seed in SEEDS]
    n = task[3]
    accuracies = [acc for _, acc in runs]
    margin = noise_margin(cpu_reference, n)
    record_property("device", runs[0][0].device)
    record_property(f"{precision}_test_accuracy", accuracies)
    record_property("cpu_fp32_test_accuracy", cpu_reference)
    record_property("noise_margin", round(margin, 4))
    record_property(f"{precision}_samples_per_s", round(float(np.mean([h.samples_per_second for h, _ in runs])), 1))
    for h, _ in runs:
        assert h.device.startswith(DEVICE) and h.precision == precision
        assert all(math.isfinite(s["loss"]) for s in h.steps) and h.steps[-1]["loss"] < h.steps[0]["loss"]
    scalers = SpyScaler.made
    assert len(scalers) == len(SEEDS) and all(s.is_enabled() == (precision == "fp16") for s in scalers)
    if precision == "fp16":  # the scale stayed a usable power of two: no run of overflows drove it to 0
        assert all(0 < s.get_scale() < 2.0**24 for s in scalers)
        record_property("fp16_final_loss_scale", [s.get_scale() for s in scalers])
    assert np.mean(accuracies) >= np.mean(cpu_reference) - margin, (accuracies, cpu_reference, margin)


@pytest.mark.parametrize("precision", ["fp16"] if STAND_IN else ["fp32", "bf16", "fp16"])
def test_resume_on_the_gpu_gives_the_same_weights_as_an_uninterrupted_run(loaders, tmp_path, precision,  # noqa: F811
                                                                           record_property):
    """tests/test_train.py's resume test on the GPU, in each precision (fp16: the loss scaler's
    state travels in the checkpoint too). Deterministic kernels, so "the same" is exact there as
    on CPU; a second uninterrupted run measures what the device itself varies (0 when deterministic)."""
    train, val = loaders
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        def run(model, loader, out, **kw):
            return fit(model, loader, val,
                       TrainConfig(epochs=EPOCHS, lr=1e-3, restore_best=False, precision=precision),
                       out_dir=out, checkpoint_every=7, progress=False, **kw)

        full = tiny_bert(dropout=0.1)
        h_full = run(full, train, tmp_path / "a")
        again = tiny_bert(dropout=0.1)
        run(again, train, tmp_path / "again")
        crashing = make_loader(train.dataset_frame, train.tokenizer, train.label_names, batch_size=8,
                               shuffle=True, seed=0)
        crashing.collate_fn = CrashAfter(17, crashing.collate_fn)
        with pytest.raises(RuntimeError, match="simulated crash"):
            run(tiny_bert(dropout=0.1), crashing, tmp_path / "b")
        resumed = tiny_bert(dropout=0.1, seed=99)  # other initial weights: all must come from the checkpoint
        h_res = run(resumed, train, None, resume_from=tmp_path / "b" / "checkpoint")
    finally:
        torch.use_deterministic_algorithms(False)
    floor = max((weights(full)[k].float() - weights(again)[k].float()).abs().max().item() for k in weights(full))
    record_property(f"resume_{precision}_run_to_run_max_abs", floor)
    assert h_full.device.startswith(DEVICE) and h_res.steps[-1]["step"] == h_full.steps[-1]["step"]
    atol = max(1e-6, 2 * floor)
    assert [s["loss"] for s in h_res.steps] == pytest.approx([s["loss"] for s in h_full.steps],
                                                             abs=max(1e-6, 10 * floor))
    assert_same(weights(resumed), weights(full), atol=atol)


@pytest.fixture(scope="module")
def gpu_trained(tmp_path_factory, tokenizer, task):
    """A tiny classifier trained on the device (auto precision), saved with its tokenizer."""
    train, val, _, _ = task
    model = tiny_bert(dropout=0.0)
    model.config.id2label = {0: "food", 1: "sport", 2: "tech"}
    model.config.label2id = {v: k for k, v in model.config.id2label.items()}
    h = fit(model, train, val, TrainConfig(epochs=EPOCHS, lr=2e-3), progress=False)
    assert h.device.startswith(DEVICE)
    folder = save_model(model, tmp_path_factory.mktemp("gpu") / "clf", tokenizer)
    return model, folder


def test_a_gpu_trained_model_loads_and_predicts_the_same_labels_on_cpu(gpu_trained, tokenizer, record_property):
    from llmstart.serve.classifier import TextClassifier

    model, folder = gpu_trained
    assert next(model.parameters()).device.type == DEVICE
    on_device = TextClassifier(model, tokenizer)
    on_cpu = TextClassifier.load(folder)
    assert next(on_cpu.model.parameters()).device.type == "cpu"
    a, b = on_device.logits(TEXTS), on_cpu.logits(TEXTS)
    record_property("device_vs_cpu_max_abs_logit", float(np.abs(a - b).max()))
    assert [p["label"] for p in on_cpu.predict(TEXTS)] == [p["label"] for p in on_device.predict(TEXTS)]
    np.testing.assert_allclose(a, b, atol=1e-3)


def test_the_service_answers_with_the_model_on_the_gpu(gpu_trained):
    """The serving engine with its model moved to the device, behind the real app: same labels as on CPU."""
    from fastapi.testclient import TestClient

    from llmstart.serve import Engine
    from llmstart.serve.app import create_app

    _, folder = gpu_trained
    on_cpu = Engine.load(folder, "float", threads=1)
    cpu_labels = [on_cpu.labels[i] for i in on_cpu.predict_proba(TEXTS).argmax(1)]
    engine = Engine.load(folder, "float", threads=1)
    engine.model.to(DEVICE)
    with TestClient(create_app(engine)) as client:
        r = client.post("/v1/classify", json={"texts": TEXTS})
        assert r.status_code == 200, r.text
        labels = [p["label"] for p in r.json()["predictions"]]
    assert next(engine.model.parameters()).device.type == DEVICE
    assert labels == cpu_labels


@pytest.mark.skipif(STAND_IN, reason="CPU stand-in: the served device is the CPU anyway")
def test_llmstart_serve_puts_the_model_on_the_gpu(gpu_trained):
    from llmstart.serve import Engine

    _, folder = gpu_trained
    assert next(Engine.load(folder, "float", threads=1).model.parameters()).device.type == "cuda"


@pytest.mark.skipif(STAND_IN, reason="CPU stand-in: tests/test_serve_http.py runs the server on CPU")
def test_llmstart_serve_answers_on_a_gpu_machine(gpu_trained, record_property):
    """The real command, `python -m llmstart serve`, started on the GPU machine: it answers, and
    with the labels `predict` gives."""
    import httpx
    from test_serve_http import Server

    from llmstart.serve.classifier import TextClassifier

    _, folder = gpu_trained
    expected = [p["label"] for p in TextClassifier.load(folder).predict(TEXTS)]
    srv = Server(folder)
    try:
        r = httpx.post(srv.url + "/v1/classify", timeout=30, json={"texts": TEXTS})
        assert r.status_code == 200 and [p["label"] for p in r.json()["predictions"]] == expected
        record_property("serve_backend", httpx.get(srv.url + "/v1/model").json()["backend"])
    finally:
        srv.stop()
