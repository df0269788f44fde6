"""The model behind the service: one folder, four ways to run it (float, bf16, int8, ONNX Runtime).

An :class:`Engine` turns a list of texts into class probabilities. It sorts the texts by
length and pads each batch only to its own longest text (dynamic padding), so a batch of short
tweets does not pay for one long review. The backend is chosen when the service starts:

- ``float``: the fine-tuned PyTorch model as it was saved;
- ``bf16``: the same weights, each forward pass under ``torch.autocast`` in bfloat16 (about 2x
  faster than float on a CPU with native bf16 instructions; refused on one without them, where it
  would be slower);
- ``int8``: the same model with every ``nn.Linear`` quantised to int8 on the fly (PyTorch dynamic
  quantisation: weights stored in int8, activations quantised per batch);
- ``onnx``: the model exported to ONNX and run by ONNX Runtime.

>>> import tempfile
>>> from llmstart.models.pretrained import load_classifier
>>> from llmstart.train import save_model
>>> model, tok = load_classifier("minilm", label_names=["neg", "pos"], verbose=False)
>>> folder = save_model(model, tempfile.mkdtemp() + "/clf", tok)
>>> engine = Engine.load(folder, backend="float")
>>> engine.labels, engine.predict_proba(["great", "awful service"]).shape
(['neg', 'pos'], (2, 2))
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from llmstart.files import ADAPTER_INFO
from llmstart.models.hub import DEFAULT_MAX_LENGTH
from llmstart.runtime import pick_precision
from llmstart.serve import BACKENDS
from llmstart.serve.classifier import batch_logits, scaled_probabilities, trained_max_length
from llmstart.serve.compress import export_onnx, folder_size_mb, quantize_int8
from llmstart.serve.folder import ModelFolderError, ServingSettings, check_model_folder

__all__ = ["BACKENDS", "Engine", "ModelFolderError", "ServingSettings", "check_model_folder",
           "serving_threads"]


def serving_threads(threads: int | None = None) -> int:
    """Threads for inference: all cores this process may use, unless told otherwise.

    Training wants every core on one big batch; a service answers many small batches, so it
    uses one inter-op thread and the cores for intra-op work.

    >>> serving_threads(2)
    2
    """
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, int(threads))


def serving_device(device: str, backend: str) -> str:
    """The device a backend serves on: ``"auto"`` picks CUDA for float/bf16 when a GPU is there.

    >>> serving_device("auto", "int8"), serving_device("cpu", "float")
    ('cpu', 'cpu')
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device {device!r}: choose auto, cpu or cuda")
    gpu = torch.cuda.is_available()
    if device == "cuda" and (not gpu or backend not in ("float", "bf16")):
        raise ValueError("device cuda: " + ("no CUDA GPU is visible on this machine; use --device cpu"
                                            if not gpu else f"backend {backend} runs on the CPU only; "
                                            "use --backend float or bf16 on a GPU"))
    if device == "auto":
        return "cuda" if gpu and backend in ("float", "bf16") else "cpu"
    return device


