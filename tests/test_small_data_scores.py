"""Scores and hand-over that mean something on small data (issue 23, item 7): the temperature
kept at 1 unless validation supports a fitted one, an abstain threshold that answers almost
nothing (or sits at 1.0) reported as not reached, and `predict`, `TextClassifier` and `serve`
answering one score under one name."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from conftest import tiny_bert
from llmstart.cli import main
from llmstart.evaluation import choose_temperature, pick_abstain_threshold, softmax
from llmstart.evaluation.abstain import format_confidence
from llmstart.evaluation.calibration import TEMPERATURE_BOUNDS

TEAMS = {
    "account": ["username", "profile", "delete my account", "email address", "two-factor", "account settings",
                "privacy", "sign-up"],
    "billing": ["invoice", "refund", "charged twice", "payment", "credit card", "receipt", "subscription fee", "VAT"],
    "shipping": ["parcel", "delivery", "courier", "tracking number", "package", "shipment", "arrived late",
                 "address label"],
    "technical": ["app crashes", "error message", "login page", "password reset", "bug", "screen freezes",
                  "sync fails", "update"],
}
OUT_OF_SCOPE = ["asdf qwerty", "zxcv bnm lkjh", "What is the capital of France?", "Tell me a joke about cats",
                "Can you recommend a good pizza place nearby?", "the weather is nice today"]


def tickets(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Short support tickets in 4 teams, perfectly separable: each names two of its team's topics."""
    rng = random.Random(seed)
    opening, middle = ["Hi,", "Hello,", "Help:", "Urgent:", "Hey team,", ""], [
        "my {a} and the {b}", "problem with the {a}", "the {a} is wrong, also {b}", "please check the {a}",
        "can you look at my {a}?", "{a} issue again", "about the {a} and {b}"]
    rows = []
    for i in range(n):
        team = sorted(TEAMS)[i % 4]
        a, b = rng.sample(TEAMS[team], 2)
        rows.append({"text": f"{rng.choice(opening)} {rng.choice(middle).format(a=a, b=b)} #{i}".strip(),
                     "team": team})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the temperature


