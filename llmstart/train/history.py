"""What a training run did, step by step: the record :func:`~llmstart.train.fit` returns.

>>> h = History(steps=[{"step": 1, "epoch": 0, "loss": 0.7, "lr": 1e-4}], train_time_s=2.0, samples_seen=64)
>>> h.samples_per_second
32.0
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llmstart.files import atomic_write_text


@dataclass
class History:
    """Per-step loss and learning rate, per-evaluation metrics, and what the run cost."""

    steps: list[dict] = field(default_factory=list)  # {"step", "epoch", "loss", "lr"}
    evals: list[dict] = field(default_factory=list)  # {"step", "epoch", "loss", metrics...}
    metric: str = "accuracy"
    best_metric: float | None = None
    best_step: int | None = None
    stopped_early: bool = False
    interrupted: bool = False
    train_time_s: float = 0.0  # time in training steps (evaluation excluded)
    eval_time_s: float = 0.0
    samples_seen: int = 0
    # On CUDA: the run's peak allocated memory. On CPU: the peak resident memory of the whole
    # *process* so far, which never goes down (see llmstart.runtime.peak_memory_mb).
    peak_memory_mb: float = 0.0
    memory_kind: str = ""
    device: str = ""
    precision: str = ""  # "fp32", "bf16" or "fp16"
    num_processes: int = 1

    @property
    def samples_per_second(self) -> float:
        """Training throughput over the whole run."""
        return self.samples_seen / self.train_time_s if self.train_time_s else 0.0

    def to_frames(self):
        """``(steps, evals)`` as pandas DataFrames, ready to plot or print.

        >>> steps, evals = History(steps=[{"step": 1, "loss": 0.5}]).to_frames()
        >>> len(steps), len(evals)
        (1, 0)
        """
        import pandas as pd

        return pd.DataFrame(self.steps), pd.DataFrame(self.evals)

    def summary(self) -> dict:
        """One row of the figures a results table needs.

        >>> History().summary()["steps"]
        0
        """
        last = self.evals[-1] if self.evals else {}
        return {
            "steps": self.steps[-1]["step"] if self.steps else 0,
            f"best_{self.metric}": self.best_metric,
            "best_step": self.best_step,
            "final_loss": self.steps[-1]["loss"] if self.steps else None,
            **{f"val_{k}": v for k, v in last.items() if k not in {"step", "epoch"}},
            "train_time_s": round(self.train_time_s, 2),
            "samples_per_s": round(self.samples_per_second, 1),
            "peak_memory_mb": round(self.peak_memory_mb, 1),
            "precision": self.precision,
        }

    def save(self, path: str | Path) -> None:
        """Write the history as JSON, atomically."""
        atomic_write_text(path, json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> History:
        """Read a history written by :meth:`save`.

        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.json"; History(metric="loss").save(p)
        >>> History.load(p).metric
        'loss'
        """
        return cls(**json.loads(Path(path).read_text()))
