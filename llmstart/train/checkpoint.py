"""Saving models and training checkpoints, atomically, in safetensors.

A checkpoint holds everything needed to continue a run exactly: the weights, the optimizer,
the learning-rate schedule, the loss scaler, every random number generator, the step and the
position inside the epoch. It is written into a temporary folder and swapped into place
(:func:`llmstart.files.replace_dir`), so a crash at any moment leaves a complete checkpoint.

>>> import tempfile
>>> p = save_model(torch.nn.Linear(2, 2), tempfile.mkdtemp() + "/m")
>>> sorted(f.name for f in p.iterdir())
['model.safetensors']
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import torch

from llmstart.files import existing_dir, replace_dir, temp_dir_beside
from llmstart.runtime import quiet_transformers
from llmstart.train.config import CONFIG_FILE
from llmstart.train.history import History

STATE_FILE = "training_state.pt"


def save_model(model: torch.nn.Module, folder: str | Path, tokenizer=None) -> Path:
    """Save weights as safetensors, atomically; Hugging Face models keep their config.

    >>> import tempfile
    >>> p = save_model(torch.nn.Linear(2, 2), tempfile.mkdtemp() + "/m")
    >>> (p / "model.safetensors").is_file()
    True
    """
    from safetensors.torch import save_model as save_safetensors

    folder = Path(folder)
    tmp = temp_dir_beside(folder)
    try:
        if hasattr(model, "save_pretrained"):
            with quiet_transformers():
                model.save_pretrained(tmp, safe_serialization=True)
        else:
            save_safetensors(model, str(tmp / "model.safetensors"))
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        return replace_dir(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # only left if saving failed


def rng_state() -> dict:
    """The state of every random generator a run draws from (Python, NumPy, PyTorch CPU and CUDA)."""
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state["numpy"] = (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached)
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` saved.

    >>> s = rng_state(); a = torch.rand(1); set_rng_state(s); bool(torch.rand(1) == a)
    True
    """
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(folder: str | Path, model, optimizer, scheduler, scaler, position: dict,
                    history: History, best_state: dict | None, config=None) -> Path:
    """Write a resumable checkpoint of a run into ``folder`` (atomically; see the module doc).

    ``position`` holds ``step``, ``epoch``, ``batches_done`` (within the epoch) and ``bad_evals``;
    ``config`` (a :class:`~llmstart.train.config.TrainConfig`) is saved as ``train_config.json``, so
    ``TrainConfig.load(folder)`` re-makes the run's settings.
    """
    from safetensors.torch import save_file
    from safetensors.torch import save_model as save_safetensors

    folder = Path(folder)
    tmp = temp_dir_beside(folder)
    save_safetensors(model, str(tmp / "model.safetensors"))
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler.is_enabled() else None, "rng": rng_state(),
                **position}, tmp / STATE_FILE)
    history.save(tmp / "history.json")
    if config is not None:
        config.save(tmp / CONFIG_FILE)
    if best_state is not None:  # so a resumed run can still end on the best weights
        save_file({k: v.contiguous() for k, v in best_state.items()}, str(tmp / "best.safetensors"))
    return replace_dir(tmp, folder)


def load_checkpoint(folder: str | Path, model, optimizer, scheduler, scaler) -> tuple[dict, History, dict | None]:
    """Load a checkpoint into the given objects; returns ``(position, history, best_state)``.

    A crash between the two renames of a save leaves ``folder.old``: it is used then.
    """
    from safetensors.torch import load_file
    from safetensors.torch import load_model as load_safetensors

    found = existing_dir(folder)
    if found is None or not (found / STATE_FILE).is_file():
        raise FileNotFoundError(
            f"{folder}: not a llmstart checkpoint (no {STATE_FILE}). Pass the folder that "
            "fit(checkpoint_every=...) wrote, e.g. OUT_DIR/checkpoint.")
    load_safetensors(model, str(found / "model.safetensors"))
    state = torch.load(found / STATE_FILE, weights_only=True)
    optimizer.load_state_dict(state.pop("optimizer"))
    scheduler.load_state_dict(state.pop("scheduler"))
    scaler_state = state.pop("scaler")
    if scaler_state is not None and scaler.is_enabled():
        scaler.load_state_dict(scaler_state)
    set_rng_state(state.pop("rng"))
    best = found / "best.safetensors"
    return state, History.load(found / "history.json"), load_file(str(best)) if best.is_file() else None
