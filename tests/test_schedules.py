"""Helpers of the math notebook: schedules as fit sets them, sweeps, gradient noise."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from llmstart.lessons.schedules import (
    gradient_noise,
    lr_schedule_curve,
    lr_sweep,
)
from llmstart.train import TrainConfig, fit


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(4, 3)

    def forward(self, x, labels):
        logits = self.lin(x)
        return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}


def tiny_loader(n: int = 64, batch_size: int = 8) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    y = x[:, :3].argmax(-1)
    return DataLoader([{"x": x[i], "labels": y[i]} for i in range(n)], batch_size=batch_size)


@pytest.mark.parametrize("schedule", ["linear", "cosine", "constant_with_warmup"])
def test_schedule_curve_is_what_fit_uses(schedule):
    loader = tiny_loader()
    h = fit(Tiny(), loader,
            config=TrainConfig(epochs=3, lr=0.05, warmup_ratio=0.25, schedule=schedule),
            progress=False)
    curve = lr_schedule_curve(Tiny().parameters(), schedule, total_steps=len(h.steps), warmup_ratio=0.25, lr=0.05)
    assert curve == pytest.approx([s["lr"] for s in h.steps], abs=1e-12)
    assert curve[0] == 0.0 and max(curve) == pytest.approx(0.05)


def test_schedule_curve_does_not_change_the_weights():
    model = Tiny()
    before = model.lin.weight.detach().clone()
    lr_schedule_curve(model.parameters(), "linear", total_steps=5, lr=1.0)
    assert torch.equal(before, model.lin.weight)


def test_lr_sweep_starts_every_run_from_the_same_weights_and_restores_them():
    model, loader = Tiny(), tiny_loader()
    start = model.lin.weight.detach().clone()
    curves = lr_sweep(model, loader, [0.0, 0.1, 0.1], steps=6, progress=False)
    assert torch.equal(model.lin.weight, start)
    assert len(curves[0.0]) == 6 and len(set(curves[0.0])) > 1  # lr 0: loss varies by batch only
    again = lr_sweep(model, loader, [0.0], steps=6, progress=False)
    assert again[0.0] == curves[0.0]  # same weights, same batches: same losses
    assert curves[0.1][-1] < curves[0.0][-1]


def test_lr_sweep_shows_divergence_at_a_huge_learning_rate():
    curves = lr_sweep(Tiny(), tiny_loader(), [0.1, 1e3], steps=8, progress=False)
    assert max(curves[1e3]) > 2 * curves[1e3][0] and curves[0.1][-1] < curves[0.1][0]


def test_gradient_noise_falls_like_one_over_sqrt_batch():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4096, 16, generator=g)
    y = (x[:, 0] + 0.5 * torch.randn(4096, generator=g) > 0).long()
    torch.manual_seed(0)
    head = torch.nn.Linear(16, 2)
    table = gradient_noise(head, x, y, batch_sizes=(4, 16, 64), draws=100, seed=0)
    noise = table.set_index("batch_size").relative_noise
    assert list(table.columns) == ["batch_size", "relative_noise"]
    assert 3.2 < noise[4] / noise[64] < 4.8 and 1.6 < noise[4] / noise[16] < 2.4
    assert head.weight.grad is None or not head.weight.grad.any()  # leaves no gradient behind


def test_full_batch_has_no_noise():
    x, y = torch.randn(32, 3), torch.randint(0, 2, (32,))
    table = gradient_noise(torch.nn.Linear(3, 2), x, y, batch_sizes=(32,), draws=3)
    assert table.relative_noise.iloc[0] < 1e-6
