"""Shared fixtures: a tiny BERT classifier and a small synthetic task, fast on 2 CPU cores."""

from __future__ import annotations

import random

import pandas as pd
import pytest
import torch

from llmstart.models.pretrained import load_tokenizer

WORDS = {
    "sport": "goal match team coach league win striker referee season cup".split(),
    "tech": "software chip phone internet data robot app cloud code laptop".split(),
    "food": "pasta bread recipe cheese oven spicy salad soup sugar dinner".split(),
}
FILLER = "the a of and to in is was it for on with".split()


def synthetic_frame(n: int = 96, seed: int = 0) -> pd.DataFrame:
    """Texts of varied length whose topic words decide the label."""
    rng = random.Random(seed)
    rows = []
    labels = sorted(WORDS)
    for i in range(n):
        label = labels[i % len(labels)]
        words = [rng.choice(WORDS[label]) for _ in range(rng.randint(2, 12))]
        words += [rng.choice(FILLER) for _ in range(rng.randint(0, 10))]
        rng.shuffle(words)
        rows.append({"text": f"{i} " + " ".join(words), "label": label})
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def tokenizer():
    return load_tokenizer("minilm")


def tiny_bert(num_labels: int = 3, dropout: float = 0.1, seed: int = 0):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=128, num_labels=num_labels,
        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
    )
    return BertForSequenceClassification(config)


@pytest.fixture
def frame() -> pd.DataFrame:
    return synthetic_frame()


# ----------------------------------------------------------------------- the gpu marker
# Tests marked ``gpu`` need a CUDA GPU and are skipped without one. LLMSTART_GPU_TESTS=cpu runs
# them on the CPU as stand-ins (one seed, no server process): their code keeps running in CI
# (`benchmarks/gpu_check.py --dry-run`) until a GPU is there.
def gpu_test_device() -> str | None:
    """``"cuda"``, ``"cpu"`` (stand-in, LLMSTART_GPU_TESTS=cpu) or None (skip the gpu tests)."""
    import os

    if torch.cuda.is_available():
        return "cuda"
    return "cpu" if os.environ.get("LLMSTART_GPU_TESTS") == "cpu" else None


def pytest_collection_modifyitems(config, items):
    if gpu_test_device() is not None:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (make gpu-check runs these on one)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
