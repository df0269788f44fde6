"""The settings of a training run, in one typed, frozen record: :class:`TrainConfig`.

Every hyper-parameter :func:`~llmstart.train.fit` reads is a field here, with its default defined
once and the reason for that default beside it (``TrainConfig.why("lr")``). A run's chosen
values carry their own reasons (``reasons``, filled by :func:`llmstart.train.recipe.choose_recipe`).
The record is saved as JSON with the model (:data:`CONFIG_FILE`, ``metrics.json``, checkpoints) and
read back with :meth:`TrainConfig.load`, so a run can be re-made exactly.

>>> c = TrainConfig(lr=1e-4, epochs=5)
>>> c.lr, c.weight_decay, TrainConfig.from_dict(c.to_dict()) == c
(0.0001, 0.01, True)
>>> TrainConfig.why("max_grad_norm")
'clip the gradient norm at 1: one bad batch cannot throw the weights far (the usual BERT/HF value)'
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from llmstart.models.hub import DEFAULT_MAX_LENGTH

__all__ = ["TrainConfig", "CONFIG_FILE", "PRECISIONS", "SCHEDULES"]

CONFIG_FILE = "train_config.json"  # not config.json: a Hugging Face model folder holds that one

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SCHEDULES = ("linear", "cosine", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial")


def _setting(default, why: str, **kw):
    """A field with its default and the reason it was chosen (``TrainConfig.why``)."""
    return field(default=default, metadata={"why": why}, **kw)


@dataclass(frozen=True)
class TrainConfig:
    """Every hyper-parameter of a run; change one with ``dataclasses.replace(config, lr=...)``."""

    lr: float = _setting(5e-5, "peak AdamW learning rate: the middle of BERT's fine-tuning range (2e-5 to "
                               "1e-4); choose_recipe picks by model size")
    batch_size: int | None = _setting(None, "examples per batch as the loaders were built (fit reads the "
                                            "loader; None: not recorded); choose_recipe picks 16 or 32")
    epochs: int = _setting(3, "passes over the training data: fine-tuning a pre-trained model usually "
                              "settles in 2 to 4")
    max_steps: int | None = _setting(None, "optimizer steps of the run; wins over epochs (None: epochs decide)")
    weight_decay: float = _setting(0.01, "AdamW's decoupled decay on weight matrices (not biases or norms): "
                                         "the usual transformer value")
    warmup_ratio: float = _setting(0.1, "share of the steps over which the learning rate rises from 0: "
                                        "early steps on a new head are noisy")
    schedule: str = _setting("linear", "decay after warm-up (linear, cosine, constant, ...): linear is "
                                       "BERT's, and safe")
    grad_accum_steps: int = _setting(1, "batches whose gradients add up before a step (a bigger effective "
                                        "batch in the same memory); 1: none")
    max_grad_norm: float | None = _setting(1.0, "clip the gradient norm at 1: one bad batch cannot throw the "
                                                "weights far (the usual BERT/HF value)")
    precision: str = _setting("auto", "auto: bf16 where the hardware does it natively, fp16 with loss "
                                      "scaling on older GPUs, else fp32 (same accuracy, faster)")
    eval_every: int | None = _setting(None, "evaluate every N optimizer steps; None: after every epoch")
    metric: str = _setting("accuracy", "validation figure that chooses the kept step (loss/perplexity: "
                                       "lower is better); choose_recipe picks by validation size")
    patience: int | None = _setting(None, "stop after this many evaluations without progress; None: "
                                           "never stop early")
    restore_best: bool = _setting(True, "end on the best evaluation's weights, not the last ones")
    tie_breaker: str | None = _setting("loss", "a tie in accuracy or F1 goes to the lower validation loss "
                                               "(one example moves them in steps); None: the earlier one")
    class_weights: tuple[float, ...] | None = _setting(
        None, "one weight per label for the training loss (rare labels count more); None: plain loss")
    seed: int | None = _setting(0, "seeds Python, NumPy and PyTorch at the start of fit; None: leave "
                                   "the generators as the caller set them")
    max_length: int = _setting(DEFAULT_MAX_LENGTH, "tokens kept per text when the loaders were built "
                                                   "(fit reads the loader): most short texts fit")
    reasons: dict = field(default_factory=dict, hash=False, compare=False,
                          metadata={"why": "why this run's values were chosen, by field name"})

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: choose one of {', '.join(PRECISIONS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule {self.schedule!r}: choose one of {', '.join(SCHEDULES)}")
        if self.tie_breaker not in (None, "loss"):
            raise ValueError(f"tie_breaker must be 'loss' or None, not {self.tie_breaker!r}")
        if self.grad_accum_steps < 1 or self.epochs < 1:
            raise ValueError(f"grad_accum_steps ({self.grad_accum_steps}) and epochs ({self.epochs}) must be >= 1")
        if self.class_weights is not None:  # a tuple, so the record stays immutable
            object.__setattr__(self, "class_weights", tuple(float(w) for w in self.class_weights))
        object.__setattr__(self, "reasons", dict(self.reasons))

    @classmethod
    def why(cls, name: str) -> str:
        """The reason for a field's default.

        >>> TrainConfig.why("restore_best")
        "end on the best evaluation's weights, not the last ones"
        """
        return next(f.metadata["why"] for f in dataclasses.fields(cls) if f.name == name)

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` (``dataclasses.replace``).

        >>> TrainConfig().replace(epochs=1).epochs
        1
        """
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON values (``class_weights`` as a list).

        >>> TrainConfig(class_weights=[1, 2]).to_dict()["class_weights"]
        [1.0, 2.0]
        """
        d = dataclasses.asdict(self)
        d["class_weights"] = None if self.class_weights is None else list(self.class_weights)
        return d

    @classmethod
    def from_dict(cls, values: dict, source: str = "config") -> TrainConfig:
        """The config ``to_dict`` wrote; an unknown field is an error that names it.

        >>> TrainConfig.from_dict({"lr": 1e-3, "epoch": 2})
        Traceback (most recent call last):
        ...
        ValueError: config: unknown field 'epoch'; known fields: lr, batch_size, epochs, max_steps, weight_decay, warmup_ratio, schedule, grad_accum_steps, max_grad_norm, precision, eval_every, metric, patience, restore_best, tie_breaker, class_weights, seed, max_length, reasons
        """
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in values if k not in names]
        if unknown:
            raise ValueError(f"{source}: unknown field {unknown[0]!r}; known fields: {', '.join(names)}")
        return cls(**values)

    def save(self, path: str | Path) -> Path:
        """Write ``to_dict`` as JSON, atomically; :meth:`load` reads it back."""
        from llmstart.files import atomic_write_json

        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a saved config: a :data:`CONFIG_FILE` or the ``metrics.json`` of ``llmstart train``
        (its ``config``), or the folder holding either (a checkpoint folder too).

        >>> import tempfile, pathlib
        >>> p = TrainConfig(lr=3e-4, seed=7).save(pathlib.Path(tempfile.mkdtemp()) / CONFIG_FILE)
        >>> TrainConfig.load(p) == TrainConfig(lr=3e-4, seed=7)
        True
        """
        path = Path(path)
        if path.is_dir():
            path = next((p for p in (path / CONFIG_FILE, path / "metrics.json") if p.is_file()),
                        path / CONFIG_FILE)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no saved training config; pass the {CONFIG_FILE} or "
                                    "metrics.json that fit(out_dir=...) or llmstart train wrote")
        values = json.loads(path.read_text(encoding="utf-8"))
        if "config" in values and isinstance(values["config"], dict):
            values = values["config"]
        return cls.from_dict(values, source=str(path))
