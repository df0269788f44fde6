"""Command line: ``python -m llmstart doctor | train | predict``.

Examples::

    python -m llmstart doctor
    python -m llmstart train --data reviews.csv --text-col review --label-col stars --out my-model
    python -m llmstart predict --model my-model "Arrived broken, nobody answers my emails."
"""

from __future__ import annotations

import argparse
import json
import sys


def _train(args: argparse.Namespace) -> int:
    from llmstart.data import load_dataset, make_loader, split_frame
    from llmstart.metrics import confusion_matrix
    from llmstart.models import load_classifier
    from llmstart.train import evaluate, fit, save_model

    df = load_dataset(args.data, text_col=args.text_col, label_col=args.label_col)
    splits = split_frame(df, val_size=args.val_size, test_size=args.test_size, seed=args.seed,
                         max_per_label=args.max_per_label)
    print(f"data: {args.data}: {splits.sizes()}, labels {splits.label_names}, "
          f"{splits.report['duplicates_dropped']} duplicate texts dropped")
    model, tokenizer = load_classifier(args.model, label_names=splits.label_names)

    def loader(part, shuffle):
        return make_loader(part, tokenizer, splits.label_names, batch_size=args.batch_size,
                           max_length=args.max_length, shuffle=shuffle, seed=args.seed)

    history = fit(model, loader(splits.train, True), loader(splits.val, False), epochs=args.epochs,
                  lr=args.lr, seed=args.seed, metric="macro_f1", cpu=args.cpu)
    test_loader = loader(splits.test, False)
    metrics = evaluate(model, test_loader)
    out = save_model(model, args.out, tokenizer)
    preds, golds = [], []
    model.eval()
    import torch

    with torch.no_grad():
        for batch in test_loader:
            golds += batch.pop("labels").tolist()
            preds += model(**batch).logits.argmax(-1).tolist()
    matrix = confusion_matrix(golds, preds, splits.label_names)
    summary = {"data": str(args.data), "model": args.model, "sizes": splits.sizes(),
               "test": metrics, "train": history.summary()}
    (out / "metrics.json").write_text(json.dumps(summary, indent=1))
    print("test metrics:")
    for name, value in metrics.items():
        print(f"  {name:<16} {value:.4f}")
    print(matrix.to_string())
    print(f"saved to {out} (predict with: python -m llmstart predict --model {out} \"some text\")")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from llmstart.predict import TextClassifier

    texts = args.texts or [line.strip() for line in sys.stdin if line.strip()]
    clf = TextClassifier.load(args.model)
    for text, result in zip(texts, clf.predict(texts), strict=True):
        print(f"{result['label']}\t{result['score']:.3f}\t{text}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmstart", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="versions, device, offline models and data, Hub reachability")
    t = sub.add_parser("train", help="fine-tune a classifier on your own CSV/JSONL/Parquet file")
    t.add_argument("--data", required=True, help="file (.csv .tsv .jsonl .parquet) or course dataset name")
    t.add_argument("--text-col", default="text")
    t.add_argument("--label-col", default="label")
    t.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    t.add_argument("--out", required=True, help="folder for the fine-tuned model")
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--max-length", type=int, default=128)
    t.add_argument("--val-size", type=float, default=0.1)
    t.add_argument("--test-size", type=float, default=0.2)
    t.add_argument("--max-per-label", type=int, default=None, help="subsample each label (quick runs)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--cpu", action="store_true", help="ignore any GPU")
    p = sub.add_parser("predict", help="label texts with a fine-tuned model")
    p.add_argument("--model", required=True, help="folder written by `llmstart train`")
    p.add_argument("texts", nargs="*", help="texts to label (default: one per line on stdin)")
    args = parser.parse_args(argv)

    from llmstart.data import DataValidationError
    from llmstart.models import ModelUnavailableError

    try:
        if args.command == "doctor":
            from llmstart.doctor import doctor

            doctor()
            return 0
        return _train(args) if args.command == "train" else _predict(args)
    except (DataValidationError, ModelUnavailableError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
