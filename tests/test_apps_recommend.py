import numpy as np
import pandas as pd
import pytest

from llmstart.apps.recommend import (
    chance_hit_at_k,
    co_engaged_pairs,
    evaluate_ranks,
    hit_at_k,
    ndcg_at_k,
    profile_scores,
    rank_of_targets,
    split_interactions,
)


def test_metrics_on_known_ranks():
    assert hit_at_k([0, 5, 10, 50], k=10) == 0.5
    assert ndcg_at_k([0, 0]) == 1.0
    assert ndcg_at_k([1]) == pytest.approx(1 / np.log2(3))
    assert ndcg_at_k([10, 11], k=10) == 0.0
    with pytest.raises(ValueError, match="empty"):
        hit_at_k([])


def test_rank_excludes_history_and_ties_count_against_target():
    scores = np.array([[0.9, 0.5, 0.5, 0.1]])
    # item 0 is in the history: the target (2) ties with item 1 -> rank 1
    assert rank_of_targets(scores, [2], [[0]]).tolist() == [1]
    assert evaluate_ranks(np.array([0, 3, 30]), k=10)["hit@10"] == pytest.approx(2 / 3)


def test_split_keeps_cold_items_out_of_training():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"user": rng.integers(0, 30, 600), "item": rng.integers(0, 50, 600),
                       "timestamp": np.arange(600)})
    s = split_interactions(df, cold_share=0.2, seed=1)
    assert len(s.cold_items) == 10
    assert not s.train.item.isin(s.cold_items).any()
    assert not s.warm.item.isin(s.cold_items).any()
    assert s.cold.item.isin(s.cold_items).all()
    # the warm test is each user's latest warm interaction: later than all of its training rows
    last_train = s.train.groupby("user").timestamp.max()
    assert (s.warm.set_index("user").timestamp > last_train.reindex(s.warm.user).values).all()
    with pytest.raises(KeyError, match="timestamp"):
        split_interactions(df.drop(columns="timestamp"))


def test_profile_scores_prefer_similar_items_and_pairs_follow_time():
    v = np.array([[1.0, 0.0], [0.8, 0.2], [0.0, 1.0]])
    s = profile_scores(v, [[0], [2]])
    assert s[0, 1] > s[0, 2] and s[1, 2] > s[1, 0]
    df = pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": [7, 5, 6, 5, 5], "timestamp": [3, 1, 2, 1, 2]})
    assert co_engaged_pairs(df, {5: 0, 6: 1, 7: 2}) == [(0, 1), (1, 2)]


def test_contrastive_adapter_pulls_pairs_together_and_starts_at_identity():
    from llmstart.apps.recommend import contrastive_adapter

    rng = np.random.default_rng(0)
    v = rng.normal(size=(20, 8))
    pairs = [(i, i + 10) for i in range(10)]
    W0, _ = contrastive_adapter(v, pairs, steps=1, lr=0.0)
    assert np.allclose(W0, np.eye(8))
    W, losses = contrastive_adapter(v, pairs, steps=200, batch_size=10, lr=1e-2)

    def mean_partner_rank(x):
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        return np.mean([(x[a] @ x.T > x[a] @ x[b]).sum() - 1 for a, b in pairs])

    assert mean_partner_rank(v @ W) < mean_partner_rank(v) / 3 and losses[-1] < losses[0]
    with pytest.raises(ValueError, match="pairs"):
        contrastive_adapter(v, [])


def test_chance_hit_matches_random_rankings():
    rng = np.random.default_rng(0)
    n_items, histories = 50, [list(range(10)), [], list(range(45))]
    expected = chance_hit_at_k(n_items, histories, k=10)
    assert expected.tolist() == [10 / 40, 10 / 50, 1.0]
    targets = [20, 20, 47]
    hits = np.zeros(3)
    for _ in range(4000):
        scores = rng.random((3, n_items))
        hits += rank_of_targets(scores, targets, histories) < 10
    assert np.allclose(hits / 4000, expected, atol=0.03)


def test_chance_hit_refuses_a_user_with_nothing_to_rank():
    with pytest.raises(ValueError, match="no item left"):
        chance_hit_at_k(3, [[0, 1, 2]])
