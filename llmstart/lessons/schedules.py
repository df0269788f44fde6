"""Helpers for the math notebook: learning-rate schedules and sweeps, gradient noise.

The formulas themselves (softmax, cross-entropy, its gradient, SGD and AdamW updates) are
written out in ``notebooks/03_the_math.ipynb``, where the learner reads them; this module
holds the longer experiment loops around them, so that each notebook cell stays short.
LoRA sizes (``lora_param_count``) live with the rest of LoRA in :mod:`llmstart.models.lora`.

>>> lr_schedule_curve([torch.nn.Parameter(torch.zeros(1))], total_steps=4, warmup_ratio=0.5, lr=1.0)
[0.0, 0.5, 1.0, 0.5]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def lr_schedule_curve(
    params,
    schedule: str = "linear",
    total_steps: int = 100,
    warmup_ratio: float = 0.1,
    lr: float = 5e-5,
) -> list[float]:
    """The learning rate of every optimizer step, exactly as :func:`llmstart.train.fit` sets it.

    ``params`` are the parameters to optimise (e.g. ``model.parameters()``); AdamW and
    ``transformers.get_scheduler`` are built as in ``fit``, and stepped without gradients
    (so nothing changes: a parameter without a gradient is skipped).

    >>> curve = lr_schedule_curve([torch.nn.Parameter(torch.zeros(1))], "linear", 10, 0.2, lr=1.0)
    >>> [round(x, 3) for x in curve]
    [0.0, 0.5, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]
    """
    from transformers import get_scheduler

    optimizer = torch.optim.AdamW(list(params), lr=lr)
    scheduler = get_scheduler(schedule, optimizer, int(warmup_ratio * total_steps), total_steps)
    lrs = []
    for _ in range(total_steps):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()  # no gradients: a no-op that keeps the scheduler's order check happy
        scheduler.step()
    return lrs


def lr_sweep(
    model: torch.nn.Module,
    loader,
    lrs: Sequence[float],
    steps: int = 10,
    seed: int = 0,
    progress: bool = True,
) -> dict[float, list[float]]:
    """Train ``model`` for ``steps`` steps at each constant learning rate; return the step losses.

    Every run starts from the same initial weights, batches and seed (no warm-up, no decay,
    no clipping), so the learning rate is the only difference. The model is left with its
    initial weights.

    >>> from torch.utils.data import DataLoader
    >>> class Lin(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__(); self.w = torch.nn.Linear(1, 1)
    ...     def forward(self, x, y):
    ...         return {"loss": ((self.w(x) - y) ** 2).mean()}
    >>> data = DataLoader([{"x": torch.ones(1), "y": torch.ones(1)}] * 8, batch_size=4)
    >>> losses = lr_sweep(Lin(), data, [0.0, 0.1], steps=4, progress=False)
    >>> losses[0.0][-1] == losses[0.0][0], losses[0.1][-1] < losses[0.1][0]
    (True, True)
    """
    from llmstart.train import TrainConfig, fit

    start = {k: v.detach().clone() for k, v in model.state_dict().items()}
    curves = {}
    for lr in lrs:
        model.load_state_dict(start)
        config = TrainConfig(max_steps=steps, lr=lr, warmup_ratio=0.0, schedule="constant",
                             max_grad_norm=None, weight_decay=0.0, seed=seed)
        history = fit(model, loader, None, config, progress=progress)
        curves[lr] = [s["loss"] for s in history.steps]
    model.load_state_dict(start)
    return curves


def gradient_noise(
    head: torch.nn.Linear,
    features: torch.Tensor,
    labels: torch.Tensor,
    batch_sizes: Sequence[int] = (4, 16, 64),
    draws: int = 50,
    seed: int = 0,
):
    """How far a mini-batch gradient strays from the full-data gradient, per batch size.

    For a linear classification head on fixed features, computes the full-data gradient of
    the cross-entropy and, for each batch size ``B``, ``draws`` mini-batch gradients (``B``
    examples drawn without replacement). Returns a DataFrame with ``batch_size`` and
    ``relative_noise`` = mean ‖g_B − g‖ / ‖g‖. Theory: noise ∝ 1/√B.

    >>> _ = torch.manual_seed(0); x = torch.randn(256, 8); y = (x[:, 0] > 0).long()
    >>> t = gradient_noise(torch.nn.Linear(8, 2), x, y, batch_sizes=(4, 64), draws=20)
    >>> bool(t.relative_noise.iloc[0] > 2 * t.relative_noise.iloc[1])
    True
    """
    import pandas as pd

    def grad(idx: torch.Tensor) -> torch.Tensor:
        head.zero_grad()
        torch.nn.functional.cross_entropy(head(features[idx]), labels[idx]).backward()
        return torch.cat([head.weight.grad.flatten(), head.bias.grad.flatten()]).clone()

    full = grad(torch.arange(len(features)))
    g = torch.Generator().manual_seed(seed)
    rows = []
    for b in batch_sizes:
        dev = [(grad(torch.randperm(len(features), generator=g)[:b]) - full).norm() for _ in range(draws)]
        rows.append({"batch_size": b, "relative_noise": float(torch.stack(dev).mean() / full.norm())})
    head.zero_grad()
    return pd.DataFrame(rows)
