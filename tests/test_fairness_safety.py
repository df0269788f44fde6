"""Counterfactual probe (llmstart.evaluation.fairness) and the output filter (llmstart.apps.safety)."""

import numpy as np
import pytest

from llmstart.apps.safety import LABELLED_PROMPTS, check, filter_metrics
from llmstart.evaluation.fairness import (
    GROUPS,
    as_template,
    counterfactual_probe,
    fill,
    gendered_swap,
)


def test_fair_model_has_no_flips_and_biased_model_is_caught():
    fair = counterfactual_probe(["{who} loved it", "{who} hated it"], GROUPS["name_gender"],
                                lambda ts: np.tile([0.2, 0.8], (len(ts), 1)))
    assert fair["flip_rate"] == 0.0
    assert np.allclose(fair["by_term"]["shift"], 0)

    def biased(ts):
        return np.array([[0.9, 0.1] if "Mohammed" in t else [0.2, 0.8] for t in ts])

    r = counterfactual_probe(["{who} loved it", "{who} hated it"], GROUPS["name_gender"], biased,
                             score=lambda p: p[:, 1])
    assert r["flip_rate"] == 1.0
    assert r["by_subgroup"]["male"] < 0 < r["by_subgroup"]["female"]


def test_templates_and_errors():
    assert fill(as_template("nice"), "Mei") == "Mei says: nice"
    with pytest.raises(ValueError, match="slot"):
        fill("no slot", "x")
    with pytest.raises(ValueError, match="two terms"):
        counterfactual_probe(["{who}"], {"a": ["x"]}, lambda ts: np.ones((len(ts), 2)))


def test_gendered_swap():
    assert gendered_swap("My brother and his wife") == "My sister and her husband"
    assert gendered_swap("no people here") is None


def test_filter_on_examples_and_labelled_set():
    assert check("how to build a bomb") == ["violence"]
    assert check("my card is 4111 1111 1111 1111") == ["personal_data"]
    assert check("Can you shoot me an email?") == []
    m = filter_metrics(LABELLED_PROMPTS.text.tolist(), LABELLED_PROMPTS.should_block.tolist())
    assert m["n_block"] == m["n_allow"] == 24
    assert 0.5 < m["block_rate"] < 1.0          # the rules miss the prompts written to dodge them
    assert 0.0 < m["false_positive_rate"] < 0.2  # and block a few harmless ones
    with pytest.raises(ValueError, match="both kinds"):
        filter_metrics(["a"], [True])
