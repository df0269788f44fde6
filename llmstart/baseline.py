"""The cheap thing to beat: TF-IDF + logistic regression on the same split, and a paired bootstrap.

A fine-tuned model is worth its cost only if it beats a baseline that trains in seconds. This
module fits that baseline (word 1-2-grams and character 2-4-grams, so it also works on languages
written without spaces) and compares two sets of predictions on the same test rows with a
paired bootstrap: the difference in a metric and its 95% interval.

>>> train = ["good great fine", "bad awful poor", "great good", "awful bad"] * 5
>>> labels = ["pos", "neg", "pos", "neg"] * 5
>>> model = fit_baseline(train, labels, seed=0)
>>> model.predict(["good", "awful"]).tolist()
['pos', 'neg']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["fit_baseline", "paired_bootstrap", "Comparison", "METRICS"]


def _accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return float((y == p).mean())


def _macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, p, average="macro", zero_division=0))


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": _accuracy, "macro_f1": _macro_f1}


def fit_baseline(texts: Sequence[str], labels: Sequence, seed: int = 0, c: float = 10.0,
                 class_weight: str | None = None):
    """A fitted scikit-learn pipeline: TF-IDF (words 1-2, characters 2-4) + logistic regression.

    ``class_weight="balanced"`` weighs rare labels up, as ``llmstart train --class-weights balanced``
    does for the fine-tuned model, so the two are compared with the same remedy.

    >>> fit_baseline(["a b", "c d"] * 3, [0, 1] * 3).predict(["a b"]).tolist()
    [0]
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    texts = [str(t) for t in texts]
    if not any(words.build_analyzer()(t) for t in texts):
        features = chars  # no word in any text (symbols only): characters alone
    else:
        features = make_union(words, chars)
    classifier = LogisticRegression(C=c, max_iter=2000, random_state=seed, class_weight=class_weight)
    return make_pipeline(features, classifier).fit(texts, list(labels))


@dataclass
class Comparison:
    """Model minus baseline on one metric, with a paired-bootstrap 95% interval."""

    metric: str
    model: float
    baseline: float
    difference: float
    low: float
    high: float
    resamples: int

    def to_dict(self) -> dict:
        """Plain numbers for ``metrics.json``."""
        return asdict(self)

    def __str__(self) -> str:
        return (f"{self.metric}: model {self.model:.4f}, baseline {self.baseline:.4f}, difference "
                f"{self.difference:+.4f} (95% bootstrap interval {self.low:+.4f} to {self.high:+.4f})")


def paired_bootstrap(gold: Sequence, model_pred: Sequence, baseline_pred: Sequence,
                     metric: str = "accuracy", resamples: int = 1000, seed: int = 0) -> Comparison:
    """Resample the test rows with replacement; the interval of ``metric(model) - metric(baseline)``.

    Both predictions are scored on the *same* resampled rows each time (paired), so the
    interval reflects the test set's size and how often the two disagree.

    >>> c = paired_bootstrap([0, 1, 1, 0] * 25, [0, 1, 1, 0] * 25, [0, 1, 0, 0] * 25)
    >>> round(c.difference, 2), c.low > 0
    (0.25, True)
    """
    score = METRICS[metric]
    y, a, b = (np.asarray(x) for x in (gold, model_pred, baseline_pred))
    if not len(y) == len(a) == len(b) or len(y) == 0:
        raise ValueError(f"gold and predictions must have the same, non-zero length: {len(y)}, {len(a)}, {len(b)}")
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    for i in range(resamples):
        idx = rng.integers(0, len(y), len(y))
        diffs[i] = score(y[idx], a[idx]) - score(y[idx], b[idx])
    low, high = np.percentile(diffs, [2.5, 97.5])
    m, base = score(y, a), score(y, b)
    return Comparison(metric, m, base, m - base, float(low), float(high), resamples)
