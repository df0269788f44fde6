"""Command line: ``python -m llmstart doctor | train | predict``.

Each subcommand is a module of this package with ``add_parser(subparsers)`` and ``run(args)``.
Exit codes: 0 success, 2 bad input (one clear line on standard error, ``error: ...``),
1 anything unexpected (the traceback, then one line), 130 interrupted (Ctrl-C).

Examples::

    python -m llmstart doctor
    python -m llmstart train --data reviews.csv --text-col review --label-col stars --out my-model
    python -m llmstart predict --model my-model "Arrived broken, nobody answers my emails."
    python -m llmstart predict --model my-model --data new.csv --text-col review --out labelled.csv
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

SUBCOMMANDS = ["doctor", "train", "predict", "serve"]
EXIT_OK, EXIT_UNEXPECTED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand in :data:`SUBCOMMANDS`.

    >>> build_parser().parse_args(["predict", "--model", "m", "hi"]).texts
    ['hi']
    """
    parser = argparse.ArgumentParser(prog="llmstart", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f"llmstart.cli.{name}").add_parser(sub)
    return parser


def bad_input_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "your input is wrong" (exit 2, one line), not a bug.

    >>> ValueError in bad_input_errors()
    False
    """
    from llmstart.data import DataValidationError
    from llmstart.models.hub import ModelUnavailableError
    from llmstart.models.pretrained import HeadMismatchError

    return (DataValidationError, ModelUnavailableError, HeadMismatchError, FileNotFoundError)


def one_line(err: BaseException) -> str:
    """The error as one line (a multi-line message is joined).

    >>> one_line(ValueError("a\\n  b"))
    'a b'
    """
    return " ".join(part.strip() for part in str(err).splitlines() if part.strip()) or type(err).__name__


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand; returns the exit code.

    >>> main(["doctor", "--no-hub"])  # doctest: +ELLIPSIS
    Python ...
    0
    """
    from llmstart import show_messages

    args = build_parser().parse_args(argv)
    show_messages()  # what the package says as it works, on standard output (as print did)
    module = importlib.import_module(f"llmstart.cli.{args.command}")
    try:
        return module.run(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except bad_input_errors() as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:  # noqa: BLE001 - the last resort: say it is a bug, keep the traceback
        traceback.print_exc()
        print(f"error (unexpected, please report it with the lines above): {type(err).__name__}: {one_line(err)}",
              file=sys.stderr)
        return EXIT_UNEXPECTED
