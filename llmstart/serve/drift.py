"""Has live traffic drifted away from what the model was validated on?

A model trained on tweets that starts receiving news articles will still answer, confidently
or not, and accuracy cannot be measured without labels. Two signals need no labels: the share of
each predicted label and the distribution of confidences. Both are compared with a reference
kept at training time (the validation set's predictions) by the population stability index
(PSI: below 0.1 stable, 0.1-0.2 watch, above 0.2 act) and, for confidences, a two-sample
Kolmogorov-Smirnov test.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ref = reference_from_probs(rng.dirichlet([5, 1, 1], 500), ["a", "b", "c"])
>>> same = DriftMonitor(ref).update(rng.dirichlet([5, 1, 1], 300)).check()
>>> other = DriftMonitor(ref).update(rng.dirichlet([1, 1, 5], 300)).check()
>>> same["drift"], other["drift"]
(False, True)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

__all__ = ["psi", "reference_from_probs", "drift_report", "DriftMonitor", "CONFIDENCE_BINS"]

CONFIDENCE_BINS = np.linspace(0.0, 1.0, 11)
PSI_ALERT = 0.2


def psi(expected: Sequence[float], actual: Sequence[float], eps: float = 1e-4) -> float:
    """Population stability index between two distributions over the same bins (counts or shares).

    Sum over bins of (actual - expected) * ln(actual / expected), on shares; empty bins get
    ``eps`` so the logarithm stays finite.

    >>> psi([50, 50], [50, 50])
    0.0
    >>> round(psi([50, 50], [90, 10]), 3)
    0.879
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.shape != a.shape or e.sum() <= 0 or a.sum() <= 0:
        raise ValueError(f"psi needs two non-empty histograms over the same bins, got {e.shape} and {a.shape}")
    e = np.clip(e / e.sum(), eps, None)
    a = np.clip(a / a.sum(), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def reference_from_probs(probs: np.ndarray, labels: Sequence[str], keep: int = 2000) -> dict:
    """What drift is measured against: predicted-label shares and confidences of reference data.

    ``probs`` are the model's probabilities on the validation set (rows sum to 1). The result is
    JSON-serialisable (it is stored in the model folder's ``serving.json``).

    >>> ref = reference_from_probs(np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]), ["neg", "pos"])
    >>> ref["label_shares"]
    {'neg': 0.6666666666666666, 'pos': 0.3333333333333333}
    """
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or probs.shape[1] != len(labels) or len(probs) == 0:
        raise ValueError(f"probs must be (n, {len(labels)}) with n > 0, got {probs.shape}")
    counts = np.bincount(probs.argmax(1), minlength=len(labels))
    conf = probs.max(1)
    if len(conf) > keep:
        conf = np.random.default_rng(0).choice(conf, keep, replace=False)
    return {"labels": list(map(str, labels)), "label_shares": dict(zip(map(str, labels),
            (counts / counts.sum()).tolist(), strict=True)), "confidences": conf.round(6).tolist(),
            "n": int(len(probs))}


def drift_report(reference: dict, probs: np.ndarray, min_window: int = 50) -> dict:
    """Compare live probabilities with a reference: PSI of labels, PSI and KS of confidence.

    ``drift`` is True when the window has at least ``min_window`` predictions and either PSI is
    above 0.2. The function behind :class:`DriftMonitor` and the service's ``/metrics``.

    >>> ref = reference_from_probs(np.array([[0.9, 0.1]] * 60 + [[0.2, 0.8]] * 40), ["a", "b"])
    >>> r = drift_report(ref, np.array([[0.1, 0.9]] * 100))
    >>> r["drift"], r["label_psi"] > 0.2
    (True, True)
    """
    from scipy.stats import ks_2samp

    labels = reference["labels"]
    probs = np.asarray(probs, dtype=float).reshape(-1, len(labels))
    n = len(probs)
    report = {"window": n, "label_psi": 0.0, "confidence_psi": 0.0, "confidence_ks": 0.0,
              "confidence_ks_p": 1.0, "drift": False, "label_shares": {}}
    if n == 0:
        return report
    counts = np.bincount(probs.argmax(1), minlength=len(labels))
    ref_shares = [reference["label_shares"][lab] for lab in labels]
    conf, ref_conf = probs.max(1), np.asarray(reference["confidences"], dtype=float)
    ks = ks_2samp(conf, ref_conf)
    report.update(
        label_psi=psi(ref_shares, counts),
        confidence_psi=psi(np.histogram(ref_conf, CONFIDENCE_BINS)[0] + 0.0,
                           np.histogram(conf, CONFIDENCE_BINS)[0] + 0.0),
        confidence_ks=float(ks.statistic), confidence_ks_p=float(ks.pvalue),
        label_shares=dict(zip(labels, (counts / n).tolist(), strict=True)))
    report["drift"] = bool(n >= min_window and max(report["label_psi"], report["confidence_psi"]) > PSI_ALERT)
    return report


class DriftMonitor:
    """A sliding window of the last ``window`` live predictions, checked against a reference."""

    def __init__(self, reference: dict, window: int = 500, min_window: int = 50):
        self.reference, self.min_window = reference, min_window
        self.rows: deque[np.ndarray] = deque(maxlen=window)

    def update(self, probs: np.ndarray) -> DriftMonitor:
        """Add a batch of probability rows to the window; returns ``self``."""
        for row in np.asarray(probs, dtype=float).reshape(-1, len(self.reference["labels"])):
            self.rows.append(row)
        return self

    def check(self) -> dict:
        """:func:`drift_report` over the current window."""
        probs = np.stack(self.rows) if self.rows else np.zeros((0, len(self.reference["labels"])))
        return drift_report(self.reference, probs, self.min_window)
