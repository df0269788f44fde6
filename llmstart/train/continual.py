"""Continual learning: teach a model a second task without making it forget the first.

A startup's classifier learns one job (say, routing news by topic), ships, and then must learn
another (say, tweet sentiment). Fine-tuning the same weights on the new data alone makes the
model lose the old job: *catastrophic forgetting*. This module holds the parts the course
measures against it:

- :class:`Task` and :func:`task_layout`: several tasks share one output layer, each task owning a
  slice of it (task-incremental learning: the caller says which task a text belongs to, as a
  product feature does). Labels are *global* ids, so one batch may mix tasks.
- :func:`task_cross_entropy`: the loss of each row against its own task's slice only.
- :func:`replay_buffer` and :func:`mix_replay`: rehearsal, a few kept examples of the old task
  mixed into the new task's training data.
- :class:`EWC`: elastic weight consolidation (Kirkpatrick et al., 2017), a pull back towards the
  old weights, strongest on the weights the old task's loss is most sensitive to.
- :func:`train_epochs` and :func:`task_accuracy`: a short training loop that accepts such a
  penalty, and accuracy measured inside one task's slice.

>>> tasks = task_layout({"news": ["business", "sport"], "tweets": ["neg", "neu", "pos"]})
>>> [(t.name, t.offset, t.size) for t in tasks]
[('news', 0, 2), ('tweets', 2, 3)]
>>> global_label_names(tasks)
['news:business', 'news:sport', 'tweets:neg', 'tweets:neu', 'tweets:pos']
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Task:
    """One task's slice of a shared output layer: logits ``offset`` to ``offset + size``.

    >>> Task("tweets", ("neg", "pos"), offset=5).columns
    slice(5, 7, None)
    """

    name: str
    label_names: tuple[str, ...]
    offset: int

    @property
    def size(self) -> int:
        return len(self.label_names)

    @property
    def columns(self) -> slice:
        return slice(self.offset, self.offset + self.size)

    def global_names(self) -> list[str]:
        """``"task:label"`` for each label (the label names a shared loader uses).

        >>> Task("news", ("sport",), 0).global_names()
        ['news:sport']
        """
        return [f"{self.name}:{label}" for label in self.label_names]


def task_layout(label_names: Mapping[str, Sequence[str]]) -> list[Task]:
    """Place the tasks side by side in one output layer, in the order given.

    >>> task_layout({"a": ["x", "y"], "b": ["z"]})[1]
    Task(name='b', label_names=('z',), offset=2)
    """
    tasks, offset = [], 0
    for name, names in label_names.items():
        if not names:
            raise ValueError(f"task {name!r} has no labels")
        tasks.append(Task(name, tuple(str(n) for n in names), offset))
        offset += len(names)
    return tasks


def global_label_names(tasks: Sequence[Task]) -> list[str]:
    """Every task's labels as ``"task:label"``, in output-layer order (the model's ``num_labels``).

    >>> global_label_names(task_layout({"a": ["x"], "b": ["y", "z"]}))
    ['a:x', 'b:y', 'b:z']
    """
    return [name for task in tasks for name in task.global_names()]


def with_task_labels(frame: pd.DataFrame, task: Task, label_col: str = "label") -> pd.DataFrame:
    """A copy of ``frame`` whose labels are prefixed with the task name (``"tweets:neg"``).

    >>> with_task_labels(pd.DataFrame({"text": ["t"], "label": ["x"]}), Task("a", ("x",), 0)).label.tolist()
    ['a:x']
    """
    unknown = sorted(set(frame[label_col].astype(str)) - set(task.label_names))
    if unknown:
        raise ValueError(f"labels {unknown} are not among task {task.name!r}'s labels {list(task.label_names)}")
    out = frame.copy()
    out[label_col] = task.name + ":" + out[label_col].astype(str)
    return out


def task_mask(tasks: Sequence[Task], labels: torch.Tensor) -> torch.Tensor:
    """Boolean ``(batch, num_labels)``: True on the columns of each row's own task.

    >>> tasks = task_layout({"a": ["x", "y"], "b": ["z"]})
    >>> task_mask(tasks, torch.tensor([1, 2])).int().tolist()
    [[1, 1, 0], [0, 0, 1]]
    """
    width = sum(t.size for t in tasks)
    mask = torch.zeros(len(labels), width, dtype=torch.bool, device=labels.device)
    for task in tasks:
        rows = (labels >= task.offset) & (labels < task.offset + task.size)
        mask[rows, task.columns] = True
    if not mask.any(dim=1).all():
        bad = labels[~mask.any(dim=1)].tolist()
        raise ValueError(f"labels {bad} belong to no task (output width {width})")
    return mask


def task_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, tasks: Sequence[Task]) -> torch.Tensor:
    """Cross-entropy of each row over its own task's columns (the other tasks' logits are ignored).

    >>> tasks = task_layout({"a": ["x", "y"], "b": ["z", "w"]})
    >>> logits = torch.tensor([[0.0, 0.0, 9.0, 9.0]])   # task b's logits do not matter for a row of a
    >>> round(task_cross_entropy(logits, torch.tensor([0]), tasks).item(), 4)   # ln 2
    0.6931
    """
    masked = logits.masked_fill(~task_mask(tasks, labels), float("-inf"))
    return F.cross_entropy(masked, labels)


def replay_buffer(frame: pd.DataFrame, size: int, seed: int = 0, label_col: str = "label") -> pd.DataFrame:
    """Keep ``size`` rows of an old task for rehearsal, the same number from each label (as near as can be).

    >>> old = pd.DataFrame({"text": list("abcdef"), "label": list("xxxxyy")})
    >>> replay_buffer(old, 4).label.value_counts().to_dict()
    {'x': 2, 'y': 2}
    """
    if size <= 0 or size > len(frame):
        raise ValueError(f"replay buffer size must be between 1 and {len(frame)} rows, not {size}")
    groups = frame.groupby(label_col, sort=True)
    per_label = size // groups.ngroups
    parts = [g.sample(min(len(g), per_label), random_state=seed) for _, g in groups]
    buffer = pd.concat(parts)
    rest = frame.drop(buffer.index)
    if len(buffer) < size:
        buffer = pd.concat([buffer, rest.sample(size - len(buffer), random_state=seed)])
    return buffer.reset_index(drop=True)


def mix_replay(new: pd.DataFrame, buffer: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The new task's rows and the replay buffer in one shuffled table.

    >>> mixed = mix_replay(pd.DataFrame({"text": ["n1", "n2"]}), pd.DataFrame({"text": ["o1"]}))
    >>> sorted(mixed.text)
    ['n1', 'n2', 'o1']
    """
    return pd.concat([new, buffer]).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _trainable(model: nn.Module) -> dict[str, nn.Parameter]:
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


