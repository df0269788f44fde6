"""The machine a run happens on: device, precision, seeds, memory, and small context managers.

>>> best_device() in {"cpu", "cuda", "mps"}
True
>>> with eval_mode(torch.nn.Dropout()) as m:
...     m.training
False
"""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Iterator

import torch
from accelerate.utils import set_seed

__all__ = ["best_device", "cpu_supports_bf16", "pick_precision", "set_seed", "peak_memory_mb",
           "eval_mode", "padding_side", "pad_token_id", "quiet_transformers", "PRECISIONS"]

PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def best_device() -> str:
    """``"cuda"``, ``"mps"`` or ``"cpu"``: the device :func:`llmstart.train.fit` will use.

    >>> best_device() in {"cpu", "cuda", "mps"}
    True
    """
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def cpu_supports_bf16() -> bool:
    """True when this CPU has native bfloat16 matrix instructions (AVX512-BF16 or AMX).

    Without them PyTorch emulates bf16 on CPU, which is slower than float32.

    >>> isinstance(cpu_supports_bf16(), bool)
    True
    """
    try:
        flags = set(open("/proc/cpuinfo").read().split())
    except OSError:  # not Linux: be conservative
        return False
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def pick_precision(precision: str = "auto", device: str | None = None) -> str:
    """Map ``"auto"`` to what the hardware does fast: ``"bf16"``, ``"fp16"`` or ``"fp32"``.

    CUDA: bf16 where supported, else fp16 (with loss scaling). CPU: bf16 when the CPU has native
    bf16 instructions (2.3x faster for MiniLM here), else fp32. MPS: fp32.

    >>> pick_precision("fp32")
    'fp32'
    >>> pick_precision("auto", "cpu") == ("bf16" if cpu_supports_bf16() else "fp32")
    True
    """
    if precision == "no":
        precision = "fp32"
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, not {precision!r}")
    if precision != "auto":
        return precision
    device = device or best_device()
    if device == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device == "cpu":
        return "bf16" if cpu_supports_bf16() else "fp32"
    return "fp32"


def peak_memory_mb(device: torch.device | str = "cpu") -> tuple[float, str]:
    """Peak memory so far and what it measures.

    On CUDA: the peak allocated memory since the last ``torch.cuda.reset_peak_memory_stats``.
    Elsewhere: the peak resident memory of the whole *process*, which never goes down, so two
    runs in one notebook cannot be compared by it (run each in its own process).

    >>> mb, kind = peak_memory_mb("cpu"); mb > 0, kind
    (True, 'process RSS')
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "process RSS"


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Put ``model`` in eval mode for the block; restore its mode afterwards, even on an error.

    >>> m = torch.nn.Linear(1, 1).train()
    >>> with eval_mode(m):
    ...     m.training
    False
    >>> m.training
    True
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextlib.contextmanager
def padding_side(tokenizer, side: str) -> Iterator[object]:
    """Pad on ``side`` (``"left"`` for generation) inside the block; restore the old side after.

    >>> class Tok: padding_side = "right"
    >>> t = Tok()
    >>> with padding_side(t, "left"):
    ...     t.padding_side
    'left'
    >>> t.padding_side
    'right'
    """
    old = tokenizer.padding_side
    tokenizer.padding_side = side
    try:
        yield tokenizer
    finally:
        tokenizer.padding_side = old


def pad_token_id(tokenizer) -> int:
    """The id to pad with: the tokenizer's pad token, else its end-of-sequence token.

    >>> class Tok: pad_token_id, eos_token_id = None, 2
    >>> pad_token_id(Tok())
    2
    """
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has neither a pad nor an end-of-sequence token: set tokenizer.pad_token")
    return tokenizer.eos_token_id


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and progress bars; llmstart prints its own one line.

    >>> with quiet_transformers():
    ...     pass
    """
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
