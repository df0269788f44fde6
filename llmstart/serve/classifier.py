"""Use a fine-tuned classifier: load a saved folder and label new texts.

>>> from llmstart.models.pretrained import load_classifier
>>> from llmstart.train import save_model
>>> import tempfile
>>> model, tok = load_classifier("minilm", label_names=["neg", "pos"], verbose=False)
>>> folder = save_model(model, tempfile.mkdtemp() + "/clf", tok)
>>> clf = TextClassifier.load(folder)
>>> sorted(clf.predict(["great product"])[0])
['abstain', 'label', 'score', 'scores']
>>> clf.precision, TextClassifier.load(folder, precision="bf16").precision
('fp32', 'bf16')
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from llmstart.files import ADAPTER_INFO
from llmstart.models.hub import DEFAULT_MAX_LENGTH

__all__ = ["ADAPTER_INFO", "DEFAULT_MAX_LENGTH", "TextClassifier", "batch_logits", "load_lora_classifier",
           "scaled_probabilities", "trained_max_length"]


def trained_max_length(folder: str | Path) -> int:
    """Tokens per text the model in ``folder`` was trained and tested with (``metrics.json``,
    written by ``llmstart train``), else :data:`DEFAULT_MAX_LENGTH`. ``predict`` and ``serve``
    read texts the same way by default, so they give the answers the test metrics describe.

    >>> import tempfile
    >>> trained_max_length(tempfile.mkdtemp())
    128
    """
    import json

    path = Path(folder) / "metrics.json"
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["model"]["max_length"])
    except (OSError, ValueError, KeyError, TypeError):  # absent, or not written by `llmstart train`
        return DEFAULT_MAX_LENGTH


def batch_logits(model, tokenizer, texts: list[str], max_length: int, precision: str = "fp32") -> np.ndarray:
    """One forward pass over ``texts`` (one batch, padded to its longest text): float32 logits.

    The one inference step that ``TextClassifier`` (``llmstart predict``) and the service's
    float and bf16 backends share. ``precision`` ``"bf16"``/``"fp16"`` runs the matrix products
    under ``torch.autocast``; the logits come back in float32 either way.

    >>> from llmstart.models.pretrained import load_classifier
    >>> model, tok = load_classifier("minilm", label_names=["neg", "pos"], verbose=False)
    >>> batch_logits(model.eval(), tok, ["great", "awful service"], max_length=32).shape
    (2, 2)
    """
    device = next(model.parameters()).device
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                      return_tensors="pt").to(device)
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        return model(**batch).logits.float().cpu().numpy()


def scaled_probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / temperature)`` row by row, in float64: the one place where ``predict``,
    ``TextClassifier`` and ``serve`` turn logits into the scores they answer.

    >>> scaled_probabilities(np.array([[2.0, 0.0]]), 2.0).round(4).tolist()
    [[0.7311, 0.2689]]
    """
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def load_lora_classifier(folder: str | Path):
    """Load a ``llmstart train --lora`` folder: its base model, then its adapter; returns ``(model, tokenizer)``.

    The folder holds the adapter (``adapter_model.safetensors``, LoRA matrices and head), the
    tokenizer, and ``llmstart_adapter.json`` (the base model's name and the label names). The
    adapter is merged into the base weights, so prediction costs what the plain model costs.
    """
    import json

    from transformers import AutoTokenizer

    from llmstart.models.lora import load_adapter, merge_for_deployment
    from llmstart.models.pretrained import load_classifier

    folder = Path(folder)
    info = json.loads((folder / ADAPTER_INFO).read_text())
    model, _ = load_classifier(info["base_model"], label_names=info["label_names"], verbose=False)
    model = merge_for_deployment(load_adapter(model, folder))
    return model, AutoTokenizer.from_pretrained(str(folder))


class TextClassifier:
    """A fine-tuned model and its tokenizer, ready to label texts.

    :meth:`predict` answers what ``llmstart serve`` answers for the same folder and text: ``label``,
    ``score`` (the probability of that label), ``abstain`` and ``scores`` (every label's
    probability), with the folder's ``serving.json`` applied: probabilities are
    ``softmax(logits / temperature)`` and ``abstain`` is ``score < abstain_threshold``. A model
    built in memory (or a folder without ``serving.json``) has temperature 1 and never abstains.
    """

    def __init__(self, model, tokenizer, max_length: int = DEFAULT_MAX_LENGTH, precision: str = "fp32", *,
                 temperature: float = 1.0, abstain_threshold: float = 0.0):
        """``precision``: ``"fp32"`` (default), ``"bf16"`` (``torch.autocast``: matrix products in
        bfloat16, the softmax in fp32), ``"fp16"`` (GPUs) or ``"auto"`` (bf16 where the hardware does
        it natively, see :func:`llmstart.runtime.pick_precision`; about twice as fast on such a CPU).
        ``temperature`` and ``abstain_threshold``: as in ``serving.json`` (:meth:`load` reads them)."""
        from llmstart.runtime import pick_precision

        self.model, self.tokenizer, self.max_length = model.eval(), tokenizer, max_length
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        self.precision = pick_precision(precision, next(model.parameters()).device.type)
        self.temperature, self.abstain_threshold = float(temperature), float(abstain_threshold)

    @classmethod
    def load(cls, folder: str | Path, max_length: int | None = None, precision: str = "fp32") -> TextClassifier:
        """Load a folder written by ``save_model(model, folder, tokenizer)`` or ``llmstart train``.

        ``max_length`` ``None``: the length the model was trained with (:func:`trained_max_length`).
        The temperature and abstain threshold come from the folder's ``serving.json`` (written by
        ``llmstart train``), as ``llmstart serve`` reads them; 1 and 0 without one."""
        from llmstart.models.pretrained import load_classifier
        from llmstart.serve.folder import ServingSettings

        folder = Path(folder)
        max_length = trained_max_length(folder) if max_length is None else max_length
        if (folder / ADAPTER_INFO).is_file():  # written by `llmstart train --lora`: base + adapter
            model, tokenizer = load_lora_classifier(folder)
        elif not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"{folder}: no fine-tuned model here (config.json missing). Train one with "
                "`python -m llmstart train ... --out DIR` and pass that DIR."
            )
        else:
            model, tokenizer = load_classifier(str(folder), verbose=False)
        settings = ServingSettings.read(folder)
        return cls(model, tokenizer, max_length, precision, temperature=settings.temperature,
                   abstain_threshold=settings.abstain_threshold)

    def logits(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Raw logits as a float32 NumPy array, one row per text, in order (in ``self.precision``)."""
        rows = [np.zeros((0, len(self.labels)), dtype=np.float32)]
        for i in range(0, len(texts), batch_size):
            rows.append(batch_logits(self.model, self.tokenizer, texts[i:i + batch_size], self.max_length,
                                     self.precision))
        return np.concatenate(rows)

    def predict_proba(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Probabilities, one row per text: ``softmax(logits / temperature)`` (float64)."""
        return scaled_probabilities(self.logits(texts, batch_size), self.temperature)

    def predict(self, texts: list[str], batch_size: int = 32) -> list[dict]:
        """For each text: ``label``, ``score`` (its probability), ``abstain`` (``score`` below the
        abstain threshold: hand it to a person) and ``scores`` (every label's probability), as
        ``llmstart serve`` answers them."""
        results = []
        for row in self.predict_proba(texts, batch_size):
            k = int(row.argmax())
            results.append({"label": self.labels[k], "score": float(row[k]),
                            "abstain": bool(row[k] < self.abstain_threshold),
                            "scores": {n: float(p) for n, p in zip(self.labels, row, strict=True)}})
        return results
