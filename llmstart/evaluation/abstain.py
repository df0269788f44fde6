"""Abstain when unsure: a confidence threshold picked on validation for a target precision.

Below the threshold the service still answers (label and scores) but flags ``"abstain": true``,
so the client can hand the case to a person: the customer-service hand-over.

>>> import numpy as np
>>> probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.6, 0.4], [0.55, 0.45]])
>>> y = np.array([0, 0, 1, 0])
>>> pick = pick_abstain_threshold(probs, y, target_precision=0.9)
>>> pick["threshold"], pick["coverage"], pick["precision"]
(0.9, 0.5, 1.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["pick_abstain_threshold", "abstain_summary"]


def abstain_summary(probs: np.ndarray, y: np.ndarray, threshold: float) -> dict:
    """Coverage (share answered), precision when answering, and abstain rate at ``threshold``.

    >>> abstain_summary(np.array([[0.9, 0.1], [0.6, 0.4]]), np.array([0, 0]), 0.7)
    {'threshold': 0.7, 'coverage': 0.5, 'abstain_rate': 0.5, 'precision': 1.0, 'answered': 1}
    """
    probs, y = np.asarray(probs, dtype=float), np.asarray(y)
    conf, pred = probs.max(1), probs.argmax(1)
    answered = conf >= threshold
    n = int(answered.sum())
    precision = float((pred[answered] == y[answered]).mean()) if n else float("nan")
    coverage = n / len(y) if len(y) else 0.0
    return {"threshold": float(threshold), "coverage": coverage, "abstain_rate": 1.0 - coverage,
            "precision": precision, "answered": n}


def pick_abstain_threshold(probs: np.ndarray, y: np.ndarray, target_precision: float = 0.9,
                           min_answered: int = 1) -> dict:
    """The lowest confidence threshold whose answered predictions reach ``target_precision``.

    The lowest such threshold answers the most requests. Candidates are the observed confidences
    (so the result is exact on this data); pick it on validation data and check it on test.
    If no threshold reaches the target the highest confidence is returned with
    ``reached: False`` (almost everything abstains): lower the target or improve the model.

    >>> pick_abstain_threshold(np.array([[0.6, 0.4]]), np.array([1]), 0.9)["reached"]
    False
    """
    if not 0 < target_precision <= 1:
        raise ValueError(f"target_precision must be in (0, 1], got {target_precision}")
    probs, y = np.asarray(probs, dtype=float), np.asarray(y)
    if len(probs) == 0:
        raise ValueError("no validation predictions to pick a threshold from")
    conf, correct = probs.max(1), probs.argmax(1) == y
    order = np.argsort(-conf, kind="stable")
    conf_sorted, correct_sorted = conf[order], correct[order]
    precision_at_k = np.cumsum(correct_sorted) / np.arange(1, len(conf) + 1)
    best = None
    for k in range(len(conf)):  # k+1 most confident answered; only where the threshold cuts cleanly
        if k + 1 < len(conf) and conf_sorted[k + 1] == conf_sorted[k]:
            continue
        if k + 1 >= min_answered and precision_at_k[k] >= target_precision:
            best = k
    if best is None:
        out = abstain_summary(probs, y, float(conf.max()))
        out.update(reached=False, target_precision=target_precision)
        return out
    out = abstain_summary(probs, y, float(conf_sorted[best]))
    out.update(reached=True, target_precision=target_precision)
    return out
