"""Calibration: does a confidence of 0.9 mean right 9 times in 10?

Expected calibration error (ECE) bins predictions by confidence and averages the gap between
confidence and accuracy, weighted by bin size. Temperature scaling (Guo et al., 2017) divides
the logits by one number T fitted on validation data; it changes confidences, never the
predicted label.

>>> import numpy as np
>>> logits = np.array([[4.0, 0.0], [3.0, 0.0], [0.0, 5.0], [2.5, 0.0]])
>>> y = np.array([0, 1, 1, 0])
>>> t = fit_temperature(logits, y)
>>> t > 1, ece(softmax(logits / t), y) < ece(softmax(logits), y)
(True, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["softmax", "ece", "reliability_table", "fit_temperature", "plot_reliability"]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable.

    >>> softmax(np.array([[0.0, 0.0]])).tolist()
    [[0.5, 0.5]]
    """
    z = np.asarray(logits, dtype=float)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def reliability_table(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Per confidence bin: how many predictions, their mean confidence, and their accuracy.

    >>> t = reliability_table(np.array([[0.95, 0.05], [0.9, 0.1], [0.6, 0.4]]), np.array([0, 1, 0]))
    >>> t[["count", "accuracy"]].values.tolist()
    [[1.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    """
    probs, y = np.asarray(probs, dtype=float), np.asarray(y)
    conf, pred = probs.max(1), probs.argmax(1)
    edges = np.linspace(0, 1, n_bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        m = idx == b
        if m.any():
            rows.append({"bin_low": edges[b], "bin_high": edges[b + 1], "count": float(m.sum()),
                         "confidence": float(conf[m].mean()), "accuracy": float((pred[m] == y[m]).mean())})
    return pd.DataFrame(rows)


def ece(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error: sum over bins of (bin share) x |accuracy - confidence|.

    >>> ece(np.array([[0.9, 0.1]] * 10), np.array([0] * 9 + [1]))
    0.0
    >>> round(ece(np.array([[0.9, 0.1]] * 10), np.array([0] * 5 + [1] * 5)), 2)
    0.4
    """
    t = reliability_table(probs, y, n_bins)
    if t.empty:
        return 0.0
    gap = (t["accuracy"] - t["confidence"]).abs()
    return float(round((t["count"] * gap).sum() / t["count"].sum(), 12))


def fit_temperature(logits: np.ndarray, y: np.ndarray, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """The temperature T minimising the negative log-likelihood of ``softmax(logits / T)``.

    Fit it on validation data, never on the test set you report.

    >>> round(fit_temperature(np.array([[10.0, 0.0], [0.0, 10.0], [10.0, 0.0]]), np.array([0, 1, 1])), 1) > 1
    True
    """
    from scipy.optimize import minimize_scalar

    logits, y = np.asarray(logits, dtype=float), np.asarray(y)

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean())

    res = minimize_scalar(nll, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded")
    return float(np.exp(res.x))


def plot_reliability(tables: dict[str, pd.DataFrame], ax=None):
    """Reliability diagram: accuracy against confidence per bin, one line per table, and the diagonal.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> t = reliability_table(np.array([[0.9, 0.1], [0.6, 0.4]]), np.array([0, 1]))
    >>> plot_reliability({"model": t}).get_xlabel()
    'confidence'
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    for name, t in tables.items():
        ax.plot(t["confidence"], t["accuracy"], marker="o", label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title("reliability diagram")
    ax.legend(loc="upper left")
    return ax
