"""The training loop: one function, :func:`fit`, that reads top to bottom.

The hyper-parameters come in one :class:`~llmstart.train.config.TrainConfig`; ``fit``'s
keywords are what is not a hyper-parameter (the loss, the device, files, display). What is not
the loop itself (the optimizer, evaluation, checkpoints, the end of a run) is a small function
beside it. ``accelerate`` places the model and data and runs several processes (DDP) under
``accelerate launch``; mixed precision is plain ``torch.autocast`` (with a loss scaler for
fp16), visible in the loop.

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
>>> h = fit(Tiny(), loader, loader, TrainConfig(epochs=20, lr=0.1, precision="fp32"), progress=False)
>>> h.evals[-1]["accuracy"], h.precision
(1.0, 'fp32')
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from llmstart.runtime import best_device, peak_memory_mb, pick_precision, set_seed
from llmstart.train.checkpoint import load_checkpoint, save_checkpoint, save_model
from llmstart.train.config import CONFIG_FILE, TrainConfig
from llmstart.train.history import History
from llmstart.train.progress import progress_bar
from llmstart.train.scoring import evaluate_model, output

__all__ = ["fit", "TrainConfig", "model_loss", "WeightedCrossEntropy", "make_optimizer", "BestTracker"]

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


def model_loss(model: torch.nn.Module, batch: dict) -> torch.Tensor:
    """The default loss: the model's own, ``model(**batch).loss`` (HF models give it with ``labels``).

    >>> class M(torch.nn.Module):
    ...     def forward(self, x):
    ...         return {"loss": x.sum()}
    >>> model_loss(M(), {"x": torch.ones(3)}).item()
    3.0
    """
    return output(model(**batch), "loss")


class WeightedCrossEntropy:
    """``loss_fn`` for class weights: cross-entropy on the model's logits, one weight per label
    (the validation loss stays the model's own, unweighted).

    >>> class M(torch.nn.Module):
    ...     def forward(self, labels):
    ...         return {"logits": torch.zeros(len(labels), 2)}
    >>> round(WeightedCrossEntropy([1.0, 3.0])(M(), {"labels": torch.tensor([0, 1])}).item(), 4)
    0.6931
    """

    def __init__(self, weights: Sequence[float]):
        self.weights = torch.tensor(list(weights), dtype=torch.float32)

    def __call__(self, model: torch.nn.Module, batch: dict) -> torch.Tensor:
        logits = output(model(**batch), "logits").float()
        return torch.nn.functional.cross_entropy(logits, batch["labels"],
                                                 weight=self.weights.to(logits.device))


@dataclass
class Run:
    """What the loop's helpers share, passed to them explicitly (no closure holds it)."""

    config: TrainConfig
    accelerator: object
    model: torch.nn.Module  # as accelerate wrapped it (DDP)
    raw_model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    scaler: torch.amp.GradScaler
    history: History
    best: BestTracker
    amp_dtype: torch.dtype | None
    out_dir: Path | None
    main: bool
    plot: object = None


def _set_epoch(loader, epoch: int) -> None:
    """Tell the loader and every batch sampler in its chain the epoch (each reshuffles with it)."""
    while loader is not None:
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        loader = getattr(loader, "batch_sampler", None)


def _batch_len(batch) -> int:
    """Examples in a batch: the first dimension of its first tensor."""
    values = batch.values() if hasattr(batch, "values") else batch if isinstance(batch, list | tuple) else [batch]
    return len(next(v for v in values if torch.is_tensor(v)))


def _prepare(model, train_loader, val_loader, config: TrainConfig, cpu: bool, out_dir, live_plot: bool):
    """Hardware, precision, optimizer and schedule; returns ``(run, train_loader, val_loader,
    total_steps, epochs)``.

    ``split_batches=True`` makes the loader's batch the *global* batch: with two processes each
    gets half of it, so results match one process.
    """
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration
    from transformers import get_scheduler

    accelerator = Accelerator(mixed_precision="no", gradient_accumulation_steps=config.grad_accum_steps,
                              cpu=cpu or best_device() == "cpu",
                              dataloader_config=DataLoaderConfiguration(split_batches=True))
    device = accelerator.device
    precision = pick_precision(config.precision, device.type)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    if config.seed is not None:
        set_seed(config.seed)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    steps_per_epoch = math.ceil(len(train_loader) / config.grad_accum_steps)
    total_steps = config.max_steps or config.epochs * steps_per_epoch
    model, train_loader = accelerator.prepare(model, train_loader)
    optimizer = make_optimizer(model, config.lr, config.weight_decay, device)
    scheduler = get_scheduler(config.schedule, optimizer, int(config.warmup_ratio * total_steps), total_steps)
    val_loader = accelerator.prepare(val_loader) if val_loader is not None else None
    main = accelerator.is_main_process
    plot = None
    if live_plot and main:
        from llmstart.plots import LivePlot

        plot = LivePlot(config.metric)
    history = History(metric=config.metric, device=str(device), precision=precision,
                      num_processes=accelerator.num_processes)
    run = Run(config, accelerator, model, accelerator.unwrap_model(model), optimizer, scheduler, scaler,
              history, BestTracker(config.metric, config.restore_best, config.tie_breaker),
              AUTOCAST_DTYPES[precision], Path(out_dir) if out_dir is not None else None, main, plot)
    return run, train_loader, val_loader, total_steps, math.ceil(total_steps / steps_per_epoch)


def _resume(run: Run, folder) -> tuple[int, int, int]:
    """Load a checkpoint into the run; returns ``(step, epoch, batches done in that epoch)``."""
    position, run.history, run.best.state = load_checkpoint(folder, run.raw_model, run.optimizer,
                                                            run.scheduler, run.scaler)
    best, history = run.best, run.history
    best.value, best.step, best.bad_evals = history.best_metric, history.best_step, position["bad_evals"]
    best.loss = next((e.get("loss") for e in history.evals if e["step"] == best.step), None)
    return position["step"], position["epoch"], position["batches_done"]


def _optimizer_step(run: Run) -> float:
    """Unscale (fp16), clip, step, zero the gradients, advance the schedule; returns the lr used."""
    run.scaler.unscale_(run.optimizer)
    if run.config.max_grad_norm is not None:
        run.accelerator.clip_grad_norm_(run.model.parameters(), run.config.max_grad_norm)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.optimizer.zero_grad(set_to_none=True)
    lr = run.scheduler.get_last_lr()[0]
    run.scheduler.step()
    return lr


def _evaluate(run: Run, val_loader, step: int, epoch: int) -> bool:
    """Evaluate, keep the best weights (and save them), and say whether to stop early."""
    tic = time.perf_counter()
    result = evaluate_model(run.model, val_loader, run.accelerator, run.amp_dtype)
    run.history.eval_time_s += time.perf_counter() - tic
    metric, history = run.config.metric, run.history
    if metric not in result:
        raise ValueError(f"metric {metric!r} not computed; evaluation gives {sorted(result)}")
    history.evals.append({"step": step, "epoch": epoch + 1, **result})
    if run.best.update(result[metric], step, run.raw_model, tie_loss=result.get("loss")) and run.out_dir and run.main:
        save_model(run.raw_model, run.out_dir / "best")
    history.best_metric, history.best_step = run.best.value, run.best.step
    if run.plot is not None:
        run.plot.update(history)
    return run.config.patience is not None and run.best.bad_evals >= run.config.patience


def _checkpoint(run: Run, step: int, epoch: int, batches_done: int, epoch_len: int) -> None:
    """Save a resumable checkpoint in ``out_dir/checkpoint`` (main process only)."""
    if run.out_dir is None or not run.main:
        return
    at_end = batches_done == epoch_len  # the epoch is complete: resume at the next one
    save_checkpoint(run.out_dir / "checkpoint", run.raw_model, run.optimizer, run.scheduler, run.scaler,
                    {"step": step, "epoch": epoch + at_end, "batches_done": 0 if at_end else batches_done,
                     "bad_evals": run.best.bad_evals}, run.history, run.best.state, config=run.config)


def _finish(run: Run, step: int, stop: bool) -> History:
    """The end of a run: the best weights back, memory, files."""
    history = run.history
    history.stopped_early = stop
    run.accelerator.wait_for_everyone()
    if run.best.state is not None and run.best.step != step:
        run.raw_model.load_state_dict(run.best.state)
    history.peak_memory_mb, history.memory_kind = peak_memory_mb(run.accelerator.device)
    if run.out_dir is not None and run.main:
        history.save(run.out_dir / "history.json")
        run.config.save(run.out_dir / CONFIG_FILE)
    return history


def fit(
    model: torch.nn.Module,
    train_loader,
    val_loader=None,
    config: TrainConfig = TrainConfig(),  # noqa: B008 - frozen, so one shared default is safe
    *,
    loss_fn: Callable[[torch.nn.Module, object], torch.Tensor] | None = None,
    cpu: bool = False,
    out_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume_from: str | Path | None = None,
    progress: bool = True,
    live_plot: bool = False,
) -> History:
    """Train ``model`` on ``train_loader`` with the settings of ``config``; evaluate on
    ``val_loader``; return a :class:`History`.

    ``config`` (:class:`~llmstart.train.config.TrainConfig`) holds every hyper-parameter, each
    default with its reason (``TrainConfig.why(name)``): length (``epochs``/``max_steps``), AdamW
    (``lr``, ``weight_decay``, fused kernel) with ``warmup_ratio`` and ``schedule``,
    ``grad_accum_steps``, ``max_grad_norm``, ``precision``, evaluation (``eval_every``, ``metric``,
    ``patience``, ``restore_best``, ``tie_breaker``), ``class_weights`` and ``seed``.

    - ``loss_fn(model, batch) -> loss``: the training loss (default: the model's own,
      :func:`model_loss`, i.e. ``model(**batch).loss``; with ``config.class_weights``,
      :class:`WeightedCrossEntropy`). It runs under autocast. The validation loss stays the
      model's own: pick the best step by macro-F1 when the training loss is weighted.
    - ``cpu=True`` ignores any GPU.
    - ``out_dir``: save the best model there (``best/``), ``history.json`` and ``train_config.json``;
      ``checkpoint_every`` N steps also saves ``checkpoint/``, and so does Ctrl-C
      (``KeyboardInterrupt``, re-raised after saving); ``resume_from`` continues from such a
      folder and ends with the same weights as an uninterrupted run.
    - ``progress``: a progress bar (a widget in Jupyter, text in a terminal, a line every 10 % in
      a log: :func:`llmstart.train.progress.progress_bar`); ``live_plot``: one figure of loss and
      metric, redrawn in place in Jupyter.

    Mixed precision is ``torch.autocast`` written in the loop (and a ``GradScaler`` for fp16),
    not ``Accelerator(mixed_precision=...)``: it teaches where the precision changes (the forward
    pass and the loss, never the optimizer's fp32 weights), and the same context serves evaluation.
    """
    if loss_fn is not None and config.class_weights is not None:
        raise ValueError("give config.class_weights or loss_fn, not both (weight the loss inside loss_fn)")
    if loss_fn is None:
        loss_fn = model_loss if config.class_weights is None else WeightedCrossEntropy(config.class_weights)
    run, train_loader, val_loader, total_steps, epochs = _prepare(model, train_loader, val_loader, config,
                                                                  cpu, out_dir, live_plot)
    model, accelerator, eval_every = run.model, run.accelerator, config.eval_every
    step, start_epoch, skip = _resume(run, resume_from) if resume_from is not None else (0, 0, 0)
    history, device = run.history, accelerator.device  # resuming replaced the history with the checkpoint's
    bar = progress_bar(total=total_steps, initial=step, desc="training", disable=not (progress and run.main))
    if progress and run.main:
        bar.write(f"fit: {device.type}, {history.precision}, {accelerator.num_processes} process(es), "
                  f"{total_steps} optimizer steps")

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
                    with torch.autocast(device.type, dtype=run.amp_dtype or torch.float32,
                                        enabled=run.amp_dtype is not None):
                        loss = loss_fn(model, batch)
                    accelerator.backward(run.scaler.scale(loss))  # divides by grad_accum_steps
                batches_done += 1
                losses.append(loss.detach())
                history.samples_seen += _batch_len(batch) * accelerator.num_processes
                if not accelerator.sync_gradients:
                    continue  # accumulating: no optimizer step yet
                lr_now = _optimizer_step(run)
                step, done_at_step = step + 1, batches_done
                loss_value = accelerator.reduce(torch.stack(losses).mean(), "mean").item()
                losses.clear()
                history.steps.append({"step": step, "epoch": epoch, "loss": loss_value, "lr": lr_now})
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
                if val_loader is not None and eval_every and step % eval_every == 0:
                    history.train_time_s += time.perf_counter() - tic
                    stop = _evaluate(run, val_loader, step, epoch)
                    tic = time.perf_counter()
                if checkpoint_every and step % checkpoint_every == 0:
                    _checkpoint(run, step, epoch, batches_done, len(train_loader))
                if stop or step >= total_steps:
                    break
            if val_loader is not None and not eval_every and not stop:
                history.train_time_s += time.perf_counter() - tic
                stop = _evaluate(run, val_loader, step, epoch)
                tic = time.perf_counter()
            if stop or step >= total_steps:
                break
    except KeyboardInterrupt:
        history.interrupted = True
        losses.clear()  # micro-batches after the last optimizer step are redone on resume
        _checkpoint(run, step, epoch, done_at_step, len(train_loader))
        if run.out_dir is not None and run.main:
            bar.write(f"interrupted at step {step}: checkpoint saved in {run.out_dir / 'checkpoint'}")
        raise
    finally:
        history.train_time_s += time.perf_counter() - tic
        bar.close()
        if run.plot is not None:
            run.plot.close()

    history = _finish(run, step, stop)
    if progress and run.main:  # the bar is a widget in Jupyter: say the same in text (GitHub, nbviewer, logs)
        last = f", last loss {history.steps[-1]['loss']:.4f}" if history.steps else ""
        bar.write(f"training: {step}/{total_steps} steps in {history.train_time_s:.0f} s{last}")
    return history
