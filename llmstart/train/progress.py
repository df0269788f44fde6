"""The training progress display: a bar on a terminal or in Jupyter, plain lines in a log.

tqdm redraws its bar with carriage returns (``\\r``), which is right on a terminal and wrong
in a file: ``llmstart train > run.log`` would collect hundreds of half-lines. When the stream
is not a terminal (a pipe, a file, CI, ``nohup``), :func:`progress_bar` returns
:class:`LineProgress` instead, which writes one whole line every 10 % of the steps, as tqdm's
and rich's users expect of a log. In Jupyter it stays tqdm's widget.

>>> import io
>>> log = io.StringIO()  # not a terminal
>>> bar = progress_bar(total=50, file=log)
>>> for _ in range(50):
...     bar.update(1)
>>> bar.close()
>>> "\\r" in log.getvalue(), len(log.getvalue().splitlines())
(False, 10)
"""

from __future__ import annotations

import sys
import time
from typing import IO

__all__ = ["LineProgress", "progress_bar"]


class LineProgress:
    """tqdm's interface (``update``, ``set_postfix``, ``write``, ``close``) writing a plain line
    each time another ``every_percent`` of ``total`` is done: no ``\\r``, at most
    ``100 / every_percent`` lines however long the run.

    >>> import io
    >>> log = io.StringIO()
    >>> bar = LineProgress(total=4, desc="training", file=log, every_percent=50)
    >>> bar.update(1); bar.update(1); bar.set_postfix(loss="0.5000"); bar.update(2)
    >>> print(log.getvalue().replace("0 s", "T s"), end="")
    training: 50% (2/4 steps), T s elapsed, about T s left
    training: 100% (4/4 steps), loss 0.5000, T s elapsed
    """

    def __init__(self, total: int, initial: int = 0, desc: str = "training", file: IO[str] | None = None,
                 every_percent: float = 10):
        self.total, self.n, self.desc = max(0, int(total)), int(initial), desc
        self.file = file if file is not None else sys.stderr
        self.every = every_percent / 100
        self.postfix: dict[str, str] = {}
        self.start, self.start_n = time.perf_counter(), self.n
        self.reported = self._bucket(self.n)

    def _bucket(self, n: int) -> int:
        return int(n / self.total / self.every + 1e-9) if self.total else 0

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps; write a line when another ``every_percent`` is done."""
        self.n += n
        bucket = self._bucket(self.n)
        if bucket > self.reported:
            self.reported = bucket
            self._line()

    def set_postfix(self, refresh: bool = False, **values) -> None:
        """Values shown at the end of the next line (e.g. ``loss="0.4321"``)."""
        self.postfix = {k: str(v) for k, v in values.items()}

    def _line(self) -> None:
        elapsed = time.perf_counter() - self.start
        share = self.n / self.total if self.total else 1.0
        parts = [f"{self.desc}: {share:.0%} ({self.n}/{self.total} steps)"]
        parts += [f"{k} {v}" for k, v in self.postfix.items()]
        parts.append(f"{elapsed:.0f} s elapsed")
        done = self.n - self.start_n
        if 0 < done and self.n < self.total:
            parts.append(f"about {elapsed / done * (self.total - self.n):.0f} s left")
        print(", ".join(parts), file=self.file, flush=True)

    @staticmethod
    def write(text: str, file: IO[str] | None = None) -> None:
        """A message line (to standard output, as ``tqdm.write``)."""
        print(text, file=file if file is not None else sys.stdout, flush=True)

    def close(self) -> None:
        """Nothing to clear: every line is already whole."""


def _in_notebook() -> bool:
    """Whether tqdm.auto draws a Jupyter widget here (an IPython kernel with ipywidgets)."""
    from tqdm.auto import tqdm as auto

    try:
        from tqdm.notebook import tqdm as notebook
    except ImportError:  # pragma: no cover - tqdm always ships it
        return False
    return issubclass(auto, notebook)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_bar(total: int, initial: int = 0, desc: str = "training", disable: bool = False,
                 file: IO[str] | None = None):
    """tqdm's bar on a terminal or in Jupyter; :class:`LineProgress` when ``file`` (default:
    standard error) is not a terminal, so a log gets whole lines and no ``\\r``.

    >>> import io
    >>> type(progress_bar(10, file=io.StringIO())).__name__
    'LineProgress'
    """
    from tqdm.auto import tqdm

    stream = file if file is not None else sys.stderr
    if disable or _in_notebook() or _is_terminal(stream):
        return tqdm(total=total, initial=initial, desc=desc, disable=disable, file=file)
    return LineProgress(total, initial=initial, desc=desc, file=stream)
