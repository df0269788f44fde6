"""`llmstart train` and `predict` end to end on a tiny model: the baseline beside the model, what
happened said and saved, resume after Ctrl-C, LoRA folders, and `predict` on files and stdin."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

import llmstart.cli.train as cli_train
from conftest import synthetic_frame, tiny_bert
from llmstart.cli import build_parser, main

FAST = ["--epochs", "3", "--lr", "2e-3", "--batch-size", "8", "--no-progress", "--precision", "fp32"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A tiny base model folder and a users' CSV with their own column names."""
    from llmstart.models.pretrained import load_tokenizer

    root = tmp_path_factory.mktemp("cli")
    tiny_bert().save_pretrained(root / "base")
    load_tokenizer("minilm").save_pretrained(root / "base")
    synthetic_frame(240).rename(columns={"text": "message", "label": "topic"}).to_csv(root / "tickets.csv", index=False)
    return root


def train_args(root: Path, out: str, *extra: str) -> list[str]:
    return ["train", "--data", str(root / "tickets.csv"), "--text-col", "message", "--label-col", "topic",
            "--model", str(root / "base"), "--out", str(root / out), *FAST, *extra]


@pytest.fixture(scope="module")
def trained(workspace):
    assert main(train_args(workspace, "clf")) == 0
    return workspace / "clf"


def test_train_reports_the_baseline_the_kept_step_and_writes_its_files(trained, capsys):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["versions"]["llmstart"]
    assert metrics["config"]["lr"] == 2e-3 and metrics["config"]["batch_size"] == 8
    assert metrics["config"]["metric"] == "loss"  # 24 validation rows: too few for F1 to choose
    assert metrics["training"]["kept_step"] in [e["step"] for e in metrics["training"]["evals"]]
    assert metrics["training"]["kept"].startswith(f"kept step {metrics['training']['kept_step']} ")
    assert "24 rows" in metrics["training"]["kept"]  # why: the validation set's size chose the loss
    assert metrics["training"]["tie_breaker"] is None  # choosing by loss needs none
    assert set(metrics["config"]["reasons"]) == {"patience", "metric"}  # the rest came from flags
    assert len(metrics["training"]["evals"]) == 3
    comparison = metrics["comparison"]["accuracy"]
    assert comparison["low"] <= comparison["effect"] <= comparison["high"]
    assert comparison["a_value"] == pytest.approx(metrics["test"]["accuracy"])
    assert comparison["b_value"] == pytest.approx(metrics["baseline"]["test"]["accuracy"])
    for name in ["per_class_report.txt", "confusion_matrix.txt", "confusion_matrix.png", "training_curves.png",
                 "history.json", "model.safetensors"]:
        assert (trained / name).is_file(), name
    assert "food" in (trained / "confusion_matrix.txt").read_text()
    assert not (trained.parent / "clf.training").exists()  # checkpoints removed after success
    lengths = metrics["data"]["token_lengths"]  # the texts are 3-23 words: 128 tokens cut none
    assert lengths["max_length"] == 128 and lengths["share_cut"] == 0 and 3 <= lengths["median_tokens"] <= 23
    assert not any("--max-length" in w for w in metrics["training"]["warnings"])


def test_a_max_length_that_cuts_most_texts_is_said_recorded_and_kept_by_predict(workspace, capsys):
    from llmstart.serve.classifier import TextClassifier

    assert main(train_args(workspace, "cut", "--max-length", "8")) == 0
    out = capsys.readouterr().out
    assert "of the texts are cut to --max-length 8" in out
    assert "warning:" in out and "longer than --max-length 8 tokens" in out
    metrics = json.loads((workspace / "cut" / "metrics.json").read_text())
    assert metrics["data"]["token_lengths"]["share_cut"] > 0.5  # most texts have over 6 words
    assert any("longer than --max-length 8" in w for w in metrics["training"]["warnings"])
    assert TextClassifier.load(workspace / "cut").max_length == 8  # predict reads texts as train did


