"""The default training settings: each rule, and explicit flags winning over it."""

from __future__ import annotations

import math

import pytest

from llmstart.train.recipe import MIN_VAL_FOR_F1, choose_recipe, search_lr


@pytest.mark.parametrize(("n_val", "metric", "patience"), [(MIN_VAL_FOR_F1 - 1, "loss", 3), (MIN_VAL_FOR_F1, "macro_f1", 2)])
def test_a_small_validation_set_chooses_by_loss(n_val, metric, patience):
    r = choose_recipe(n_params=22_700_000, n_train=1_000, n_val=n_val)
    assert (r.metric, r.patience) == (metric, patience)
    assert str(n_val) in r.reasons["metric"]


def test_the_epoch_cap_gives_enough_steps_and_stays_within_bounds():
    for n_train in [50, 300, 700, 1_500, 5_000, 100_000]:
        r = choose_recipe(n_params=22_700_000, n_train=n_train, n_val=100)
        steps = r.epochs * math.ceil(n_train / r.batch_size)
        assert 3 <= r.epochs <= 20
        assert steps >= 600 or r.epochs == 20


def test_explicit_settings_win_and_are_not_explained_as_rules():
    r = choose_recipe(n_params=22_700_000, n_train=300, n_val=40, lr=2e-4, batch_size=8, epochs=5, patience=1,
                      metric="accuracy")
    assert (r.lr, r.batch_size, r.epochs, r.patience, r.metric) == (2e-4, 8, 5, 1, "accuracy")
    assert r.reasons == {}
    assert r.to_dict()["metric"] == "accuracy"


def test_lr_search_never_picks_a_diverged_run():
    losses = {0.5: float("nan"), 1.0: 0.6, 2.0: 0.4}
    best, table = search_lr(lambda lr: losses[lr / 1e-4], 1e-4, factors=(0.5, 1.0, 2.0))
    assert best == 2e-4 and len(table) == 3
    best, _ = search_lr(lambda lr: float("nan"), 1e-4, factors=(1.0, 2.0))
    assert best == 1e-4
