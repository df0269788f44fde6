"""The cheap thing to beat: TF-IDF + logistic regression on the same split.

A fine-tuned model is worth its cost only if it beats a baseline that trains in seconds. This
module fits that baseline (word 1-2-grams and character 2-4-grams, so it also works on languages
written without spaces); :func:`llmstart.evaluation.compare.compare_predictions` then judges the
two on the same test rows (the course's one rule for "did it help?").

>>> train = ["good great fine", "bad awful poor", "great good", "awful bad"] * 5
>>> labels = ["pos", "neg", "pos", "neg"] * 5
>>> model = fit_baseline(train, labels, seed=0)
>>> model.predict(["good", "awful"]).tolist()
['pos', 'neg']
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["fit_baseline"]


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
