"""LoRA (low-rank adaptation): written from scratch first, then with the ``peft`` library.

A frozen weight matrix ``W`` (out × in) gets a trainable low-rank update::

    h = W x + (alpha / r) · B A x        A: r × in (random),  B: out × r (zeros)

Only ``A`` and ``B`` train: ``r · (in + out)`` numbers instead of ``in · out``. Because ``B``
starts at zero, the adapted model starts out *exactly* equal to the pre-trained one. After
training, ``W + (alpha / r) · B A`` can be folded back into one matrix (:func:`merge_lora`),
so the deployed model is as fast as the original.

Part 1 (:class:`LoRALinear`, :func:`inject_lora`, :func:`merge_lora`) is the idea in a dozen
lines. Part 2 wraps ``peft`` (what one uses in practice: saving adapters alone, many
adapters per base model) and shows both agree: :func:`copy_lora_weights` copies the
from-scratch weights into a ``peft`` model, whose outputs are then the same.

>>> import torch
>>> layer = LoRALinear(torch.nn.Linear(16, 4), r=2, alpha=4)
>>> [n for n, p in layer.named_parameters() if p.requires_grad]
['lora_A', 'lora_B']
"""

from __future__ import annotations

import contextlib
import math
import shutil
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from llmstart.files import atomic_write_bytes, replace_dir, temp_dir_beside
from llmstart.models.pretrained import count_parameters

if TYPE_CHECKING:
    from peft import PeftModel

# --------------------------------------------------------------------------- from scratch


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update ``(alpha / r) · B A``.

    >>> base = torch.nn.Linear(8, 3)
    >>> lora = LoRALinear(base, r=2, alpha=4)
    >>> x = torch.randn(5, 8)
    >>> torch.equal(lora(x), base(x))  # B = 0 at the start: nothing changed yet
    True
    """

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float = 16, dropout: float = 0.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.base, self.r, self.scaling = base, r, alpha / r
        base.requires_grad_(False)  # the pre-trained weight stays frozen
        w = base.weight
        # A as nn.Linear (and peft) initialise a weight, drawn on the CPU from ``generator`` when
        # given (else the global RNG), then moved to the layer's device and dtype
        a = nn.init.kaiming_uniform_(torch.empty(r, base.in_features), a=math.sqrt(5), generator=generator)
        self.lora_A = nn.Parameter(a.to(device=w.device, dtype=w.dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, device=w.device, dtype=w.dtype))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scaling

    def delta_weight(self) -> torch.Tensor:
        """The update ``(alpha / r) · B A`` that merging adds to the frozen weight.

        >>> LoRALinear(torch.nn.Linear(8, 3), r=2).delta_weight().abs().sum().item()  # B = 0
        0.0
        """
        return (self.lora_B @ self.lora_A) * self.scaling

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` with the update folded in (same outputs, no extra cost).

        >>> lora = LoRALinear(torch.nn.Linear(8, 3), r=2)
        >>> _ = torch.nn.init.normal_(lora.lora_B)
        >>> x = torch.randn(4, 8)
        >>> torch.allclose(lora.merged()(x), lora(x), atol=1e-6)
        True
        """
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                        device=self.base.weight.device, dtype=self.base.weight.dtype)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.delta_weight())
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out

    def extra_repr(self) -> str:
        return f"r={self.r}, scaling={self.scaling:g}"


def _matches(name: str, targets: Iterable[str]) -> bool:
    """``peft``'s rule for a list of names: the full name, or its last dotted parts, match."""
    return any(name == t or name.endswith("." + t) for t in targets)


def lora_targets(model: nn.Module, target_modules: Sequence[str]) -> dict[str, nn.Linear]:
    """The ``nn.Linear`` layers that LoRA with these ``target_modules`` adapts (``peft``'s rule).

    >>> m = torch.nn.ModuleDict({"query": torch.nn.Linear(2, 2), "key": torch.nn.Linear(2, 2)})
    >>> list(lora_targets(m, ["query"]))
    ['query']
    """
    found = {name: m for name, m in model.named_modules()
             if isinstance(m, nn.Linear) and _matches(name, target_modules)}
    if not found:
        raise ValueError(f"no nn.Linear layer matches {list(target_modules)}; names look like: "
                         f"{[n for n, m in model.named_modules() if isinstance(m, nn.Linear)][:6]}")
    return found


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


