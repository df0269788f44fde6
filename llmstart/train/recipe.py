"""Training settings chosen for the model and the data: what ``llmstart train`` uses by default.

:func:`choose_recipe` returns a :class:`~llmstart.train.config.TrainConfig` (the one record of
a run's hyper-parameters) whose ``reasons`` say why each chosen value was chosen. The rules, each a line of :func:`choose_recipe`:

- **Learning rate** by model size (small encoders take larger steps): 1e-4 up to 50 M
  parameters, 5e-5 up to 150 M, 2e-5 above; LoRA trains far fewer weights and takes 10x that.
- **Batch size** 16 below 2,000 training examples (more, smaller steps), else 32.
- **Length**: an epoch cap that gives at least ~600 optimizer steps on small data (3 to 20
  epochs), with early stopping (``patience`` evaluations without progress) and the best
  evaluation's weights restored at the end.
- **Model choice**: macro-F1 on the validation set when it is large enough to rank models
  (at least :data:`MIN_VAL_FOR_F1` rows); on a smaller one a single example moves F1 by
  several points, so the continuous validation loss chooses instead. When macro-F1 (or
  ``--select accuracy``) ties between two evaluations, :func:`llmstart.train.fit` keeps the one
  with the lower validation loss.
- **Class weights** (``--class-weights balanced``, off by default): rare labels weigh more in
  the training loss (:func:`balanced_class_weights`), and macro-F1 chooses the kept step
  whatever the validation size, because the unweighted validation loss prefers the run that
  predicts the common label. It trades accuracy for the rare labels' recall.

:func:`search_lr` is the cheap alternative to trusting the rule: a few short runs on a slice.

>>> r = choose_recipe(n_params=22_700_000, n_train=300, n_val=40)
>>> r.lr, r.batch_size, r.epochs, r.metric, r.patience, r.warmup_ratio
(0.0001, 16, 20, 'loss', 3, 0.06)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from llmstart.train.config import TrainConfig

__all__ = ["choose_recipe", "search_lr", "balanced_class_weights", "MIN_VAL_FOR_F1", "RECIPE_WARMUP"]

MIN_VAL_FOR_F1 = 200
TARGET_STEPS = 600
RECIPE_WARMUP = 0.06  # RoBERTa's fine-tuning warm-up: with up to ~600 steps, 36 warm-up steps


def default_lr(n_params: int, lora: bool = False) -> float:
    """Peak AdamW learning rate for fine-tuning a model with ``n_params`` parameters.

    >>> default_lr(22_700_000), default_lr(110_000_000), default_lr(340_000_000), default_lr(22_700_000, lora=True)
    (0.0001, 5e-05, 2e-05, 0.001)
    """
    lr = 1e-4 if n_params <= 50e6 else 5e-5 if n_params <= 150e6 else 2e-5
    return lr * 10 if lora else lr


def choose_recipe(n_params: int, n_train: int, n_val: int, *, lora: bool = False, lr: float | None = None,
                  batch_size: int | None = None, epochs: int | None = None, patience: int | None = None,
                  metric: str = "auto", class_weights: Sequence[float] | None = None,
                  base: TrainConfig | None = None) -> TrainConfig:
    """The settings for a run; any argument given explicitly wins over the rule. ``base``: the
    config the rest comes from (precision, seed, max length, ...; default :class:`TrainConfig`).

    >>> r = choose_recipe(n_params=22_700_000, n_train=20_000, n_val=2_500)
    >>> r.batch_size, r.epochs, r.metric
    (32, 3, 'macro_f1')
    """
    reasons = {}
    if lr is None:
        lr = default_lr(n_params, lora)
        reasons["lr"] = f"{lr:g}: the rule for a model of {n_params / 1e6:.1f} M parameters" + (" with LoRA" if lora else "")
    if batch_size is None:
        batch_size = 16 if n_train < 2000 else 32
        reasons["batch_size"] = f"{batch_size}: {'under' if batch_size == 16 else 'at least'} 2,000 training examples"
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    if epochs is None:
        epochs = min(20, max(3, math.ceil(TARGET_STEPS / steps_per_epoch)))
        reasons["epochs"] = (f"at most {epochs} ({steps_per_epoch} steps each; early stopping usually ends sooner)")
    if patience is None:
        patience = 3 if n_val < MIN_VAL_FOR_F1 else 2
        reasons["patience"] = f"{patience} evaluations without progress"
    if class_weights is not None:
        reasons["class_weights"] = "balanced: " + ", ".join(f"{w:.2f}" for w in class_weights)
    if metric == "auto" and class_weights is not None:
        metric = "macro_f1"
        reasons["metric"] = ("macro_f1: class weights are on, and the unweighted validation loss would "
                             "prefer the step that predicts the common label")
    if metric == "auto":
        metric = "macro_f1" if n_val >= MIN_VAL_FOR_F1 else "loss"
        reasons["metric"] = (f"{metric}: the validation set has {n_val} rows "
                             + (f"(>= {MIN_VAL_FOR_F1})" if metric == "macro_f1" else
                                f"(< {MIN_VAL_FOR_F1}: one row moves accuracy by {100 / max(n_val, 1):.1f} points "
                                "and macro-F1 by more, so the smoother loss chooses)"))
    return (base or TrainConfig()).replace(
        lr=lr, batch_size=batch_size, epochs=epochs, patience=patience, warmup_ratio=RECIPE_WARMUP,
        schedule="linear", metric=metric, reasons=reasons, class_weights=class_weights)


def balanced_class_weights(labels: Sequence, label_names: Sequence) -> list[float]:
    """One weight per label, ``n_rows / (n_labels * rows_of_label)`` (scikit-learn's "balanced").

    Every label then carries the same total weight in the loss, however rare it is.

    >>> balanced_class_weights(["a"] * 6 + ["b"] * 2, ["a", "b"])
    [0.6666666666666666, 2.0]
    """
    import numpy as np
    from sklearn.utils.class_weight import compute_class_weight

    names = [str(n) for n in label_names]
    labels = np.array([str(x) for x in labels])
    missing = sorted(set(names) - set(labels))
    if missing:
        raise ValueError(f"no training rows for labels {missing}: a class weight needs at least one row")
    return [float(w) for w in compute_class_weight("balanced", classes=np.array(names), y=labels)]


def search_lr(train_once: Callable[[float], float], base_lr: float,
              factors: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0)) -> tuple[float, list[dict]]:
    """Try ``base_lr * f`` for each factor; ``train_once(lr)`` returns a validation loss (lower wins).

    Returns the best learning rate and a table of every try. A run that diverged (``nan``)
    never wins.

    >>> best, table = search_lr(lambda lr: (lr - 2e-4) ** 2, base_lr=1e-4)
    >>> best, len(table)
    (0.0002, 5)
    """
    table = []
    for factor in factors:
        lr = base_lr * factor
        loss = float(train_once(lr))
        table.append({"lr": lr, "val_loss": loss})
    finite = [row for row in table if math.isfinite(row["val_loss"])]
    if not finite:
        return base_lr, table
    return min(finite, key=lambda row: row["val_loss"])["lr"], table
