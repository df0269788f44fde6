"""A sentiment monitor's alert rule and how to judge it.

The rule: in each time step, compute the share of negative items; smooth it over a rolling
window; raise an alert when the smoothed share exceeds its own trailing history by
``z`` standard deviations (history = the ``history`` steps before the window, so an event
does not hide itself by raising its own baseline). After an alert the rule stays quiet for
``cooldown`` steps.

Judging it needs known events, each with an ``onset`` (when the negative talk starts) and a
``news`` time (when the event becomes public). An alert in ``[onset, news + grace]`` is a
true alert for that event; *lead time* is ``news - first true alert`` (positive: the
monitor was earlier than the news).

>>> import numpy as np
>>> share = np.r_[np.full(30, 0.1), np.full(5, 0.6), np.full(10, 0.1)]
>>> alert_steps(share, window=2, history=10, z=3.0)
[30]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def negative_share(steps: np.ndarray | list[int], is_negative: np.ndarray | list[bool],
                   n_steps: int | None = None) -> np.ndarray:
    """Share of negative items per time step (steps with no item get NaN).

    >>> negative_share([0, 0, 1, 1], [True, False, False, False]).tolist()
    [0.5, 0.0]
    """
    steps, neg = np.asarray(steps, dtype=int), np.asarray(is_negative, dtype=float)
    if steps.shape != neg.shape:
        raise ValueError(f"{steps.size} time steps for {neg.size} labels")
    n = int(steps.max()) + 1 if n_steps is None else n_steps
    total = np.bincount(steps, minlength=n).astype(float)
    negatives = np.bincount(steps, weights=neg, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, negatives / np.maximum(total, 1), np.nan)


def smoothed_and_threshold(share: np.ndarray, window: int = 3, history: int = 24,
                           z: float = 3.0, min_std: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """The rolling mean of ``share`` and the alert threshold at each step (NaN until enough
    history): mean + ``z`` * std of the smoothed share over the ``history`` steps that end
    where the current window starts; the std is floored at ``min_std``.

    >>> s, t = smoothed_and_threshold(np.r_[np.full(20, 0.1), [0.5]], window=1, history=10)
    >>> round(float(s[-1]), 2), round(float(t[-1]), 2)
    (0.5, 0.16)
    """
    smooth = pd.Series(share).rolling(window, min_periods=1).mean()
    past = smooth.shift(window)
    mean = past.rolling(history, min_periods=history).mean()
    std = past.rolling(history, min_periods=history).std().clip(lower=min_std)
    return smooth.to_numpy(), (mean + z * std).to_numpy()


def alert_steps(share: np.ndarray, window: int = 3, history: int = 24, z: float = 3.0,
                cooldown: int = 6, min_std: float = 0.02) -> list[int]:
    """Steps at which the rule fires (see the module docstring).

    >>> alert_steps(np.full(50, 0.2), history=10)
    []
    """
    smooth, threshold = smoothed_and_threshold(share, window, history, z, min_std)
    alerts, quiet_until = [], -1
    for t, (s, th) in enumerate(zip(smooth, threshold, strict=True)):
        if t > quiet_until and not np.isnan(th) and s > th:
            alerts.append(t)
            quiet_until = t + cooldown
    return alerts


@dataclass(frozen=True)
class Event:
    """A known event: negative talk starts at ``onset``; the news breaks at ``news``."""

    onset: int
    news: int


def judge_alerts(alerts: list[int], events: list[Event], grace: int = 2) -> dict[str, float]:
    """Precision of the alerts, share of events caught, and mean lead time (``news`` minus
    the first true alert, in steps) over the caught events.

    >>> judge_alerts([5, 20, 40], [Event(4, 8), Event(30, 34)])
    {'alerts': 3, 'precision': 0.3333333333333333, 'events_caught': 0.5, 'mean_lead_time': 3.0}
    """
    true_alerts, leads = set(), []
    for e in events:
        hits = [a for a in alerts if e.onset <= a <= e.news + grace]
        true_alerts.update(hits)
        if hits:
            leads.append(e.news - min(hits))
    return {"alerts": len(alerts),
            "precision": len(true_alerts) / len(alerts) if alerts else float("nan"),
            "events_caught": len(leads) / len(events) if events else float("nan"),
            "mean_lead_time": float(np.mean(leads)) if leads else float("nan")}


def injected_stream(labels: pd.Series, n_steps: int, per_step: int, events: list[Event],
                    peak_share: float = 0.6, seed: int = 0) -> pd.DataFrame:
    """An **injected** stream for testing an alert rule: each step draws ``per_step`` items
    (indices of ``labels``, with replacement) at the corpus's own negative share, except during
    events, when the negative share ramps linearly from the base at ``onset`` to
    ``peak_share`` at ``news`` and stays there for as long as the ramp took.
    Columns: ``step, index, injected`` (``injected`` marks steps inside an event).

    >>> labels = pd.Series(["negative"] * 10 + ["neutral"] * 90)
    >>> s = injected_stream(labels, n_steps=20, per_step=50, events=[Event(10, 14)])
    >>> bool((labels[s["index"]] == "negative").groupby(s.step.values).mean()[14] > 0.4)
    True
    """
    rng = np.random.default_rng(seed)
    neg = np.flatnonzero(labels.to_numpy() == "negative")
    other = np.flatnonzero(labels.to_numpy() != "negative")
    if len(neg) == 0 or len(other) == 0:
        raise ValueError("the labels need both negative and other items to build a stream")
    base = len(neg) / len(labels)
    target = np.full(n_steps, base)
    inside = np.zeros(n_steps, dtype=bool)
    for e in events:
        ramp = max(e.news - e.onset, 1)
        for t in range(e.onset, min(e.news + ramp, n_steps)):
            target[t] = base + (peak_share - base) * min((t - e.onset) / ramp, 1.0)
            inside[t] = True
    rows = []
    for t in range(n_steps):
        n_neg = rng.binomial(per_step, target[t])
        picked = np.r_[rng.choice(neg, n_neg), rng.choice(other, per_step - n_neg)]
        rows += [(t, int(i), bool(inside[t])) for i in picked]
    return pd.DataFrame(rows, columns=["step", "index", "injected"])
