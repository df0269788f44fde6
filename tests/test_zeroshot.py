"""Zero-shot (embeddings, prompting) and few-shot (prototypes) classification."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from llmstart.lessons.zeroshot import (
    few_shot_curve,
    prompt_classify,
    prototype_classify,
    sample_per_class,
    zero_shot_classify,
)


def clusters(n_per_class: int = 30, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.eye(3, 8) * 3
    emb = torch.cat([c + torch.randn(n_per_class, 8, generator=g) for c in centres])
    labels = [name for name in ["a", "b", "c"] for _ in range(n_per_class)]
    return torch.nn.functional.normalize(emb, dim=-1), labels


def test_prototypes_separate_clusters():
    emb, labels = clusters()
    pred = prototype_classify(emb[::2], labels[::2], emb[1::2])
    assert sum(p == g for p, g in zip(pred, labels[1::2], strict=True)) / len(pred) > 0.9


def test_sample_per_class():
    labels = ["x"] * 5 + ["y"] * 3
    idx = sample_per_class(labels, k=3, seed=0)
    assert len(idx) == len(set(idx)) == 6
    assert sorted(labels[i] for i in idx) == ["x"] * 3 + ["y"] * 3
    assert idx == sample_per_class(labels, k=3, seed=0) != sample_per_class(labels, k=3, seed=1)
    with pytest.raises(ValueError, match="label 'y' has 3 examples"):
        sample_per_class(labels, k=4)


def test_few_shot_curve_improves_with_k():
    emb, labels = clusters(40)
    test_emb, test_labels = clusters(20, seed=1)
    curve = few_shot_curve(emb, labels, test_emb, test_labels, ks=(1, 16), repeats=8)
    assert list(curve.columns) == ["k", "repeat", "accuracy"] and len(curve) == 16
    means = curve.groupby("k").accuracy.mean()
    assert means[16] > means[1] and means[16] > 0.9


def test_zero_shot_with_minilm():
    from llmstart.models.pretrained import load_encoder

    enc, tok = load_encoder("minilm", verbose=False)
    descriptions = {"sport": "sport: football, tennis, a match, a team",
                    "tech": "technology: computers, software, the internet",
                    "food": "food: cooking, recipes, restaurants"}
    texts = ["The striker scored twice and the team won the cup",
             "A new laptop chip makes software run faster",
             "Bake the bread in a hot oven and serve with soup"]
    pred, sim = zero_shot_classify(texts, descriptions, enc, tok)
    assert pred == ["sport", "tech", "food"] and tuple(sim.shape) == (3, 3)
    assert torch.all(sim <= 1.0 + 1e-5)


class StubTokenizer:
    """Words are tokens; the chat template wraps the message; padding on the left."""

    def __init__(self, words):
        self.vocab = {w: i + 1 for i, w in enumerate(words)}  # 0 is padding
        self.padding_side = "right"

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        return "user " + messages[-1]["content"] + " assistant"

    def _ids(self, text):
        return [self.vocab.get(w, len(self.vocab) + 1) for w in text.replace("\n", " ").replace(",", " ").replace(".", " ").split()]

    def encode(self, text, add_special_tokens=False):
        return self._ids(text)

    def __call__(self, texts, return_tensors, padding, add_special_tokens):
        ids = [self._ids(t) for t in texts]
        n = max(map(len, ids))
        pad = [[0] * (n - len(x)) for x in ids]
        assert self.padding_side == "left"
        return Batch(
            input_ids=torch.tensor([p + x for p, x in zip(pad, ids, strict=True)]),
            attention_mask=torch.tensor([[0] * len(p) + [1] * len(x) for p, x in zip(pad, ids, strict=True)]),
        )


class Batch(dict):
    def to(self, device):
        return self


class StubLM(torch.nn.Module):
    """Scores label token ids: +1 if the label word appears in the prompt, plus a fixed bias for "red"."""

    def __init__(self, tok, vocab_size=50):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.tok, self.vocab_size = tok, vocab_size

    def forward(self, input_ids, attention_mask, position_ids, logits_to_keep):
        assert logits_to_keep == 1 and position_ids[attention_mask.bool()].min() == 0
        logits = torch.zeros(len(input_ids), 1, self.vocab_size)
        headline = self.tok.vocab["Headline:"]
        for row, ids in enumerate(input_ids.tolist()):
            start = ids.index(headline)
            said = ids[start + 1 : ids.index(self.tok.vocab["Answer"])]
            for word in ("red", "green", "blue"):
                logits[row, 0, self.tok.vocab[word]] += 1.0 * (self.tok.vocab[word] in said)
            logits[row, 0, self.tok.vocab["red"]] += 1.5  # a bias for the first label
        return SimpleNamespace(logits=logits)


def test_prompting_reads_label_scores_and_calibration_removes_a_bias():
    words = "user assistant Which topic is this news headline about? Headline: Answer with one word from: red green blue N/A [MASK] sky".split()
    tok = StubTokenizer(words)
    lm = StubLM(tok)
    texts = ["green", "blue sky", "red"]
    raw, scores = prompt_classify(texts, ["red", "green", "blue"], lm, tok, batch_size=2)
    assert raw == ["red", "red", "red"] and tuple(scores.shape) == (3, 3)
    calibrated, _ = prompt_classify(texts, ["red", "green", "blue"], lm, tok, calibrate=True)
    assert calibrated == ["green", "blue", "red"]
    assert tok.padding_side == "right"  # restored


def test_labels_must_start_with_different_tokens():
    tok = StubTokenizer(["a"])
    tok.encode = lambda text, add_special_tokens=False: [1, len(text)]
    with pytest.raises(ValueError, match="share a first token"):
        prompt_classify(["x"], ["apple", "apricot"], StubLM(tok), tok)


@pytest.mark.slow
def test_prompting_smollm2_is_batch_invariant():
    from llmstart.models.pretrained import load_causal_lm

    lm, tok = load_causal_lm("smollm2", verbose=False)
    titles = ["Striker scores twice in cup final", "Shares fall as bank profits slump",
              "New phone chip doubles battery life"]
    labels = ["business", "entertainment", "politics", "sport", "tech"]
    _, one = prompt_classify(titles, labels, lm, tok, batch_size=1)
    _, batched = prompt_classify(titles, labels, lm, tok, batch_size=3)
    assert torch.allclose(one, batched, atol=1e-3)  # left padding does not change the answer
    pred, _ = prompt_classify(titles, labels, lm, tok, calibrate=True)
    assert sum(p == g for p, g in zip(pred, ["sport", "business", "tech"], strict=True)) >= 2


def test_few_shot_curve_logistic_learns_clusters_and_uses_the_same_draws():
    emb, labels = clusters(n_per_class=40)
    proto = few_shot_curve(emb[::2], labels[::2], emb[1::2], labels[1::2], ks=(1, 8), repeats=3, seed=0)
    logit = few_shot_curve(emb[::2], labels[::2], emb[1::2], labels[1::2], ks=(1, 8), repeats=3, seed=0,
                           method="logistic")
    assert logit.groupby("k").accuracy.mean()[8] > 0.8
    # with one example per class both learners draw the same supports; logistic regression on
    # one point per class is not worse than chance
    assert (logit[logit.k == 1].accuracy > 1 / 3).all() and list(proto.columns) == list(logit.columns)
    with pytest.raises(ValueError, match="method must be"):
        few_shot_curve(emb, labels, emb, labels, method="knn")
