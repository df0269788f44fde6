"""Which step `fit` keeps: on a small validation set accuracy ties, and the validation loss decides."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from llmstart.train import TrainConfig, fit
from llmstart.train.loop import BestTracker
from llmstart.train.run_report import kept_step_line


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(2, 2)

    def forward(self, x, labels):
        logits = self.lin(x)
        return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}


def separable(n: int = 64) -> DataLoader:
    """Two classes a linear model separates after a few steps: accuracy reaches 1.0 and stays."""
    data = [{"x": torch.tensor([1.0 if i % 2 else -1.0, 0.5]), "labels": i % 2} for i in range(n)]
    return DataLoader(data, batch_size=16)


def test_a_tie_in_accuracy_goes_to_the_lower_validation_loss():
    t = BestTracker("accuracy", keep_weights=False)
    assert t.update(0.90, step=10, model=None, tie_loss=0.40)
    assert t.update(0.90, step=20, model=None, tie_loss=0.30)  # same accuracy, lower loss: the new best
    assert not t.update(0.90, step=30, model=None, tie_loss=0.35)  # same accuracy, higher loss: no progress
    assert (t.step, t.loss, t.bad_evals) == (20, 0.30, 1)
    assert t.update(0.95, step=40, model=None, tie_loss=0.50)  # a higher accuracy wins whatever its loss
    assert t.step == 40


def test_without_a_tie_breaker_the_earlier_evaluation_stays():
    t = BestTracker("accuracy", keep_weights=False, tie_breaker=None)
    assert t.update(0.90, step=10, model=None, tie_loss=0.40)
    assert not t.update(0.90, step=20, model=None, tie_loss=0.30)
    assert t.step == 10
    with pytest.raises(ValueError, match="tie_breaker"):
        BestTracker("accuracy", tie_breaker="f1")


def test_loss_as_the_metric_has_no_tie_breaker():
    t = BestTracker("loss", keep_weights=False)
    assert t.update(0.5, step=1, model=None, tie_loss=0.5)
    assert not t.update(0.5, step=2, model=None, tie_loss=0.5)
    assert t.step == 1


def test_fit_keeps_the_later_step_when_accuracy_ties_and_loss_falls():
    loader = separable()
    model = Tiny()
    h = fit(model, loader, loader,
            TrainConfig(epochs=6, lr=0.3, warmup_ratio=0.0, metric="accuracy", patience=1, precision="fp32"),
            progress=False)
    # Without the tie-breaker the first perfect epoch is kept and patience 1 stops the run at the next.
    assert not h.stopped_early and len(h.evals) == 6
    perfect = [e for e in h.evals if e["accuracy"] == 1.0]
    assert len(perfect) >= 3  # the situation under test: several evaluations tie at the top
    losses = [e["loss"] for e in perfect]
    assert losses == sorted(losses, reverse=True)  # ... while the validation loss keeps falling
    assert h.best_step == h.evals[-1]["step"] and h.best_metric == 1.0
    line = kept_step_line(h)
    assert "tied with step" in line and "broke the tie" in line
