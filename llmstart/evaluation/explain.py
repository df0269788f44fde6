"""Which words made the classifier decide? Two attribution methods and a faithfulness check.

- :func:`occlusion`: delete each word, watch the predicted probability (model-agnostic,
  one forward pass per word);
- :func:`integrated_gradients`: Captum's integrated gradients on the input embeddings,
  from an all-padding baseline to the text, summed over each word's sub-word tokens;
- :func:`deletion_gap`: is an attribution *faithful*? Deleting the top-k attributed words
  should drop the probability more than deleting k random words.

Attention weights are not in this list on purpose: they say where a head looked, not what
changed the output (Jain & Wallace 2019 found attention maps that can be swapped for very
different ones without changing the prediction); test any explanation with a deletion check.

>>> toy = lambda ts: np.array([[0.2, 0.8] if "great" in t.split() else [0.6, 0.4] for t in ts])
>>> occlusion("a great day", 1, toy).round(2).tolist()
[0.0, 0.4, 0.0]
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from llmstart.evaluation.robustness import ProbaFn, deletion_importance


def occlusion(text: str, target: int, predict_proba: ProbaFn) -> np.ndarray:
    """Per-word attribution: P(``target``) minus P(``target`` | text without that word).

    >>> occlusion("x", 0, lambda ts: np.array([[1.0, 0.0] if t else [0.5, 0.5] for t in ts])).tolist()
    [0.5]
    """
    return deletion_importance(text, target, predict_proba)


def integrated_gradients(model, tokenizer, text: str, target: int, n_steps: int = 20,
                         max_length: int = 64) -> np.ndarray:
    """Per-word integrated-gradients attribution (Captum ``LayerIntegratedGradients``).

    Words are the text's whitespace-separated words, as in :func:`occlusion`; each word's
    score is the sum over its sub-word tokens of the attribution summed over the embedding.

    >>> import torch
    >>> from transformers import BertConfig, BertForSequenceClassification
    >>> from llmstart.models.pretrained import load_tokenizer
    >>> tok = load_tokenizer("minilm")
    >>> _ = torch.manual_seed(0)
    >>> m = BertForSequenceClassification(BertConfig(vocab_size=tok.vocab_size, hidden_size=8,
    ...     num_hidden_layers=1, num_attention_heads=2, intermediate_size=16, num_labels=2))
    >>> integrated_gradients(m, tok, "a lovely morning", 1, n_steps=4).shape
    (3,)
    """
    import torch
    from captum.attr import LayerIntegratedGradients

    from llmstart.runtime import eval_mode

    words = text.split()
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length,
                    return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    special = torch.tensor(tokenizer.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True))
    baseline = torch.where(special.bool(), ids[0], torch.tensor(tokenizer.pad_token_id)).unsqueeze(0)

    def forward(input_ids, attention_mask):
        return torch.softmax(model(input_ids=input_ids, attention_mask=attention_mask).logits, -1)

    with eval_mode(model):
        lig = LayerIntegratedGradients(forward, model.get_input_embeddings())
        attr = lig.attribute(ids, baselines=baseline, target=target, n_steps=n_steps,
                             additional_forward_args=(mask,), internal_batch_size=n_steps)
    per_token = attr.sum(-1)[0].detach().numpy()
    scores = np.zeros(len(words))
    for pos, w in enumerate(enc.word_ids(0)):
        if w is not None:
            scores[w] += per_token[pos]
    return scores


def delete_words(text: str, idx: Sequence[int]) -> str:
    """``text`` without the words at positions ``idx``.

    >>> delete_words("a b c d", [1, 3])
    'a c'
    """
    drop = set(int(i) for i in idx)
    return " ".join(w for i, w in enumerate(text.split()) if i not in drop)


def deletion_gap(texts: Sequence[str], targets: Sequence[int], scores: Sequence[np.ndarray],
                 predict_proba: ProbaFn, k: int = 2, seed: int = 0, per_example: bool = False) -> dict:
    """Mean probability drop deleting the ``k`` top-scored words vs ``k`` random words.

    ``gap`` = top drop − random drop: positive means the attribution found words that matter
    more than chance (it is faithful to the model, at least in this sense). ``per_example``
    adds each text's two drops (``top_drops``, ``random_drops``), for a paired comparison
    (:func:`llmstart.evaluation.compare.compare_scores`); the same ``seed`` deletes the same
    random words for every attribution method.

    >>> toy = lambda ts: np.array([[0.2, 0.8] if "great" in t.split() else [0.6, 0.4] for t in ts])
    >>> texts = ["a great day out", "great news for us"]
    >>> s = [occlusion(t, 1, toy) for t in texts]
    >>> deletion_gap(texts, [1, 1], s, toy, k=1)
    {'top_drop': 0.4, 'random_drop': 0.0, 'gap': 0.4, 'k': 1, 'n': 2}
    >>> deletion_gap(texts, [1, 1], s, toy, k=1, per_example=True)["top_drops"]
    [0.4, 0.4]
    """
    rng = random.Random(seed)
    top, rand, base = [], [], []
    for text, y, s in zip(texts, targets, scores, strict=True):
        n = len(text.split())
        kk = min(k, n - 1)
        if kk < 1:
            continue
        top.append(delete_words(text, np.argsort(-np.asarray(s))[:kk]))
        rand.append(delete_words(text, rng.sample(range(n), kk)))
        base.append((text, y))
    if not base:
        raise ValueError("deletion_gap: every text has fewer than 2 words; nothing to delete")
    ys = np.array([y for _, y in base])
    rows = np.arange(len(ys))
    p0 = predict_proba([t for t, _ in base])[rows, ys]
    pt = predict_proba(top)[rows, ys]
    pr = predict_proba(rand)[rows, ys]
    top_drop, random_drop = float(np.mean(p0 - pt)), float(np.mean(p0 - pr))
    out = {"top_drop": round(top_drop, 3), "random_drop": round(random_drop, 3),
           "gap": round(top_drop - random_drop, 3), "k": k, "n": len(base)}
    if per_example:
        out |= {"top_drops": [round(float(d), 6) for d in p0 - pt],
                "random_drops": [round(float(d), 6) for d in p0 - pr]}
    return out
