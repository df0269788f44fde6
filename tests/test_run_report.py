"""What `train` says about its run: the kept step and why, and the warnings a user should read."""

from __future__ import annotations

from llmstart.train import History
from llmstart.train.run_report import kept_step_line, prediction_warnings, run_warnings


def test_a_label_the_model_never_predicts_is_named():
    gold = [0] * 30 + [1] * 6 + [2] * 6
    pred = [0] * 36 + [2] * 6  # never 'negative'
    (warning,) = prediction_warnings(gold, pred, ["neutral", "negative", "positive"])
    assert "'negative'" in warning and "'positive'" not in warning and "(6 rows)" in warning
    assert "'neutral', is 71%" in warning


def test_no_warning_when_every_label_is_predicted_or_too_rare_to_tell():
    assert prediction_warnings([0, 1, 2] * 5, [0, 1, 2] * 5, ["a", "b", "c"]) == []
    assert prediction_warnings([0] * 20 + [1] * 4, [0] * 24, ["a", "b"]) == []  # 4 rows: below min_rows


def test_a_run_that_peaks_first_is_warned_about_and_the_kept_step_said():
    h = History(metric="loss", best_step=10, best_metric=0.3, steps=[{"step": 60, "loss": 0.1}],
                evals=[{"step": 10, "epoch": 1, "loss": 0.3}, {"step": 20, "epoch": 2, "loss": 0.4},
                       {"step": 30, "epoch": 3, "loss": 0.5}], stopped_early=True)
    assert any("first evaluation" in w for w in run_warnings(h, epochs_cap=10))
    assert kept_step_line(h).startswith("kept step 10 (epoch 1 of 3), not the last step 30")


def test_one_label_for_every_text_is_called_a_collapsed_run_unless_it_is_the_majority():
    """BBC at --max-length 512 (session 6) ended with one topic for all 426 test articles: that is a
    failed run, and the imbalance advice (--class-weights) would send the user the wrong way."""
    gold = [0, 1, 2, 3, 4] * 10
    (warning,) = prediction_warnings(gold, [2] * 50, ["business", "entertainment", "politics", "sport", "tech"])
    assert "every test text the same label, 'politics' (10 of 50 rows)" in warning
    assert "--lr" in warning and "--class-weights" not in warning
    (majority,) = prediction_warnings([0] * 40 + [1] * 10, [0] * 50, ["neutral", "negative"])  # imbalance
    assert "--class-weights balanced" in majority and "collapsed" not in majority
