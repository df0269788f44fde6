"""How far an assert sits from the noise of what it checks, in standard deviations.

An ``assert`` on a measured figure holds on another machine (other CPU kernels, another thread
count, other seeds) only when its bound is well outside that figure's noise. The course's bar is
two standard deviations; these helpers print the distance so the reader can see it:

- :func:`margin_sd` — a figure against a fixed bound, given the figure's standard deviation
  (over seeds, draws or bootstrap resamples);
- :func:`verdict_margin_sd` — how far a :class:`~llmstart.evaluation.compare.Verdict`'s interval
  sits from zero, in the standard errors it implies (the margin of ``assert v.winner == ...``);
  :func:`verdict_se` — that standard error.

>>> round(margin_sd(0.87, 0.75, 0.04), 1)
3.0
>>> margin_text({"accuracy > 0.75": margin_sd(0.87, 0.75, 0.04)})
'assert margins (in standard deviations of their noise): accuracy > 0.75 3.0'
"""

from __future__ import annotations

from collections.abc import Mapping

from scipy import stats

from llmstart.evaluation.compare import CONFIDENCE

__all__ = ["margin_sd", "verdict_se", "verdict_margin_sd", "margin_text"]


def margin_sd(value: float, bound: float, sd: float) -> float:
    """The distance of ``value`` from ``bound`` in units of ``sd`` (the value's standard deviation).

    >>> round(margin_sd(0.5, 0.4, 0.05), 6)
    2.0
    >>> margin_sd(0.5, 0.4, 0.0)
    inf
    """
    if sd < 0:
        raise ValueError(f"margin_sd: the standard deviation must be >= 0, not {sd!r}")
    gap = abs(float(value) - float(bound))
    return float("inf") if sd == 0 else gap / float(sd)


def verdict_se(verdict) -> float:
    """The standard error a verdict's interval implies: its half-width over the normal quantile.

    The interval is a bootstrap or t interval at the course's confidence (Bonferroni-widened when
    the rule says so), so this is approximate for a t interval on few seeds.

    >>> from llmstart.evaluation.compare import compare_scores
    >>> round(verdict_se(compare_scores([1, 1, 0, 1] * 50, [1, 0, 0, 1] * 50)), 2)
    0.03
    """
    return (verdict.high - verdict.low) / (2 * _z(verdict))


def verdict_margin_sd(verdict) -> float:
    """The margin of ``assert verdict.winner == ...``: how far the interval's near end sits from zero,
    in standard errors (negative when no winner is declared).

    A winner is declared when the effect is more than ``z`` standard errors from zero (``z`` = 1.96
    at 95 %); this is the distance beyond that bar. For an assert on the effect's sign only, use
    ``margin_sd(v.effect, 0, verdict_se(v))``.

    >>> from llmstart.evaluation.compare import compare_scores
    >>> v = compare_scores([1, 1, 0, 1] * 50, [1, 0, 0, 1] * 50)
    >>> 4 < verdict_margin_sd(v) < 8
    True
    """
    se = verdict_se(verdict)
    return float("inf") if se == 0 else (abs(verdict.effect) - _z(verdict) * se) / se


def _z(verdict) -> float:
    family = 1
    if "Bonferroni over" in verdict.rule:
        family = int(verdict.rule.split("Bonferroni over")[1].split()[0])
    return float(stats.norm.ppf(1 - (1 - CONFIDENCE) / family / 2))


def margin_text(margins: Mapping[str, float], digits: int = 1) -> str:
    """One line listing each assert's margin, to print in a notebook beside its asserts.

    >>> margin_text({"a > b": 2.345, "c < d": float("inf")})
    'assert margins (in standard deviations of their noise): a > b 2.3, c < d no noise measured'
    """
    parts = [f"{name} " + (f"{m:.{digits}f}" if m != float("inf") else "no noise measured")
             for name, m in margins.items()]
    return "assert margins (in standard deviations of their noise): " + ", ".join(parts)
