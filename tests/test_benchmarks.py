"""The benchmark scripts still run (tiny sizes): a broken benchmark is found here, not by the next reader.

They print figures, so these tests check the figures are there and sane, never their values.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import tiny_bert
from llmstart.train import save_model

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "TOKENIZERS_PARALLELISM": "false"}


@pytest.mark.parametrize("runner", ["llmstart.fit (default: auto precision)", "Trainer, grouped, bf16",
                                    "naive loop (article)"])
def test_train_throughput_runner(runner):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "train_throughput.py"), "--only", runner,
                          "--train", "32", "--test", "16", "--max-length", "16", "--batch", "16"],
                         capture_output=True, text=True, env=ENV, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["runner"] == runner and row["train"] == 32 and row["test"] == 16
    assert row["samples_per_s"] > 0 and 0 <= row["test_accuracy"] <= 1 and row["peak_mb"] > 0


def test_serve_load_measures_both_services(tmp_path, tokenizer):
    model = tiny_bert(num_labels=3, dropout=0.0)
    model.config.id2label = {0: "negative", 1: "neutral", 2: "positive"}
    folder = save_model(model, tmp_path / "clf", tokenizer)
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "serve_load.py"), "--model", str(folder),
                          "--backends", "float", "naive", "--clients", "1", "4", "--requests", "8",
                          "--threads", "1", "--json", str(tmp_path / "load.json")],
                         capture_output=True, text=True, env=ENV, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((tmp_path / "load.json").read_text())
    services = {(r["service"], r["clients"]) for r in result["rows"]}
    assert services == {("llmstart serve (float)", 1), ("llmstart serve (float)", 4), ("naive", 1), ("naive", 4)}
    assert all(r["throughput"] > 0 and r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] for r in result["rows"])
    assert result["agreement"]["float"] == 1.0  # the same weights answer the same labels
    assert result["throughput_ratio"] > 0 and "float / naive" in out.stdout


def test_cost_estimate_prints_predicted_and_measured(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cost_estimate.py"), "--batches", "6",
                          "--json", str(tmp_path / "cost.json")], capture_output=True, text=True, env=ENV,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = json.loads((tmp_path / "cost.json").read_text())
    assert [r["run"] for r in rows] == ["serving (inference)", "training (1 epoch)"]
    assert all(r["predicted_s"] > 0 and r["measured_s"] > 0 and r["measured / predicted"] > 0 for r in rows)
    assert "measured/predicted" in out.stdout
