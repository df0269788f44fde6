"""One rule for "did it help?": a difference counts only when its 95 % interval excludes zero.

Every verdict in the course ("A beats B", "no detectable difference") is printed from a
:class:`Verdict` made here, so the notebooks, the CLI and the FAQ cannot disagree:

- :func:`compare_predictions` — two systems on one test set: the difference of a metric
  (accuracy, macro-F1), with a *paired* bootstrap interval over the test examples (both systems
  are scored on the same resampled rows; ``scipy.stats.bootstrap`` does the resampling);
- :func:`compare_scores` — the same for per-example scores you already have (0/1 correct,
  hit@10 per user, a per-question key-fact hit);
- :func:`compare_seeds` — two settings run with the same seeds: the mean of the per-seed
  differences with a t interval (at least :data:`MIN_SEEDS` seeds);
- :func:`compare_many` — several methods against one baseline, Bonferroni-corrected, said so.

A verdict reads in one of three forms only: ``"A beats B by +x [lo, hi] (…)"``,
``"B beats A by +x [lo, hi] (…)"`` or ``"no detectable difference at this budget (…)"``.
A difference whose interval holds zero is never called "helped" or "hurt".

>>> gold = [0, 1] * 100
>>> v = compare_predictions(gold, gold, [0, 0] * 100, names=("model", "majority"))
>>> v.winner
'model'
>>> print(v.sentence(digits=2))  # doctest: +ELLIPSIS
model beats majority by +0.50 [+0.43, +0.57] (accuracy, n = 200 examples, paired bootstrap 95 %...)
>>> compare_predictions(gold, gold, gold).winner is None
True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

__all__ = ["Verdict", "compare_predictions", "compare_scores", "compare_seeds", "compare_many",
           "NullSimulation", "simulate_null", "MIN_SEEDS", "CONFIDENCE"]

CONFIDENCE = 0.95  # one level for the whole course
MIN_SEEDS = 5      # fewer seeds cannot carry a seed-level verdict (a t interval on 2 df is ~4 sd wide)
NO_DIFFERENCE = "no detectable difference at this budget"


@dataclass(frozen=True)
class Verdict:
    """``a`` minus ``b`` on ``metric``: the difference, its interval, what it rests on.

    ``effect``, ``low`` and ``high`` are always *a − b* in the metric's own direction;
    ``higher_is_better`` says which sign is good (``False`` for a loss, an error rate, latency).
    """

    a: str
    b: str
    metric: str
    a_value: float
    b_value: float
    effect: float
    low: float
    high: float
    n: int
    unit: str
    rule: str
    higher_is_better: bool = True

    @property
    def winner(self) -> str | None:
        """The better system's name when the interval excludes zero, else ``None``."""
        if self.low > 0:
            return self.a if self.higher_is_better else self.b
        if self.high < 0:
            return self.b if self.higher_is_better else self.a
        return None

    @property
    def detected(self) -> bool:
        """Whether the interval excludes zero (a winner is declared)."""
        return self.winner is not None

    def sentence(self, digits: int = 3) -> str:
        """The verdict in one of the three forms, with its interval, n and rule."""
        f = f"{{:+.{digits}f}}"
        basis = f"{self.metric}, n = {self.n} {self.unit}, {self.rule}"
        winner = self.winner
        if winner is None:
            return (f"{NO_DIFFERENCE} ({self.a} − {self.b} = {f.format(self.effect)} "
                    f"[{f.format(self.low)}, {f.format(self.high)}], {basis})")
        # the margin in the winner's favour, in the metric's good direction
        sign = 1 if (winner == self.a) == self.higher_is_better else -1
        lo, hi = sorted((sign * self.low, sign * self.high))
        loser = self.b if winner == self.a else self.a
        gain = sign * self.effect
        return (f"{winner} beats {loser} by {f.format(gain)} [{f.format(lo)}, {f.format(hi)}] "
                f"({basis})")

    def __str__(self) -> str:
        return self.sentence()

    def to_dict(self) -> dict:
        """Plain values for a results JSON file, with the sentence and the winner.

        >>> d = compare_seeds([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]).to_dict()
        >>> d["winner"], d["sentence"].startswith("no detectable")
        (None, True)
        """
        return {**asdict(self), "winner": self.winner, "sentence": self.sentence()}

    @classmethod
    def from_dict(cls, data: Mapping) -> Verdict:
        """Rebuild a verdict stored by :meth:`to_dict` (extra keys are ignored).

        >>> v = compare_seeds([1, 2, 3, 4, 5], [0, 1, 2, 3, 4.1])
        >>> Verdict.from_dict(v.to_dict()) == v
        True
        """
        fields = cls.__dataclass_fields__
        return cls(**{k: data[k] for k in fields if k in data})


