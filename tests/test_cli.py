"""The command line a startup runs on its own CSV: doctor, train, predict, and clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import synthetic_frame, tiny_bert
from llmstart.cli import main


def run(*args, stdin=None, timeout=900):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "llmstart", *args], capture_output=True, text=True,
                          env=env, input=stdin, timeout=timeout)


def test_doctor_lists_offline_models_and_data():
    out = run("doctor")
    assert out.returncode == 0, out.stderr
    assert "sentence-transformers/all-MiniLM-L6-v2" in out.stdout and "bbc_news" in out.stdout
    assert "Hugging Face Hub: NOT reachable" in out.stdout


def test_train_then_predict_on_a_users_csv(tmp_path, tokenizer, capsys):
    base = tmp_path / "base"
    model = tiny_bert()
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)
    df = synthetic_frame(240).rename(columns={"text": "message", "label": "topic"})
    df.to_csv(tmp_path / "tickets.csv", index=False)
    code = main(["train", "--data", str(tmp_path / "tickets.csv"), "--text-col", "message",
                 "--label-col", "topic", "--model", str(base), "--out", str(tmp_path / "clf"),
                 "--epochs", "4", "--lr", "2e-3", "--batch-size", "8"])
    out = capsys.readouterr().out
    assert code == 0
    assert "labels ['food', 'sport', 'tech']" in out and "accuracy" in out
    metrics = json.loads((tmp_path / "clf" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.9 and metrics["data"]["sizes"]["test"] == 48
    pred = run("predict", "--model", str(tmp_path / "clf"), "a goal for the striker and the team", "pasta with cheese")
    assert pred.returncode == 0, pred.stderr
    lines = pred.stdout.strip().splitlines()
    assert lines[0].startswith("sport\t") and lines[1].startswith("food\t")
    piped = run("predict", "--model", str(tmp_path / "clf"), stdin="phone app and cloud software\n")
    assert piped.stdout.startswith("tech\t")


def test_bad_csv_gives_a_clear_error_not_a_traceback(tmp_path):
    (tmp_path / "bad.csv").write_text("message,topic\nhello,a\n,b\n")
    out = run("train", "--data", str(tmp_path / "bad.csv"), "--text-col", "message", "--label-col",
              "topic", "--out", str(tmp_path / "o"))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("error: ") and "bad.csv" in out.stderr and "row 1 (line 3)" in out.stderr


def test_predict_without_a_model_is_clear(tmp_path):
    out = run("predict", "--model", str(tmp_path), "hi")
    assert out.returncode == 2 and "no fine-tuned model here" in out.stderr


@pytest.mark.slow
def test_bbc_news_reaches_95_percent_with_the_offline_minilm(tmp_path):
    """The acceptance run: real pre-trained MiniLM, real BBC News, CPU, a few minutes."""
    out = run("train", "--data", "bbc_news", "--out", str(tmp_path / "bbc"), "--epochs", "2",
              "--max-length", "128", "--lr", "1e-4", timeout=2400)
    assert out.returncode == 0, out.stderr[-2000:]
    metrics = json.loads((tmp_path / "bbc" / "metrics.json").read_text())
    print(json.dumps(metrics, indent=1))
    assert metrics["test"]["accuracy"] >= 0.95
