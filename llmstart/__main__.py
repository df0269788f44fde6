"""``python -m llmstart``: the command line (see :mod:`llmstart.cli`)."""

import sys

from llmstart.cli import main

if __name__ == "__main__":
    sys.exit(main())
