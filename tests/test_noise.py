"""Seed-to-seed noise summaries used by the worked solutions."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from llmstart.lessons.noise import noise, noise_table, over_seeds


def test_noise_statistics():
    n = noise([0.7, 0.8, 0.9])
    assert math.isclose(n.mean, 0.8) and math.isclose(n.std, 0.1) and math.isclose(n.spread, 0.2)
    assert str(n) == "0.800 ± 0.100 (3 seeds, range 0.700–0.900)"
    assert noise([0.5]).std == 0.0 and noise([0.5]).spread == 0.0


def test_noise_rejects_empty_and_nan():
    with pytest.raises(ValueError, match="at least one"):
        noise([])
    with pytest.raises(ValueError, match="NaN"):
        noise([0.5, float("nan")])


def test_over_seeds_passes_each_seed_and_labels_rows():
    seen = []
    runs = over_seeds(lambda s: seen.append(s) or {"acc": 1 - s / 10}, seeds=(3, 5), method="x")
    assert seen == [3, 5]
    assert list(runs.columns) == ["seed", "method", "acc"] and runs.acc.tolist() == [0.7, 0.5]
    with pytest.raises(ValueError):
        over_seeds(lambda s: {}, seeds=())


def test_noise_table_keeps_order_and_counts():
    runs = pd.DataFrame({"m": ["b", "b", "a"], "acc": [0.4, 0.6, 0.9]})
    table = noise_table(runs, "m", "acc")
    assert table.index.tolist() == ["b", "a"]
    assert table.loc["b", "runs"] == 2 and math.isclose(table.loc["b", "mean"], 0.5)
    assert table.loc["a", "std"] == 0.0  # one run: no spread, not NaN
    with pytest.raises(KeyError, match="no column 'f1'"):
        noise_table(runs, "m", "f1")

