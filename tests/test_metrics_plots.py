"""Metrics agree with hand computation; plots are labelled."""

from __future__ import annotations

import matplotlib
import pytest

from llmstart.evaluation.metrics import classification_metrics, confusion_matrix, per_class_report
from llmstart.plots import LivePlot, plot_confusion_matrix, plot_history
from llmstart.train import History

matplotlib.use("Agg")


def test_metrics_by_hand():
    y, p = [0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 1, 0]
    m = classification_metrics(y, p)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # class 0: P 2/3 R 2/3; class 1: P 2/3 R 1; class 2: P 0 R 0
    assert m["macro_precision"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert m["macro_recall"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    cm = confusion_matrix(y, p, ["a", "b", "c"])
    assert cm.loc["a"].tolist() == [2, 1, 0] and cm.loc["c", "a"] == 1
    assert cm.to_numpy().sum() == 6
    rep = per_class_report(y, p, ["a", "b", "c"])
    assert rep.loc["c", "f1"] == 0 and rep.support.tolist() == [3, 2, 1]


def make_history(n=5):
    return History(steps=[{"step": i, "epoch": 0, "loss": 1 / i, "lr": 1e-3} for i in range(1, n)],
                   evals=[{"step": n - 1, "epoch": 1, "loss": 0.5, "accuracy": 0.8}])


def test_plot_history_compares_runs():
    fig = plot_history({"pre-trained": make_history(), "random init": make_history(8)}, title="t")
    loss_ax, metric_ax = fig.axes
    assert loss_ax.get_ylabel().startswith("loss") and metric_ax.get_ylabel() == "accuracy"
    labels = loss_ax.get_legend_handles_labels()[1]
    assert labels == ["pre-trained train", "pre-trained validation", "random init train", "random init validation"]


def test_confusion_plot_and_live_plot():
    cm = confusion_matrix([0, 1, 1], [0, 1, 0], ["neg", "pos"])
    fig = plot_confusion_matrix(cm, normalize=True)
    assert fig.axes[0].get_xlabel() == "predicted label"
    live = LivePlot("accuracy")
    live.update(make_history())
    assert live.axes[1].get_title() == "Validation accuracy"
    live.close()
