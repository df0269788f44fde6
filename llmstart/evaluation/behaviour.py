"""Behavioural tests in the style of CheckList (Ribeiro et al., 2020): what the model must do.

Accuracy on a test set says how often the model is right on texts like the test set. These
tests ask specific questions, each a capability a product relies on:

- invariance (INV): changing a name, a number or adding a typo must not change the label;
- directional (DIR): adding a negation must move the positive score down (and the reverse);
- minimum functionality (MFT): short, obvious cases must be right.

Every function takes ``predict``: a callable mapping a list of texts to probabilities (n, k),
e.g. ``Engine.predict_proba`` or ``lambda t: clf.predict_proba(t)``.

>>> import numpy as np
>>> def predict(texts):  # a toy "model": positive iff the text says good and not "not"
...     return np.array([[0.1, 0.9] if "good" in t and "not" not in t else [0.9, 0.1] for t in texts])
>>> r = invariance(predict, ["Anna says it is good"], swap_names)
>>> r["pass_rate"], directional(predict, ["it is good"], add_negation, label=1, direction=-1)["pass_rate"]
(1.0, 1.0)
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["swap_names", "change_numbers", "add_typo", "add_negation", "invariance", "directional",
           "minimum_functionality", "suite_summary", "sentiment_suite"]

NAMES = ["Anna", "John", "Maria", "David", "Wei", "Fatima", "Lucas", "Priya", "Omar", "Sofia"]
_NAME_RE = re.compile(r"\b(" + "|".join(NAMES) + r")\b")
_NEGATABLE = re.compile(r"\b(is|was|are|were|do|does|did|can|will|would|should)\b", re.IGNORECASE)


def swap_names(text: str, seed: int = 0) -> str:
    """Replace each known first name with another (a name must not decide a label).

    >>> swap_names("Anna loved it")
    'John loved it'
    """
    rng = random.Random(f"{seed}:{text}")
    return _NAME_RE.sub(lambda m: rng.choice([n for n in NAMES if n != m.group(0)]), text)


def change_numbers(text: str, seed: int = 0) -> str:
    """Replace each number by another of similar size.

    >>> change_numbers("waited 3 hours for 20 minutes")
    'waited 4 hours for 91 minutes'
    """
    rng = random.Random(f"{seed}:{text}")

    def other(m: re.Match) -> str:
        old = int(m.group(0))
        new = rng.randint(1, 10 ** len(m.group(0)) - 1)
        return str(new if new != old else new + 1)

    return re.sub(r"\d+", other, text)


def add_typo(text: str, seed: int = 0) -> str:
    """Swap two neighbouring letters inside one word of four letters or more.

    >>> add_typo("the service was great")
    'the service was graet'
    """
    rng = random.Random(f"{seed}:{text}")
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randint(1, len(w) - 3)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def add_negation(text: str) -> str:
    """Negate the first auxiliary verb ("is" -> "is not"); texts without one get "not" prefixed.

    >>> add_negation("the food was great"), add_negation("great food")
    ('the food was not great', 'not great food')
    """
    new, n = _NEGATABLE.subn(lambda m: m.group(0) + " not", text, count=1)
    return new if n else "not " + text


def _labels(predict: Callable, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(predict(list(texts)), dtype=float)
    return probs.argmax(1), probs


def invariance(predict: Callable, texts: Sequence[str], perturb: Callable[[str], str]) -> dict:
    """INV: the label of each text must survive ``perturb``. Texts it leaves unchanged are skipped.

    >>> invariance(lambda t: np.array([[1.0, 0.0]] * len(t)), ["a 1"], change_numbers)["failures"]
    []
    """
    pairs = [(t, perturb(t)) for t in texts]
    pairs = [(a, b) for a, b in pairs if a != b]
    if not pairs:
        return {"test": f"INV {perturb.__name__}", "n": 0, "pass_rate": float("nan"), "failures": []}
    before, _ = _labels(predict, [a for a, _ in pairs])
    after, _ = _labels(predict, [b for _, b in pairs])
    failures = [{"text": a, "perturbed": b} for (a, b), x, z in zip(pairs, before, after, strict=True) if x != z]
    return {"test": f"INV {perturb.__name__}", "n": len(pairs),
            "pass_rate": 1 - len(failures) / len(pairs), "failures": failures}


def directional(predict: Callable, texts: Sequence[str], perturb: Callable[[str], str], *, label: int,
                direction: int, tolerance: float = 0.0) -> dict:
    """DIR: ``perturb`` must move the probability of ``label`` in ``direction`` (+1 up, -1 down).

    >>> directional(lambda t: np.array([[0.5, 0.5]] * len(t)), ["x is ok"], add_negation, label=1,
    ...             direction=-1)["pass_rate"]
    0.0
    """
    _, before = _labels(predict, texts)
    _, after = _labels(predict, [perturb(t) for t in texts])
    moved = (after[:, label] - before[:, label]) * direction
    failures = [{"text": t, "perturbed": perturb(t), "change": round(float(m * direction), 4)}
                for t, m in zip(texts, moved, strict=True) if m <= tolerance]
    return {"test": f"DIR {perturb.__name__} moves label {label} {'up' if direction > 0 else 'down'}",
            "n": len(texts), "pass_rate": 1 - len(failures) / max(len(texts), 1), "failures": failures}


def minimum_functionality(predict: Callable, cases: Sequence[tuple[str, int]], name: str = "MFT") -> dict:
    """MFT: each ``(text, expected_label_index)`` must be predicted right.

    >>> minimum_functionality(lambda t: np.array([[0.2, 0.8]] * len(t)), [("good", 1), ("bad", 0)])["pass_rate"]
    0.5
    """
    pred, _ = _labels(predict, [t for t, _ in cases])
    failures = [{"text": t, "expected": e, "predicted": int(p)}
                for (t, e), p in zip(cases, pred, strict=True) if p != e]
    return {"test": name, "n": len(cases), "pass_rate": 1 - len(failures) / max(len(cases), 1),
            "failures": failures}


def suite_summary(results: Sequence[dict], min_pass_rate: float = 0.9) -> dict:
    """Overall pass rate (weighted by cases) and whether every test reached ``min_pass_rate``.

    >>> suite_summary([{"test": "a", "n": 10, "pass_rate": 1.0}, {"test": "b", "n": 10, "pass_rate": 0.5}])
    {'pass_rate': 0.75, 'ready': False, 'failing': ['b']}
    """
    counted = [r for r in results if r["n"]]
    total = sum(r["n"] for r in counted)
    rate = sum(r["n"] * r["pass_rate"] for r in counted) / total if total else float("nan")
    failing = [r["test"] for r in counted if r["pass_rate"] < min_pass_rate]
    return {"pass_rate": rate, "ready": not failing, "failing": failing}


POSITIVE = ["I love this phone", "The service was great", "What a wonderful day", "Anna was so helpful, thank you",
            "This is the best coffee in town", "The staff were friendly and kind", "I am really happy with it",
            "David fixed it in 5 minutes, amazing"]
NEGATIVE = ["I hate this phone", "The service was terrible", "What an awful day", "Maria was rude and unhelpful",
            "This is the worst coffee in town", "The staff were lazy and rude", "I am really angry about it",
            "I waited 3 hours and nobody came, disgusting"]


def _index(labels: Sequence[str], stem: str) -> int:
    matches = [i for i, lab in enumerate(labels) if stem in str(lab).lower()]
    if not matches:
        raise ValueError(f"no label containing {stem!r} in {list(labels)}; sentiment_suite needs "
                         "positive and negative labels")
    return matches[0]


def sentiment_suite(predict: Callable, labels: Sequence[str]) -> list[dict]:
    """A small CheckList suite for a sentiment model with labels naming "pos" and "neg".

    MFT on short obvious cases, INV to names, numbers and typos, DIR: negating a positive
    sentence must lower the positive probability.

    >>> def predict(texts):
    ...     good = ("love", "great", "wonderful", "helpful", "best", "friendly", "happy", "amazing")
    ...     return np.array([[0.1, 0.9] if any(w in t for w in good) and " not " not in t
    ...                      else [0.9, 0.1] for t in texts])
    >>> [r["test"] for r in sentiment_suite(predict, ["negative", "positive"])][:2]
    ['MFT obvious sentiment', 'INV swap_names']
    """
    pos, neg = _index(labels, "pos"), _index(labels, "neg")
    cases = [(t, pos) for t in POSITIVE] + [(t, neg) for t in NEGATIVE]
    texts = POSITIVE + NEGATIVE
    return [minimum_functionality(predict, cases, "MFT obvious sentiment"),
            invariance(predict, texts, swap_names),
            invariance(predict, texts, change_numbers),
            invariance(predict, texts, add_typo),
            directional(predict, POSITIVE, add_negation, label=pos, direction=-1)]