def _alpha(confidence: float, family: int) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), not {confidence!r}")
    if family < 1:
        raise ValueError(f"family must be at least 1, not {family!r}")
    return (1 - confidence) / family


def _rule(base: str, confidence: float, family: int) -> str:
    text = f"{base} {confidence:.0%}".replace("%", " %")
    return text + (f", Bonferroni over {family} comparisons" if family > 1 else "")


def _check_finite(name: str, values: np.ndarray) -> None:
    if values.size and not np.all(np.isfinite(values)):
        raise ValueError(f"{name} holds a NaN or infinity: a run or an example failed to produce its number")


def _bootstrap_interval(data: tuple, statistic: Callable, alpha: float, resamples: int,
                        seed: int) -> tuple[float, float]:
    with warnings.catch_warnings():  # identical systems give a degenerate (zero-width) distribution
        warnings.simplefilter("ignore")
        res = stats.bootstrap(data, statistic, paired=True, vectorized=True, method="percentile",
                              n_resamples=resamples, confidence_level=1 - alpha,
                              rng=np.random.default_rng(seed))
    low, high = res.confidence_interval
    if math.isnan(low) or math.isnan(high):  # every resample gave the same value
        value = float(statistic(*data, axis=-1))
        return value, value
    return float(low), float(high)


def compare_scores(scores_a: Sequence[float], scores_b: Sequence[float], *, metric: str = "score",
                   names: tuple[str, str] = ("A", "B"), higher_is_better: bool = True,
                   confidence: float = CONFIDENCE, family: int = 1, resamples: int = 2000,
                   seed: int = 0) -> Verdict:
    """Per-example scores of two systems on the same examples: the mean difference, paired bootstrap.

    Use it when each example has its own score (1/0 correct, hit@10 of one user, a reply that
    states the key fact). ``family`` > 1 widens the interval for that many comparisons.

    >>> v = compare_scores([1, 1, 0, 1] * 50, [1, 0, 0, 1] * 50, metric="key-fact rate",
    ...                    names=("retrieval", "no retrieval"))
    >>> v.winner, round(v.effect, 2), v.n
    ('retrieval', 0.25, 200)
    """
    a = np.asarray(scores_a, dtype=float)
    b = np.asarray(scores_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(f"compare_scores needs two equally long lists of at least 2 per-example scores, "
                         f"got shapes {a.shape} and {b.shape}")
    _check_finite(names[0], a)
    _check_finite(names[1], b)
    alpha = _alpha(confidence, family)
    low, high = _bootstrap_interval((a, b), lambda x, y, axis: np.mean(x - y, axis=axis),
                                    alpha, resamples, seed)
    return Verdict(names[0], names[1], metric, float(a.mean()), float(b.mean()),
                   float(a.mean() - b.mean()), low, high, int(a.size), "examples",
                   _rule("paired bootstrap", confidence, family), higher_is_better)


def _macro_f1_rows(gold: np.ndarray, pred: np.ndarray, classes: list[int]) -> np.ndarray:
    """Macro-F1 along the last axis over ``classes`` (as scikit-learn: the labels in gold or prediction)."""
    f1s = []
    for k in classes:
        g, p = gold == k, pred == k
        tp = np.sum(g & p, axis=-1)
        denom = np.sum(g, axis=-1) + np.sum(p, axis=-1)
        f1s.append(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0))
    return np.mean(f1s, axis=0)


