"""Command line: ``python -m llmstart doctor | train | predict``.

Each subcommand is a module of this package with ``add_parser(subparsers)`` and ``run(args)``.
Exit codes: 0 success, 2 bad input (one clear line on standard error), 1 anything unexpected.

Examples::

    python -m llmstart doctor
    python -m llmstart train --data reviews.csv --text-col review --label-col stars --out my-model
    python -m llmstart predict --model my-model "Arrived broken, nobody answers my emails."
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = ["doctor", "train", "predict", "serve"]


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand; returns the exit code.

    >>> main(["doctor", "--no-hub"])  # doctest: +ELLIPSIS
    Python ...
    0
    """
    from llmstart.data import DataValidationError
    from llmstart.hub import ModelUnavailableError
    from llmstart.models import HeadMismatchError

    parser = argparse.ArgumentParser(prog="llmstart", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {name: importlib.import_module(f"llmstart.cli.{name}") for name in SUBCOMMANDS}
    for module in modules.values():
        module.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        return modules[args.command].run(args)
    except (DataValidationError, ModelUnavailableError, HeadMismatchError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
