"""The training loop: learning, resume equivalence, accumulation, early stopping, DDP on CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import synthetic_frame, tiny_bert
from llmstart.data import make_loader, split_frame
from llmstart.runtime import pick_precision
from llmstart.train import History, TrainConfig, evaluate_model, fit, save_model

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def loaders():
    from llmstart.models.pretrained import load_tokenizer

    tok = load_tokenizer("minilm")
    s = split_frame(synthetic_frame(240), seed=0)
    train = make_loader(s.train, tok, s.label_names, batch_size=8, shuffle=True, seed=0)
    train.dataset_frame, train.tokenizer, train.label_names = s.train, tok, s.label_names
    val = make_loader(s.val, tok, s.label_names, batch_size=32)
    return train, val


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same(a, b, atol=0.0):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=atol, rtol=0), k


def test_fit_learns_and_records_history(loaders):
    train, val = loaders
    model = tiny_bert()
    before = evaluate_model(model, val)
    h = fit(model, train, val, TrainConfig(epochs=4, lr=2e-3), progress=False)
    assert h.evals[-1]["accuracy"] > 0.9 > before["accuracy"]
    assert h.steps[-1]["loss"] < h.steps[0]["loss"]
    assert [e["epoch"] for e in h.evals] == [1, 2, 3, 4]
    assert len(h.steps) == 4 * len(train) and h.samples_seen == 4 * len(train.dataset)
    assert h.samples_per_second > 0 and h.peak_memory_mb > 0 and h.train_time_s > 0
    assert {"loss", "accuracy", "macro_f1", "macro_precision", "macro_recall"} <= set(h.evals[-1])
    lrs = [s["lr"] for s in h.steps]
    warm = int(0.1 * len(lrs))
    assert lrs[0] == 0.0 and max(lrs) == pytest.approx(2e-3) and lrs[-1] < lrs[warm]
    steps, evals = h.to_frames()
    assert len(steps) == len(h.steps) and "accuracy" in evals


def test_class_weights_weigh_the_training_loss_and_equal_weights_change_nothing(loaders):
    train, val = loaders
    plain = fit(tiny_bert(dropout=0.0), train, val, TrainConfig(max_steps=3, lr=1e-3, seed=0),
                progress=False)
    ones = fit(tiny_bert(dropout=0.0), train, val,
               TrainConfig(max_steps=3, lr=1e-3, seed=0, class_weights=[1.0, 1.0, 1.0]),
               progress=False)
    assert [s["loss"] for s in ones.steps] == pytest.approx([s["loss"] for s in plain.steps], abs=1e-5)
    # the first step's loss is the weighted cross-entropy of the untouched model on the first batch
    model = tiny_bert(dropout=0.0)
    weighted = fit(model, train, val,
                   TrainConfig(max_steps=1, lr=0.0, warmup_ratio=0.0, seed=0, class_weights=[1.0, 5.0, 0.2], precision="fp32"),
                   progress=False)
    batch = next(iter(train))  # the loader's order depends only on its seed and epoch (0): fit's first batch
    with torch.no_grad():
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    expected = torch.nn.functional.cross_entropy(logits, batch["labels"], weight=torch.tensor([1.0, 5.0, 0.2]))
    assert weighted.steps[0]["loss"] == pytest.approx(expected.item(), abs=1e-4)
    assert weighted.steps[0]["loss"] != pytest.approx(plain.steps[0]["loss"], abs=1e-3)


def test_cosine_and_constant_schedules(loaders):
    train, _ = loaders
    h = fit(tiny_bert(), train,
            config=TrainConfig(epochs=1, lr=1e-3, schedule="constant", warmup_ratio=0),
            progress=False)
    assert {s["lr"] for s in h.steps} == {1e-3}
    h = fit(tiny_bert(), train,
            config=TrainConfig(epochs=1, lr=1e-3, schedule="cosine", warmup_ratio=0),
            progress=False)
    mid = h.steps[len(h.steps) // 2]["lr"]
    assert mid == pytest.approx(5e-4, rel=0.1)


class CrashAfter:
    """A collate function that dies after n batches, like a kernel killed mid-run."""

    def __init__(self, n, collate):
        self.n, self.collate, self.calls = n, collate, 0

    def __call__(self, items):
        self.calls += 1
        if self.calls > self.n:
            raise RuntimeError("simulated crash")
        return self.collate(items)


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(loaders, tmp_path):
    train, val = loaders  # dropout 0.1: equality also needs the RNG state restored
    full = tiny_bert(dropout=0.1)
    h_full = fit(full, train, val,
                 TrainConfig(epochs=3, lr=1e-3, restore_best=False, precision="fp32"),
                 out_dir=tmp_path / "a", checkpoint_every=7, progress=False)
    total = h_full.steps[-1]["step"]
    # The same run, killed at its 17th batch (after the checkpoint of step 14).
    crashing = make_loader(train.dataset_frame, train.tokenizer, train.label_names, batch_size=8,
                           shuffle=True, seed=0)
    crashing.collate_fn = CrashAfter(17, crashing.collate_fn)
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(tiny_bert(dropout=0.1), crashing, val,
            TrainConfig(epochs=3, lr=1e-3, restore_best=False, precision="fp32"),
            out_dir=tmp_path / "b", checkpoint_every=7, progress=False)
    state = torch.load(tmp_path / "b" / "checkpoint" / "training_state.pt", weights_only=True)
    assert state["step"] == 14 and 0 < state["batches_done"] < len(train)  # mid-epoch
    resumed = tiny_bert(dropout=0.1, seed=99)  # other initial weights: all must come from the checkpoint
    h_res = fit(resumed, train, val,
                TrainConfig(epochs=3, lr=1e-3, restore_best=False, precision="fp32"),
                resume_from=tmp_path / "b" / "checkpoint", progress=False)
    assert h_res.steps[-1]["step"] == total
    assert [s["loss"] for s in h_res.steps] == pytest.approx([s["loss"] for s in h_full.steps], abs=1e-6)
    assert_same(weights(resumed), weights(full), atol=1e-6)


def test_resume_from_a_wrong_folder_is_clear(loaders, tmp_path):
    train, _ = loaders
    with pytest.raises(FileNotFoundError, match="not a llmstart checkpoint"):
        fit(tiny_bert(), train, config=TrainConfig(epochs=1), resume_from=tmp_path, progress=False)


def test_accumulation_matches_a_bigger_batch(tokenizer):
    frame = synthetic_frame(96)
    names = sorted(frame.label.unique())
    big = make_loader(frame, tokenizer, names, batch_size=16, group_by_length=False)
    small = make_loader(frame, tokenizer, names, batch_size=8, group_by_length=False)
    a, b = tiny_bert(dropout=0.0), tiny_bert(dropout=0.0)
    fit(a, big, config=TrainConfig(epochs=1, lr=1e-3, max_grad_norm=None, precision="fp32"),
        progress=False)
    h = fit(b, small,
            config=TrainConfig(epochs=1, lr=1e-3, grad_accum_steps=2, max_grad_norm=None, precision="fp32"),
            progress=False)
    assert len(h.steps) == 6
    # equal-size micro-batches: the mean of two halves is the mean of the whole batch
    assert_same(weights(a), weights(b), atol=2e-5)


def test_early_stopping_and_best_checkpoint(loaders, tmp_path):
    train, val = loaders
    model = tiny_bert()
    h = fit(model, train, val,
            TrainConfig(epochs=30, lr=3e-3, eval_every=5, metric="loss", patience=2),
            out_dir=tmp_path, progress=False)
    assert h.stopped_early and h.steps[-1]["step"] < 30 * len(train)
    losses = [e["loss"] for e in h.evals]
    assert h.best_metric == min(losses) and h.best_step == h.evals[losses.index(min(losses))]["step"]
    assert all(loss >= h.best_metric for loss in losses[-2:])
    assert evaluate_model(model, val)["loss"] == pytest.approx(h.best_metric, abs=1e-5)  # best restored
    saved = load_file(str(tmp_path / "best" / "model.safetensors"))
    assert torch.allclose(saved["classifier.weight"], model.classifier.weight)
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("*.old"))
    assert History.load(tmp_path / "history.json").best_step == h.best_step


def test_unknown_metric_is_clear(loaders):
    train, val = loaders
    with pytest.raises(ValueError, match=r"metric 'bleu' not computed; evaluation gives \['accuracy'"):
        fit(tiny_bert(), train, val, TrainConfig(epochs=1, metric="bleu"), progress=False)


def test_bf16_on_cpu_runs_and_leaves_no_autocast_wrapper(loaders):
    train, val = loaders
    model = tiny_bert()
    h = fit(model, train, val, TrainConfig(epochs=1, lr=1e-3, precision="bf16"), progress=False)
    assert h.precision == "bf16" and h.steps[-1]["loss"] < h.steps[0]["loss"] * 1.5
    assert "_original_forward" not in model.__dict__
    assert next(model.parameters()).dtype == torch.float32
    assert pick_precision("fp32") == "fp32" and pick_precision("no") == "fp32"
    with pytest.raises(ValueError, match="precision must be one of"):
        pick_precision("int8")


def test_save_model_is_atomic_and_reloadable(tmp_path, tokenizer):
    from llmstart.serve.classifier import TextClassifier

    model = tiny_bert()
    model.config.id2label = {0: "food", 1: "sport", 2: "tech"}
    folder = save_model(model, tmp_path / "m", tokenizer)
    save_model(model, tmp_path / "m", tokenizer)  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    clf = TextClassifier.load(folder)
    out = clf.predict(["goal for the team"])[0]
    assert out["label"] in {"food", "sport", "tech"} and sum(out["scores"].values()) == pytest.approx(1)


def test_evaluate_causal_lm_gives_perplexity():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=50, hidden_size=16, intermediate_size=32,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2))
    ids = torch.randint(0, 50, (4, 10))
    labels = ids.clone()
    labels[:, :5] = -100
    result = evaluate_model(model, [{"input_ids": ids, "labels": labels}])
    assert result["perplexity"] == pytest.approx(torch.exp(torch.tensor(result["loss"])).item(), rel=1e-5)
    assert 30 < result["perplexity"] < 80  # an untrained model is near uniform over 50 tokens


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_script(args, nproc=1, timeout=600):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, str(HERE / "ddp_run.py"), *args]
    if nproc > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
               "--master_port", str(free_port()), *cmd[1:]]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.slow
def test_two_cpu_processes_match_one_process(tmp_path):
    """DDP with gloo on CPU: 2 processes x 8 examples == 1 process x 16 examples."""
    one = run_script([str(tmp_path / "one.safetensors")])
    two = run_script([str(tmp_path / "two.safetensors")], nproc=2)
    assert "processes=1" in one and "processes=2" in two
    a, b = load_file(str(tmp_path / "one.safetensors")), load_file(str(tmp_path / "two.safetensors"))
    # A key bias shifts every attention score of a query equally, so softmax ignores it: its
    # true gradient is 0 and what it gets is rounding noise, which Adam scales up to lr-sized
    # steps. Those tensors cannot match; every other weight must.
    noise = [k for k in a if "attention.self.key.bias" in k]
    assert len(noise) == 2
    assert_same({k: a[k] for k in a if k not in noise}, {k: b[k] for k in b if k not in noise}, atol=1e-5)
    assert one.split("loss=")[1][:6] == two.split("loss=")[1][:6]
    # the same global batch of 16 as 2 processes x 4 examples x 2 accumulation steps
    accum = run_script([str(tmp_path / "accum.safetensors"), "--batch", "8", "--accum", "2"], nproc=2)
    c = load_file(str(tmp_path / "accum.safetensors"))
    assert "steps=24" in accum
    assert_same({k: a[k] for k in a if k not in noise}, {k: c[k] for k in c if k not in noise}, atol=1e-5)


class InterruptAfter(CrashAfter):
    """Ctrl-C after n batches."""

    def __call__(self, items):
        self.calls += 1
        if self.calls > self.n:
            raise KeyboardInterrupt
        return self.collate(items)


def test_ctrl_c_saves_a_checkpoint_that_resumes_exactly(loaders, tmp_path):
    train, val = loaders
    full = tiny_bert(dropout=0.1)
    fit(full, train, val, TrainConfig(epochs=2, lr=1e-3, restore_best=False, precision="fp32"),
        progress=False)
    interrupted = make_loader(train.dataset_frame, train.tokenizer, train.label_names, batch_size=8,
                              shuffle=True, seed=0)
    interrupted.collate_fn = InterruptAfter(11, interrupted.collate_fn)
    with pytest.raises(KeyboardInterrupt):
        fit(tiny_bert(dropout=0.1), interrupted, val,
            TrainConfig(epochs=2, lr=1e-3, restore_best=False, precision="fp32"), out_dir=tmp_path,
            progress=False)
    state = torch.load(tmp_path / "checkpoint" / "training_state.pt", weights_only=True)
    assert 0 < state["step"] == state["batches_done"] < len(train)  # the last finished optimizer step
    resumed = tiny_bert(dropout=0.1, seed=5)
    fit(resumed, train, val, TrainConfig(epochs=2, lr=1e-3, restore_best=False, precision="fp32"),
        resume_from=tmp_path / "checkpoint", progress=False)
    assert_same(weights(resumed), weights(full), atol=1e-6)


def test_a_save_killed_between_its_renames_still_resumes(loaders, tmp_path, monkeypatch):
    """replace_dir moves the old checkpoint aside, then moves the new one in: die in between."""
    import llmstart.files

    train, val = loaders
    fit(tiny_bert(), train, val, TrainConfig(epochs=1, lr=1e-3, precision="fp32"), out_dir=tmp_path,
        checkpoint_every=5, progress=False)
    real_replace, calls = llmstart.files.os.replace, []

    def dying_replace(src, dst):
        calls.append((src, dst))
        if str(dst).endswith("checkpoint"):  # the move-in; the move-aside went to checkpoint.old
            raise SystemExit("power cut")
        return real_replace(src, dst)

    monkeypatch.setattr(llmstart.files.os, "replace", dying_replace)
    with pytest.raises(SystemExit):
        fit(tiny_bert(), train, val, TrainConfig(epochs=1, lr=1e-3, precision="fp32"),
            out_dir=tmp_path, checkpoint_every=5, progress=False)
    monkeypatch.setattr(llmstart.files.os, "replace", real_replace)
    assert not (tmp_path / "checkpoint").exists() and (tmp_path / "checkpoint.old").is_dir()
    h = fit(tiny_bert(), train, val, TrainConfig(epochs=2, lr=1e-3, precision="fp32"),
            resume_from=tmp_path / "checkpoint", progress=False)
    assert h.steps[0]["step"] == 1 and h.steps[-1]["step"] == 2 * len(train)


def test_auto_precision_is_named_and_bf16_where_the_cpu_has_it(loaders):
    from llmstart.runtime import cpu_supports_bf16

    train, _ = loaders
    h = fit(tiny_bert(), train, config=TrainConfig(epochs=1, lr=1e-3), progress=False, cpu=True)
    assert h.precision == ("bf16" if cpu_supports_bf16() else "fp32")