def compare_predictions(gold: Sequence, pred_a: Sequence, pred_b: Sequence, *,
                        metric: str = "accuracy", names: tuple[str, str] = ("A", "B"),
                        confidence: float = CONFIDENCE, family: int = 1, resamples: int = 2000,
                        seed: int = 0) -> Verdict:
    """Two systems' predictions on one test set: ``metric`` (``"accuracy"`` or ``"macro_f1"``) of a
    minus b, with a paired bootstrap interval over the examples.

    >>> gold = ["pos", "neg", "neu"] * 40
    >>> a = ["pos", "neg", "neu"] * 40
    >>> b = ["pos", "neg", "pos"] * 40
    >>> v = compare_predictions(gold, a, b, metric="macro_f1", names=("fine-tuned", "TF-IDF"))
    >>> v.winner, round(v.a_value, 2), round(v.b_value, 2)
    ('fine-tuned', 1.0, 0.56)
    """
    if metric not in ("accuracy", "macro_f1"):
        raise ValueError(f"metric must be 'accuracy' or 'macro_f1', not {metric!r}")
    y, pa, pb = (np.asarray(x, dtype=object) for x in (gold, pred_a, pred_b))
    if not len(y) == len(pa) == len(pb) or len(y) < 2:
        raise ValueError(f"gold and both predictions must be equally long (at least 2): "
                         f"{len(y)}, {len(pa)}, {len(pb)}")
    if metric == "accuracy":
        return compare_scores(pa == y, pb == y, metric=metric, names=names, confidence=confidence,
                              family=family, resamples=resamples, seed=seed)
    classes = {c: i for i, c in enumerate(dict.fromkeys([*y, *pa, *pb]))}
    yi, ai, bi = (np.array([classes[c] for c in x]) for x in (y, pa, pb))
    # each system over the labels in the gold or its own predictions, as scikit-learn's f1_score
    ka, kb = sorted(set(yi) | set(ai)), sorted(set(yi) | set(bi))

    def statistic(g, x, z, axis=-1):
        return _macro_f1_rows(g, x, ka) - _macro_f1_rows(g, z, kb)

    alpha = _alpha(confidence, family)
    low, high = _bootstrap_interval((yi, ai, bi), statistic, alpha, resamples, seed)
    fa, fb = float(_macro_f1_rows(yi, ai, ka)), float(_macro_f1_rows(yi, bi, kb))
    return Verdict(names[0], names[1], metric, fa, fb, fa - fb, low, high, len(y), "examples",
                   _rule("paired bootstrap", confidence, family))


def compare_seeds(values_a: Sequence[float], values_b: Sequence[float], *, metric: str = "score",
                  names: tuple[str, str] = ("A", "B"), higher_is_better: bool = True,
                  confidence: float = CONFIDENCE, family: int = 1,
                  min_seeds: int = MIN_SEEDS) -> Verdict:
    """Two settings run with the same seeds (``values_a[i]`` and ``values_b[i]`` share seed i):
    the mean per-seed difference with a t interval.

    Pairing by seed removes what the seed does to both settings alike (the split, the head's
    start). Fewer than ``min_seeds`` seeds is an error: run more before stating a verdict.

    >>> v = compare_seeds([0.81, 0.83, 0.80, 0.82, 0.84], [0.78, 0.80, 0.78, 0.79, 0.80],
    ...                   metric="accuracy", names=("LoRA", "head only"))
    >>> print(v.sentence(digits=3))
    LoRA beats head only by +0.030 [+0.021, +0.039] (accuracy, n = 5 seeds, paired t 95 %)
    >>> compare_seeds([0.8, 0.9], [0.7, 0.8])
    Traceback (most recent call last):
    ...
    ValueError: compare_seeds needs at least 5 seeds per setting for a seed-level verdict, got 2: run more seeds
    """
    a = np.asarray(values_a, dtype=float)
    b = np.asarray(values_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"compare_seeds needs one value per seed for each setting, paired by seed; "
                         f"got shapes {a.shape} and {b.shape}")
    if a.size < max(min_seeds, 2):
        raise ValueError(f"compare_seeds needs at least {max(min_seeds, 2)} seeds per setting for a "
                         f"seed-level verdict, got {a.size}: run more seeds")
    _check_finite(names[0], a)
    _check_finite(names[1], b)
    d = a - b
    mean = float(d.mean())
    se = float(d.std(ddof=1)) / math.sqrt(d.size)
    half = float(stats.t.ppf(1 - _alpha(confidence, family) / 2, d.size - 1)) * se
    return Verdict(names[0], names[1], metric, float(a.mean()), float(b.mean()), mean,
                   mean - half, mean + half, int(d.size), "seeds",
                   _rule("paired t", confidence, family), higher_is_better)


