"""The from-scratch character LM: tokenizer, windows, a model that learns, sampling."""

from __future__ import annotations

import pytest
import torch

from llmstart.lessons.pretrain import (
    CharTokenizer,
    normalise_text,
    sample_text,
    tiny_causal_lm,
    vocabulary_of,
    window_loader,
    word_hit_rate,
)
from llmstart.train import TrainConfig, evaluate_model, fit


def test_char_tokenizer_round_trip_and_unknowns():
    tok = CharTokenizer.fit(["hello world", "hello"], min_count=2)
    assert tok.chars[0] == "?" and "w" not in tok.chars  # 'w' occurs once
    assert tok.decode(tok.encode("hello")) == "hello"
    assert tok.decode(tok.encode("wow")) == "?o?"
    assert CharTokenizer.fit(["ba"]).chars == ["?", "a", "b"]  # sorted, reproducible


def test_normalise_text_joins_documents():
    assert normalise_text(["  a \n b ", "c\t\td"]) == "a b\nc d\n"


def test_windows_are_next_token_pairs_and_reproducible():
    ids = list(range(200))
    a = list(window_loader(ids, block_size=8, batch_size=4, num_batches=3, seed=5))
    b = list(window_loader(ids, block_size=8, batch_size=4, num_batches=3, seed=5))
    assert len(a) == 3 and all(torch.equal(x["input_ids"], y["input_ids"]) for x, y in zip(a, b, strict=True))
    w = a[0]["input_ids"][0]
    assert torch.equal(w, torch.arange(int(w[0]), int(w[0]) + 8))  # a contiguous piece of text
    with pytest.raises(ValueError, match="needs more than block_size"):
        window_loader(list(range(5)), block_size=8)


@pytest.mark.slow
def test_tiny_lm_learns_a_pattern_and_samples_it():
    text = "abcd " * 400
    tok = CharTokenizer.fit([text])
    model = tiny_causal_lm(tok.vocab_size, block_size=16, n_layer=1, n_embd=32, n_head=2)
    loader = window_loader(tok.encode(text), block_size=16, batch_size=16, num_batches=60)
    before = evaluate_model(model, loader)["loss"]
    history = fit(model, loader, config=TrainConfig(epochs=1, lr=1e-2, warmup_ratio=0.1),
                  progress=False)
    after = evaluate_model(model, loader)["loss"]
    assert before > 1.2 and after < 0.1 and history.steps[-1]["loss"] < 0.2
    assert sample_text(model, tok, "abc", max_new_tokens=11, temperature=0.5) == "d abcd abcd"


def test_sampling_is_reproducible_and_checks_temperature():
    tok = CharTokenizer.fit(["abcdefgh"])
    model = tiny_causal_lm(tok.vocab_size, block_size=8, n_layer=1, n_embd=16, n_head=2)
    assert sample_text(model, tok, "a", 20, seed=1) == sample_text(model, tok, "a", 20, seed=1)
    assert sample_text(model, tok, "a", 20, seed=1) != sample_text(model, tok, "a", 20, seed=2)
    assert len(sample_text(model, tok, "abcdefgh" * 2, 12)) == 12  # prompt longer than the context
    with pytest.raises(ValueError, match="temperature"):
        sample_text(model, tok, "a", 5, temperature=0)
    assert model.training  # left as it was found


def test_word_hit_rate():
    vocab = vocabulary_of(["The cat sat. The cat ran.", "the dog"], min_count=2)
    assert vocab == {"the", "cat"}
    assert word_hit_rate("the cat xyz zzz", vocab) == 0.5
    assert word_hit_rate("123 !!", vocab) == 0.0
    assert word_hit_rate("a cat ran", vocab, min_length=3) == 0.5
