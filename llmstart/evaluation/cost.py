"""What it costs: serving a million requests, and one fine-tuning run, from measured speed.

A cost estimate is only as good as the throughput it starts from, so every function here takes
a *measured* rate (requests or samples per second, from the load test or ``History``) and an
hourly price you state (your cloud's price list; the defaults are examples, not quotes).

>>> est = serving_cost(requests_per_second=100.0, hourly_price=0.05)
>>> round(est["hours"], 2), round(est["cost"], 4)
(2.78, 0.1389)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

__all__ = ["serving_cost", "training_cost", "measure_rate", "spread", "machine_load", "EXAMPLE_PRICES"]

# Example hourly prices in USD, for the notebook's table only: replace them with your provider's.
EXAMPLE_PRICES = {"cpu core": 0.04, "gpu (T4 class)": 0.50}


def serving_cost(requests_per_second: float, hourly_price: float, requests: float = 1_000_000,
                 utilisation: float = 1.0) -> dict:
    """Hours and money to serve ``requests`` at a measured rate and a stated hourly price.

    ``utilisation`` below 1 accounts for idle capacity (traffic is not flat): at 0.5 you pay for
    twice the busy time.

    >>> serving_cost(50.0, 1.0, requests=180_000, utilisation=0.5)["cost"]
    2.0
    """
    if requests_per_second <= 0 or hourly_price < 0 or not 0 < utilisation <= 1:
        raise ValueError("need requests_per_second > 0, hourly_price >= 0 and 0 < utilisation <= 1")
    hours = requests / requests_per_second / 3600 / utilisation
    return {"requests": requests, "requests_per_second": requests_per_second, "hours": hours,
            "hourly_price": hourly_price, "cost": hours * hourly_price,
            "cost_per_million": hourly_price / requests_per_second / 3600 / utilisation * 1e6}


def training_cost(samples: int, epochs: float, samples_per_second: float, hourly_price: float) -> dict:
    """Hours and money for a fine-tuning run: ``samples * epochs`` at a measured samples/s.

    >>> training_cost(3600, 2, 2.0, 0.5)["cost"]
    0.5
    """
    if samples_per_second <= 0 or samples < 0 or epochs < 0:
        raise ValueError("need samples_per_second > 0 and non-negative samples and epochs")
    seconds = samples * epochs / samples_per_second
    return {"samples": samples, "epochs": epochs, "samples_per_second": samples_per_second,
            "seconds": seconds, "hours": seconds / 3600, "hourly_price": hourly_price,
            "cost": seconds / 3600 * hourly_price}


def measure_rate(work: Callable[[], int], repeats: int = 3, clock: Callable[[], float] = time.perf_counter
                 ) -> float:
    """Items per second of ``work()`` (which returns how many items it processed), best of ``repeats``.

    Pass ``clock=time.process_time`` to count only this process's CPU time (steadier on a
    shared machine; it is what a dedicated core would take).

    >>> measure_rate(lambda: sum(range(10_000)) and 10_000) > 0
    True
    """
    best = 0.0
    for _ in range(repeats):
        start = clock()
        n = work()
        elapsed = max(clock() - start, 1e-9)
        best = max(best, n / elapsed)
    return best


def spread(values, unit: str = "", digits: int = 1) -> dict:
    """Median and range of repeated timings, and the line to print: a time-based figure moves
    with machine load (another job on the cores can slow a run 3x), so give its spread.

    >>> d = spread([62.0, 20.5, 58.1, 60.2, 59.9], "samples/s")
    >>> d["median"], d["low"], d["high"], d["n"]
    (59.9, 20.5, 62.0, 5)
    >>> d["text"]
    'median 59.9 samples/s (range 20.5-62.0 over 5 repeats)'
    """
    xs = sorted(float(v) for v in values)
    if not xs:
        raise ValueError("spread needs at least one timing; run the measurement first")
    n = len(xs)
    median = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    u = f" {unit}" if unit else ""
    text = (f"median {median:.{digits}f}{u} (range {xs[0]:.{digits}f}-{xs[-1]:.{digits}f} "
            f"over {n} repeats)")
    return {"median": median, "low": xs[0], "high": xs[-1], "n": n, "text": text}


def machine_load() -> str:
    """A word on load, to print beside a timing: the 1-minute load average against the cores.

    A load above the core count means other work was queued for the CPU while this was timed.

    >>> machine_load().startswith("machine load")
    True
    """
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no load average
        return f"machine load: not available here ({cores} cores)"
    note = "busy: other work shares the CPU" if load > cores else "no more work than cores"
    return f"machine load {load:.1f} (1-min average) on {cores} cores: {note}"