class EWC:
    """Elastic weight consolidation: ``strength / 2 · Σ F_i (θ_i − θ*_i)²``.

    After the old task, keep a copy ``θ*`` of the weights and an importance ``F_i`` per weight:
    the diagonal of the Fisher information, estimated as the mean squared gradient of the old
    task's loss (one example at a time). Training on the new task then adds this penalty, so a
    weight the old task depends on (large ``F_i``) is expensive to move, and an unimportant one
    is free. The cost: two extra copies of every trained weight.

    >>> model = nn.Linear(2, 1)
    >>> ewc = EWC(model, {n: torch.ones_like(p) for n, p in model.named_parameters()}, strength=2.0)
    >>> ewc.penalty(model).item()
    0.0
    >>> with torch.no_grad():
    ...     model.bias += 3.0
    >>> ewc.penalty(model).item()   # 2 / 2 * 1 * 3²
    9.0
    """

    def __init__(self, model: nn.Module, fisher: Mapping[str, torch.Tensor], strength: float):
        params = _trainable(model)
        missing = sorted(set(params) - set(fisher))
        if missing:
            raise ValueError(f"no Fisher estimate for {len(missing)} trained weights, e.g. {missing[:3]}")
        self.strength = float(strength)
        self.fisher = {n: fisher[n].detach().clone() for n in params}
        self.anchor = {n: p.detach().clone() for n, p in params.items()}

    def penalty(self, model: nn.Module) -> torch.Tensor:
        """The pull back towards the old weights, for the model's current weights."""
        params = _trainable(model)
        total = torch.zeros((), device=next(iter(params.values())).device)
        for name, anchor in self.anchor.items():
            total = total + (self.fisher[name] * (params[name] - anchor) ** 2).sum()
        return self.strength / 2 * total

    @property
    def extra_mb(self) -> float:
        """Memory the method keeps beyond the model: the anchor weights and the Fisher diagonal."""
        tensors = list(self.fisher.values()) + list(self.anchor.values())
        return sum(t.numel() * t.element_size() for t in tensors) / 2**20


def fisher_diagonal(
    model: nn.Module, loader: Iterable[dict], tasks: Sequence[Task], max_examples: int = 200
) -> dict[str, torch.Tensor]:
    """The mean squared per-example gradient of the task loss: the diagonal (empirical) Fisher.

    Gradients are taken one example at a time: squaring a batch's mean gradient would cancel
    the disagreements between examples that the Fisher is meant to measure.

    >>> class Toy(nn.Module):
    ...     def __init__(self):
    ...         super().__init__(); self.linear = nn.Linear(2, 2)
    ...     def forward(self, x, labels=None):
    ...         return {"logits": self.linear(x)}
    >>> toy, tasks = Toy(), task_layout({"a": ["x", "y"]})
    >>> batch = {"x": torch.randn(4, 2), "labels": torch.tensor([0, 1, 0, 1])}
    >>> fisher = fisher_diagonal(toy, [batch], tasks)
    >>> sorted(fisher), bool((fisher["linear.weight"] >= 0).all())
    (['linear.bias', 'linear.weight'], True)
    """
    params = _trainable(model)
    sums = {n: torch.zeros_like(p) for n, p in params.items()}
    was_training, seen = model.training, 0
    model.eval()
    try:
        for batch in loader:
            for i in range(len(batch["labels"])):
                if seen >= max_examples:
                    break
                one = {k: v[i : i + 1] for k, v in batch.items()}
                model.zero_grad(set_to_none=True)
                logits = _logits(model(**{k: v for k, v in one.items() if k != "labels"}))
                task_cross_entropy(logits, one["labels"], tasks).backward()
                for name, p in params.items():
                    if p.grad is not None:
                        sums[name] += p.grad.detach() ** 2
                seen += 1
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    if seen == 0:
        raise ValueError("the loader gave no examples to estimate the Fisher information from")
    return {n: s / seen for n, s in sums.items()}


