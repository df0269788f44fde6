"""``llmstart predict``: label texts (arguments, standard input, or a whole CSV) with a trained folder.

Texts come from the command line, from standard input (one per line), or from ``--data``
(a CSV/TSV labelled in chunks, never held in memory whole). Empty texts are reported on
standard error and get no label. ``--json`` prints one JSON object per text for scripts, with
the fields ``llmstart serve`` answers: label, score, abstain, scores.
"""

from __future__ import annotations

import argparse
import json
import sys

from llmstart.models.hub import DEFAULT_MAX_LENGTH


def add_parser(sub) -> None:
    """Register ``predict`` and its options (every default shown by ``--help``)."""
    p = sub.add_parser("predict", help="label texts with a fine-tuned model",
                       description=__doc__.split("\n\n")[1].replace("\n", " "),
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="folder written by `llmstart train`")
    p.add_argument("texts", nargs="*", help="texts to label (default: --data, else one per line on stdin)")
    p.add_argument("--data", default=None, help="CSV/TSV file to label, streamed in chunks")
    p.add_argument("--text-col", default="text", help="column of --data holding the text")
    p.add_argument("--out", default=None, help="CSV to write (--data's columns + label + score, the label's "
                   "probability as `serve` answers it); default: standard output")
    p.add_argument("--encoding", default="utf-8", help="text encoding of --data or standard input")
    p.add_argument("--sep", default=None, help="separator of --data (default: ',' for .csv, tab for .tsv)")
    p.add_argument("--json", action="store_true", help="print one JSON object per text: label, score, abstain "
                   "and scores, as `llmstart serve` answers (the folder's serving.json applied)")
    p.add_argument("--chunk-size", type=int, default=1000, help="rows of --data read at a time")
    p.add_argument("--batch-size", type=int, default=32, help="texts per forward pass")
    p.add_argument("--max-length", type=int, default=None,
                   help="tokens kept per text (default %(default)s: what train used, from the model folder's metrics.json; "
                        f"{DEFAULT_MAX_LENGTH} without one)")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                   help="auto: bf16 where the hardware does it natively (2x faster with MiniLM on such a CPU; "
                        "labels rarely differ from fp32), else fp32")


def _print_json(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def _texts_from_stdin(encoding: str) -> list[str]:
    from llmstart.data.read import read_text_lines

    lines = read_text_lines(sys.stdin.buffer.read(), "standard input", encoding)
    while lines and not lines[-1]:
        lines.pop()  # trailing blank lines are not texts
    return lines


def _label_list(clf, texts: list[str], args: argparse.Namespace) -> None:
    from llmstart.evaluation.abstain import format_confidence
    from llmstart.serve.labelling import json_row, predict_texts

    results = predict_texts(clf, texts, args.batch_size)
    empty = [i + 1 for i, r in enumerate(results) if r is None]
    for text, r in zip(texts, results, strict=True):
        if args.json:
            _print_json(json_row(text, r))
        elif r is None:
            print(f"\t\t{text}")
        else:
            print(f"{r['label']}\t{format_confidence(r['score'])}\t{text}")  # 0.99996 never reads 1.000
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (" ..." if len(empty) > 10 else "")
        print(f"predict: {len(empty)} empty text(s) not labelled (number {shown})", file=sys.stderr)


def _label_file(clf, args: argparse.Namespace) -> None:
    from llmstart.serve.labelling import label_csv

    to_file = args.out not in (None, "-")
    stats = label_csv(clf, args.data, args.text_col, args.out if to_file else None, encoding=args.encoding,
                      sep=args.sep, chunksize=args.chunk_size, batch_size=args.batch_size,
                      json_lines=_print_json if args.json else None,
                      stream=sys.stdout if not to_file and not args.json else None)
    print(f"predict ({clf.precision}): " + stats.summary(str(args.data))
          + (f"; written to {args.out}" if to_file else ""), file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Label the texts; returns the exit code."""
    from llmstart.data import DataValidationError
    from llmstart.serve.classifier import TextClassifier

    if args.data and args.texts:
        raise DataValidationError("predict: give texts or --data, not both")
    texts = None
    if not args.data:
        texts = args.texts or _texts_from_stdin(args.encoding)  # read (and check) before loading the model
        if not texts:
            raise DataValidationError("predict: no texts: pass them as arguments, one per line on standard "
                                      "input, or a file with --data FILE --text-col NAME")
    clf = TextClassifier.load(args.model, max_length=args.max_length, precision=args.precision)
    if texts is not None:
        _label_list(clf, texts, args)
    else:
        _label_file(clf, args)
    return 0
