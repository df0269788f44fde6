"""``llmstart train``: fine-tune a classifier on your own CSV/TSV/JSONL/Parquet file or a course corpus."""

from __future__ import annotations

import argparse

from llmstart.hub import DEFAULT_ENCODER


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="fine-tune a classifier on your own CSV/JSONL/Parquet file",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--data", required=True, help="file (.csv .tsv .jsonl .parquet) or course corpus name")
    t.add_argument("--text-col", default="text", help="column holding the text")
    t.add_argument("--label-col", default="label", help="column holding the label")
    t.add_argument("--model", default=DEFAULT_ENCODER, help="pre-trained encoder: Hub id, alias or folder")
    t.add_argument("--out", required=True, help="folder for the fine-tuned model")
    t.add_argument("--epochs", type=int, default=3, help="passes over the training data")
    t.add_argument("--lr", type=float, default=1e-4, help="peak learning rate (AdamW)")
    t.add_argument("--batch-size", type=int, default=32, help="examples per batch")
    t.add_argument("--max-length", type=int, default=128, help="tokens kept per text")
    t.add_argument("--val-size", type=float, default=0.1, help="share of rows for validation")
    t.add_argument("--test-size", type=float, default=0.2, help="share of rows for the test")
    t.add_argument("--max-per-label", type=int, default=None, help="subsample each label (quick runs)")
    t.add_argument("--seed", type=int, default=0, help="seed of the split, the head and the shuffling")
    t.add_argument("--cpu", action="store_true", help="ignore any GPU")
    t.add_argument("--allow-unknown-tokens", action="store_true",
                   help="train even when the tokenizer maps over 5%% of the training text to its "
                        "unknown token (it cannot read it: the model would fit noise)")


def run(args: argparse.Namespace) -> int:
    import torch

    from llmstart.data import load_data, make_loader, split_frame
    from llmstart.files import atomic_write_json
    from llmstart.metrics import confusion_matrix
    from llmstart.models import load_classifier
    from llmstart.train import evaluate_model, fit, save_model

    df = load_data(args.data, text_col=args.text_col, label_col=args.label_col)
    splits = split_frame(df, val_size=args.val_size, test_size=args.test_size, seed=args.seed,
                         max_per_label=args.max_per_label)
    print(f"data: {args.data}: {splits.sizes()}, labels {splits.label_names}, "
          f"{splits.report['duplicates_dropped']} duplicate texts dropped")
    if not args.allow_unknown_tokens:  # can this model read the text at all? (stops with a clear message)
        from llmstart.data.coverage import TokenizerCoverageError, check_coverage
        from llmstart.models import load_tokenizer

        try:
            coverage = check_coverage(splits.train.text, load_tokenizer(args.model), args.model)
        except TokenizerCoverageError as err:
            raise TokenizerCoverageError(f"{err} To train anyway, pass --allow-unknown-tokens.") from None
        print(f"tokenizer: {coverage.unknown_rate:.2%} unknown tokens on the training text")
    model, tokenizer = load_classifier(args.model, label_names=splits.label_names, new_head=True)

    def loader(part, shuffle):
        return make_loader(part, tokenizer, splits.label_names, batch_size=args.batch_size,
                           max_length=args.max_length, shuffle=shuffle, seed=args.seed)

    history = fit(model, loader(splits.train, True), loader(splits.val, False), epochs=args.epochs,
                  lr=args.lr, seed=args.seed, metric="macro_f1", cpu=args.cpu)
    test_loader = loader(splits.test, False)
    metrics = evaluate_model(model, test_loader)
    out = save_model(model, args.out, tokenizer)
    preds, golds = [], []
    model.eval()
    with torch.no_grad():
        for batch in test_loader:
            golds += batch.pop("labels").tolist()
            preds += model(**batch).logits.argmax(-1).tolist()
    matrix = confusion_matrix(golds, preds, splits.label_names)
    atomic_write_json(out / "metrics.json", {"data": str(args.data), "model": args.model, "sizes": splits.sizes(),
                                             "test": metrics, "train": history.summary()})
    print("test metrics:")
    for name, value in metrics.items():
        print(f"  {name:<16} {value:.4f}")
    print(matrix.to_string())
    print(f"saved to {out} (predict with: python -m llmstart predict --model {out} \"some text\")")
    return 0