def inject_lora(
    model: nn.Module,
    target_modules: Sequence[str] = ("query", "value"),
    r: int = 8,
    alpha: float = 16,
    dropout: float = 0.0,
    trainable: Sequence[str] = ("classifier", "score"),
    seed: int | None = 0,
) -> nn.Module:
    """Replace each ``nn.Linear`` named in ``target_modules`` by a :class:`LoRALinear`, in place.

    Every other parameter is frozen, except those whose name contains one of ``trainable``
    (by default the classification head, which a new task needs to learn from scratch).
    The random ``A`` matrices are drawn from a generator seeded with ``seed``, so the same
    seed gives the same adapters whatever ran before (``None``: the global RNG). Returns ``model``.

    >>> from transformers import BertConfig, BertForSequenceClassification
    >>> model = BertForSequenceClassification(BertConfig(hidden_size=32, num_hidden_layers=2,
    ...     num_attention_heads=2, intermediate_size=64, vocab_size=100))
    >>> model = inject_lora(model, r=4)
    >>> type(model.bert.encoder.layer[0].attention.self.query).__name__
    'LoRALinear'
    >>> sorted({n.split(".")[-1] for n, p in model.named_parameters() if p.requires_grad})
    ['bias', 'lora_A', 'lora_B', 'weight']
    >>> lin = lambda: torch.nn.Sequential(torch.nn.Linear(4, 4))
    >>> a, b = inject_lora(lin(), ["0"], r=2, seed=1), inject_lora(lin(), ["0"], r=2, seed=1)
    >>> torch.equal(a[0].lora_A, b[0].lora_A)
    True
    """
    targets = list(lora_targets(model, target_modules))
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    model.requires_grad_(False)
    for name in targets:
        _set_module(model, name, LoRALinear(model.get_submodule(name), r, alpha, dropout, generator))
    for name, p in model.named_parameters():
        if any(t in name.split(".") for t in trainable):
            p.requires_grad_(True)
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every :class:`LoRALinear` back into a plain ``nn.Linear``, in place; returns ``model``.

    >>> lora = inject_lora(torch.nn.Sequential(torch.nn.Linear(4, 4)), ["0"], r=2)
    >>> type(merge_lora(lora)[0]).__name__
    'Linear'
    """
    for name, m in list(model.named_modules()):
        if isinstance(m, LoRALinear):
            _set_module(model, name, m.merged())
    return model


# --------------------------------------------------------------------------- counting


def trainable_summary(model: nn.Module) -> dict:
    """Trainable and total parameters (shared tensors once), and the trainable percentage.

    >>> trainable_summary(inject_lora(torch.nn.Sequential(torch.nn.Linear(100, 100)), ["0"], r=2))
    {'trainable': 400, 'total': 10500, 'percent': 3.81}
    """
    trainable, total = count_parameters(model, trainable_only=True), count_parameters(model)
    return {"trainable": trainable, "total": total, "percent": round(100 * trainable / total, 2)}


def lora_param_count(model: nn.Module, r: int, target_modules: Sequence[str] = ("query", "value")) -> int:
    """Parameters LoRA of rank ``r`` adds to ``model``: ``r · (in + out)`` per targeted Linear.

    A frozen ``d_out × d_in`` weight ``W`` gets the update ``ΔW = B A`` with ``B`` of shape
    ``d_out × r`` and ``A`` of shape ``r × d_in``. :func:`peft_lora_trainable` is the
    independent check (what the ``peft`` library really adds).

    >>> lora_param_count(torch.nn.Sequential(torch.nn.Linear(384, 384)), r=8, target_modules=["0"])
    6144
    """
    if r < 1:
        raise ValueError(f"rank r must be >= 1, not {r}")
    return sum(r * (m.in_features + m.out_features) for m in lora_targets(model, target_modules).values())


def peft_lora_trainable(model: nn.Module, r: int, target_modules: Sequence[str]) -> int:
    """Trainable parameters of a copy of ``model`` wrapped by ``peft``'s LoRA (``model`` is untouched).

    >>> net = torch.nn.Sequential(torch.nn.Linear(384, 384))
    >>> peft_lora_trainable(net, 8, ["0"]) == lora_param_count(net, 8, ["0"])
    True
    """
    import copy

    wrapped = add_lora(copy.deepcopy(model), r=r, target_modules=target_modules, task_type=None)
    return count_parameters(wrapped, trainable_only=True)


def training_state_mb(model: nn.Module, optimizer_states: int = 2) -> float:
    """Memory for weights + gradients + AdamW's two moment buffers, in MB (float32 sizes).

    Activations come on top (they depend on batch and sequence length). On a CPU the peak
    resident memory of the process only ever grows, so runs in one notebook cannot be
    compared by it; this count can.

    >>> round(training_state_mb(torch.nn.Linear(1000, 1000)), 1)  # 1 M params x 4 copies x 4 B
    16.0
    """
    total, trainable = count_parameters(model), count_parameters(model, trainable_only=True)
    return (total + trainable * (1 + optimizer_states)) * 4 / 1e6


def folder_size_mb(path: str | Path) -> float:
    """Size of a file, or of all files under a folder, in MB.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.bin"; _ = f.write_bytes(b"0" * 500_000)
    >>> folder_size_mb(f.parent)
    0.5
    """
    path = Path(path)
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def save_trainable(model: nn.Module, path: str | Path) -> Path:
    """Save only the parameters that train (e.g. LoRA matrices + head) as one safetensors file.

    This is all a task needs on top of the shared pre-trained model.

    >>> import tempfile
    >>> m = inject_lora(torch.nn.Sequential(torch.nn.Linear(4, 4)), ["0"], r=2)
    >>> p = save_trainable(m, tempfile.mkdtemp() + "/adapter.safetensors")
    >>> from safetensors.torch import load_file; sorted(load_file(p))
    ['0.lora_A', '0.lora_B']
    """
    from safetensors.torch import save

    tensors = {n: p.detach().contiguous().cpu() for n, p in model.named_parameters() if p.requires_grad}
    return atomic_write_bytes(path, save(tensors))


# --------------------------------------------------------------------------- with peft


@contextlib.contextmanager
def _quiet_peft():
    """peft 0.21 reads a property that transformers 5 deprecated: hide that one warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def add_lora(
    model: nn.Module,
    r: int = 8,
    alpha: float = 16,
    target_modules: Sequence[str] = ("query", "value"),
    task_type: str = "SEQ_CLS",
    modules_to_save: Sequence[str] | None = None,
    dropout: float = 0.0,
    seed: int | None = None,
) -> PeftModel:
    """Wrap ``model`` in a ``peft`` LoRA model (``model`` is changed in place); returns the PeftModel.

    ``task_type`` is ``"SEQ_CLS"`` (peft then also trains and saves the ``classifier``/
    ``score`` head) or ``"CAUSAL_LM"``. ``modules_to_save``: further modules to train fully.
    ``seed``: draw the ``A`` matrices from this seed without disturbing the global RNG
    (``None``: from the global RNG, as ``peft`` does).

    >>> from transformers import BertConfig, BertForSequenceClassification
    >>> model = BertForSequenceClassification(BertConfig(hidden_size=32, num_hidden_layers=2,
    ...     num_attention_heads=2, intermediate_size=64, vocab_size=100))
    >>> expected = lora_param_count(model, r=4) + 32 * 2 + 2  # LoRA + head (32 x 2 + 2)
    >>> trainable_summary(add_lora(model, r=4))["trainable"] == expected
    True
    """
    from peft import LoraConfig, TaskType, get_peft_model

    config = LoraConfig(
        task_type=TaskType(task_type) if task_type else None,
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
        modules_to_save=list(modules_to_save) if modules_to_save else None,
    )
    with _quiet_peft(), torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        return get_peft_model(model, config)


