"""How far an assert sits from the noise of what it checks, in standard deviations.

An ``assert`` on a measured figure holds on another machine (other CPU kernels, another thread
count, other seeds) only when its bound is well outside that figure's noise. The course's bar is
two standard deviations; these helpers print the distance so the reader can see it:

- :func:`margin_sd` — a figure against a fixed bound, given the figure's standard deviation
  (over seeds, draws or bootstrap resamples);
- :func:`verdict_margin_sd` — a :class:`~llmstart.evaluation.compare.Verdict`'s effect against
  zero, in the standard errors its interval implies (what ``assert v.winner == ...`` rests on).

>>> round(margin_sd(0.87, 0.75, 0.04), 1)
3.0
>>> margin_text({"accuracy > 0.75": margin_sd(0.87, 0.75, 0.04)})
'assert margins (in standard deviations of their noise): accuracy > 0.75 3.0'
"""

from __future__ import annotations

from collections.abc import Mapping

from scipy import stats

from llmstart.evaluation.compare import CONFIDENCE

__all__ = ["margin_sd", "verdict_margin_sd", "margin_text"]


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


def verdict_margin_sd(verdict) -> float:
    """A verdict's effect over the standard error its interval implies (half-width / z).

    The interval is a bootstrap or t interval at the verdict's confidence (Bonferroni-widened when
    it says so); dividing its half-width by the normal quantile gives the standard error it implies.

    >>> from llmstart.evaluation.compare import compare_scores
    >>> v = compare_scores([1, 1, 0, 1] * 50, [1, 0, 0, 1] * 50)
    >>> 6 < verdict_margin_sd(v) < 10
    True
    """
    family = 1
    if "Bonferroni over" in verdict.rule:
        family = int(verdict.rule.split("Bonferroni over")[1].split()[0])
    confidence = CONFIDENCE
    z = stats.norm.ppf(1 - (1 - confidence) / family / 2)
    se = (verdict.high - verdict.low) / (2 * z)
    return margin_sd(verdict.effect, 0.0, se)


def margin_text(margins: Mapping[str, float], digits: int = 1) -> str:
    """One line listing each assert's margin, to print in a notebook beside its asserts.

    >>> margin_text({"a > b": 2.345, "c < d": float("inf")})
    'assert margins (in standard deviations of their noise): a > b 2.3, c < d no noise measured'
    """
    parts = [f"{name} " + (f"{m:.{digits}f}" if m != float("inf") else "no noise measured")
             for name, m in margins.items()]
    return "assert margins (in standard deviations of their noise): " + ", ".join(parts)
