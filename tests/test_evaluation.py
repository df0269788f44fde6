"""Evaluation before shipping: calibration, temperature, abstain threshold, slices, label errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llmstart.evaluation import (
    abstain_summary,
    ece,
    evaluation_report,
    fit_temperature,
    likely_label_errors,
    pick_abstain_threshold,
    softmax,
    write_report,
)


def overconfident(n=2000, seed=0):
    """Logits of a model that is right 70 % of the time but claims ~95 %."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    pred = np.where(rng.random(n) < 0.7, y, (y + rng.integers(1, 3, n)) % 3)
    logits = rng.normal(0, 0.3, (n, 3))
    logits[np.arange(n), pred] += 4.0
    return logits, y


def test_temperature_fitted_on_validation_lowers_ece_on_test():
    val_logits, val_y = overconfident(seed=1)
    test_logits, test_y = overconfident(seed=2)
    t = fit_temperature(val_logits, val_y)
    before, after = ece(softmax(test_logits), test_y), ece(softmax(test_logits / t), test_y)
    assert t > 1.5 and before > 0.2 and after < 0.05
    assert (softmax(test_logits / t).argmax(1) == test_logits.argmax(1)).all()  # labels unchanged


def test_abstain_threshold_reaches_target_precision_on_validation():
    logits, y = overconfident(seed=3)
    rng = np.random.default_rng(0)
    spread = rng.uniform(0.2, 1.5, (len(y), 1))  # spread the confidences...
    degenerate = pick_abstain_threshold(softmax(logits * spread), y, 0.8)  # ...at random: only the top 1 reaches 0.8
    assert not degenerate["reached"] and degenerate["answered"] == 1 and "answers only 1 of 2000" in degenerate["why"]
    right = (logits.argmax(1) == y)[:, None]
    logits = logits * (spread + 0.4 * right)  # ...and the right ones a little higher, as a useful model ranks them
    probs = softmax(logits)
    pick = pick_abstain_threshold(probs, y, 0.8)
    assert pick["reached"] and pick["precision"] >= 0.8 and 0 < pick["coverage"] < 1
    lower = abstain_summary(probs, y, pick["threshold"] - 1e-3)  # any lower threshold misses the target
    assert lower["precision"] < 0.8 or lower["coverage"] == pick["coverage"]
    with pytest.raises(ValueError, match="target_precision"):
        pick_abstain_threshold(probs, y, 1.5)


def test_likely_label_errors_find_flipped_labels():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, 400)
    probs = np.where(y_true[:, None] == np.arange(2), 0.9, 0.1) + rng.normal(0, 0.02, (400, 2))
    probs = probs / probs.sum(1, keepdims=True)
    y_given = y_true.copy()
    flipped = rng.choice(400, 20, replace=False)
    y_given[flipped] = 1 - y_given[flipped]
    texts = [str(i) for i in range(400)]
    found = {int(e["text"]) for e in likely_label_errors(texts, y_given, probs, ["a", "b"], k=50)}
    assert found == set(flipped.tolist())


def test_report_has_every_section_and_writes_json_and_figure(tmp_path):
    logits, y = overconfident(300, seed=4)
    val_logits, val_y = overconfident(300, seed=5)
    texts = [("word " * (i % 40)) + str(i) for i in range(300)]
    report = evaluation_report(texts, y, logits, ["neg", "neu", "pos"], val_logits=val_logits,
                               val_y=val_y, columns={"source": ["app", "web"] * 150})
    assert {r["slice"] for r in report["slices"]} >= {"all", "short texts", "long texts", "source=app"}
    assert report["calibration"]["fitted_on"] == "validation"
    assert report["calibration"]["ece_after"] < report["calibration"]["ece_before"]
    assert len(report["confident_mistakes"]) == 10
    assert all(m["label"] != m["predicted"] for m in report["confident_mistakes"])
    assert [r["label"] for r in report["per_class"]] == ["neg", "neu", "pos"]
    path = write_report(report, tmp_path / "eval")
    assert json.loads(path.read_text())["n"] == 300 and (tmp_path / "eval" / "reliability.png").stat().st_size > 1000