def _logits(outputs) -> torch.Tensor:
    return outputs["logits"] if isinstance(outputs, dict) else outputs.logits


class TaskLoss:
    """``loss_fn`` for :func:`llmstart.train.fit`: each row's cross-entropy over its own task's
    columns (:func:`task_cross_entropy`), plus ``penalty(model)`` (e.g. :meth:`EWC.penalty`).

    >>> tasks = task_layout({"a": ["x", "y"]})
    >>> class M(nn.Module):
    ...     def forward(self, input):
    ...         return {"logits": torch.zeros(len(input), 2)}
    >>> batch = {"input": torch.zeros(2, 1), "labels": torch.tensor([0, 1])}
    >>> round(TaskLoss(tasks, penalty=lambda m: torch.tensor(1.0))(M(), batch).item(), 4)
    1.6931
    """

    def __init__(self, tasks: Sequence[Task], penalty: Callable[[nn.Module], torch.Tensor] | None = None):
        self.tasks, self.penalty = tasks, penalty

    def __call__(self, model: nn.Module, batch: Mapping) -> torch.Tensor:
        logits = _logits(model(**{k: v for k, v in batch.items() if k != "labels"}))
        with torch.autocast(logits.device.type, enabled=False):  # the loss and penalty in fp32
            loss = task_cross_entropy(logits.float(), batch["labels"], self.tasks)
            return loss if self.penalty is None else loss + self.penalty(model)


def train_epochs(
    model: nn.Module,
    loader: Iterable[dict],
    tasks: Sequence[Task],
    *,
    epochs: int,
    lr: float,
    penalty: Callable[[nn.Module], torch.Tensor] | None = None,
    bf16: bool = False,
) -> float:
    """Train the model's trainable weights with AdamW on the task loss (+ ``penalty(model)``); returns seconds.

    The loss is :class:`TaskLoss`, which also trains through :func:`llmstart.train.fit` as its
    ``loss_fn``; ``bf16=True`` runs the forward pass under CPU bfloat16 autocast.

    >>> torch.manual_seed(0) and None
    >>> model, tasks = nn.Linear(2, 2), task_layout({"a": ["x", "y"]})
    >>> batch = {"input": torch.tensor([[1.0, 0.0], [0.0, 1.0]]), "labels": torch.tensor([0, 1])}
    >>> class Wrap(nn.Module):
    ...     def __init__(self, m):
    ...         super().__init__(); self.m = m
    ...     def forward(self, input):
    ...         return {"logits": self.m(input)}
    >>> wrapped = Wrap(model)
    >>> before = task_cross_entropy(wrapped(batch["input"])["logits"], batch["labels"], tasks).item()
    >>> seconds = train_epochs(wrapped, [batch], tasks, epochs=20, lr=0.1)
    >>> task_cross_entropy(wrapped(batch["input"])["logits"], batch["labels"], tasks).item() < before
    True
    """
    # Its own loop, not fit: notebook 13 was measured with one batch order every epoch and no reseeding, fit reshuffles.
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable weights")
    # PyTorch's fused kernel updates every tensor in one pass (much faster on CPU, as in fit)
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, fused=True)
    loss_fn = TaskLoss(tasks, penalty)
    model.train()
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    return time.perf_counter() - start


@torch.no_grad()
def task_accuracy(model: nn.Module, loader: Iterable[dict], task: Task, bf16: bool = False) -> float:
    """Accuracy on one task, the prediction being the best label *within that task's slice*.

    ``bf16=True`` runs the forward passes under CPU bfloat16 autocast (as :func:`train_epochs`).

    >>> class Fixed(nn.Module):
    ...     def forward(self, x):
    ...         return {"logits": torch.tensor([[5.0, 0.0, 0.0, 1.0]] * len(x))}
    >>> task = Task("b", ("z", "w"), offset=2)   # the 5.0 belongs to another task
    >>> task_accuracy(Fixed(), [{"x": torch.zeros(2), "labels": torch.tensor([3, 2])}], task)
    0.5
    """
    was_training = model.training
    model.eval()
    correct = total = 0
    for batch in loader:
        labels = batch["labels"]
        outside = (labels < task.offset) | (labels >= task.offset + task.size)
        if outside.any():
            raise ValueError(f"the loader holds labels of another task than {task.name!r}: {labels[outside][:5].tolist()}")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = _logits(model(**{k: v for k, v in batch.items() if k != "labels"}))
        pred = logits[:, task.columns].argmax(-1) + task.offset
        correct += int((pred == labels).sum())
        total += len(labels)
    model.train(was_training)
    if total == 0:
        raise ValueError(f"the loader for task {task.name!r} is empty")
    return correct / total
