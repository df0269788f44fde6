"""The parts of a support assistant around its models: retrieval of fact documents, the
confidence threshold that hands a conversation to a person, the grounded prompt, and the
measures of a reply (key fact stated) and of the hand-over (how many were really unanswerable).

>>> r = Retriever(["Refunds within 14 days.", "We ship to the EU."])
>>> int(r.search(["Can I get my money back? refund"], k=1)[0][0, 0])
0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


class Retriever:
    """Nearest documents to a query by cosine similarity.

    With no ``embed`` function, documents and queries are TF-IDF vectors (word 1-2-grams,
    English stop words removed); otherwise ``embed(list_of_texts)`` must return one vector per
    text (e.g. mean-pooled MiniLM embeddings).

    >>> r = Retriever(["cats purr", "dogs bark"])
    >>> idx, sims = r.search(["why do cats purr"], k=2)
    >>> idx.tolist(), bool(sims[0, 0] > sims[0, 1])
    ([[0, 1]], True)
    """

    def __init__(self, documents: Sequence[str], embed: Callable[[list[str]], np.ndarray] | None = None):
        if not documents:
            raise ValueError("the knowledge base is empty: give the Retriever at least one document")
        self.documents = list(documents)
        self._embed = embed
        if embed is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            self._tfidf = TfidfVectorizer(ngram_range=(1, 2), stop_words="english", sublinear_tf=True)
            self._doc_vectors = self._normalise(self._tfidf.fit_transform(self.documents).toarray())
        else:
            self._doc_vectors = self._normalise(np.asarray(embed(self.documents), dtype=float))

    @staticmethod
    def _normalise(v: np.ndarray) -> np.ndarray:
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    def vectors(self, queries: Sequence[str]) -> np.ndarray:
        """Unit-length query vectors in the documents' space."""
        queries = list(queries)
        if self._embed is None:
            return self._normalise(self._tfidf.transform(queries).toarray())
        return self._normalise(np.asarray(self._embed(queries), dtype=float))

    def search(self, queries: Sequence[str], k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """``(indices, similarities)``, each of shape ``(len(queries), k)``, best first."""
        sims = self.vectors(queries) @ self._doc_vectors.T
        k = min(k, sims.shape[1])
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return order, np.take_along_axis(sims, order, axis=1)


def hand_over(confidence: np.ndarray | Sequence[float], threshold: float) -> np.ndarray:
    """True where the classifier's top probability is below ``threshold``: a person answers.

    >>> hand_over([0.9, 0.3, 0.55], threshold=0.5).tolist()
    [False, True, False]
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a probability in [0, 1], got {threshold}")
    return np.asarray(confidence, dtype=float) < threshold


def threshold_for_coverage(confidence: np.ndarray | Sequence[float], coverage: float = 0.95) -> float:
    """The threshold that lets ``coverage`` of these (in-scope, validation) questions through.

    >>> threshold_for_coverage([0.2, 0.6, 0.7, 0.8, 0.9], coverage=0.8)
    0.6
    """
    conf = np.sort(np.asarray(confidence, dtype=float))
    if conf.size == 0:
        raise ValueError("no confidences to pick a threshold from")
    return float(conf[min(int(np.floor((1 - coverage) * conf.size + 1e-9)), conf.size - 1)])


def handover_report(handed: np.ndarray | Sequence[bool], unanswerable: np.ndarray | Sequence[bool]) -> dict[str, float]:
    """How the hand-over did: ``handover_rate`` (all questions), ``in_scope_handover_rate``
    (answerable questions sent to a person), ``unanswerable_caught`` (recall on the
    unanswerable ones) and ``handed_over_really_unanswerable`` (precision).

    >>> handover_report([True, True, False, False], [True, False, False, True])
    {'handover_rate': 0.5, 'in_scope_handover_rate': 0.5, 'unanswerable_caught': 0.5, 'handed_over_really_unanswerable': 0.5}
    """
    h, u = np.asarray(handed, dtype=bool), np.asarray(unanswerable, dtype=bool)
    if h.shape != u.shape:
        raise ValueError(f"{h.size} hand-over decisions for {u.size} labels")
    nan = float("nan")
    return {"handover_rate": float(h.mean()),
            "in_scope_handover_rate": float(h[~u].mean()) if (~u).any() else nan,
            "unanswerable_caught": float(h[u].mean()) if u.any() else nan,
            "handed_over_really_unanswerable": float(u[h].mean()) if h.any() else nan}


def grounded_prompt(question: str, facts: Sequence[str]) -> str:
    """The user turn a generator sees: the retrieved facts, then the customer's message.

    >>> print(grounded_prompt("Refund?", ["Refunds within 14 days."]))
    Facts:
    - Refunds within 14 days.
    Customer: Refund?
    Answer the customer in two sentences, using the facts.
    """
    lines = ["Facts:"] + [f"- {f}" for f in facts] + [f"Customer: {question}",
                                                     "Answer the customer in two sentences, using the facts."]
    return "\n".join(lines)


def guard_reply(reply: str, document: str, must_say: str) -> str:
    """Check a generated reply against its fact document: if the phrase the document must get
    across (``must_say``, e.g. ``"14 days"``) is missing, append the document verbatim.

    A small model phrasing a fact can drop or distort it; the guard makes the company's wording
    reach the customer whenever the phrasing lost it.

    >>> guard_reply("Sure, refunds are possible.", "Refunds within 14 days.", "14 days")
    'Sure, refunds are possible. Our policy: Refunds within 14 days.'
    >>> guard_reply("Yes, within 14 days.", "Refunds within 14 days.", "14 days")
    'Yes, within 14 days.'
    """
    if must_say.lower() in reply.lower():
        return reply
    return f"{reply.rstrip()} Our policy: {document}"


def key_fact_hits(replies: Sequence[str], key_facts: Sequence[str]) -> np.ndarray:
    """Per reply, whether it contains its key fact (case-insensitive): the per-question scores
    that :func:`llmstart.evaluation.compare.compare_scores` pairs across two systems.

    >>> key_fact_hits(["Refunds within 14 days!", "Sorry."], ["14 days", "14 days"]).tolist()
    [True, False]
    """
    if len(replies) != len(key_facts):
        raise ValueError(f"{len(replies)} replies for {len(key_facts)} key facts")
    if not replies:
        raise ValueError("no replies to score")
    return np.array([k.lower() in r.lower() for r, k in zip(replies, key_facts, strict=True)])


def key_fact_rate(replies: Sequence[str], key_facts: Sequence[str]) -> float:
    """Share of replies that contain their key fact (case-insensitive).

    >>> key_fact_rate(["Refunds within 14 days!", "Sorry."], ["14 days", "14 days"])
    0.5
    """
    return float(np.mean(key_fact_hits(replies, key_facts)))


@dataclass(frozen=True)
class Rate:
    """A share of ``n`` questions with its binomial standard error and 95 % Wilson interval.

    >>> r = Rate.of([1, 0, 0, 0] * 25)
    >>> print(r)
    0.250 ± 0.043 (95 % [0.175, 0.343], n = 100)
    >>> r.hits, r.n
    (25, 100)
    """

    hits: int
    n: int

    @classmethod
    def of(cls, outcomes: Sequence[bool] | np.ndarray) -> Rate:
        """The rate of true outcomes (one per question)."""
        x = np.asarray(outcomes, dtype=bool)
        if x.ndim != 1 or x.size == 0:
            raise ValueError(f"Rate.of needs a non-empty list of per-question outcomes, got shape {x.shape}")
        return cls(int(x.sum()), int(x.size))

    @property
    def value(self) -> float:
        return self.hits / self.n

    @property
    def se(self) -> float:
        """Binomial standard error, sqrt(p (1 - p) / n)."""
        return float(np.sqrt(self.value * (1 - self.value) / self.n))

    @property
    def interval(self) -> tuple[float, float]:
        """95 % Wilson interval (sensible at 0 and 1, unlike value ± 2 se)."""
        from scipy.stats import binomtest

        ci = binomtest(self.hits, self.n).proportion_ci(0.95, method="wilson")
        return float(ci.low), float(ci.high)

    def __str__(self) -> str:
        low, high = self.interval
        return f"{self.value:.3f} ± {self.se:.3f} (95 % [{low:.3f}, {high:.3f}], n = {self.n})"

    def to_dict(self) -> dict:
        """Plain values for a results JSON file."""
        low, high = self.interval
        return {"value": round(self.value, 4), "hits": self.hits, "n": self.n,
                "se": round(self.se, 4), "low": round(low, 4), "high": round(high, 4)}
