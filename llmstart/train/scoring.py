"""Score a model on a loader: loss, plus accuracy and macro P/R/F1 (classifiers) or perplexity (LMs).

>>> import torch
>>> class Const(torch.nn.Module):
...     def forward(self, x, labels):
...         logits = torch.tensor([[0.0, 1.0]]).repeat(len(x), 1)
...         return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}
>>> batch = {"x": torch.zeros(4), "labels": torch.tensor([1, 1, 0, 1])}
>>> evaluate_model(Const(), [batch])["accuracy"]
0.75
"""

from __future__ import annotations

import math

import torch

from llmstart.evaluation.metrics import classification_metrics
from llmstart.runtime import eval_mode


def to_device(batch: dict, device: torch.device) -> dict:
    """Move every tensor of a dict batch to ``device``.

    >>> to_device({"x": torch.zeros(1), "id": "a"}, torch.device("cpu"))["id"]
    'a'
    """
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}


def output(outputs, key: str):
    """``outputs[key]`` for a dict, ``outputs.key`` for a transformers output (None if absent)."""
    return outputs[key] if isinstance(outputs, dict) else getattr(outputs, key, None)


@torch.no_grad()
def evaluate_model(model: torch.nn.Module, loader, accelerator=None,
                   autocast_dtype: torch.dtype | None = None) -> dict[str, float]:
    """Loss on ``loader``, plus accuracy and macro P/R/F1 for classifiers or perplexity for LMs.

    Works on a plain model (batches are moved to the model's device) or inside
    :func:`~llmstart.train.fit` (``accelerator`` gathers predictions from every process). The
    loss is averaged over examples (classifiers) or scored tokens (LMs), not over batches, so
    the last, smaller batch does not count more.
    """
    device = next(model.parameters(), torch.empty(0)).device
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    weight_sum = torch.zeros((), dtype=torch.float64, device=device)
    preds, golds, causal = [], [], False
    with eval_mode(model), torch.autocast(device.type, dtype=autocast_dtype or torch.float32,
                                          enabled=autocast_dtype is not None):
        for batch in loader:
            if accelerator is None:
                batch = to_device(batch, device)
            outputs = model(**batch)
            logits, labels = output(outputs, "logits"), batch.get("labels")
            causal = logits is not None and logits.dim() == 3
            weight = (labels[:, 1:] != -100).sum() if causal else torch.tensor(len(labels), device=device)
            loss_sum += output(outputs, "loss").double() * weight
            weight_sum += weight
            if not causal and logits is not None:
                pred = logits.argmax(-1)
                if accelerator is not None:
                    pred, labels = accelerator.gather_for_metrics((pred, labels))
                preds.append(pred.cpu())
                golds.append(labels.cpu())
    if accelerator is not None:
        loss_sum, weight_sum = accelerator.reduce(loss_sum, "sum"), accelerator.reduce(weight_sum, "sum")
    result = {"loss": (loss_sum / weight_sum.clamp(min=1)).item()}
    if causal:
        result["perplexity"] = math.exp(min(result["loss"], 50.0))
    elif preds:
        result.update(classification_metrics(torch.cat(golds).numpy(), torch.cat(preds).numpy()))
    return result
