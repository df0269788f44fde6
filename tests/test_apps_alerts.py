import numpy as np
import pandas as pd
import pytest

from llmstart.apps.alerts import (
    Event,
    alert_steps,
    injected_stream,
    judge_alerts,
    negative_share,
    smoothed_and_threshold,
)


def test_negative_share_per_step():
    share = negative_share([0, 0, 2, 2, 2], [True, True, False, True, False])
    assert share[0] == 1.0 and np.isnan(share[1]) and share[2] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="labels"):
        negative_share([0, 1], [True])


def test_rule_fires_on_a_jump_and_not_on_a_flat_series():
    rng = np.random.default_rng(0)
    flat = 0.2 + rng.normal(0, 0.01, 200)
    assert alert_steps(flat, window=3, history=24, z=4) == []
    jump = flat.copy()
    jump[120:130] = 0.6
    alerts = alert_steps(jump, window=3, history=24, z=4, cooldown=20)
    assert alerts and 120 <= alerts[0] <= 122 and len(alerts) == 1


def test_threshold_uses_only_the_past():
    share = np.r_[np.full(40, 0.1), np.full(5, 0.9)]
    _, threshold = smoothed_and_threshold(share, window=2, history=10)
    assert threshold[41] == pytest.approx(threshold[39])  # the jump has not entered the history


def test_judge_alerts_precision_and_lead():
    out = judge_alerts([10, 12, 50], [Event(8, 15), Event(40, 45)], grace=2)
    assert out["precision"] == pytest.approx(2 / 3)
    assert out["events_caught"] == 0.5 and out["mean_lead_time"] == 5.0
    assert np.isnan(judge_alerts([], [Event(1, 2)])["precision"])


def test_injected_stream_raises_negative_share_inside_events():
    labels = pd.Series(["negative"] * 20 + ["neutral"] * 80)
    s = injected_stream(labels, n_steps=40, per_step=100, events=[Event(20, 25)], peak_share=0.7)
    share = (labels[s["index"]].to_numpy() == "negative").reshape(40, 100).mean(1)
    assert share[:20].mean() < 0.3 and share[25:30].mean() > 0.55
    assert s.injected.groupby(s.step).first()[20:30].all()