def test_train_prints_epochs_kept_step_and_the_comparison(workspace, capsys):
    assert main(train_args(workspace, "printed")) == 0
    out = capsys.readouterr().out
    assert "validation after each epoch:" in out and "kept step" in out
    assert "baseline (TF-IDF + logistic regression" in out and "95% paired bootstrap interval" in out
    metrics = json.loads((workspace / "printed" / "metrics.json").read_text())
    assert f"verdict: {metrics['comparison']['accuracy']['sentence']}" in out  # one rule, printed


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag, default in [("--epochs", "auto"), ("--lr", "auto"), ("--max-length", "128"), ("--seed", "0"),
                          ("--text-col", "text"), ("--encoding", "utf-8"), ("--select", "auto")]:
        assert flag in text and f"(default: {default})" in text, flag
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    assert all(a.help for a in train._actions), [a.dest for a in train._actions if not a.help]


def test_interrupted_train_resumes_to_the_same_test_metrics(workspace, monkeypatch, capsys):
    extra = ["--patience", "5"]
    assert main(train_args(workspace, "straight", *extra)) == 0
    real_build = cli_train.build_model

    def build_then_interrupt(args, label_names):
        """As Ctrl-C would: a KeyboardInterrupt in the 30th training forward pass (mid-epoch 2)."""
        model, tokenizer = real_build(args, label_names)
        calls = {"n": 0}

        def hook(module, inputs):
            if module.training:
                calls["n"] += 1
                if calls["n"] == 30:
                    raise KeyboardInterrupt

        model.register_forward_pre_hook(hook)
        return model, tokenizer

    monkeypatch.setattr(cli_train, "build_model", build_then_interrupt)
    assert main(train_args(workspace, "resumed", *extra, "--checkpoint-every", "7")) == 130
    assert "--resume" in capsys.readouterr().err
    assert (workspace / "resumed.training" / "checkpoint").is_dir()
    monkeypatch.setattr(cli_train, "build_model", real_build)
    assert main(train_args(workspace, "resumed", *extra, "--resume")) == 0
    straight = json.loads((workspace / "straight" / "metrics.json").read_text())
    resumed = json.loads((workspace / "resumed" / "metrics.json").read_text())
    assert resumed["test"] == straight["test"]
    assert resumed["training"]["kept_step"] == straight["training"]["kept_step"]


def test_resume_without_a_checkpoint_is_a_clear_error(workspace, capsys):
    assert main(train_args(workspace, "nothing", "--resume")) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_lora_saves_a_small_folder_that_predict_loads(workspace, trained, capsys):
    assert main(train_args(workspace, "adapter", "--lora")) == 0
    size = sum(p.stat().st_size for p in (workspace / "adapter").rglob("*.safetensors"))
    full = sum(p.stat().st_size for p in trained.rglob("*.safetensors"))
    assert size < 0.1 * full
    capsys.readouterr()
    assert main(["predict", "--model", str(workspace / "adapter"), "--json", "pasta with cheese"]) == 0
    row = json.loads(capsys.readouterr().out.strip())
    assert row["label"] in {"food", "sport", "tech"} and 0 < row["score"] <= 1


def test_predict_reports_empty_texts_instead_of_labelling_them(trained, capsys):
    assert main(["predict", "--model", str(trained), "pasta with cheese", "  ", "goal for the team"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[1].startswith("\t\t") and not lines[0].startswith("\t") and len(lines) == 3
    assert "1 empty text(s) not labelled (number 2)" in captured.err
    assert main(["predict", "--model", str(trained), "--json", ""]) == 0
    assert json.loads(capsys.readouterr().out)["label"] is None


def test_random_bytes_on_stdin_get_the_error_train_gives(trained, tmp_path, monkeypatch, capsys):
    noise = bytes((i * 7919 + 13) % 256 for i in range(3000))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(noise)))
    assert main(["predict", "--model", str(trained)]) == 2
    stdin_error = capsys.readouterr().err.strip()
    (tmp_path / "noise.csv").write_bytes(noise)
    assert main(["train", "--data", str(tmp_path / "noise.csv"), "--out", str(tmp_path / "o")]) == 2
    file_error = capsys.readouterr().err.strip()
    assert len(stdin_error.splitlines()) == 1 and "Traceback" not in stdin_error
    assert stdin_error.startswith("error: standard input: ")
    assert stdin_error.split(": ", 2)[2].split(" (")[0] == file_error.split(": ", 2)[2].split(" (")[0]