def overconfident(n: int, accuracy: float, margin: float, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    pred = np.where(rng.random(n) < accuracy, y, (y + rng.integers(1, 4, n)) % 4)
    return np.eye(4)[pred] * margin + rng.normal(0, 0.3, (n, 4)), y


def test_a_perfectly_separated_validation_set_keeps_t_1_not_the_sharpening_fit():
    y = np.arange(30) % 4
    logits = np.eye(4)[y] * 5 + np.random.default_rng(0).normal(0, 0.5, (30, 4))  # all right
    choice = choose_temperature(logits, y)
    assert choice["temperature"] == 1.0 and choice["kept"] == "T=1" and choice["errors"] == 0
    assert "wrong on 0 of 30" in choice["reason"]


def test_too_few_rows_keep_t_1_and_enough_evidence_fits_a_bounded_t():
    few = overconfident(15, 0.6, 6.0, seed=1)
    assert choose_temperature(*few)["temperature"] == 1.0  # 15 rows < 20, even with errors
    many = choose_temperature(*overconfident(400, 0.7, 4.0, seed=2))  # right 70 %, claims ~98 %
    assert many["kept"] == "fitted" and 1.5 < many["temperature"] < TEMPERATURE_BOUNDS[1]
    assert many["cv"]["low"] > 0 and "cross-validation" in many["reason"]
    extreme = choose_temperature(*overconfident(400, 0.5, 40.0, seed=3))  # unbounded it would be ~40
    assert extreme["temperature"] == pytest.approx(TEMPERATURE_BOUNDS[1], rel=1e-3)
    assert "at the edge of [0.5, 5]" in extreme["reason"]


def test_a_fit_that_does_not_help_held_out_rows_keeps_t_1():
    # calibrated already: right 80 % of the time at ~80 % confidence; the fitted T is near 1 and
    # its held-out gain is inside the noise
    rng = np.random.default_rng(4)
    n = 300
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    logits = np.eye(2)[pred] * np.log(4)  # softmax gives 0.8
    choice = choose_temperature(logits, y)
    assert choice["kept"] == "T=1" and choice["temperature"] == 1.0 and choice["fitted"] is not None
    assert choice["cv"]["low"] <= 0 and "no detectable improvement" in choice["reason"]


# --------------------------------------------------------------------------- the abstain threshold


def test_a_threshold_answering_3_of_91_is_not_reached_and_says_what_to_do():
    probs = np.array([[0.99, 0.01]] * 3 + [[0.7, 0.3]] * 88)
    y = np.array([0] * 3 + [0] * 40 + [1] * 48)  # the 3 most confident right, then a coin flip
    pick = pick_abstain_threshold(probs, y, 0.9)
    assert not pick["reached"] and pick["answered"] == 3
    assert "3 of 91" in pick["why"] and "validation rows" in pick["advice"] and "precision target" in pick["advice"]


def test_a_threshold_at_the_top_of_the_scale_is_not_reached():
    probs = softmax(np.array([[30.0, 0.0]] * 60 + [[2.0, 0.0]] * 40))
    y = np.array([0] * 60 + [0] * 20 + [1] * 20)
    pick = pick_abstain_threshold(probs, y, 0.9)
    assert not pick["reached"] and "saturated" in pick["why"]
    assert pick_abstain_threshold(probs, y, 0.7)["reached"]  # a lower target is reachable


def test_a_confidence_below_1_never_prints_as_1():
    assert format_confidence(0.9999999999999287) != "1.000" and float(format_confidence(0.99996)) < 1


# --------------------------------------------------------------------------- one score, one name


TEXTS = ["asdf qwerty", "refund for my invoice", "my parcel arrived late and the courier", "app crashes", "hi"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory, tokenizer):
    """A saved 4-label classifier whose serving.json sets a temperature and a threshold."""
    from llmstart.evaluation import write_serving_settings
    from llmstart.serve.classifier import TextClassifier
    from llmstart.train import save_model

    folder = save_model(tiny_bert(num_labels=4), tmp_path_factory.mktemp("scores") / "clf", tokenizer)
    write_serving_settings(folder, temperature=0.2)  # sharpened, so the scores spread
    scores = sorted(r["score"] for r in TextClassifier.load(folder).predict(TEXTS))
    write_serving_settings(folder, temperature=0.2, abstain_threshold=(scores[1] + scores[2]) / 2)  # 2 abstain
    return folder


def test_predict_serve_and_textclassifier_answer_one_score_under_one_name(folder, capsys):
    from fastapi.testclient import TestClient

    from llmstart.serve.app import create_app
    from llmstart.serve.classifier import TextClassifier
    from llmstart.serve.engine import Engine

    capsys.readouterr()
    assert main(["predict", "--model", str(folder), "--json", "--precision", "fp32", *TEXTS]) == 0
    cli = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    lib = TextClassifier.load(folder, precision="fp32").predict(TEXTS)
    with TestClient(create_app(Engine.load(folder, "float", threads=1))) as client:
        served = client.post("/v1/classify", json={"texts": TEXTS}).json()["predictions"]
    assert sum(s["abstain"] for s in served) == 2  # both sides of the threshold are compared
    for c, t, s in zip(cli, lib, served, strict=True):
        assert set(s) == {"label", "score", "abstain", "scores"} and set(t) == set(s) and set(c) == {"text", *s}
        assert c["label"] == t["label"] == s["label"] and c["abstain"] == t["abstain"] == s["abstain"]
        assert abs(c["score"] - s["score"]) < 1e-5 and abs(t["score"] - s["score"]) < 1e-5
        assert t["scores"] == pytest.approx(s["scores"], abs=1e-5) == c["scores"]


def test_the_temperature_is_applied_by_predict_and_serve_or_by_neither(folder, tmp_path):
    import shutil

    from llmstart.serve.classifier import TextClassifier
    from llmstart.serve.engine import Engine

    plain = shutil.copytree(folder, tmp_path / "plain")
    (plain / "serving.json").unlink()  # no serving.json: T = 1, never abstain
    sharp = TextClassifier.load(folder, precision="fp32").predict(TEXTS)
    flat = TextClassifier.load(plain, precision="fp32").predict(TEXTS)
    assert all(s["score"] > f["score"] + 0.01 for s, f in zip(sharp, flat, strict=True))  # T = 0.2 sharpens
    assert not any(f["abstain"] for f in flat)
    np.testing.assert_allclose([f["score"] for f in flat], Engine.load(plain, "float", threads=1).predict_proba(
        TEXTS).max(1), atol=1e-5)


def test_predict_csv_names_the_column_score(folder, tmp_path):
    pd.DataFrame({"text": TEXTS}).to_csv(tmp_path / "in.csv", index=False)
    assert main(["predict", "--model", str(folder), "--data", str(tmp_path / "in.csv"), "--precision", "fp32",
                 "--out", str(tmp_path / "out.csv")]) == 0
    assert pd.read_csv(tmp_path / "out.csv").columns.tolist() == ["text", "label", "score"]


# --------------------------------------------------------------------------- end to end, the real model


@pytest.mark.slow
def test_separable_tickets_keep_t_1_and_serve_scores_below_1_with_a_hand_over(tmp_path, capsys):
    """The issue's run: 300 separable tickets in 4 teams, `train` with its defaults (MiniLM)."""
    tickets().to_csv(tmp_path / "tickets.csv", index=False)
    assert main(["train", "--data", str(tmp_path / "tickets.csv"), "--label-col", "team", "--out",
                 str(tmp_path / "clf"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "clf"
    settings = json.loads((folder / "serving.json").read_text())
    report = json.loads((folder / "evaluation" / "report.json").read_text())
    assert report["abstain"]["validation_errors"] == 0  # perfectly separated validation
    # no validation errors: no temperature can be fitted, T = 1 is kept, and train says why
    assert settings["temperature"] == 1.0 and settings["temperature_choice"]["kept"] == "T=1"
    assert "calibration: kept T = 1: the model is wrong on 0 of 30 validation rows" in out
    assert "made test calibration worse" not in out and "confidence 1.000" not in out
    from llmstart.serve.classifier import TextClassifier

    clf = TextClassifier.load(folder, precision="fp32")
    odd = clf.predict(OUT_OF_SCOPE)
    assert max(r["score"] for r in odd) < 0.995  # nonsense is not scored as certain
    assert max(settings["reference"]["confidences"]) < 1.0  # nor is the drift reference all 1.0
    if settings["abstain"]["reached"]:
        assert 0.5 < settings["abstain_threshold"] < 0.999
        assert f"abstain below confidence {format_confidence(settings['abstain_threshold'])}" in out
        assert "validation has no wrong predictions, so the threshold is its lowest confidence" in out
        assert sum(r["abstain"] for r in odd) >= len(OUT_OF_SCOPE) - 1  # out-of-scope texts are handed over
        assert report["abstain"]["test"]["coverage"] >= 0.8  # ... and most in-scope tickets are answered
    else:  # or train says plainly that it cannot abstain
        assert settings["abstain_threshold"] == 0.0 and "warning: cannot abstain" in out
