"""Training, in the order a run meets it: the loop, its evaluation, its checkpoints, its record.

- :mod:`~llmstart.train.config`: :class:`TrainConfig`, every hyper-parameter of a run
- :mod:`~llmstart.train.loop`: :func:`fit`, the training loop
- :mod:`~llmstart.train.scoring`: :func:`evaluate_model` (loss, accuracy, macro-F1, perplexity)
- :mod:`~llmstart.train.checkpoint`: :func:`save_model`, resumable checkpoints
- :mod:`~llmstart.train.history`: :class:`History`, what a run did

>>> from llmstart.train import fit, evaluate_model, save_model, History, TrainConfig
"""

from llmstart.train.checkpoint import save_model
from llmstart.train.config import TrainConfig
from llmstart.train.history import History
from llmstart.train.loop import fit
from llmstart.train.scoring import evaluate_model

__all__ = ["History", "TrainConfig", "evaluate_model", "fit", "save_model"]
