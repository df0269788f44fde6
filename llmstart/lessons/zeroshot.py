"""Zero-shot and few-shot classification: labels with no training, or with a handful of examples.

Three ways a pre-trained model can label text without fine-tuning:

* **zero-shot by embeddings** (:func:`zero_shot_classify`): embed each text and a short
  description of each label with a sentence-embedding model (MiniLM); pick the most similar
  description;
* **zero-shot by prompting** (:func:`prompt_classify`): ask an instruct LM (SmolLM2) to answer
  with a label, and read which label's first token it finds most likely;
* **few-shot by prototypes** (:func:`few_shot_curve`): average the embeddings of ``k``
  labelled examples per class into a prototype; a new text gets the label of the nearest one.

>>> import torch
>>> emb = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [0.1, 1.0], [0.9, 0.2]]), dim=-1)
>>> prototype_classify(emb[:2], ["a", "b"], emb[2:])
['a']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from llmstart.models.generation import format_chat
from llmstart.models.hub import DEFAULT_MAX_LENGTH
from llmstart.runtime import padding_side


def zero_shot_classify(
    texts: Sequence[str],
    label_descriptions: Mapping[str, str],
    model,
    tokenizer,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> tuple[list[str], torch.Tensor]:
    """Label each text with the label whose description it is most similar to (cosine).

    Returns the predicted labels and the similarity matrix (texts × labels).

    >>> from llmstart.models.pretrained import load_encoder
    >>> enc, tok = load_encoder("minilm", verbose=False)
    >>> labels, sim = zero_shot_classify(["The striker scored twice"],
    ...     {"sport": "sport, football, a match", "tech": "computers, software"}, enc, tok)
    >>> labels, tuple(sim.shape)
    (['sport'], (1, 2))
    """
    from llmstart.models.pretrained import embed

    names = list(label_descriptions)
    text_emb = embed(list(texts), model, tokenizer, max_length=max_length)
    label_emb = embed([label_descriptions[n] for n in names], model, tokenizer, max_length=max_length)
    sim = text_emb @ label_emb.T
    return [names[i] for i in sim.argmax(-1).tolist()], sim


def prototype_classify(
    support_emb: torch.Tensor, support_labels: Sequence, query_emb: torch.Tensor
) -> list:
    """Nearest-prototype classifier: each label's prototype is the mean of its support embeddings.

    >>> e = torch.eye(3)
    >>> prototype_classify(e, ["x", "y", "y"], torch.tensor([[0.0, 1.0, 1.0]]))
    ['y']
    """
    names = sorted(set(support_labels), key=str)
    labels = np.asarray(support_labels, dtype=object)
    protos = torch.stack([support_emb[torch.from_numpy(labels == n)].mean(0) for n in names])
    protos = torch.nn.functional.normalize(protos, dim=-1)
    sim = torch.nn.functional.normalize(query_emb, dim=-1) @ protos.T
    return [names[i] for i in sim.argmax(-1).tolist()]


def sample_per_class(labels: Sequence, k: int, seed: int = 0) -> list[int]:
    """Indices of ``k`` examples of every label, drawn at random (reproducible with ``seed``).

    >>> sample_per_class(["a", "b", "a", "b", "a"], k=2, seed=0).__len__()
    4
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels, dtype=object)
    picked = []
    for name in sorted(set(labels.tolist()), key=str):
        where = np.flatnonzero(labels == name)
        if len(where) < k:
            raise ValueError(f"label {name!r} has {len(where)} examples; k={k} needs at least {k}")
        picked += rng.choice(where, size=k, replace=False).tolist()
    return picked


