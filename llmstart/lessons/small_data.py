"""One fine-tuning run on a small training set, scored the way notebook 11 compares runs.

:func:`train_and_score` fine-tunes a fresh copy of the encoder (fully, or LoRA) for a fixed
number of optimizer steps, then reports train, validation and test accuracy and the
train-validation gap: the numbers that say whether an anti-overfitting remedy helped.
:func:`summarise` turns runs over several seeds into mean ± standard deviation.

>>> import pandas as pd
>>> runs = pd.DataFrame({"method": ["a", "a", "b", "b"], "test_acc": [0.5, 0.7, 0.6, 0.6], "gap": [0.4, 0.2, 0.1, 0.1]})
>>> summarise(runs, "method").to_dict("records")[0]
{'method': 'a', 'mean_accuracy': 0.6, 'std_accuracy': 0.141, 'mean_gap': 0.3, 'runs': 2}
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch


def set_dropout(model: torch.nn.Module, p: float) -> int:
    """Set every ``nn.Dropout`` in ``model`` to probability ``p``; returns how many there are.

    >>> set_dropout(torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(2, 2)), 0.3)
    1
    """
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    for m in layers:
        m.p = p
    return len(layers)


def accuracy(model, df: pd.DataFrame, tokenizer, label_names: Sequence[str], max_length: int,
             bf16: bool = False) -> float:
    """Accuracy of ``model`` on ``df`` (columns ``text``, ``label``); ``bf16``: CPU bfloat16 autocast."""
    from llmstart.data import make_loader
    from llmstart.train import evaluate_model

    loader = make_loader(df, tokenizer, label_names, batch_size=64, max_length=max_length)
    return float(evaluate_model(model, loader, autocast_dtype=torch.bfloat16 if bf16 else None)["accuracy"])


def train_and_score(train: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame, tokenizer,
                    label_names: Sequence[str], *, seed: int = 0, steps: int = 30, lr: float = 1e-4,
                    batch_size: int = 16, max_length: int = 48, weight_decay: float = 0.0,
                    dropout: float | None = None, early_stopping: int | None = None,
                    lora_r: int | None = None, encoder: str = "minilm", bf16: bool = False) -> dict:
    """Fine-tune ``encoder`` on ``train`` for ``steps`` steps; accuracies and the train-val gap.

    - ``weight_decay``: AdamW's decoupled L2; ``dropout``: every dropout layer set to it;
    - ``early_stopping``: evaluate on ``val`` each epoch, stop after that many evaluations
      without progress and keep the best weights (otherwise the last weights are scored);
    - ``lora_r``: train LoRA adapters of rank ``lora_r`` on query/value (+ the head) instead
      of all weights (its learning rate is 10x ``lr``, the usual practice for adapters);
    - ``bf16``: score under CPU bfloat16 autocast (about 2.5x faster on CPUs with native bf16;
      training already uses it there, as :func:`llmstart.train.fit` does by default).

    The gap is train accuracy (original rows only, when an ``augmented`` column marks copies)
    minus validation accuracy, both measured after training.
    """
    from llmstart.data import make_loader
    from llmstart.models.lora import add_lora
    from llmstart.models.pretrained import load_classifier
    from llmstart.train import TrainConfig, fit

    model, _ = load_classifier(encoder, label_names=list(label_names), verbose=False, seed=seed)
    if dropout is not None:
        set_dropout(model, dropout)
    if lora_r is not None:
        model, lr = add_lora(model, r=lora_r, alpha=2 * lora_r), lr * 10
    train_loader = make_loader(train, tokenizer, label_names, batch_size=batch_size,
                               max_length=max_length, shuffle=True, seed=seed)
    val_loader = (make_loader(val, tokenizer, label_names, batch_size=64, max_length=max_length)
                  if early_stopping is not None else None)
    config = TrainConfig(max_steps=steps, lr=lr, weight_decay=weight_decay, warmup_ratio=0.1,
                         patience=early_stopping, restore_best=early_stopping is not None, seed=seed,
                         tie_breaker=None)  # as when notebook 11's stored results were measured (first of tied evaluations)
    history = fit(model, train_loader, val_loader, config, progress=False)
    original = train[~train["augmented"].astype(bool)] if "augmented" in train else train
    train_acc = accuracy(model, original, tokenizer, label_names, max_length, bf16)
    val_acc = accuracy(model, val, tokenizer, label_names, max_length, bf16)
    test_acc = accuracy(model, test, tokenizer, label_names, max_length, bf16)
    return {"train_acc": train_acc, "val_acc": val_acc, "test_acc": test_acc,
            "gap": train_acc - val_acc, "steps_run": history.evals[-1]["step"] if history.evals else steps}


def summarise(runs: pd.DataFrame, by: str) -> pd.DataFrame:
    """Mean and standard deviation (over seeds) of test accuracy, and the mean gap, per ``by``.

    Groups keep their first-seen order.
    """
    g = runs.groupby(by, sort=False)
    out = pd.DataFrame({"mean_accuracy": g["test_acc"].mean(), "std_accuracy": g["test_acc"].std(ddof=1),
                        "mean_gap": g["gap"].mean(), "runs": g.size()}).reset_index()
    return out.round({"mean_accuracy": 3, "std_accuracy": 3, "mean_gap": 3})


class EmbeddingCache:
    """Sentence embeddings of a frozen encoder, computed once per distinct text.

    ``bf16``: compute them under CPU bfloat16 autocast (about 2.5x faster on CPUs with native
    bf16, e.g. :func:`llmstart.runtime.cpu_supports_bf16`); the vectors are stored as float32.

    >>> from llmstart.models.pretrained import load_encoder
    >>> cache = EmbeddingCache(*load_encoder("minilm", verbose=False))
    >>> tuple(cache(["a cat", "a cat"]).shape), len(cache.vectors)
    ((2, 384), 1)
    """

    def __init__(self, model, tokenizer, max_length: int = 48, bf16: bool = False):
        self.model, self.tokenizer, self.max_length, self.bf16 = model, tokenizer, max_length, bf16
        self.vectors: dict[str, torch.Tensor] = {}

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        from llmstart.models.pretrained import embed

        new = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if new:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                vectors = embed(new, self.model, self.tokenizer, max_length=self.max_length).float()
            for t, v in zip(new, vectors, strict=True):
                self.vectors[t] = v
        return torch.stack([self.vectors[t] for t in texts])


def train_head(x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor,
               x_test: torch.Tensor, y_test: torch.Tensor, *, seed: int = 0, epochs: int = 200,
               lr: float = 3e-3, hidden: int = 128, weight_decay: float = 0.0, dropout: float = 0.0,
               early_stopping: int | None = None, n_train_scored: int | None = None) -> dict:
    """A one-hidden-layer classifier on frozen embeddings, full-batch AdamW; same report as
    :func:`train_and_score`.

    ``early_stopping``: stop after that many epochs without a better validation loss and keep
    the best weights. ``n_train_scored``: score train accuracy on the first rows only (the
    originals, when augmented copies follow them).

    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(60, 8, generator=g); y = (x[:, 0] > 0).long()
    >>> r = train_head(x, y, x, y, x, y, epochs=100)
    >>> r["train_acc"] > 0.9
    True
    """
    # Its own loop, not fit: notebook 11's remedies were measured with weight decay on every weight, fit spares biases.
    torch.manual_seed(seed)
    n_classes = int(max(y_train.max(), y_val.max(), y_test.max())) + 1
    head = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(x_train.shape[1], hidden),
                               torch.nn.GELU(), torch.nn.Dropout(dropout), torch.nn.Linear(hidden, n_classes))
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    best, best_state, bad, epochs_run = float("inf"), None, 0, 0
    for _ in range(epochs):
        head.train()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(head(x_train), y_train).backward()
        opt.step()
        epochs_run += 1
        if early_stopping is not None:
            head.eval()
            with torch.no_grad():
                val_loss = torch.nn.functional.cross_entropy(head(x_val), y_val).item()
            if val_loss < best:
                best, bad = val_loss, 0
                best_state = {k: v.clone() for k, v in head.state_dict().items()}
            else:
                bad += 1
                if bad >= early_stopping:
                    break
    if best_state is not None:
        head.load_state_dict(best_state)
    head.eval()
    with torch.no_grad():
        def acc(x, y):
            return float((head(x).argmax(-1) == y).float().mean())
        n = n_train_scored or len(y_train)
        train_acc = acc(x_train[:n], y_train[:n])
        val_acc, test_acc = acc(x_val, y_val), acc(x_test, y_test)
    return {"train_acc": train_acc, "val_acc": val_acc, "test_acc": test_acc,
            "gap": train_acc - val_acc, "steps_run": epochs_run}
