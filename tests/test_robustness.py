"""Attacks and their report (llmstart.evaluation.robustness)."""

import random

import numpy as np
import pytest

from llmstart.evaluation.robustness import (
    HOMOGLYPHS,
    add_distractor,
    attack_report,
    deletion_importance,
    homoglyphs,
    substitution_attack,
    typo,
    typos,
)


def keyword_model(texts):
    """A toy classifier: positive iff the exact word 'great' is present."""
    return np.array([[0.1, 0.9] if "great" in t.lower().split() else [0.7, 0.3] for t in texts])


def test_typo_changes_one_letter_position_and_keeps_short_words():
    rng = random.Random(0)
    for _ in range(50):
        w = typo("coffee", rng)
        assert abs(len(w) - 6) <= 1 and w[0] == "c"
    assert typo("ok", rng) == "ok"
    assert typos("a b c", rate=1.0) == "a b c"


def test_homoglyphs_look_the_same_but_differ():
    out = homoglyphs("space case", rate=1.0)
    assert out != "space case"
    assert all(c in HOMOGLYPHS.values() or c in " pc" or c not in HOMOGLYPHS for c in out)
    assert homoglyphs("space", rate=0.0) == "space"


def test_distractor_keeps_the_text():
    assert add_distractor("Love it.", random.Random(0), ["X."]) == "Love it. X."


def test_deletion_importance_finds_the_keyword():
    imp = deletion_importance("what a great day", 1, keyword_model)
    assert int(np.argmax(imp)) == 2
    assert imp[2] == pytest.approx(0.6)


def test_substitution_attack_flips_the_toy_model_within_budget():
    r = substitution_attack("what a great day", 1, keyword_model, max_words=1)
    assert r.success and r.words_changed == 1
    assert "great" not in r.attacked.split()
    assert r.queries > 4
    robust = substitution_attack("what a day", 0, keyword_model)
    assert not robust.success and robust.attacked == "what a day"


def test_attack_report_counts_like_textattack():
    rep = attack_report([1, 1, 0, 0], [1, 1, 0, 1], [0, 1, 0, 1])
    assert rep["clean_accuracy"] == 0.75 and rep["attacked_accuracy"] == 0.5
    assert rep["skipped"] == 1 and rep["attack_success_rate"] == pytest.approx(0.333)
    with pytest.raises(ValueError, match="same non-zero length"):
        attack_report([1], [1, 0], [1])


def test_swap_one_pair_keeps_length_and_letters():
    import random as _random

    from llmstart.evaluation.robustness import swap_one_pair

    rng = _random.Random(0)
    for text in ["Driverless cars are finally here", "Google tests cars in Austin"]:
        edited = swap_one_pair(text, rng)
        assert len(edited) == len(text) and sorted(edited) == sorted(text) and edited != text
    assert swap_one_pair("a b c", rng) == "a b c"


def test_typo_flip_rate_counts_texts_not_variants():
    from llmstart.evaluation.robustness import typo_flip_rate

    # a "model" that flips only when the first word is edited: texts whose only long word is first
    def predict(texts):
        return [t.split()[0] in {"Driverless", "Austin"} for t in texts]

    rate = typo_flip_rate(predict, ["Driverless is ok", "Austin is ok", "no no no"], variants=3)
    assert rate == 2 / 3
    assert typo_flip_rate(predict, ["Driverless is ok"], seed=1) == typo_flip_rate(predict, ["Driverless is ok"], seed=1)
    with pytest.raises(ValueError):
        typo_flip_rate(predict, [])


def _tiny_classifier():
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from llmstart.models.pretrained import load_tokenizer

    tok = load_tokenizer("minilm")
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=tok.vocab_size, hidden_size=32,
                                                     num_hidden_layers=1, num_attention_heads=2,
                                                     intermediate_size=64, num_labels=3))
    return model, tok


def test_proba_fn_bf16_is_close_to_float32_and_sums_to_one():
    from llmstart.evaluation.robustness import proba_fn

    model, tok = _tiny_classifier()
    texts = ["great coffee", "the delivery was late again", "ok"]
    p32 = proba_fn(model, tok, bf16=False)(texts)
    p16 = proba_fn(model, tok, bf16=True)(texts)
    assert p16.shape == p32.shape == (3, 3)
    assert np.allclose(p16.sum(1), 1, atol=1e-5)
    assert np.abs(p16 - p32).max() < 0.05          # bf16 keeps about 3 significant digits
    assert proba_fn(model, tok, bf16=False)([]).shape == (0, 3)


def test_proba_fn_refuses_bf16_autocast_off_the_cpu():
    from llmstart.evaluation.robustness import proba_fn

    model, tok = _tiny_classifier()
    model.to("meta")
    with pytest.raises(ValueError, match="CPU autocast"):
        proba_fn(model, tok, bf16=True)
