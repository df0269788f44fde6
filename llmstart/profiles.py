"""Course profiles: a quick CPU profile (laptops, CI, Binder) and a full GPU profile.

Pick one with the environment variable ``LLMSTART_PROFILE`` (``quick`` or ``full``), or
``"auto"``: ``full`` when a CUDA GPU and the Hugging Face Hub are both available.

>>> get_profile("quick")["encoder"]
'sentence-transformers/all-MiniLM-L6-v2'
"""

from __future__ import annotations

import os

from llmstart.models.hub import DEFAULT_ENCODER

PROFILES: dict[str, dict] = {
    "quick": {
        "description": "CPU, offline: packaged MiniLM, subsampled data, short texts",
        "encoder": DEFAULT_ENCODER,
        "max_per_label": 100,
        "max_length": 64,
        "batch_size": 16,
        "epochs": 3,
        "lr": 2e-4,
    },
    "full": {
        "description": "GPU + internet: bert-base-uncased from the Hub, all the data, longer texts",
        "encoder": "bert-base-uncased",
        "max_per_label": None,
        "max_length": 256,
        "batch_size": 32,
        "epochs": 3,
        "lr": 3e-5,
    },
}


def get_profile(name: str | None = None) -> dict:
    """The settings of a profile (``name``, else ``$LLMSTART_PROFILE``, else ``"quick"``).

    >>> get_profile("quick")["name"]
    'quick'
    """
    name = name or os.environ.get("LLMSTART_PROFILE", "quick")
    if name == "auto":
        import torch

        from llmstart.models.hub import is_offline

        name = "full" if torch.cuda.is_available() and not is_offline() else "quick"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: choose one of {sorted(PROFILES)} or 'auto'")
    return {"name": name, **PROFILES[name]}