def few_shot_curve(
    pool_emb: torch.Tensor,
    pool_labels: Sequence,
    test_emb: torch.Tensor,
    test_labels: Sequence,
    ks: Sequence[int] = (1, 4, 16),
    repeats: int = 5,
    seed: int = 0,
    method: str = "prototype",
    keep_predictions: bool = False,
):
    """Accuracy of a few-shot learner with ``k`` examples per class, over ``repeats`` draws.

    ``method``: ``"prototype"`` (:func:`prototype_classify`, nothing trained) or
    ``"logistic"`` (scikit-learn's logistic regression fitted on the ``k`` examples of each
    class). Both see the same draws for the same ``seed``. Returns a DataFrame with columns
    ``k``, ``repeat``, ``accuracy`` (and ``prediction``, the list of predicted labels for the
    test examples, with ``keep_predictions=True``: what a paired comparison needs).

    >>> e = torch.nn.functional.normalize(torch.randn(40, 8), dim=-1)
    >>> y = ["a", "b"] * 20
    >>> few_shot_curve(e, y, e, y, ks=(1, 2), repeats=2).shape
    (4, 3)
    >>> few_shot_curve(e, y, e, y, ks=(2,), repeats=1, method="logistic").shape
    (1, 3)
    >>> len(few_shot_curve(e, y, e, y, ks=(1,), repeats=1, keep_predictions=True).prediction[0])
    40
    """
    import pandas as pd

    if method not in ("prototype", "logistic"):
        raise ValueError(f"few_shot_curve: method must be 'prototype' or 'logistic', not {method!r}")
    gold = np.asarray(test_labels, dtype=object)
    rows = []
    for k in ks:
        for r in range(repeats):
            idx = sample_per_class(pool_labels, k, seed=seed + 1000 * k + r)
            support = [pool_labels[i] for i in idx]
            if method == "prototype":
                pred = prototype_classify(pool_emb[idx], support, test_emb)
            else:
                from sklearn.linear_model import LogisticRegression

                clf = LogisticRegression(max_iter=1000).fit(pool_emb[idx].numpy(), np.asarray(support, dtype=object))
                pred = clf.predict(test_emb.numpy()).tolist()
            row = {"k": k, "repeat": r, "accuracy": float(np.mean(np.asarray(pred, dtype=object) == gold))}
            rows.append({**row, "prediction": list(pred)} if keep_predictions else row)
    return pd.DataFrame(rows)


def _first_token_ids(tokenizer, label_names: Sequence[str]) -> list[int]:
    ids = [tokenizer.encode(str(n), add_special_tokens=False)[0] for n in label_names]
    if len(set(ids)) < len(ids):
        raise ValueError(f"labels {list(label_names)} share a first token; reword them so each starts differently")
    return ids


@torch.no_grad()
def prompt_classify(
    texts: Sequence[str],
    label_names: Sequence[str],
    model,
    tokenizer,
    question: str = "Which topic is this news headline about?",
    answer_prefix: str = "The topic is",
    calibrate: bool = False,
    batch_size: int = 8,
) -> tuple[list[str], torch.Tensor]:
    """Zero-shot by prompting: ask an instruct LM for the label; read its next-token scores.

    The prompt lists the labels and asks for one word; the assistant's answer is started for
    it with ``answer_prefix`` ("The topic is"). Instead of generating free text (which may
    not be a label at all), we compare the model's scores for the first token of each label
    (``" business"``, ...) right after the prefix: the answer is always a valid label, and one
    forward pass per text suffices (``logits_to_keep=1`` computes the output layer for that
    position only).

    Small LMs favour some answers whatever the text (often the first label listed).
    ``calibrate=True`` subtracts the scores the model gives to content-free headlines
    (``"N/A"``, ``""``, ``"[MASK]"``), as in Zhao et al. (2021), "Calibrate before use".
    Returns the predicted labels and the (calibrated) log-probabilities (texts × labels).

    >>> from llmstart.models.pretrained import load_causal_lm
    >>> lm, tok = load_causal_lm("smollm2", verbose=False)  # doctest: +SKIP
    >>> labels = ["business", "entertainment", "politics", "sport", "tech"]
    >>> prompt_classify(["Striker scores twice in cup final"], labels, lm, tok, calibrate=True)[0]  # doctest: +SKIP
    ['sport']
    """
    label_names = [str(n) for n in label_names]
    args = (label_names, model, tokenizer, question, answer_prefix, batch_size)
    scores = _label_scores(list(texts), *args)
    if calibrate:
        prior = _label_scores(["N/A", "", "[MASK]"], *args)
        scores = scores - prior.mean(0, keepdim=True)
    return [label_names[i] for i in scores.argmax(-1).tolist()], scores


def _label_scores(texts, label_names, model, tokenizer, question, answer_prefix, batch_size) -> torch.Tensor:
    space = " " if answer_prefix and not answer_prefix.endswith(" ") else ""
    ids = torch.tensor(_first_token_ids(tokenizer, [space + n for n in label_names]))
    options = ", ".join(label_names)
    prompts = [
        format_chat(tokenizer, f"{question}\nHeadline: {t}\nAnswer with one word from: {options}.")
        + answer_prefix
        for t in texts
    ]
    device = next(model.parameters()).device
    scores = []
    with padding_side(tokenizer, "left"):  # the answer position is last
        for i in range(0, len(prompts), batch_size):
            batch = tokenizer(prompts[i : i + batch_size], return_tensors="pt", padding=True,
                              add_special_tokens=False).to(device)
            # positions count from each prompt's first real token, so padding changes nothing
            positions = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
            logits = model(**batch, position_ids=positions, logits_to_keep=1).logits[:, -1].float().cpu()
            scores.append(torch.log_softmax(logits, -1)[:, ids])
    return torch.cat(scores)