class Engine:
    """Texts in, probabilities out, with dynamic padding; see the module docstring."""

    def __init__(self, model, tokenizer, labels: list[str], *, backend: str = "float", name: str = "",
                 folder: Path | None = None, max_length: int = DEFAULT_MAX_LENGTH, batch_size: int = 32,
                 onnx_session=None, settings: ServingSettings | None = None):
        self.model, self.tokenizer, self.labels = model, tokenizer, labels
        self.backend, self.name, self.folder = backend, name, folder
        self.max_length, self.batch_size = max_length, batch_size
        self.session = onnx_session
        self.settings = settings or ServingSettings()
        first = next(model.parameters(), None) if hasattr(model, "parameters") else None
        self.device = first.device.type if first is not None else "cpu"  # where the model answers

    @classmethod
    def load(cls, folder: str | Path, backend: str = "float", *, max_length: int | None = None,
             batch_size: int = 32, threads: int | None = None, onnx_path: str | Path | None = None,
             device: str = "auto") -> Engine:
        """Load a saved classifier folder for serving with the chosen ``backend``.

        ``max_length`` ``None``: the length the model was trained with (``metrics.json``), as
        ``llmstart predict`` reads it, so both give the answers the test metrics describe.
        ``device`` ``"auto"``: a CUDA GPU when there is one for the float and bf16 backends (int8
        and ONNX are CPU backends), else the CPU; ``"cpu"`` or ``"cuda"`` to choose."""
        from llmstart.models.pretrained import load_classifier
        from llmstart.serve.classifier import load_lora_classifier

        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r}: choose one of {', '.join(BACKENDS)}")
        device = serving_device(device, backend)
        if backend == "bf16" and device == "cpu" and pick_precision("auto") != "bf16":
            raise ValueError("backend bf16: this machine has no native bf16 instructions, so bf16 would be "
                             "slower than float; use --backend int8 for a faster CPU service")
        folder = check_model_folder(folder)
        max_length = trained_max_length(folder) if max_length is None else max_length
        threads = serving_threads(threads)
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)  # one request batch at a time: no inter-op parallelism
        except RuntimeError:  # already set (or inter-op work already started) in this process
            pass
        try:
            if (folder / ADAPTER_INFO).is_file():  # a --lora folder: base model + adapter, merged
                model, tokenizer = load_lora_classifier(folder)
            else:
                model, tokenizer = load_classifier(str(folder), verbose=False)
        except Exception as err:  # a damaged file: say which folder, stop
            raise ModelFolderError(f"{folder}: could not load the model ({type(err).__name__}: "
                                   f"{err}). Save it again.") from err
        model.eval().to(device)
        labels = [str(model.config.id2label[i]) for i in range(model.config.num_labels)]
        settings = ServingSettings.read(folder)
        session = None
        if backend == "int8":
            model = quantize_int8(model)
        elif backend == "onnx":
            import onnxruntime as ort

            path = Path(onnx_path) if onnx_path else folder / "onnx" / "model.onnx"
            if not path.is_file():
                export_onnx(model, tokenizer, path)
            options = ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return cls(model, tokenizer, labels, backend=backend, name=folder.name, folder=folder,
                   max_length=max_length, batch_size=batch_size, onnx_session=session, settings=settings)

    def _logits(self, texts: list[str]) -> np.ndarray:
        if self.session is not None:
            enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="np")
            names = {i.name for i in self.session.get_inputs()}
            feed = {k: np.asarray(v, dtype=np.int64) for k, v in enc.items() if k in names}
            return self.session.run(None, feed)[0]
        return batch_logits(self.model, self.tokenizer, texts, self.max_length,
                            "bf16" if self.backend == "bf16" else "fp32")

    def predict_logits(self, texts: list[str]) -> np.ndarray:
        """Raw logits, one row per text, in the order given (batches sorted by length inside)."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            out[idx] = self._logits([texts[i] for i in idx])
        return out

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities after temperature scaling (``serving.json``; 1.0 when absent), computed as
        :class:`~llmstart.serve.classifier.TextClassifier` and ``llmstart predict`` compute them
        (:func:`~llmstart.serve.classifier.scaled_probabilities`), so all three answer the same score."""
        return scaled_probabilities(self.predict_logits(texts), self.settings.temperature)

    def size_mb(self) -> float:
        """Size of what this backend loads from disk (int8: of its saved state), in MB."""
        if self.backend == "onnx" and self.folder is not None:
            return folder_size_mb(self.folder / "onnx")
        from llmstart.serve.compress import state_size_mb

        return state_size_mb(self.model)

    def info(self) -> dict:
        """What ``GET /v1/model`` answers: name, labels, backend, training metrics, origin."""
        metrics: dict = {}
        if self.folder is not None and (self.folder / "metrics.json").is_file():
            try:
                metrics = json.loads((self.folder / "metrics.json").read_text(encoding="utf-8"))
            except ValueError:
                metrics = {"error": "metrics.json is not valid JSON"}
        config = getattr(self.model, "config", None)
        return {"name": self.name, "labels": self.labels, "backend": self.backend,
                "folder": str(self.folder) if self.folder else None,
                "base_model": getattr(config, "_name_or_path", None) or metrics.get("model"),
                "architecture": (getattr(config, "architectures", None) or [None])[0],
                "max_length": self.max_length, "temperature": self.settings.temperature,
                "abstain_threshold": self.settings.abstain_threshold, "training": metrics}
