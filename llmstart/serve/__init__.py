"""Serve a fine-tuned classifier: engine (float / int8 / ONNX), batching, validation, metrics, app.

Importing this package is light (no torch): the command line checks the model folder first and
stops with one clear line before paying for the heavy imports.

>>> callable(build_app), "onnx" in BACKENDS
(True, True)
"""

from __future__ import annotations

from pathlib import Path

from llmstart.serve.folder import ModelFolderError, ServingSettings, check_model_folder
from llmstart.serve.request_checks import Limits, RequestError, parse_classify_body

__all__ = ["BACKENDS", "Engine", "ModelFolderError", "ServingSettings", "check_model_folder", "Limits",
           "RequestError", "parse_classify_body", "build_app"]

BACKENDS = ("float", "bf16", "int8", "onnx")


def __getattr__(name: str):
    if name == "Engine":  # torch and transformers load only when an engine is asked for
        from llmstart.serve.engine import Engine

        return Engine
    raise AttributeError(f"module 'llmstart.serve' has no attribute {name!r}")


def build_app(model: str | Path, *, backend: str = "float", threads: int | None = None,
              max_batch: int = 32, max_wait_ms: float = 0.0, max_pending: int = 512,
              max_texts: int = 64, max_chars: int = 5000, max_body_bytes: int = 1_000_000,
              max_length: int | None = None, drift_window: int = 500, device: str = "auto"):
    """Load ``model`` with ``backend`` and return the FastAPI app that serves it.

    Raises :class:`ModelFolderError` (one clear sentence) when the folder is unusable.

    >>> build_app("/no/such/model")
    Traceback (most recent call last):
    ...
    llmstart.serve.folder.ModelFolderError: /no/such/model: no such folder. Pass the folder that `llmstart train --out DIR` (or save_model) wrote.
    """
    check_model_folder(model)
    limits = Limits(max_texts=max_texts, max_chars=max_chars, max_body_bytes=max_body_bytes)
    from llmstart.serve.app import create_app
    from llmstart.serve.engine import Engine

    engine = Engine.load(model, backend=backend, threads=threads, max_length=max_length,
                         batch_size=max_batch, device=device)
    return create_app(engine, limits=limits, max_batch=max_batch, max_wait_ms=max_wait_ms,
                      max_pending=max_pending, drift_window=drift_window)
