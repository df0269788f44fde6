"""The cost estimate: ``measure_rate`` recovers a known rate, and the estimates turn it into the
time a run takes. A fake clock makes every check exact, so none of them depends on how busy the
machine is; ``benchmarks/cost_estimate.py`` compares the estimate with a real run and prints both.
"""

from __future__ import annotations

import pytest

from llmstart.evaluation.cost import measure_rate, serving_cost, spread, training_cost


class FakeClock:
    """A clock that only moves when work is done: ``seconds_per_item`` for every item processed."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def work(self, items: int, seconds_per_item: float) -> int:
        self.now += items * seconds_per_item
        return items


def test_measure_rate_recovers_a_known_rate():
    clock = FakeClock()
    rate = measure_rate(lambda: clock.work(160, 0.005), repeats=3, clock=clock)
    assert rate == pytest.approx(200.0)


def test_measure_rate_keeps_the_best_repeat_so_one_interruption_does_not_count():
    clock = FakeClock()
    per_item = iter([0.02, 0.005, 0.005])  # the first repeat was interrupted: 4x slower
    rate = measure_rate(lambda: clock.work(100, next(per_item)), repeats=3, clock=clock)
    assert rate == pytest.approx(200.0)


def test_serving_estimate_is_the_time_the_measured_rate_takes():
    clock = FakeClock()
    rate = measure_rate(lambda: clock.work(16 * 10, 0.004), clock=clock)
    predicted = serving_cost(rate, hourly_price=1.0, requests=16 * 40)["hours"] * 3600
    start = clock()
    clock.work(16 * 40, 0.004)
    assert predicted == pytest.approx(clock() - start)
    # idle capacity: at half utilisation the same traffic costs twice the busy hours
    half = serving_cost(rate, hourly_price=1.0, requests=16 * 40, utilisation=0.5)
    assert half["cost"] == pytest.approx(2 * predicted / 3600)


def test_training_estimate_is_the_time_the_measured_rate_takes():
    clock = FakeClock()
    rate = measure_rate(lambda: clock.work(8 * 5, 0.05), clock=clock)
    est = training_cost(samples=8 * 20, epochs=2, samples_per_second=rate, hourly_price=2.0)
    start = clock()
    clock.work(8 * 20 * 2, 0.05)
    assert est["seconds"] == pytest.approx(clock() - start)
    assert est["cost"] == pytest.approx(est["seconds"] / 3600 * 2.0)


@pytest.mark.parametrize("kwargs", [dict(requests_per_second=0, hourly_price=1.0),
                                    dict(requests_per_second=10, hourly_price=-1.0),
                                    dict(requests_per_second=10, hourly_price=1.0, utilisation=0)])
def test_serving_cost_refuses_impossible_inputs(kwargs):
    with pytest.raises(ValueError, match="requests_per_second > 0"):
        serving_cost(**kwargs)


def test_spread_reports_median_and_range_not_the_best_run():
    d = spread([3.6, 60.8, 55.0], "samples/s")
    assert (d["median"], d["low"], d["high"], d["n"]) == (55.0, 3.6, 60.8, 3)
    assert "range 3.6-60.8 over 3 repeats" in d["text"]
    assert spread([1.0, 3.0])["median"] == 2.0


def test_spread_of_nothing_is_a_clear_error():
    with pytest.raises(ValueError, match="at least one timing"):
        spread([])
