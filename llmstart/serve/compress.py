"""Make a fine-tuned encoder cheaper to serve: dynamic int8 quantisation and ONNX Runtime.

Both keep the same folder and tokenizer; :func:`compression_table` measures what each costs
and what it loses on the same test texts.

>>> import torch
>>> small = quantize_int8(torch.nn.Sequential(torch.nn.Linear(64, 64)))
>>> state_size_mb(small) < state_size_mb(torch.nn.Sequential(torch.nn.Linear(64, 64)))
True
"""

from __future__ import annotations

import copy
import io
import time
import warnings
from pathlib import Path

import torch

__all__ = ["quantize_int8", "export_onnx", "state_size_mb", "folder_size_mb", "time_engine"]


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` in dynamic int8 (PyTorch), in eval mode.

    Weights are stored as int8 with a scale; activations are quantised per batch at run time,
    so no calibration data is needed. CPU only.

    >>> q = quantize_int8(torch.nn.Sequential(torch.nn.Linear(4, 2)))
    >>> type(q[0]).__name__
    'Linear'
    >>> q[0].weight().dtype
    torch.qint8
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's notice that torchao is its future
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(copy.deepcopy(model).eval(), {torch.nn.Linear}, dtype=torch.qint8)


class _LogitsOnly(torch.nn.Module):
    """Wrap a Hugging Face classifier so the exported graph has plain tensors in and out."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        return self.model(**kwargs).logits


def export_onnx(model: torch.nn.Module, tokenizer, path: str | Path, opset: int = 17) -> Path:
    """Export a sequence classifier to ONNX with dynamic batch and length; returns the file.

    Uses the TorchScript exporter (``dynamo=False``), which handles BERT-style encoders with
    ``dynamic_axes`` reliably; the file is written to a temporary name and then moved.

    >>> import tempfile, onnxruntime
    >>> from llmstart.models.pretrained import load_classifier
    >>> model, tok = load_classifier("minilm", label_names=["a", "b"], verbose=False)
    >>> p = export_onnx(model, tok, tempfile.mkdtemp() + "/m.onnx")
    >>> [i.name for i in onnxruntime.InferenceSession(str(p)).get_inputs()]
    ['input_ids', 'attention_mask', 'token_type_ids']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(["an example", "a slightly longer example text"], padding=True,
                       return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    axes = {n: {0: "batch", 1: "length"} for n in names}
    axes["logits"] = {0: "batch"}
    tmp = path.with_name(path.name + ".tmp")
    wrapped = _LogitsOnly(copy.deepcopy(model).float()).eval()  # eval: no dropout in the graph
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapped, tuple(sample[n] for n in names), str(tmp), input_names=names,
                          output_names=["logits"], dynamic_axes=axes, opset_version=opset,
                          dynamo=False)
    tmp.replace(path)
    return path


def state_size_mb(model: torch.nn.Module) -> float:
    """Size of the model's saved state dict in MB (what it takes on disk once saved).

    >>> round(state_size_mb(torch.nn.Linear(1000, 250)), 2)
    1.0
    """
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell() / 1e6


def folder_size_mb(folder: str | Path, pattern: str = "*") -> float:
    """Total size in MB of the files in ``folder`` matching ``pattern`` (recursively).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "w.bin").write_bytes(b"0" * 500_000)
    >>> folder_size_mb(d)
    0.5
    """
    return sum(p.stat().st_size for p in Path(folder).rglob(pattern) if p.is_file()) / 1e6


def time_engine(predict, texts: list[str], repeats: int = 3) -> float:
    """Best-of-``repeats`` seconds for ``predict(texts)`` (the least disturbed run).

    >>> time_engine(lambda t: [len(x) for x in t], ["a", "b"]) >= 0
    True
    """
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        predict(texts)
        best = min(best, time.perf_counter() - start)
    return best
