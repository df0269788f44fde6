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

__all__ = ["pick_abstain_threshold", "abstain_summary", "format_confidence", "MIN_COVERAGE", "MAX_THRESHOLD"]

MIN_COVERAGE = 0.1  # a threshold that answers under 10 % of validation hands nearly everything over
MAX_THRESHOLD = 0.999  # at 0.999 and above confidences are saturated: they no longer rank sure from unsure


def format_confidence(x: float, digits: int = 3) -> str:
    """A confidence with enough decimals that a value below 1 never reads as 1.000.

    >>> format_confidence(0.91234), format_confidence(0.99996), format_confidence(0.9999999999999287)
    ('0.912', '0.99996', '0.9999999999999')
    >>> format_confidence(1.0)
    '1.000'
    """
    x = float(x)
    while digits < 16 and x < 1.0 and round(x, digits) >= 1.0:
        digits += 1
    return f"{x:.{digits}f}"


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
                           min_answered: int = 1, min_coverage: float = MIN_COVERAGE,
                           max_threshold: float = MAX_THRESHOLD) -> dict:
    """The lowest confidence threshold whose answered predictions reach ``target_precision``.

    The lowest such threshold answers the most requests. Candidates are the observed confidences
    (so the result is exact on this data); pick it on validation data and check it on test.
    ``reached`` is False, with ``why`` and ``advice``, when no threshold reaches the target (the
    highest confidence is returned), when the one that does answers fewer than ``min_coverage``
    of the rows (or ``min_answered``), or when it sits at ``max_threshold`` or above, where
    confidences are saturated. A caller should then not abstain on it (``llmstart train`` writes
    0, never abstain, to ``serving.json``, and says so).

    >>> pick_abstain_threshold(np.array([[0.6, 0.4]]), np.array([1]), 0.9)["reached"]
    False
    >>> probs = np.array([[0.97, 0.03]] * 3 + [[0.6, 0.4]] * 37)  # 3 right, then 37 wrong
    >>> pick = pick_abstain_threshold(probs, np.array([0] * 3 + [1] * 37), 0.9)
    >>> pick["reached"], pick["answered"], pick["why"]
    (False, 3, 'the lowest threshold reaching precision 0.9, 0.970, answers only 3 of 40 validation rows (7.5%)')
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
    advice = ("add validation rows (a larger validation split) or lower the precision target; "
              "until then nothing is flagged for a person")
    if best is None:
        out = abstain_summary(probs, y, float(conf.max()))
        out.update(reached=False, target_precision=target_precision, advice=advice,
                   why=f"no confidence threshold reaches precision {target_precision:g} on the {len(y)} "
                       f"validation rows (the {len(y)} answered all together: {correct.mean():.3f})")
        return out
    out = abstain_summary(probs, y, float(conf_sorted[best]))
    out.update(reached=True, target_precision=target_precision)
    shown = format_confidence(out["threshold"])
    needed = max(min_answered, int(np.ceil(min_coverage * len(y))))
    if out["answered"] <= needed - 1 or out["coverage"] < min_coverage:
        out.update(reached=False, advice=advice,
                   why=f"the lowest threshold reaching precision {target_precision:g}, {shown}, answers only "
                       f"{out['answered']} of {len(y)} validation rows ({out['coverage']:.1%})")
    elif out["threshold"] >= max_threshold:
        out.update(reached=False, advice=advice,
                   why=f"the lowest threshold reaching precision {target_precision:g} is {shown}, at the top of "
                       f"the confidence scale (>= {max_threshold:g}): the model's confidences are saturated there "
                       "and no longer tell sure from unsure texts")
    return out
