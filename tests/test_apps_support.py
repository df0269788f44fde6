import numpy as np
import pytest

from llmstart.apps.support import (
    Retriever,
    grounded_prompt,
    guard_reply,
    hand_over,
    handover_report,
    key_fact_rate,
    threshold_for_coverage,
)
from llmstart.corpora.brewly import INTENTS, support_replies
from llmstart.corpora.brewly_kb import KNOWLEDGE_BASE, knowledge_base, out_of_scope_questions


def test_every_intent_has_a_fact_document_with_its_key_fact():
    for intent in INTENTS:
        assert intent.key_fact in KNOWLEDGE_BASE[intent.name]
    assert set(out_of_scope_questions().question).isdisjoint(set(support_replies().question))


def test_tfidf_retrieval_finds_the_right_document_for_most_test_questions():
    kb = knowledge_base()
    test = support_replies().query("split == 'test'")
    idx, _ = Retriever(list(kb.text)).search(list(test.question), k=1)
    accuracy = np.mean(kb.intent.to_numpy()[idx[:, 0]] == test.intent.to_numpy())
    assert accuracy > 3 / 12  # well above chance (1/12); embeddings do better (notebook 07)


def test_retriever_with_custom_embedding_and_errors():
    r = Retriever(["a", "b"], embed=lambda texts: np.array([[1.0, 0.0] if t == "a" else [0.0, 1.0] for t in texts]))
    idx, sims = r.search(["b"], k=2)
    assert idx.tolist() == [[1, 0]] and sims[0, 0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="empty"):
        Retriever([])


def test_handover_and_its_report():
    handed = hand_over([0.9, 0.2, 0.4, 0.8], threshold=0.5)
    assert handed.tolist() == [False, True, True, False]
    report = handover_report(handed, [False, True, False, False])
    assert report["unanswerable_caught"] == 1.0 and report["handed_over_really_unanswerable"] == 0.5
    assert threshold_for_coverage(np.linspace(0, 1, 101), coverage=0.9) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        hand_over([0.5], threshold=2)


def test_prompt_and_key_fact_rate():
    assert "- Refunds within 14 days." in grounded_prompt("?", ["Refunds within 14 days."])
    assert key_fact_rate(["within 14 DAYS", "no"], ["14 days", "14 days"]) == 0.5
    with pytest.raises(ValueError):
        key_fact_rate(["a"], [])


def test_guard_appends_the_document_only_when_the_fact_is_missing():
    kb = knowledge_base()
    row = kb[kb.intent == "refund"].iloc[0]
    assert guard_reply("We can help!", row.text, row.must_say).endswith(row.text)
    assert guard_reply("Within 14 DAYS.", row.text, row.must_say) == "Within 14 DAYS."
    assert (kb.apply(lambda r: r.must_say in r.text, axis=1)).all()


def test_rate_reports_its_binomial_standard_error_and_interval():
    from llmstart.apps.support import Rate, key_fact_hits

    r = Rate.of([True] * 20 + [False] * 80)
    assert (r.hits, r.n) == (20, 100) and r.value == pytest.approx(0.2)
    assert r.se == pytest.approx((0.2 * 0.8 / 100) ** 0.5)
    low, high = r.interval
    assert low < 0.2 < high and high - low == pytest.approx(4 * r.se, rel=0.15)
    zero = Rate.of([False] * 50)  # Wilson: a real interval at 0, where p ± 2 se would be [0, 0]
    assert zero.se == 0 and zero.interval[0] == pytest.approx(0, abs=1e-9) and zero.interval[1] > 0.05
    assert r.to_dict()["n"] == 100 and "n = 100" in str(r)
    with pytest.raises(ValueError, match="non-empty"):
        Rate.of([])
    assert key_fact_hits(["14 DAYS", "no"], ["14 days", "14 days"]).tolist() == [True, False]
    with pytest.raises(ValueError, match="replies for"):
        key_fact_hits(["a"], [])
