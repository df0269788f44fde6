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

What ``llmstart train`` serves is :func:`choose_temperature`: the fitted T only when validation
can support it (enough rows and errors, a bounded T, and a gain on held-out validation folds),
else T = 1, with the reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["softmax", "ece", "reliability_table", "fit_temperature", "choose_temperature", "plot_reliability",
           "TEMPERATURE_BOUNDS", "MIN_TEMPERATURE_ROWS", "MIN_TEMPERATURE_ERRORS"]

# Fine-tuned transformers are fitted T of about 1-3 (Guo et al. 2017; Desai & Durrett 2020, in and out of
# domain). T below 0.5 (logits more than doubled) or above 5 is the optimiser running to an edge of
# too little evidence (no errors: the likelihood keeps sharpening), not a calibration to serve.
TEMPERATURE_BOUNDS = (0.5, 5.0)
MIN_TEMPERATURE_ROWS = 20  # 5 held-out folds of at least 4 rows
MIN_TEMPERATURE_ERRORS = 2  # without errors the likelihood only ever asks for sharper confidences


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
        return float(_nll_rows(logits, y, float(np.exp(log_t))).mean())

    res = minimize_scalar(nll, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded")
    return float(np.exp(res.x))


def _nll_rows(logits: np.ndarray, y: np.ndarray, t: float) -> np.ndarray:
    z = logits / t
    z = z - z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return -logp[np.arange(len(y)), y]


def choose_temperature(logits: np.ndarray, y: np.ndarray, *, bounds: tuple[float, float] = TEMPERATURE_BOUNDS,
                       min_rows: int = MIN_TEMPERATURE_ROWS, min_errors: int = MIN_TEMPERATURE_ERRORS,
                       folds: int = 5, seed: int = 0) -> dict:
    """The temperature to serve, decided on validation alone, and why: a dict with ``temperature``
    (what to serve), ``fitted`` (T fitted on all rows within ``bounds``, or None), ``kept``
    (``"fitted"`` or ``"T=1"``), ``reason`` (one sentence), ``n``, ``errors`` and ``cv``.

    T = 1 is kept unless (1) there are ``min_rows`` rows and ``min_errors`` wrong predictions
    (with none the likelihood falls without end as T shrinks: a perfectly separated validation
    set asks for confidences of 1.0), and (2) in ``folds``-fold cross-validation *within* these
    rows, T fitted on the other folds lowers the held-out negative log-likelihood, the 95 %
    interval of the mean per-row gain (normal approximation) lying above 0. The test split is
    never used. T is bounded to ``bounds`` (:data:`TEMPERATURE_BOUNDS`).

    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> logits = np.where(rng.random(400) < 0.75, y, 1 - y)[:, None] == np.arange(2)  # right 75 %
    >>> c = choose_temperature(logits * 6.0, y)  # ... but claims 99.8 %: fitting helps
    >>> c["kept"], round(c["temperature"], 1) > 2
    ('fitted', True)
    >>> perfect = choose_temperature(np.eye(2)[y] * 3.0, y)  # no errors: nothing to fit on
    >>> perfect["temperature"], perfect["kept"], perfect["errors"]
    (1.0, 'T=1', 0)
    """
    logits, y = np.asarray(logits, dtype=float), np.asarray(y)
    n, errors = len(y), int((logits.argmax(1) != y).sum()) if len(y) else 0
    out = {"temperature": 1.0, "fitted": None, "kept": "T=1", "n": n, "errors": errors,
           "bounds": [float(bounds[0]), float(bounds[1])], "cv": None}
    if n < min_rows or errors < min_errors:
        out["reason"] = (f"kept T = 1: the model is wrong on {errors} of {n} validation rows, too little to fit a "
                         f"temperature on (it needs {min_errors} errors and {min_rows} rows; without errors the "
                         "fit only sharpens confidences towards 1.0)")
        return out
    fitted = fit_temperature(logits, y, bounds)
    out["fitted"] = fitted
    order = np.random.default_rng(seed).permutation(n)
    gain = np.empty(n)
    for part in np.array_split(order, min(folds, n)):
        rest = np.setdiff1d(order, part)
        t = fit_temperature(logits[rest], y[rest], bounds)
        gain[part] = _nll_rows(logits[part], y[part], 1.0) - _nll_rows(logits[part], y[part], t)
    half = 1.96 * gain.std(ddof=1) / np.sqrt(n)
    out["cv"] = {"folds": min(folds, n), "mean_gain": float(gain.mean()), "low": float(gain.mean() - half),
                 "high": float(gain.mean() + half)}
    if out["cv"]["low"] > 0:
        edge = (f" (at the edge of [{bounds[0]:g}, {bounds[1]:g}]: the data asked for more)"
                if min(abs(fitted - b) / b for b in bounds) < 1e-3 else "")
        out.update(temperature=fitted, kept="fitted",
                   reason=f"fitted T = {fitted:.2f}{edge} on {n} validation rows ({errors} wrong): it lowers the "
                          f"held-out log-loss in {out['cv']['folds']}-fold cross-validation by "
                          f"{out['cv']['mean_gain']:.3f} [{out['cv']['low']:.3f}, {out['cv']['high']:.3f}]")
    else:
        out["reason"] = (f"kept T = 1: the fitted T = {fitted:.2f} does not lower the held-out log-loss in "
                         f"{out['cv']['folds']}-fold cross-validation on {n} validation rows (gain "
                         f"{out['cv']['mean_gain']:+.3f} [{out['cv']['low']:+.3f}, {out['cv']['high']:+.3f}], "
                         "no detectable improvement)")
    return out


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
