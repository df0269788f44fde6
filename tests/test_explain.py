"""Attributions and the deletion (faithfulness) check (llmstart.evaluation.explain)."""

import numpy as np
import pytest
import torch

from llmstart.evaluation.explain import delete_words, deletion_gap, integrated_gradients, occlusion


def keyword_model(texts):
    return np.array([[0.1, 0.9] if "great" in t.split() else [0.7, 0.3] for t in texts])


def test_occlusion_ranks_the_keyword_first():
    s = occlusion("a truly great morning", 1, keyword_model)
    assert int(np.argmax(s)) == 2


def test_deletion_gap_is_positive_for_a_faithful_and_zero_for_a_reversed_ranking():
    texts = ["a truly great morning out", "great coffee again today"]
    good = [occlusion(t, 1, keyword_model) for t in texts]
    bad = [-s for s in good]
    assert deletion_gap(texts, [1, 1], good, keyword_model, k=1)["gap"] > 0.3
    assert deletion_gap(texts, [1, 1], bad, keyword_model, k=1)["top_drop"] == 0.0
    with pytest.raises(ValueError, match="fewer than 2 words"):
        deletion_gap(["great"], [1], [np.array([1.0])], keyword_model)


def test_delete_words():
    assert delete_words("a b c", [0, 2]) == "b"


def test_integrated_gradients_completeness_on_a_tiny_bert():
    """IG's attributions add up to f(input) - f(baseline) (the completeness axiom)."""
    from transformers import BertConfig, BertForSequenceClassification

    from llmstart.models.pretrained import load_tokenizer

    tok = load_tokenizer("minilm")
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=32, num_labels=2))
    text = "coffee arrived cold"
    scores = integrated_gradients(model, tok, text, 1, n_steps=64)
    enc = tok(text, return_tensors="pt")
    ids = enc["input_ids"].clone()
    base = ids.clone()
    base[0, 1:-1] = tok.pad_token_id
    model.eval()
    with torch.no_grad():
        p = torch.softmax(model(input_ids=ids, attention_mask=enc["attention_mask"]).logits, -1)[0, 1]
        p0 = torch.softmax(model(input_ids=base, attention_mask=enc["attention_mask"]).logits, -1)[0, 1]
    assert scores.shape == (3,)
    assert scores.sum() == pytest.approx(float(p - p0), abs=0.02)


def test_deletion_gap_per_example_drops_average_to_the_summary():
    toy = lambda ts: np.array([[0.2, 0.8] if "great" in t.split() else [0.6, 0.4] for t in ts])  # noqa: E731
    texts = ["a great day out", "great news for us", "nothing here to see"]
    scores = [occlusion(t, 1, toy) for t in texts]
    out = deletion_gap(texts, [1, 1, 1], scores, toy, k=1, per_example=True)
    assert len(out["top_drops"]) == len(out["random_drops"]) == out["n"] == 3
    assert abs(np.mean(out["top_drops"]) - out["top_drop"]) < 1e-3
    assert abs(np.mean(out["random_drops"]) - out["random_drop"]) < 1e-3
    assert "top_drops" not in deletion_gap(texts, [1, 1, 1], scores, toy, k=1)