class Echo:
    """A stand-in classifier (fast): the label is the text's first word; it records batch sizes."""

    precision = "fp32"

    def __init__(self):
        self.largest_call = 0

    def predict(self, texts, batch_size=32):
        self.largest_call = max(self.largest_call, len(texts))
        return [{"label": t.split()[0], "score": 0.5} for t in texts]


def test_predict_streams_a_20000_row_csv_in_order(tmp_path, monkeypatch, capsys):
    import tracemalloc

    from llmstart.serve.classifier import TextClassifier

    rows = 20_000
    df = pd.DataFrame({"id": [f"{i:06d}" for i in range(rows)], "note": ["x" * 150] * rows,
                       "message": [f"w{i % 97} and some more words {i}" if i % 1000 else "" for i in range(rows)]})
    df.to_csv(tmp_path / "big.csv", index=False)
    echo = Echo()
    monkeypatch.setattr(TextClassifier, "load", classmethod(lambda cls, folder, **kwargs: echo))

    def peak_memory(path) -> tuple[int, int]:
        tracemalloc.start()
        code = main(["predict", "--model", "unused", "--data", str(path), "--text-col", "message",
                     "--out", str(path.with_suffix(".out.csv")), "--chunk-size", "500"])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return code, peak

    df.head(2_000).to_csv(tmp_path / "small.csv", index=False)
    peak_memory(tmp_path / "small.csv")  # warm-up: first-use imports are not what we measure
    _, small_peak = peak_memory(tmp_path / "small.csv")
    code, peak = peak_memory(tmp_path / "big.csv")
    (tmp_path / "big.out.csv").rename(tmp_path / "labelled.csv")
    assert code == 0
    assert echo.largest_call <= 500  # never more than one chunk at a time
    assert peak < 2 * small_peak  # 10x the rows, about the same memory: the file is never held whole
    out = pd.read_csv(tmp_path / "labelled.csv", dtype=str, keep_default_na=False)
    assert out.columns.tolist() == ["id", "note", "message", "label", "score"]
    assert out.id.tolist() == df.id.tolist()  # every row, in order, leading zeros kept
    assert (out.label == out.message.str.split().str[0].fillna("")).all()
    assert (out.label[out.message == ""] == "").all()
    err = capsys.readouterr().err
    assert "labelled 19,980 of 20,000 rows" in err and "20 empty text(s) not labelled" in err and "rows/s" in err


def test_predict_on_a_file_with_the_real_model_keeps_columns(trained, tmp_path, capsys):
    pd.DataFrame({"message": ["pasta with cheese", "goal for the striker"], "label": ["food", "sport"]}).to_csv(
        tmp_path / "new.csv", index=False)
    assert main(["predict", "--model", str(trained), "--data", str(tmp_path / "new.csv"), "--text-col", "message",
                 "--out", str(tmp_path / "out.csv")]) == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert out.columns.tolist() == ["message", "label", "predicted_label", "predicted_score"]
    assert main(["predict", "--model", str(trained), "--data", str(tmp_path / "new.csv")]) == 2
    assert "no text column 'text': pass --text-col" in capsys.readouterr().err