def compare_many(baseline: tuple[str, Sequence], others: Mapping[str, Sequence], *, kind: str = "seeds",
                 gold: Sequence | None = None, **options) -> list[Verdict]:
    """Each of ``others`` against one baseline, with a Bonferroni correction for their number.

    ``kind`` is ``"seeds"`` (values per seed, :func:`compare_seeds`), ``"scores"`` (per-example
    scores, :func:`compare_scores`) or ``"predictions"`` (with ``gold``, :func:`compare_predictions`).
    Seven methods at 95 % each would find a "winner" by chance in about 30 % of studies; the
    correction keeps the chance of any false winner near 5 %.

    >>> base = ("none", [0.70, 0.72, 0.71, 0.69, 0.70])
    >>> runs = {"insert": [0.71, 0.72, 0.70, 0.70, 0.71], "swap": [0.80, 0.82, 0.81, 0.79, 0.80]}
    >>> [v.winner for v in compare_many(base, runs, metric="accuracy")]
    [None, 'swap']
    >>> compare_many(base, runs)[1].rule
    'paired t 95 %, Bonferroni over 2 comparisons'
    """
    if not others:
        raise ValueError("compare_many needs at least one method to compare with the baseline")
    name_b, values_b = baseline
    family = len(others)
    verdicts = []
    for name, values in others.items():
        if kind == "seeds":
            verdicts.append(compare_seeds(values, values_b, names=(name, name_b), family=family, **options))
        elif kind == "scores":
            verdicts.append(compare_scores(values, values_b, names=(name, name_b), family=family, **options))
        elif kind == "predictions":
            if gold is None:
                raise ValueError("compare_many(kind='predictions') needs gold=")
            verdicts.append(compare_predictions(gold, values, values_b, names=(name, name_b),
                                                family=family, **options))
        else:
            raise ValueError(f"kind must be 'seeds', 'scores' or 'predictions', not {kind!r}")
    return verdicts


@dataclass(frozen=True)
class NullSimulation:
    """How often two identical settings are declared different: by "the bigger number wins" and by the rule."""

    pairs: int
    n: int
    unit: str
    naive_rate: float
    rule_rate: float

    def __str__(self) -> str:
        return (f"{self.pairs} pairs of identical settings ({self.n} {self.unit} each): "
                f"'the bigger number wins' declares a winner in {self.naive_rate:.1%}, "
                f"the course's rule in {self.rule_rate:.1%}")


def simulate_null(pairs: int = 1000, *, kind: str = "examples", n: int = 200, accuracy: float = 0.8,
                  seed_sd: float = 0.01, resamples: int = 1000, seed: int = 0) -> NullSimulation:
    """Compare many pairs of *identical* settings and count the declared winners.

    ``kind="examples"``: two systems that are each right with probability ``accuracy`` on each of
    ``n`` test examples (:func:`compare_scores`). ``kind="seeds"``: two settings whose score over
    ``n`` seeds varies with standard deviation ``seed_sd`` around the same mean (:func:`compare_seeds`).
    Every winner found is a false one.

    >>> sim = simulate_null(200, kind="seeds", n=5)
    >>> sim.naive_rate, sim.rule_rate < 0.1
    (1.0, True)
    """
    rng = np.random.default_rng(seed)
    naive = declared = 0
    for i in range(pairs):
        if kind == "examples":
            a, b = (rng.random(n) < accuracy).astype(float), (rng.random(n) < accuracy).astype(float)
            v = compare_scores(a, b, resamples=resamples, seed=seed + i)
        elif kind == "seeds":
            a, b = rng.normal(accuracy, seed_sd, n), rng.normal(accuracy, seed_sd, n)
            v = compare_seeds(a, b, min_seeds=2)
        else:
            raise ValueError(f"kind must be 'examples' or 'seeds', not {kind!r}")
        naive += bool(a.mean() != b.mean())
        declared += v.detected
    return NullSimulation(pairs, n, "examples" if kind == "examples" else "seeds",
                          naive / pairs, declared / pairs)
