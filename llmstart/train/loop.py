"""The training loop: one function, :func:`fit`, that reads top to bottom.

Every feature is a plain argument: device, mixed precision, gradient accumulation, clipping,
AdamW with warm-up and decay, evaluation every epoch or every N steps, early stopping, keeping
the best weights, checkpoints and exact resume, a progress bar and a live plot. ``accelerate``
places the model and data and runs several processes (DDP) under ``accelerate launch``;
mixed precision is plain ``torch.autocast`` (with a loss scaler for fp16), visible in the loop.

>>> import torch
>>> from torch.utils.data import DataLoader
>>> class Tiny(torch.nn.Module):
...     def __init__(self):
...         super().__init__(); self.lin = torch.nn.Linear(2, 2)
...     def forward(self, x, labels):
...         logits = self.lin(x)
...         return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}
>>> data = [{"x": torch.tensor([float(i % 2), 1.0]), "labels": i % 2} for i in range(64)]
>>> loader = DataLoader(data, batch_size=16)
>>> h = fit(Tiny(), loader, loader, epochs=20, lr=0.1, precision="fp32", progress=False)
>>> h.evals[-1]["accuracy"], h.precision
(1.0, 'fp32')
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from llmstart.runtime import best_device, peak_memory_mb, pick_precision, set_seed
from llmstart.train.checkpoint import load_checkpoint, save_checkpoint, save_model
from llmstart.train.evaluate import evaluate_model, output
from llmstart.train.history import History
from llmstart.train.progress import progress_bar

LOWER_IS_BETTER = {"loss", "perplexity"}
AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float, device: torch.device):
    """AdamW; biases and normalisation weights get no weight decay (the usual recipe).

    PyTorch's fused kernel updates every tensor in one pass: on 2 CPU cores it makes MiniLM's
    optimizer step about 8x faster than the per-tensor loop.

    >>> opt = make_optimizer(torch.nn.Linear(2, 2), 1e-3, 0.01, torch.device("cpu"))
    >>> [g["weight_decay"] for g in opt.param_groups]
    [0.01, 0.0]
    """
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "norm" in name.lower() else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, fused=device.type in ("cuda", "cpu", "mps") or None)


class BestTracker:
    """Keeps the best evaluation, a CPU copy of its weights, and counts evaluations without progress.

    Accuracy and macro-F1 move in steps of one example: on a small validation set two
    evaluations often tie. A tie goes to the lower validation loss (``tie_loss``), the
    continuous figure that still tells them apart, instead of always to the earlier one.

    >>> t = BestTracker("loss", keep_weights=False)
    >>> t.update(0.5, step=10, model=None), t.update(0.7, step=20, model=None), t.bad_evals
    (True, False, 1)
    >>> t = BestTracker("accuracy", keep_weights=False)
    >>> t.update(0.9, step=10, model=None, tie_loss=0.40), t.update(0.9, step=20, model=None, tie_loss=0.30)
    (True, True)
    >>> t.step, t.loss
    (20, 0.3)
    """

    def __init__(self, metric: str, keep_weights: bool = True, tie_breaker: str | None = "loss"):
        if tie_breaker not in (None, "loss"):
            raise ValueError(f"tie_breaker must be 'loss' or None, not {tie_breaker!r}")
        self.metric, self.keep_weights, self.tie_breaker = metric, keep_weights, tie_breaker
        self.value: float | None = None
        self.step: int | None = None
        self.loss: float | None = None  # validation loss of the best evaluation (the tie-breaker)
        self.state: dict | None = None
        self.bad_evals = 0

    def is_better(self, value: float, tie_loss: float | None = None) -> bool:
        """Whether ``value`` (with validation loss ``tie_loss``) beats the best so far."""
        if self.value is None:
            return True
        if math.isclose(value, self.value, rel_tol=1e-9, abs_tol=1e-12):
            return (self.tie_breaker == "loss" and self.metric not in LOWER_IS_BETTER and tie_loss is not None
                    and self.loss is not None and tie_loss < self.loss)
        return value < self.value if self.metric in LOWER_IS_BETTER else value > self.value

    def update(self, value: float, step: int, model, tie_loss: float | None = None) -> bool:
        """Record an evaluation; True when it is the best so far (a tie: when its loss is lower)."""
        if not self.is_better(value, tie_loss):
            self.bad_evals += 1
            return False
        self.value, self.step, self.loss, self.bad_evals = value, step, tie_loss, 0
        if self.keep_weights:
            self.state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        return True


def _set_epoch(loader, epoch: int) -> None:
    """Tell the loader and every batch sampler in its chain the epoch (each reshuffles with it)."""
    while loader is not None:
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        loader = getattr(loader, "batch_sampler", None)


def _schedule(optimizer, schedule: str, warmup_ratio: float, total_steps: int):
    from transformers import get_scheduler

    return get_scheduler(schedule, optimizer, int(warmup_ratio * total_steps), total_steps)


def fit(
    model: torch.nn.Module,
    train_loader,
    val_loader=None,
    *,
    epochs: int = 3,
    max_steps: int | None = None,
    lr: float = 5e-5,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.1,
    schedule: str = "linear",
    grad_accum_steps: int = 1,
    max_grad_norm: float | None = 1.0,
    precision: str = "auto",
    cpu: bool = False,
    eval_every: int | None = None,
    metric: str = "accuracy",
    early_stopping_patience: int | None = None,
    restore_best: bool = True,
    tie_breaker: str | None = "loss",
    class_weights: Sequence[float] | None = None,
    out_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume_from: str | Path | None = None,
    seed: int = 0,
    progress: bool = True,
    live_plot: bool = False,
) -> History:
    """Train ``model`` on ``train_loader``; evaluate on ``val_loader``; return a :class:`History`.

    Batches are dicts passed as ``model(**batch)``; the model returns its loss (Hugging Face
    models do when the batch holds ``labels``). Arguments, in the order a run meets them:

    - ``epochs`` / ``max_steps``: length of the run (``max_steps`` optimizer steps wins).
    - ``lr``, ``weight_decay``: AdamW (fused kernel); ``warmup_ratio`` of the steps warm up
      linearly, then ``schedule`` decays: ``"linear"``, ``"cosine"`` or ``"constant"``.
    - ``grad_accum_steps``: add up the gradients of several batches before a step (a bigger
      effective batch in the same memory). ``max_grad_norm``: clip the gradient norm.
    - ``precision``: ``"auto"`` (bf16 on GPUs and CPUs that do it natively, fp16 with loss scaling
      on older GPUs, else fp32; printed when ``progress``), ``"bf16"``, ``"fp16"`` or ``"fp32"``.
      ``cpu=True`` ignores any GPU.
    - ``eval_every``: evaluate every N steps (default: after every epoch); ``metric`` picks the
      best evaluation (``"loss"``/``"perplexity"``: lower is better; a tie in accuracy or F1 goes to the
      lower validation loss); ``early_stopping_patience``:
      stop after N evaluations without improvement; ``restore_best``: end on the best weights;
      ``tie_breaker=None`` keeps the earlier of two tied evaluations (the behaviour before the tie-breaker).
    - ``class_weights``: one weight per label for the *training* loss (cross-entropy on the
      model's logits, so rare labels count more; e.g. :func:`llmstart.recipe.balanced_class_weights`).
      The validation loss stays the model's own, unweighted: pick the best step by macro-F1 then.
    - ``out_dir``: save the best model there (``best/``); ``checkpoint_every`` N steps also saves
      ``checkpoint/``, and so does Ctrl-C (``KeyboardInterrupt``, re-raised after saving);
      ``resume_from`` continues from such a folder and ends with the same weights as an
      uninterrupted run.
    - ``progress``: a progress bar (a widget in Jupyter, text in a terminal, a line every 10 % in
      a log: :func:`llmstart.train.progress.progress_bar`); ``live_plot``: one
      figure of loss and metric, redrawn in place in Jupyter.
    """
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration

    # 1. Hardware. split_batches=True makes the loader's batch the *global* batch: with two
    #    processes each gets half of it, so results match one process.
    accelerator = Accelerator(mixed_precision="no", gradient_accumulation_steps=grad_accum_steps,
                              cpu=cpu or best_device() == "cpu",
                              dataloader_config=DataLoaderConfiguration(split_batches=True))
    device, main = accelerator.device, accelerator.is_main_process
    precision = pick_precision(precision, device.type)
    amp_dtype = AUTOCAST_DTYPES[precision]
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    set_seed(seed)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    # 2. Optimizer and learning-rate schedule, sized in optimizer steps.
    steps_per_epoch = math.ceil(len(train_loader) / grad_accum_steps)
    total_steps = max_steps or epochs * steps_per_epoch
    epochs = math.ceil(total_steps / steps_per_epoch)
    model, train_loader = accelerator.prepare(model, train_loader)
    optimizer = make_optimizer(model, lr, weight_decay, device)
    scheduler = _schedule(optimizer, schedule, warmup_ratio, total_steps)
    val_loader = accelerator.prepare(val_loader) if val_loader is not None else None
    raw_model = accelerator.unwrap_model(model)

    weights = None if class_weights is None else torch.tensor(list(class_weights), dtype=torch.float32,
                                                              device=device)
    history = History(metric=metric, device=str(device), precision=precision,
                      num_processes=accelerator.num_processes)
    best = BestTracker(metric, keep_weights=restore_best, tie_breaker=tie_breaker)
    step, start_epoch, skip = 0, 0, 0
    if resume_from is not None:
        position, history, best.state = load_checkpoint(resume_from, raw_model, optimizer, scheduler, scaler)
        step, start_epoch, skip = position["step"], position["epoch"], position["batches_done"]
        best.value, best.step, best.bad_evals = history.best_metric, history.best_step, position["bad_evals"]
        best.loss = next((e.get("loss") for e in history.evals if e["step"] == best.step), None)
    out_dir = Path(out_dir) if out_dir is not None else None

    def checkpoint(epoch: int, batches_done: int) -> None:
        if out_dir is None or not main:
            return
        at_end = batches_done == len(train_loader)  # the epoch is complete: resume at the next one
        save_checkpoint(out_dir / "checkpoint", raw_model, optimizer, scheduler, scaler,
                        {"step": step, "epoch": epoch + at_end, "batches_done": 0 if at_end else batches_done,
                         "bad_evals": best.bad_evals}, history, best.state)

    def evaluate(epoch: int) -> bool:
        """Evaluate, keep the best weights, and say whether to stop early."""
        tic = time.perf_counter()
        result = evaluate_model(model, val_loader, accelerator, amp_dtype)
        history.eval_time_s += time.perf_counter() - tic
        if metric not in result:
            raise ValueError(f"metric {metric!r} not computed; evaluation gives {sorted(result)}")
        history.evals.append({"step": step, "epoch": epoch + 1, **result})
        if best.update(result[metric], step, raw_model, tie_loss=result.get("loss")) and out_dir is not None and main:
            save_model(raw_model, out_dir / "best")
        history.best_metric, history.best_step = best.value, best.step
        if plot is not None:
            plot.update(history)
        return early_stopping_patience is not None and best.bad_evals >= early_stopping_patience

    bar = progress_bar(total=total_steps, initial=step, desc="training", disable=not (progress and main))
    if progress and main:
        bar.write(f"fit: {device.type}, {precision}, {accelerator.num_processes} process(es), "
                  f"{total_steps} optimizer steps")
    plot = None
    if live_plot and main:
        from llmstart.plots import LivePlot

        plot = LivePlot(metric)

    # 3. The loop.
    losses: list[torch.Tensor] = []  # losses of the micro-batches of the current optimizer step
    stop, epoch, batches_done, done_at_step = False, start_epoch, 0, 0
    model.train()
    tic = time.perf_counter()
    try:
        for epoch in range(start_epoch, epochs):
            _set_epoch(train_loader, epoch)
            batches = accelerator.skip_first_batches(train_loader, skip) if skip else train_loader
            batches_done = done_at_step = skip
            skip = 0
            for batch in batches:
                with accelerator.accumulate(model):  # under DDP: sync gradients on the last micro-batch only
                    with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                        outputs = model(**batch)
                        loss = output(outputs, "loss") if weights is None else torch.nn.functional.cross_entropy(
                            output(outputs, "logits").float(), batch["labels"], weight=weights)
                    accelerator.backward(scaler.scale(loss))  # divides by grad_accum_steps
                batches_done += 1
                losses.append(loss.detach())
                history.samples_seen += len(next(v for v in batch.values() if torch.is_tensor(v))) * accelerator.num_processes
                if not accelerator.sync_gradients:
                    continue  # accumulating: no optimizer step yet
                scaler.unscale_(optimizer)
                if max_grad_norm is not None:
                    accelerator.clip_grad_norm_(model.parameters(), max_grad_norm)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                lr_now = scheduler.get_last_lr()[0]
                scheduler.step()
                step, done_at_step = step + 1, batches_done
                loss_value = accelerator.reduce(torch.stack(losses).mean(), "mean").item()
                losses.clear()
                history.steps.append({"step": step, "epoch": epoch, "loss": loss_value, "lr": lr_now})
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
                if val_loader is not None and eval_every and step % eval_every == 0:
                    history.train_time_s += time.perf_counter() - tic
                    stop = evaluate(epoch)
                    tic = time.perf_counter()
                if checkpoint_every and step % checkpoint_every == 0:
                    checkpoint(epoch, batches_done)
                if stop or step >= total_steps:
                    break
            if val_loader is not None and not eval_every and not stop:
                history.train_time_s += time.perf_counter() - tic
                stop = evaluate(epoch)
                tic = time.perf_counter()
            if stop or step >= total_steps:
                break
    except KeyboardInterrupt:
        history.interrupted = True
        losses.clear()  # micro-batches after the last optimizer step are redone on resume
        checkpoint(epoch, done_at_step)
        if out_dir is not None and main:
            bar.write(f"interrupted at step {step}: checkpoint saved in {out_dir / 'checkpoint'}")
        raise
    finally:
        history.train_time_s += time.perf_counter() - tic
        bar.close()
        if plot is not None:
            plot.close()

    # 4. The end: best weights back, figures, files.
    history.stopped_early = stop
    accelerator.wait_for_everyone()
    if best.state is not None and best.step != step:
        raw_model.load_state_dict(best.state)
    history.peak_memory_mb, history.memory_kind = peak_memory_mb(device)
    if out_dir is not None and main:
        history.save(out_dir / "history.json")
    if progress and main:  # the bar is a widget in Jupyter: say the same in text (GitHub, nbviewer, logs)
        last = f", last loss {history.steps[-1]['loss']:.4f}" if history.steps else ""
        print(f"training: {step}/{total_steps} steps in {history.train_time_s:.0f} s{last}")
    return history