def copy_lora_weights(scratch_model: nn.Module, peft_model: PeftModel) -> int:
    """Copy the trained weights of an :func:`inject_lora` model into a ``peft`` model.

    Both must wrap the same pre-trained model with the same targets, ``r`` and ``alpha``.
    Copies each ``A``/``B`` pair and every other trainable tensor (the head, into peft's
    trainable copy of it). Returns the number of tensors copied.

    >>> lin = lambda: torch.nn.Sequential(torch.nn.Linear(4, 4))
    >>> scratch = inject_lora(lin(), ["0"], r=2)
    >>> peft_model = add_lora(lin(), r=2, target_modules=["0"], task_type=None)
    >>> copy_lora_weights(scratch, peft_model)
    2
    """
    inner = peft_model.get_base_model()
    adapter = peft_model.active_adapter
    copied = 0
    with torch.no_grad():
        for name, module in scratch_model.named_modules():
            if isinstance(module, LoRALinear):
                target = inner.get_submodule(name)
                scaling = target.scaling[adapter]
                if not math.isclose(scaling, module.scaling):
                    raise ValueError(f"{name}: scaling differs (scratch {module.scaling}, peft {scaling})")
                target.lora_A[adapter].weight.copy_(module.lora_A)
                target.lora_B[adapter].weight.copy_(module.lora_B)
                copied += 2
        for name, p in scratch_model.named_parameters():
            if not p.requires_grad or name.rsplit(".", 1)[-1] in {"lora_A", "lora_B"}:
                continue
            owner, _, attr = name.rpartition(".")
            module = inner.get_submodule(owner)
            if hasattr(module, "modules_to_save"):  # peft's trainable copy of a whole module
                module = module.modules_to_save[adapter]
            getattr(module, attr).copy_(p)
            copied += 1
    return copied


