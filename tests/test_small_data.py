"""Notebook 11's helpers (llmstart.lessons.small_data): the embedding cache and one scored run."""

import pandas as pd
import torch

from llmstart.lessons.small_data import EmbeddingCache, train_and_score
from llmstart.models.pretrained import load_encoder, load_tokenizer


def test_embedding_cache_in_bf16_stores_float32_close_to_float32():
    model, tok = load_encoder("minilm", verbose=False)
    texts = ["the flight was late again", "great coffee, thank you", "the flight was late again"]
    fp32 = EmbeddingCache(model, tok)(texts)
    cache = EmbeddingCache(model, tok, bf16=True)
    bf16 = cache(texts)
    assert bf16.dtype == torch.float32 and bf16.shape == fp32.shape == (3, 384)
    assert len(cache.vectors) == 2                                   # one vector per distinct text
    assert torch.nn.functional.cosine_similarity(bf16, fp32).min() > 0.99
    assert not torch.equal(bf16, fp32)                               # bf16 really ran


def test_train_and_score_scores_the_same_run_in_bf16_and_float32():
    tok = load_tokenizer("minilm")
    words = {"negative": "awful terrible", "positive": "great wonderful"}
    df = pd.DataFrame({"text": [f"{i} {words[lab]}" for i in range(8) for lab in words],
                       "label": [lab for _ in range(8) for lab in words]})
    runs = [train_and_score(df, df, df, tok, ["negative", "positive"], steps=3, batch_size=8, max_length=12, bf16=b)
            for b in (False, True)]
    assert set(runs[0]) == {"train_acc", "val_acc", "test_acc", "gap", "steps_run"}
    assert abs(runs[0]["test_acc"] - runs[1]["test_acc"]) <= 0.125   # same weights, scored in two precisions
