"""Seed-to-seed noise: run one experiment over several seeds and say what a difference means.

A single run's accuracy moves with the seed (the new head's random start, the order of the
batches). Before reading a 1–3 point difference between two settings, measure how much one
setting moves on its own: :func:`over_seeds` runs an experiment for each seed,
:func:`noise` summarises one column (mean, standard deviation, range), and
:func:`noise_table` does it per setting.

>>> runs = over_seeds(lambda seed: {"acc": 0.80 + 0.01 * seed}, seeds=(0, 1, 2))
>>> str(noise(runs["acc"]))
'0.810 ± 0.010 (3 seeds, range 0.800–0.820)'
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = ["Noise", "noise", "noise_table", "over_seeds"]


@dataclass(frozen=True)
class Noise:
    """Several runs of one setting: their mean, standard deviation and range."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        """Mean over the runs."""
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        """Sample standard deviation over the runs (0 for a single run)."""
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    @property
    def spread(self) -> float:
        """Largest minus smallest value."""
        return max(self.values) - min(self.values)

    def __str__(self) -> str:
        return (f"{self.mean:.3f} ± {self.std:.3f} ({len(self.values)} seeds, "
                f"range {min(self.values):.3f}–{max(self.values):.3f})")


def noise(values: Iterable[float]) -> Noise:
    """Summarise the values of several runs; a clear error for none or a NaN.

    >>> n = noise([0.9, 0.8, 0.85])
    >>> round(n.mean, 3), round(n.std, 3), round(n.spread, 3)
    (0.85, 0.05, 0.1)
    >>> noise([])
    Traceback (most recent call last):
    ...
    ValueError: noise needs at least one value
    """
    vals = tuple(float(v) for v in values)
    if not vals:
        raise ValueError("noise needs at least one value")
    if any(math.isnan(v) for v in vals):
        raise ValueError(f"noise got a NaN among {vals}: a run failed to produce its number")
    return Noise(vals)


def over_seeds(run: Callable[[int], dict], seeds: Sequence[int] = (0, 1, 2), **fixed) -> pd.DataFrame:
    """One row per seed: ``{"seed": s, **fixed, **run(s)}``.

    ``fixed`` columns name the setting (e.g. ``method="LoRA r=8"``) so that tables of several
    settings can be concatenated and summarised with :func:`noise_table`.

    >>> over_seeds(lambda s: {"acc": s / 10}, seeds=(1, 2), method="a").to_dict("records")
    [{'seed': 1, 'method': 'a', 'acc': 0.1}, {'seed': 2, 'method': 'a', 'acc': 0.2}]
    """
    if not seeds:
        raise ValueError("over_seeds needs at least one seed")
    return pd.DataFrame([{"seed": s, **fixed, **run(s)} for s in seeds])


def noise_table(runs: pd.DataFrame, by: str | list[str], value: str) -> pd.DataFrame:
    """Per setting: mean, std, min, max and number of runs of column ``value`` (first-seen order).

    >>> runs = pd.DataFrame({"m": ["a", "a", "b", "b"], "acc": [0.5, 0.7, 0.6, 0.6]})
    >>> noise_table(runs, "m", "acc").round(3).to_dict("index")["a"]
    {'mean': 0.6, 'std': 0.141, 'min': 0.5, 'max': 0.7, 'runs': 2}
    """
    if value not in runs:
        raise KeyError(f"noise_table: no column {value!r} in the runs (columns: {list(runs.columns)})")
    g = runs.groupby(by, sort=False)[value]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1).fillna(0.0), "min": g.min(),
                         "max": g.max(), "runs": g.size()})