def test_predict_in_bf16_gives_the_fp32_labels(trained, capsys):
    from llmstart.serve.classifier import TextClassifier

    texts = synthetic_frame(120, seed=7).text.tolist()
    fp32 = TextClassifier.load(trained, precision="fp32").predict(texts)
    bf16 = TextClassifier.load(trained, precision="bf16").predict(texts)
    assert [r["label"] for r in bf16] == [r["label"] for r in fp32]
    assert max(abs(a["score"] - b["score"]) for a, b in zip(fp32, bf16, strict=True)) < 0.05
    assert bf16 != fp32  # bf16 really ran: the probabilities differ in their last digits
    capsys.readouterr()
    assert main(["predict", "--model", str(trained), "--precision", "bf16", "--json", *texts[:3]]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in rows] == [r["label"] for r in fp32[:3]]


@pytest.mark.slow
def test_lr_search_tries_five_rates_and_records_them(workspace, capsys):
    args = train_args(workspace, "searched", "--lr-search")
    args[args.index("--lr") + 1] = "auto"
    assert main(args) == 0
    metrics = json.loads((workspace / "searched" / "metrics.json").read_text())
    tried = [row["lr"] for row in metrics["lr_search"]]
    assert len(tried) == 5 and metrics["config"]["lr"] in tried
    assert "lowest validation loss of the --lr-search" in metrics["config"]["reasons"]["lr"]


def test_class_weights_balanced_weighs_rare_labels_and_compares_on_macro_f1(workspace, capsys):
    frame = synthetic_frame(480)
    rare = frame[frame.label != "food"].groupby("label").head(40)  # 'sport' and 'tech': 40 rows each
    pd.concat([frame[frame.label == "food"], rare]).to_csv(workspace / "skewed.csv", index=False)
    args = ["train", "--data", str(workspace / "skewed.csv"), "--model", str(workspace / "base"),
            "--out", str(workspace / "weighted"), *FAST, "--class-weights", "balanced"]
    assert main(args) == 0
    out = capsys.readouterr().out
    metrics = json.loads((workspace / "weighted" / "metrics.json").read_text())
    hyper = metrics["config"]
    # 160 'food' rows against 40 of each other label: each rare label weighs 4x what 'food' does
    food, sport, tech = hyper["class_weights"]
    assert sport == pytest.approx(tech) and sport / food == pytest.approx(4.0, rel=0.1)
    assert hyper["metric"] == "macro_f1" and "class weights are on" in hyper["reasons"]["metric"]
    assert "balanced class weights" in metrics["baseline"]["method"] and "balanced class weights" in out
    assert metrics["comparison"]["decided_by"] == "macro_f1"
    verdict = metrics["comparison"]["macro_f1"]
    assert f"verdict: {verdict['sentence']}" in out and "macro_f1, n = 48 examples" in verdict["sentence"]


def test_class_weights_default_is_off(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["config"]["class_weights"] is None
    assert metrics["comparison"]["decided_by"] == "accuracy"
    assert "balanced" not in metrics["baseline"]["method"]


def test_a_max_length_beyond_what_the_model_reads_is_a_clear_error(workspace, capsys):
    assert main(train_args(workspace, "too_long", "--max-length", "600", "--check-only")) == 2
    err = capsys.readouterr().err
    assert "--max-length 600" in err and "at most 512 tokens" in err and "Traceback" not in err


def test_a_saved_config_re_makes_the_run(trained, workspace):
    """`--config` takes the first run's train_config.json: the same settings, the same metrics."""
    from llmstart.train import TrainConfig

    first = json.loads((trained / "metrics.json").read_text())
    saved = TrainConfig.load(trained / "train_config.json")
    assert saved.to_dict() == first["config"] and saved == TrainConfig.load(trained / "metrics.json")
    args = ["train", "--data", str(workspace / "tickets.csv"), "--text-col", "message", "--label-col", "topic",
            "--model", str(workspace / "base"), "--out", str(workspace / "again"), "--no-progress",
            "--config", str(trained / "train_config.json")]
    assert main(args) == 0
    again = json.loads((workspace / "again" / "metrics.json").read_text())
    assert again["config"] == first["config"]
    assert again["training"]["evals"] == first["training"]["evals"] and again["test"] == first["test"]
