"""``llmstart predict``: label texts with a fine-tuned model folder."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="label texts with a fine-tuned model",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="folder written by `llmstart train`")
    p.add_argument("texts", nargs="*", help="texts to label (default: one per line on stdin)")


def run(args: argparse.Namespace) -> int:
    from llmstart.predict import TextClassifier

    texts = args.texts or [line.strip() for line in sys.stdin if line.strip()]
    clf = TextClassifier.load(args.model)
    for text, result in zip(texts, clf.predict(texts), strict=True):
        print(f"{result['label']}\t{result['score']:.3f}\t{text}")
    return 0
