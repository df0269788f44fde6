"""llmstart.train.continual: per-task loss, replay, EWC, and the training loop that uses them."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import synthetic_frame, tiny_bert
from llmstart.data import make_loader
from llmstart.train import continual as cl

TASKS = cl.task_layout({"a": ["x", "y"], "b": ["p", "q", "r"]})


def test_layout_and_labels():
    assert cl.global_label_names(TASKS) == ["a:x", "a:y", "b:p", "b:q", "b:r"]
    with pytest.raises(ValueError, match="no labels"):
        cl.task_layout({"a": []})
    with pytest.raises(ValueError, match=r"\['z'\] are not among task 'a'"):
        cl.with_task_labels(pd.DataFrame({"text": ["t"], "label": ["z"]}), TASKS[0])


def test_task_loss_is_cross_entropy_on_the_rows_own_slice():
    torch.manual_seed(0)
    logits = torch.randn(4, 5, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 4])
    loss = cl.task_cross_entropy(logits, labels, TASKS)
    expected = (F.cross_entropy(logits[:2, :2], labels[:2], reduction="sum")
                + F.cross_entropy(logits[2:, 2:], labels[2:] - 2, reduction="sum")) / 4
    assert torch.allclose(loss, expected)
    loss.backward()
    assert torch.all(logits.grad[:2, 2:] == 0) and torch.all(logits.grad[2:, :2] == 0)
    with pytest.raises(ValueError, match="belong to no task"):
        cl.task_mask(TASKS, torch.tensor([7]))


def test_replay_buffer_is_stratified_and_reproducible():
    old = synthetic_frame(60)
    buffer = cl.replay_buffer(old, 10, seed=3)
    assert len(buffer) == 10 and buffer.label.value_counts().min() >= 3
    assert buffer.equals(cl.replay_buffer(old, 10, seed=3))
    assert not buffer.equals(cl.replay_buffer(old, 10, seed=4))
    assert set(buffer.text) <= set(old.text)
    with pytest.raises(ValueError, match="between 1 and 60"):
        cl.replay_buffer(old, 61)
    mixed = cl.mix_replay(old.head(5), buffer, seed=0)
    assert len(mixed) == 15 and set(mixed.text) == set(old.head(5).text) | set(buffer.text)


def test_ewc_penalty_formula_and_gradient():
    model = nn.Linear(3, 2)
    fisher = {n: torch.rand_like(p) for n, p in model.named_parameters()}
    ewc = cl.EWC(model, fisher, strength=4.0)
    anchor = copy.deepcopy(model.state_dict())
    assert ewc.penalty(model).item() == 0
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    expected = 2.0 * sum((fisher[n] * (p - anchor[n]) ** 2).sum() for n, p in model.named_parameters())
    penalty = ewc.penalty(model)
    assert torch.allclose(penalty, expected)
    penalty.backward()  # the gradient points away from the anchor: a step against it goes back
    for n, p in model.named_parameters():
        assert torch.allclose(p.grad, 4.0 * fisher[n] * (p - anchor[n]))
    assert ewc.extra_mb == pytest.approx(2 * 8 * 4 / 2**20)
    with pytest.raises(ValueError, match="no Fisher estimate"):
        cl.EWC(model, {"weight": fisher["weight"]}, 1.0)


class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 5)

    def forward(self, x):
        return {"logits": self.linear(x)}


def test_fisher_is_the_mean_of_per_example_squared_gradients():
    torch.manual_seed(0)
    toy = Toy()
    x, labels = torch.randn(6, 2), torch.tensor([0, 1, 2, 3, 4, 0])
    fisher = cl.fisher_diagonal(toy, [{"x": x[:4], "labels": labels[:4]}, {"x": x[4:], "labels": labels[4:]}], TASKS)
    manual = torch.zeros_like(toy.linear.weight)
    for i in range(6):
        toy.zero_grad()
        cl.task_cross_entropy(toy(x[i : i + 1])["logits"], labels[i : i + 1], TASKS).backward()
        manual += toy.linear.weight.grad**2
    assert torch.allclose(fisher["linear.weight"], manual / 6, atol=1e-6)
    capped = cl.fisher_diagonal(toy, [{"x": x, "labels": labels}], TASKS, max_examples=2)
    assert not torch.allclose(capped["linear.weight"], fisher["linear.weight"])
    with pytest.raises(ValueError, match="no examples"):
        cl.fisher_diagonal(toy, [], TASKS)


def test_two_tasks_on_a_tiny_bert(tokenizer):
    """Naive training on task b moves the weights task a relies on; a strong EWC keeps them."""
    frame = synthetic_frame(48)
    task_a = cl.task_layout({"a": sorted(frame.label.unique()), "b": ["neg", "pos"]})
    names = cl.global_label_names(task_a)
    a, b = task_a
    old = cl.with_task_labels(frame, a)
    new = pd.DataFrame({"text": [f"{i} {'great good' if i % 2 else 'awful bad'}" for i in range(32)],
                        "label": ["b:pos" if i % 2 else "b:neg" for i in range(32)]})

    def loader(df, shuffle=True):
        return make_loader(df, tokenizer, names, batch_size=16, max_length=24, shuffle=shuffle)

    model = tiny_bert(num_labels=len(names), dropout=0.0)
    cl.train_epochs(model, loader(old), task_a, epochs=4, lr=3e-3)
    assert cl.task_accuracy(model, loader(old, False), a) > 0.6
    assert cl.task_accuracy(model, loader(old, False), a, bf16=True) > 0.6   # bf16 autocast scores alike
    anchor = {n: p.detach().clone() for n, p in model.named_parameters()}
    fisher = cl.fisher_diagonal(model, loader(old, False), task_a, max_examples=24)

    def drift(m):
        return sum(float(((p.detach() - anchor[n]) ** 2).sum()) for n, p in m.named_parameters())

    naive, held = copy.deepcopy(model), copy.deepcopy(model)
    cl.train_epochs(naive, loader(new), task_a, epochs=3, lr=3e-3)
    ewc = cl.EWC(held, fisher, strength=1e6)
    cl.train_epochs(held, loader(new), task_a, epochs=3, lr=3e-3, penalty=ewc.penalty)
    assert drift(held) < 0.5 * drift(naive)
    head_a = naive.classifier.weight[: a.size]  # masked loss: task b never touches task a's head rows
    assert torch.equal(head_a, model.classifier.weight[: a.size])
    with pytest.raises(ValueError, match="another task"):
        cl.task_accuracy(model, loader(new, False), a)
