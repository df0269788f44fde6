"""Recommending items from their text: a time-ordered split with cold-start items kept apart,
four scorers (popularity, TF-IDF, sentence embeddings, embeddings fine-tuned on
interactions) and the two ranking metrics everyone reports, hit@k and NDCG@k.

A *user profile* is the mean of the vectors of the items the user engaged with; an item's
score is its cosine similarity to that profile. Items the user already has are never
recommended again.

>>> import numpy as np
>>> hit_at_k([3, 0, 12], k=10), round(ndcg_at_k([3, 0, 12], k=10), 3)
(0.6666666666666666, 0.477)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch


def symmetric_info_nce(a, b, temperature: float):
    """Contrastive loss of paired rows: row i of ``a`` should match row i of ``b`` among all rows of ``b``, and back.

    >>> import torch
    >>> x = torch.nn.functional.normalize(torch.eye(3), dim=-1)
    >>> round(float(symmetric_info_nce(x, x, 0.05)), 4)  # perfectly matched pairs: loss near 0
    0.0
    """
    import torch

    logits = a @ b.T / temperature
    target = torch.arange(len(a))
    return (torch.nn.functional.cross_entropy(logits, target)
            + torch.nn.functional.cross_entropy(logits.T, target)) / 2

def hit_at_k(ranks: list[int] | np.ndarray, k: int = 10) -> float:
    """Share of held-out items ranked in the top ``k`` (ranks start at 0).

    >>> hit_at_k([0, 9, 10], k=10)
    0.6666666666666666
    """
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        raise ValueError("no ranks to score: the held-out set is empty")
    return float((ranks < k).mean())


def ndcg_at_k(ranks: list[int] | np.ndarray, k: int = 10) -> float:
    """NDCG@k with one relevant item per user: ``1/log2(rank+2)`` inside the top k, else 0.

    >>> ndcg_at_k([0]), round(ndcg_at_k([1]), 4), ndcg_at_k([10])
    (1.0, 0.6309, 0.0)
    """
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        raise ValueError("no ranks to score: the held-out set is empty")
    gains = np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(gains.mean())


@dataclass
class Split:
    """Training interactions and two held-out sets: ``warm`` (each user's latest interaction
    with an item seen in training) and ``cold`` (each user's latest interaction with an item
    that has no training interactions at all)."""

    train: pd.DataFrame
    warm: pd.DataFrame
    cold: pd.DataFrame
    cold_items: set[int]


def split_interactions(df: pd.DataFrame, cold_share: float = 0.1, seed: int = 0,
                       user: str = "user", item: str = "item", time: str = "timestamp") -> Split:
    """Hold out each user's latest interaction (``warm``) and make ``cold_share`` of the items
    cold: all their interactions leave training; each user's latest one with a cold item is
    the ``cold`` test.

    >>> df = pd.DataFrame({"user": [1, 1, 1, 2, 2, 2], "item": [10, 11, 12, 10, 12, 11],
    ...                    "timestamp": [1, 2, 3, 1, 2, 3]})
    >>> s = split_interactions(df, cold_share=0.0)
    >>> s.warm.item.tolist(), len(s.train), len(s.cold)
    ([12, 11], 4, 0)
    """
    for col in (user, item, time):
        if col not in df.columns:
            raise KeyError(f"column {col!r} not in the interactions (columns: {list(df.columns)})")
    rng = np.random.default_rng(seed)
    items = np.sort(df[item].unique())
    n_cold = int(round(cold_share * len(items)))
    cold_items = set(rng.choice(items, size=n_cold, replace=False).tolist()) if n_cold else set()
    is_cold = df[item].isin(cold_items)
    cold = df[is_cold].sort_values(time).groupby(user).tail(1)
    warm_pool = df[~is_cold].sort_values([user, time])
    warm = warm_pool.groupby(user).tail(1)
    train = warm_pool.drop(warm.index)
    warm = warm[warm[user].isin(train[user])]  # a user needs a history to be recommended to
    cold = cold[cold[user].isin(train[user])]
    return Split(train.reset_index(drop=True), warm.reset_index(drop=True),
                 cold.reset_index(drop=True), cold_items)


def profile_scores(item_vectors: np.ndarray, histories: list[list[int]]) -> np.ndarray:
    """Cosine similarity of every item to each user's profile (mean of the history's vectors).

    ``item_vectors`` are rows indexed by item position; each history lists item positions.

    >>> v = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    >>> profile_scores(v, [[0]]).round(2).tolist()
    [[1.0, 0.99, 0.0]]
    """
    v = item_vectors / np.maximum(np.linalg.norm(item_vectors, axis=1, keepdims=True), 1e-12)
    profiles = np.stack([v[h].mean(0) if len(h) else np.zeros(v.shape[1]) for h in histories])
    profiles /= np.maximum(np.linalg.norm(profiles, axis=1, keepdims=True), 1e-12)
    return profiles @ v.T


def rank_of_targets(scores: np.ndarray, targets: list[int], histories: list[list[int]]) -> np.ndarray:
    """Rank (0 = top) of each user's held-out item among all items the user does not have yet.
    Ties count against the target (a constant scorer gets no credit).

    >>> rank_of_targets(np.array([[0.1, 0.9, 0.5]]), [2], [[1]]).tolist()
    [0]
    >>> rank_of_targets(np.zeros((1, 3)), [2], [[]]).tolist()
    [2]
    """
    ranks = []
    for row, target, history in zip(scores, targets, histories, strict=True):
        row = row.astype(float).copy()
        row[history] = -np.inf
        ranks.append(int((row >= row[target]).sum() - 1))
    return np.asarray(ranks)


def co_engaged_pairs(train: pd.DataFrame, position: dict[int, int], max_pairs: int = 4000,
                     seed: int = 0, user: str = "user", item: str = "item",
                     time: str = "timestamp") -> list[tuple[int, int]]:
    """Pairs of item positions that one user engaged with one after the other: the positives
    for contrastive fine-tuning. At most ``max_pairs``, drawn without replacement.

    >>> df = pd.DataFrame({"user": [1, 1, 1], "item": [5, 6, 7], "timestamp": [1, 2, 3]})
    >>> co_engaged_pairs(df, {5: 0, 6: 1, 7: 2})
    [(0, 1), (1, 2)]
    """
    pairs = []
    for _, g in train.sort_values([user, time]).groupby(user):
        seq = [position[i] for i in g[item]]
        pairs += [(a, b) for a, b in zip(seq, seq[1:], strict=False) if a != b]
    if len(pairs) > max_pairs:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(pairs), size=max_pairs, replace=False))
        pairs = [pairs[i] for i in keep]
    return pairs


def _encode(model, tokenizer, texts: list[str], max_length: int) -> torch.Tensor:
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def contrastive_finetune(model, tokenizer, texts: list[str], pairs: list[tuple[int, int]],
                         steps: int = 100, batch_size: int = 32, lr: float = 3e-5,
                         temperature: float = 0.05, max_length: int = 32, seed: int = 0) -> list[float]:
    """Pull co-engaged items together: InfoNCE with in-batch negatives (each anchor's partner
    must score higher than every other partner in the batch), symmetric. Returns the losses.

    >>> from llmstart.models.pretrained import load_encoder
    >>> m, tok = load_encoder("minilm", verbose=False)
    >>> losses = contrastive_finetune(m, tok, ["a", "b", "c", "d"], [(0, 1), (2, 3)], steps=2, batch_size=2)
    >>> len(losses)
    2
    """
    if not pairs:
        raise ValueError("no co-engaged pairs to learn from")
    # Its own loop, not fit: each step draws pairs, not a loader's batch, and AdamW decays every weight as measured.
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        idx = rng.choice(len(pairs), size=min(batch_size, len(pairs)), replace=False)
        a = _encode(model, tokenizer, [texts[pairs[i][0]] for i in idx], max_length)
        b = _encode(model, tokenizer, [texts[pairs[i][1]] for i in idx], max_length)
        loss = symmetric_info_nce(a, b, temperature)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses


def contrastive_adapter(vectors: np.ndarray, pairs: list[tuple[int, int]], steps: int = 300,
                        batch_size: int = 256, lr: float = 1e-3, temperature: float = 0.05,
                        seed: int = 0) -> tuple[np.ndarray, list[float]]:
    """Fine-tune frozen embeddings cheaply: learn a linear map ``W`` (started at the identity) so that
    co-engaged items are closer after ``x @ W`` than other items of the batch (the same InfoNCE loss
    as :func:`contrastive_finetune`). Works for new items too: any item with text gets ``x @ W``.
    Returns ``(W, losses)``.

    >>> rng = np.random.default_rng(0)
    >>> v = rng.normal(size=(6, 4))
    >>> W, losses = contrastive_adapter(v, [(0, 1), (2, 3), (4, 5)], steps=50, batch_size=3)
    >>> W.shape, losses[-1] < losses[0]
    ((4, 4), True)
    """
    if not pairs:
        raise ValueError("no co-engaged pairs to learn from")
    # Its own loop, not fit: it trains one bare matrix (no module, no loader) with plain Adam, as measured.
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    x = torch.tensor(vectors, dtype=torch.float32)
    w = torch.nn.Parameter(torch.eye(x.shape[1]))
    optimizer = torch.optim.Adam([w], lr=lr)
    a_idx, b_idx = (torch.tensor(col) for col in zip(*pairs, strict=True))
    losses = []
    for _ in range(steps):
        pick = torch.from_numpy(rng.choice(len(pairs), size=min(batch_size, len(pairs)), replace=False))
        a = torch.nn.functional.normalize(x[a_idx[pick]] @ w, dim=-1)
        b = torch.nn.functional.normalize(x[b_idx[pick]] @ w, dim=-1)
        loss = symmetric_info_nce(a, b, temperature)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return w.detach().numpy(), losses


def chance_hit_at_k(n_items: int, histories: list[list[int]], k: int = 10) -> np.ndarray:
    """Each user's hit@k expected under *random* ranking: k over the films they can be shown.

    A recommender ranks every item the user has not liked in training (``rank_of_targets``), so
    a random order puts the held-out item in the top k with probability ``min(k, n) / n``, with
    n = ``n_items`` minus the user's training items. The mean is the chance level of hit@k; the
    per-user values pair with per-user hits in :func:`llmstart.evaluation.compare.compare_scores`.

    >>> chance_hit_at_k(100, [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], []], k=10).round(3).tolist()
    [0.111, 0.1]
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    candidates = np.array([n_items - len(set(h)) for h in histories], dtype=float)
    if (candidates < 1).any():
        raise ValueError("a user has no item left to rank: every item is in their history")
    return np.minimum(k, candidates) / candidates


def evaluate_ranks(ranks: np.ndarray, k: int = 10) -> dict[str, float]:
    """``{"hit@k": ..., "ndcg@k": ...}`` for one recommender on one held-out set.

    >>> evaluate_ranks(np.array([0, 20]))
    {'hit@10': 0.5, 'ndcg@10': 0.5}
    """
    return {f"hit@{k}": hit_at_k(ranks, k), f"ndcg@{k}": ndcg_at_k(ranks, k)}


__all__ = ["Split", "chance_hit_at_k", "co_engaged_pairs", "contrastive_adapter", "contrastive_finetune", "evaluate_ranks", "hit_at_k",
           "ndcg_at_k", "profile_scores", "rank_of_targets", "split_interactions"]
