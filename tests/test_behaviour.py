"""CheckList-style behavioural tests: the helpers, then (when a model is named) the model itself.

Run them against a trained sentiment model with
``LLMSTART_BEHAVIOUR_MODEL=path/to/model python -m pytest tests/test_behaviour.py``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from llmstart.evaluation import (
    add_negation,
    add_typo,
    change_numbers,
    directional,
    invariance,
    minimum_functionality,
    suite_summary,
    swap_names,
)


def keyword_model(texts):
    """Positive iff 'great' appears without 'not': a stand-in with known behaviour."""
    return np.array([[0.1, 0.9] if "great" in t and " not " not in f" {t} " else [0.8, 0.2] for t in texts])


def test_perturbations_change_only_what_they_say():
    assert swap_names("Maria met David") != "Maria met David"
    assert swap_names("no names here") == "no names here"
    changed = change_numbers("3 days and 12 hours")
    assert changed != "3 days and 12 hours" and changed.split()[1:3] == ["days", "and"]
    assert sorted(add_typo("wonderful")) == sorted("wonderful") and add_typo("wonderful") != "wonderful"
    assert add_negation("The staff were great") == "The staff were not great"


def test_helpers_catch_a_model_that_breaks_each_rule():
    assert invariance(keyword_model, ["Anna had a great day"], swap_names)["pass_rate"] == 1.0
    typo = invariance(keyword_model, ["a great day"] * 1, lambda t: t.replace("great", "graet"))
    assert typo["pass_rate"] == 0.0 and typo["failures"][0]["perturbed"] == "a graet day"
    assert directional(keyword_model, ["it was great"], add_negation, label=1, direction=-1)["pass_rate"] == 1.0
    assert directional(keyword_model, ["it was great"], add_negation, label=1, direction=1)["pass_rate"] == 0.0
    mft = minimum_functionality(keyword_model, [("great", 1), ("awful", 0), ("not great", 1)])
    assert mft["pass_rate"] == pytest.approx(2 / 3) and mft["failures"][0]["text"] == "not great"
    summary = suite_summary([typo, mft])
    assert not summary["ready"] and summary["pass_rate"] == pytest.approx(0.5)


MODEL = os.environ.get("LLMSTART_BEHAVIOUR_MODEL")


@pytest.mark.skipif(not MODEL, reason="set LLMSTART_BEHAVIOUR_MODEL to a trained sentiment model folder")
def test_trained_sentiment_model_passes_the_suite():
    from llmstart.evaluation.behaviour import sentiment_suite
    from llmstart.serve.engine import Engine

    engine = Engine.load(MODEL, "float")
    summary = suite_summary(sentiment_suite(engine.predict_proba, engine.labels))
    assert summary["ready"], summary