def save_adapter(peft_model: PeftModel, folder: str | Path) -> Path:
    """Save only the adapter (LoRA matrices, plus any ``modules_to_save``) and its config.

    The folder holds ``adapter_config.json`` and ``adapter_model.safetensors``; its size is a
    small fraction of the model's.

    >>> import tempfile
    >>> pm = add_lora(torch.nn.Sequential(torch.nn.Linear(4, 4)), r=2, target_modules=["0"], task_type=None)
    >>> sorted(p.name for p in save_adapter(pm, tempfile.mkdtemp()).iterdir())
    ['README.md', 'adapter_config.json', 'adapter_model.safetensors']
    """
    tmp = temp_dir_beside(folder)
    try:
        peft_model.save_pretrained(str(tmp), safe_serialization=True)
        return replace_dir(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # only left if saving failed


def load_adapter(base_model: nn.Module, folder: str | Path, is_trainable: bool = False) -> PeftModel:
    """Put a saved adapter onto a fresh copy of its base model; returns a PeftModel.

    >>> import tempfile
    >>> lin = lambda: torch.nn.Sequential(torch.nn.Linear(4, 4))
    >>> folder = save_adapter(add_lora(lin(), r=2, target_modules=["0"], task_type=None), tempfile.mkdtemp())
    >>> type(load_adapter(lin(), folder)).__name__
    'PeftModel'
    """
    from peft import PeftModel

    with _quiet_peft():
        return PeftModel.from_pretrained(base_model, str(folder), is_trainable=is_trainable)


def merge_for_deployment(peft_model: PeftModel) -> nn.Module:
    """Fold the LoRA update into the base weights; returns the plain model (no peft layers).

    >>> pm = add_lora(torch.nn.Sequential(torch.nn.Linear(4, 4)), r=2, target_modules=["0"], task_type=None)
    >>> type(merge_for_deployment(pm)[0]).__name__
    'Linear'
    """
    return peft_model.merge_and_unload()

