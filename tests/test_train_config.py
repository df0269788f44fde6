"""TrainConfig: one record of a run's settings, saved with the run and able to re-make it; and
the shape of `fit` (one screen of loop, few keywords, a loss hook)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json

import pytest
import torch

from conftest import synthetic_frame, tiny_bert
from llmstart.data import make_loader, split_frame
from llmstart.train import TrainConfig, fit
from llmstart.train import loop as loop_module
from llmstart.train.config import CONFIG_FILE
from llmstart.train.recipe import choose_recipe


@pytest.fixture(scope="module")
def loaders():
    from llmstart.models.pretrained import load_tokenizer

    tok = load_tokenizer("minilm")
    s = split_frame(synthetic_frame(120), seed=0)
    return (make_loader(s.train, tok, s.label_names, batch_size=8, shuffle=True, seed=0),
            make_loader(s.val, tok, s.label_names, batch_size=32))


def test_every_field_has_a_reason_and_the_record_is_frozen():
    for f in dataclasses.fields(TrainConfig):
        assert len(TrainConfig.why(f.name)) > 20, f.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().lr = 1.0  # type: ignore[misc]


def test_bad_values_and_unknown_fields_are_clear(tmp_path):
    with pytest.raises(ValueError, match="precision 'fp8': choose one of auto, bf16, fp16, fp32"):
        TrainConfig(precision="fp8")
    (tmp_path / "c.json").write_text(json.dumps({"lr": 1e-3, "early_stopping_patience": 2}))
    with pytest.raises(ValueError, match=r"c.json: unknown field 'early_stopping_patience'"):
        TrainConfig.load(tmp_path / "c.json")
    with pytest.raises(FileNotFoundError, match="no saved training config"):
        TrainConfig.load(tmp_path / "missing")


def test_a_saved_recipe_re_makes_an_identical_config(tmp_path):
    chosen = choose_recipe(22_700_000, 300, 40, class_weights=[0.5, 2.0], base=TrainConfig(seed=3))
    again = TrainConfig.load(chosen.save(tmp_path / CONFIG_FILE))
    assert again == chosen and again.reasons == chosen.reasons and again.to_dict() == chosen.to_dict()
    assert again.class_weights == (0.5, 2.0) and again.seed == 3 and again.metric == "macro_f1"


def test_training_from_a_saved_config_reproduces_the_run(loaders, tmp_path):
    train, val = loaders
    config = TrainConfig(epochs=2, lr=1e-3, precision="fp32", eval_every=5, seed=4, metric="loss")
    first = fit(tiny_bert(dropout=0.1), train, val, config, out_dir=tmp_path / "a", checkpoint_every=5,
                progress=False)
    saved = TrainConfig.load(tmp_path / "a")  # the folder: fit wrote train_config.json there
    assert saved == config and TrainConfig.load(tmp_path / "a" / "checkpoint") == config
    second = fit(tiny_bert(dropout=0.1), train, val, saved, progress=False)
    assert [s["loss"] for s in second.steps] == [s["loss"] for s in first.steps]
    assert second.evals == first.evals and second.best_step == first.best_step


def test_loss_fn_replaces_the_models_loss(loaders):
    train, _ = loaders
    calls = []

    def halved(model, batch):
        calls.append(1)
        return model(**batch).loss * 0.5

    plain = fit(tiny_bert(dropout=0.0), train, config=TrainConfig(max_steps=3, lr=0.0, precision="fp32"),
                progress=False)
    half = fit(tiny_bert(dropout=0.0), train, config=TrainConfig(max_steps=3, lr=0.0, precision="fp32"),
               loss_fn=halved, progress=False)
    assert len(calls) == 3
    assert [s["loss"] for s in half.steps] == pytest.approx([s["loss"] / 2 for s in plain.steps], rel=1e-5)
    with pytest.raises(ValueError, match="class_weights or loss_fn, not both"):
        fit(tiny_bert(), train, config=TrainConfig(class_weights=[1, 1, 1]), loss_fn=halved, progress=False)


def test_the_continual_task_loss_and_penalty_train_through_fit():
    import llmstart.train.continual as cl

    tasks = cl.task_layout({"a": ["x", "y"], "b": ["z", "w"]})

    class Wrap(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 4)

        def forward(self, input):
            return {"logits": self.lin(input)}

    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 4, generator=g)
    batches = [{"input": x[i:i + 8], "labels": (x[i:i + 8, 0] > 0).long()} for i in range(0, 32, 8)]
    torch.manual_seed(0)
    model = Wrap()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    loss = cl.TaskLoss(tasks)
    before = sum(loss(model, b).item() for b in batches)
    config = TrainConfig(epochs=20, lr=0.05, warmup_ratio=0.0, precision="fp32")
    fit(model, batches, config=config, loss_fn=loss, cpu=True, progress=False)
    assert sum(loss(model, b).item() for b in batches) < before / 2
    held = Wrap()
    held.load_state_dict(start)
    far = cl.TaskLoss(tasks, penalty=lambda m: 1e3 * sum(((p - start[n]) ** 2).sum()
                                                         for n, p in m.named_parameters()))
    fit(held, batches, config=config, loss_fn=far, cpu=True, progress=False)
    moved = lambda m: sum((p - start[n]).abs().sum().item() for n, p in m.named_parameters())  # noqa: E731
    assert moved(held) < moved(model) / 5  # the penalty holds the weights near where they started


def test_fit_is_one_screen_with_few_keywords():
    source = inspect.getsource(loop_module.fit)
    node = ast.parse(source).body[0]
    body = node.body[1:] if isinstance(node.body[0].value, ast.Constant) else node.body
    code = [line for line in source.splitlines()[body[0].lineno - 1:] if line.strip()
            and not line.strip().startswith("#")]
    assert len(code) <= 110
    assert len(node.args.kwonlyargs) <= 12
    assert [a.arg for a in node.args.args] == ["model", "train_loader", "val_loader", "config"]
