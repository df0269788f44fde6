"""The cost estimate against a real run on this machine: predicted time within 20 % of measured.

CPU time of this process (``time.process_time``) is what a dedicated core would spend; it is
far steadier than wall time on a shared machine, which is why the check uses it.
"""

from __future__ import annotations

import time

import torch

from conftest import tiny_bert
from llmstart.cost import measure_rate, serving_cost, training_cost


def test_serving_estimate_matches_a_real_run_within_20_percent(tokenizer):
    torch.set_num_threads(1)
    model = tiny_bert(dropout=0.0).eval()
    batch = tokenizer(["a short support request about a late parcel"] * 16, return_tensors="pt")

    def work(n_batches):
        with torch.inference_mode():
            for _ in range(n_batches):
                model(**batch)
        return 16 * n_batches

    work(3)  # warm-up
    rate = measure_rate(lambda: work(10), repeats=3, clock=time.process_time)
    requests = 16 * 40
    predicted = serving_cost(rate, hourly_price=1.0, requests=requests)["hours"] * 3600
    start = time.process_time()
    work(40)
    actual = time.process_time() - start
    assert abs(predicted - actual) / actual < 0.2, (predicted, actual)


def test_training_estimate_matches_a_real_run_within_20_percent(tokenizer):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = tiny_bert(dropout=0.0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = tokenizer(["the striker scored a late goal"] * 8, return_tensors="pt")
    labels = torch.zeros(8, dtype=torch.long)

    def steps(n):
        for _ in range(n):
            loss = model(**batch, labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
        return 8 * n

    steps(2)
    rate = measure_rate(lambda: steps(5), repeats=3, clock=time.process_time)
    est = training_cost(samples=8 * 20, epochs=1, samples_per_second=rate, hourly_price=2.0)
    start = time.process_time()
    steps(20)
    actual = time.process_time() - start
    assert abs(est["seconds"] - actual) / actual < 0.2, (est["seconds"], actual)
    assert est["cost"] == est["seconds"] / 3600 * 2.0
