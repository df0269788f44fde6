"""Use a fine-tuned classifier: load a saved folder and label new texts.

>>> from llmstart.models import load_classifier
>>> from llmstart.train import save_model
>>> import tempfile
>>> model, tok = load_classifier("minilm", label_names=["neg", "pos"], verbose=False)
>>> folder = save_model(model, tempfile.mkdtemp() + "/clf", tok)
>>> clf = TextClassifier.load(folder)
>>> sorted(clf.predict(["great product"])[0])
['label', 'score', 'scores']
>>> clf.precision, TextClassifier.load(folder, precision="bf16").precision
('fp32', 'bf16')
"""

from __future__ import annotations

from pathlib import Path

import torch

ADAPTER_INFO = "llmstart_adapter.json"


def load_lora_classifier(folder: str | Path):
    """Load a ``llmstart train --lora`` folder: its base model, then its adapter; returns ``(model, tokenizer)``.

    The folder holds the adapter (``adapter_model.safetensors``, LoRA matrices and head), the
    tokenizer, and ``llmstart_adapter.json`` (the base model's name and the label names). The
    adapter is merged into the base weights, so prediction costs what the plain model costs.
    """
    import json

    from transformers import AutoTokenizer

    from llmstart.lora import load_adapter, merge_for_deployment
    from llmstart.models import load_classifier

    folder = Path(folder)
    info = json.loads((folder / ADAPTER_INFO).read_text())
    model, _ = load_classifier(info["base_model"], label_names=info["label_names"], verbose=False)
    model = merge_for_deployment(load_adapter(model, folder))
    return model, AutoTokenizer.from_pretrained(str(folder))


class TextClassifier:
    """A fine-tuned model and its tokenizer, ready to label texts."""

    def __init__(self, model, tokenizer, max_length: int = 256, precision: str = "fp32"):
        """``precision``: ``"fp32"`` (default), ``"bf16"`` (``torch.autocast``: matrix products in
        bfloat16, the softmax in fp32), ``"fp16"`` (GPUs) or ``"auto"`` (bf16 where the hardware does
        it natively, see :func:`llmstart.runtime.pick_precision`; about twice as fast on such a CPU)."""
        from llmstart.runtime import pick_precision

        self.model, self.tokenizer, self.max_length = model.eval(), tokenizer, max_length
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        self.precision = pick_precision(precision, next(model.parameters()).device.type)

    @classmethod
    def load(cls, folder: str | Path, max_length: int = 256, precision: str = "fp32") -> TextClassifier:
        """Load a folder written by ``save_model(model, folder, tokenizer)`` or ``llmstart train``."""
        from llmstart.models import load_classifier

        folder = Path(folder)
        if (folder / ADAPTER_INFO).is_file():  # written by `llmstart train --lora`: base + adapter
            return cls(*load_lora_classifier(folder), max_length, precision)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"{folder}: no fine-tuned model here (config.json missing). Train one with "
                "`python -m llmstart train ... --out DIR` and pass that DIR."
            )
        model, tokenizer = load_classifier(str(folder), verbose=False)
        return cls(model, tokenizer, max_length, precision)

    @torch.no_grad()
    def logits(self, texts: list[str], batch_size: int = 32):
        """Raw logits as a float32 NumPy array, one row per text, in order (in ``self.precision``)."""
        import numpy as np

        device = next(self.model.parameters()).device
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        rows = [np.zeros((0, len(self.labels)), dtype=np.float32)]
        for i in range(0, len(texts), batch_size):
            batch = self.tokenizer(list(texts[i:i + batch_size]), padding=True, truncation=True,
                                   max_length=self.max_length, return_tensors="pt").to(device)
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                rows.append(self.model(**batch).logits.float().cpu().numpy())
        return np.concatenate(rows)

    def predict(self, texts: list[str], batch_size: int = 32) -> list[dict]:
        """For each text: the best label, its probability, and every label's probability."""
        probs = torch.from_numpy(self.logits(texts, batch_size)).softmax(-1)
        results = []
        for row in probs:
            k = int(row.argmax())
            results.append({"label": self.labels[k], "score": float(row[k]),
                            "scores": {n: float(p) for n, p in zip(self.labels, row, strict=True)}})
        return results
