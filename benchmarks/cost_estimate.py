"""How close is ``llmstart.evaluation.cost``'s estimate to a real run on this machine?

Measures the rate of a small BERT (the test-suite's tiny model, random weights) on a few batches
with ``measure_rate``, predicts the time of a longer run with ``serving_cost`` and
``training_cost``, runs it, and prints predicted vs measured CPU seconds and their ratio.
``measure_rate`` keeps the best of its repeats, so on a busy machine the estimate is optimistic:
read the ratio as "how much slower reality was than the estimate".

    python benchmarks/cost_estimate.py                 # a few seconds
    python benchmarks/cost_estimate.py --batches 200   # a longer real run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from transformers import BertConfig, BertForSequenceClassification

from llmstart.evaluation.cost import measure_rate, serving_cost, training_cost


def tiny_model() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        num_labels=2)
    return BertForSequenceClassification(config)


def compare(name: str, work, batch_items: int, measure_batches: int, batches: int, estimate) -> dict:
    work(3)  # warm-up
    rate = measure_rate(lambda: work(measure_batches), repeats=3, clock=time.process_time)
    predicted = estimate(rate, batch_items * batches)
    start = time.process_time()
    work(batches)
    actual = time.process_time() - start
    return {"run": name, "rate_per_s": round(rate, 1), "predicted_s": round(predicted, 3),
            "measured_s": round(actual, 3), "measured / predicted": round(actual / predicted, 3)}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40, help="batches in the real run (default 40)")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = tiny_model()
    ids = torch.randint(5, 1000, (16, 24))

    def serve(n):
        model.eval()
        with torch.inference_mode():
            for _ in range(n):
                model(input_ids=ids)
        return 16 * n

    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    labels = torch.zeros(16, dtype=torch.long)

    def train(n):
        model.train()
        for _ in range(n):
            model(input_ids=ids, labels=labels).loss.backward()
            opt.step()
            opt.zero_grad()
        return 16 * n

    rows = [compare("serving (inference)", serve, 16, 10, args.batches,
                    lambda rate, items: serving_cost(rate, 1.0, requests=items)["hours"] * 3600),
            compare("training (1 epoch)", train, 16, 5, args.batches // 2,
                    lambda rate, items: training_cost(items, 1, rate, 1.0)["seconds"])]
    width = max(len(r["run"]) for r in rows)
    print(f"{'run':<{width}}  {'rate/s':>8}  {'predicted s':>11}  {'measured s':>10}  {'measured/predicted':>18}")
    for r in rows:
        print(f"{r['run']:<{width}}  {r['rate_per_s']:>8}  {r['predicted_s']:>11}  {r['measured_s']:>10}  "
              f"{r['measured / predicted']:>18}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
