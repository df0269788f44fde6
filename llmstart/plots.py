"""Figures a learner would rather look at than read: training curves and confusion matrices.

>>> from llmstart.train import History
>>> h = History(steps=[{"step": 1, "epoch": 0, "loss": 1.0, "lr": 1e-4}], evals=[{"step": 1, "epoch": 1, "loss": 0.9, "accuracy": 0.5}])
>>> fig = plot_history(h)
>>> [ax.get_xlabel() for ax in fig.axes]
['optimizer step', 'optimizer step']
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt


def _draw_history(axes, histories: Mapping, metric: str) -> None:
    ax_loss, ax_metric = axes
    ax_loss.clear()
    ax_metric.clear()
    for name, h in histories.items():
        steps = [s["step"] for s in h.steps]
        (line,) = ax_loss.plot(steps, [s["loss"] for s in h.steps], alpha=0.6, label=f"{name} train".strip())
        if h.evals:
            ev_steps = [e["step"] for e in h.evals]
            ax_loss.plot(ev_steps, [e["loss"] for e in h.evals], "o--", color=line.get_color(),
                         label=f"{name} validation".strip())
            if metric in h.evals[0]:
                ax_metric.plot(ev_steps, [e[metric] for e in h.evals], "o-", color=line.get_color(),
                               label=f"{name} validation".strip())
    ax_loss.set(xlabel="optimizer step", ylabel="loss (cross-entropy, nats)", title="Loss")
    ax_metric.set(xlabel="optimizer step", ylabel=metric.replace("_", " "), title=f"Validation {metric}")
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()


def plot_history(history, metric: str | None = None, title: str | None = None):
    """Loss curves (train per step, validation per evaluation) and the validation metric.

    ``history`` is one :class:`~llmstart.train.History` or a dict ``{name: History}`` to
    compare runs on the same axes. Returns the figure.
    """
    histories = history if isinstance(history, Mapping) else {"": history}
    metric = metric or next(iter(histories.values())).metric
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    _draw_history(axes, histories, metric)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(matrix, title: str = "Confusion matrix (test set)", normalize: bool = False):
    """Draw a confusion matrix (a DataFrame from :func:`llmstart.evaluation.metrics.confusion_matrix`).

    >>> import pandas as pd
    >>> m = pd.DataFrame([[3, 1], [0, 4]], index=["a", "b"], columns=["a", "b"])
    >>> plot_confusion_matrix(m).axes[0].get_ylabel()
    'true label'
    """
    values = matrix.to_numpy().astype(float)
    if normalize:
        values = values / values.sum(axis=1, keepdims=True).clip(min=1)
    n = len(matrix)
    fig, ax = plt.subplots(figsize=(1.1 * n + 2.5, 1.0 * n + 1.8))
    im = ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(n), [str(c) for c in matrix.columns], rotation=45, ha="right")
    ax.set_yticks(range(n), [str(i) for i in matrix.index])
    for i in range(n):
        for j in range(n):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(values[i, j])}"
            ax.text(j, i, text, ha="center", va="center",
                    color="white" if values[i, j] > values.max() / 2 else "black")
    ax.set(xlabel="predicted label", ylabel="true label", title=title)
    fig.colorbar(im, ax=ax, label="share of true label" if normalize else "examples")
    fig.tight_layout()
    return fig


class LivePlot:
    """One figure of loss and metric that :func:`~llmstart.train.fit` redraws in place.

    In Jupyter the figure is displayed once and updated through its display handle, so the
    notebook keeps a single image; elsewhere it does nothing visible.
    """

    def __init__(self, metric: str = "accuracy"):
        self.metric = metric
        self.fig, self.axes = plt.subplots(1, 2, figsize=(11, 3.8))
        plt.close(self.fig)  # we display it ourselves, once
        self.handle = None
        try:
            from IPython import get_ipython
            from IPython.display import display

            if get_ipython() is not None:
                self.handle = display(self.fig, display_id=True)
        except ImportError:
            pass

    def update(self, history) -> None:
        _draw_history(self.axes, {"": history}, self.metric)
        self.fig.tight_layout()
        if self.handle is not None:
            self.handle.update(self.fig)

    def close(self) -> None:
        plt.close(self.fig)
