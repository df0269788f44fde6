"""``llmstart doctor``: versions, device, offline models and data, Hub reachability."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("doctor", help="versions, device, offline models and data, Hub reachability",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--no-hub", action="store_true", help="do not probe the Hugging Face Hub")


def run(args: argparse.Namespace) -> int:
    from llmstart.environment_report import doctor

    doctor(check_hub=not args.no_hub)
    return 0
