"""Say what a training run did: per-epoch validation figures, the kept step and why, warnings,
and the test report (per class, confusion matrix) as text and PNG files.

>>> from llmstart.train import History
>>> h = History(metric="loss", best_step=20, best_metric=0.4, steps=[{"step": 40, "loss": 0.1}],
...             evals=[{"step": 20, "epoch": 1, "loss": 0.4}, {"step": 40, "epoch": 2, "loss": 0.5}])
>>> print(kept_step_line(h, "the validation set is small"))
kept step 20 (epoch 1 of 2), not the last step 40: best validation loss 0.4000; the validation set is small
>>> h = History(metric="accuracy", best_step=40, best_metric=0.9,
...             evals=[{"step": 20, "epoch": 1, "loss": 0.4, "accuracy": 0.9},
...                    {"step": 40, "epoch": 2, "loss": 0.3, "accuracy": 0.9}])
>>> print(kept_step_line(h))
kept step 40 (epoch 2 of 2): best validation accuracy 0.9000, tied with step 20; the lower validation loss (0.3000) broke the tie
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

__all__ = ["epoch_table", "kept_step_line", "run_warnings", "prediction_warnings", "write_test_report",
           "serving_lines", "MIN_STEPS"]

MIN_STEPS = 50
logger = logging.getLogger(__name__)


def epoch_table(history) -> pd.DataFrame:
    """One row per evaluation: step, epoch, validation loss, accuracy and macro-F1.

    >>> from llmstart.train import History
    >>> h = History(evals=[{"step": 5, "epoch": 1, "loss": 0.7, "accuracy": 0.5, "macro_f1": 0.4}])
    >>> epoch_table(h).columns.tolist()
    ['step', 'epoch', 'val_loss', 'val_accuracy', 'val_macro_f1']
    """
    if not history.evals:
        return pd.DataFrame(columns=["step", "epoch", "val_loss"])
    frame = pd.DataFrame(history.evals)
    keep = [c for c in ["step", "epoch", "loss", "accuracy", "macro_f1"] if c in frame.columns]
    return frame[keep].rename(columns={c: f"val_{c}" for c in ["loss", "accuracy", "macro_f1"]})


def kept_step_line(history, why: str = "") -> str:
    """One sentence: which step's weights the model ends with, and why."""
    if history.best_step is None or history.best_metric is None or not history.evals:
        return "kept the final weights (no validation)"
    last = history.evals[-1]
    kept = next(e for e in history.evals if e["step"] == history.best_step)
    name = {"loss": "validation loss", "macro_f1": "validation macro-F1",
            "accuracy": "validation accuracy"}.get(history.metric, history.metric)
    where = f"step {kept['step']} (epoch {kept['epoch']} of {last['epoch']})"
    if kept["step"] != last["step"]:
        where += f", not the last step {last['step']}"
    line = f"kept {where}: best {name} {history.best_metric:.4f}"
    tied = [e["step"] for e in history.evals if e["step"] != kept["step"] and history.metric in e
            and math.isclose(e[history.metric], history.best_metric, rel_tol=1e-9, abs_tol=1e-12)]
    if tied and history.metric != "loss" and "loss" in kept:
        line += (f", tied with step {', '.join(map(str, tied))}; the lower validation loss "
                 f"({kept['loss']:.4f}) broke the tie")
    return line + (f"; {why}" if why else "")


def run_warnings(history, epochs_cap: int) -> list[str]:
    """Warnings a user should read: a very short run, validation loss still falling, an early peak.

    >>> from llmstart.train import History
    >>> h = History(metric="loss", steps=[{"step": 12, "loss": 0.5}], best_step=12,
    ...             evals=[{"step": 6, "epoch": 1, "loss": 0.9}, {"step": 12, "epoch": 2, "loss": 0.6}])
    >>> for w in run_warnings(h, epochs_cap=2): print(w)
    very short run: 12 optimizer steps (< 50). Fine-tuning rarely settles that fast: add data, lower --batch-size or raise --epochs.
    validation loss was still falling at the end (0.9000 -> 0.6000): more epochs (--epochs) may help.
    """
    warnings = []
    steps = history.steps[-1]["step"] if history.steps else 0
    if steps < MIN_STEPS:
        warnings.append(f"very short run: {steps} optimizer steps (< {MIN_STEPS}). Fine-tuning rarely settles "
                        "that fast: add data, lower --batch-size or raise --epochs.")
    losses = [e["loss"] for e in history.evals if "loss" in e]
    if len(losses) >= 2 and losses[-1] < min(losses[:-1]) and not history.stopped_early \
            and history.evals[-1]["epoch"] >= epochs_cap:
        warnings.append(f"validation loss was still falling at the end ({losses[-2]:.4f} -> {losses[-1]:.4f}): "
                        "more epochs (--epochs) may help.")
    elif history.best_step is not None and len(history.evals) >= 2 and not history.stopped_early \
            and history.best_step == history.evals[-1]["step"] and history.evals[-1]["epoch"] >= epochs_cap:
        warnings.append(f"the best validation {history.metric} came at the last epoch of the cap ({epochs_cap}): "
                        "more epochs (--epochs) may help.")
    if history.best_step is not None and len(history.evals) >= 3 and history.best_step == history.evals[0]["step"]:
        warnings.append("the best validation score came at the first evaluation: the learning rate may be too "
                        "high (try --lr-search) or the validation set too small to tell.")
    return warnings


def prediction_warnings(gold: Sequence[int], pred: Sequence[int], label_names: Sequence[str],
                        min_rows: int = 5) -> list[str]:
    """A warning when the model never predicts a label that has ``min_rows`` or more test rows, or
    gives every text one label that is not the majority (a collapsed run, another remedy).

    On imbalanced data a model that answers the common label nearly always can match the
    baseline's accuracy and still be useless for the rare labels, which are often the point.

    >>> for w in prediction_warnings([0] * 16 + [1] * 6, [0] * 22, ["neutral", "negative"]): print(w)
    the model never predicts 'negative' on the test set (6 rows) and the most common label, 'neutral', is 73% of it: accuracy hides this, so compare macro-F1 and the per-class report; more examples of the rare labels help most, and --class-weights balanced makes them count more in training (it trades accuracy for their recall).
    """
    support = [sum(1 for g in gold if g == i) for i in range(len(label_names))]
    if gold and len(set(pred)) == 1 and sum(n >= min_rows for n in support) >= 2:
        only = pred[0]
        if support[only] / len(gold) < 0.5:  # not the majority label: not imbalance, a failed run
            return [f"the model gives every test text the same label, {label_names[only]!r} ({support[only]} of "
                    f"{len(gold)} rows): it did not learn the task (training collapsed). Read the per-epoch "
                    "validation table, and train again with a lower --lr (half the one printed, or --lr-search) "
                    "or with --precision fp32."]
    never = [i for i in range(len(label_names)) if support[i] >= min_rows and i not in set(pred)]
    if not never or not gold:
        return []
    names = ", ".join(f"{label_names[i]!r}" for i in never)
    rows = " + ".join(str(support[i]) for i in never)
    top = max(range(len(label_names)), key=support.__getitem__)
    return [f"the model never predicts {names} on the test set ({rows} rows) and the most common label, "
            f"{label_names[top]!r}, is {support[top] / len(gold):.0%} of it: accuracy hides this, so compare "
            "macro-F1 and the per-class report; more examples of the rare labels help most, and "
            "--class-weights balanced makes them count more in training (it trades accuracy for their recall)."]


def write_test_report(out: str | Path, gold: Sequence[int], pred: Sequence[int], label_names: Sequence[str],
                      history=None) -> dict[str, str]:
    """Write the per-class report and confusion matrix as text and PNG (and the training curves).

    Returns the file names written, by kind.

    >>> import tempfile
    >>> files = write_test_report(tempfile.mkdtemp(), [0, 1, 1], [0, 1, 0], ["a", "b"])
    >>> sorted(files)
    ['confusion_matrix_png', 'confusion_matrix_txt', 'per_class_txt']
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from llmstart.evaluation.metrics import confusion_matrix, per_class_report
    from llmstart.files import atomic_write_text
    from llmstart.plots import plot_confusion_matrix

    out = Path(out)
    report = per_class_report(gold, pred, label_names)
    matrix = confusion_matrix(gold, pred, label_names)
    atomic_write_text(out / "per_class_report.txt", report.round(4).to_string() + "\n")
    atomic_write_text(out / "confusion_matrix.txt", matrix.to_string() + "\n")
    files = {"per_class_txt": "per_class_report.txt", "confusion_matrix_txt": "confusion_matrix.txt"}
    fig = plot_confusion_matrix(matrix)
    fig.savefig(out / "confusion_matrix.png", dpi=100)
    plt.close(fig)
    files["confusion_matrix_png"] = "confusion_matrix.png"
    if history is not None and history.evals:
        from llmstart.plots import plot_history

        fig = plot_history(history)
        fig.savefig(out / "training_curves.png", dpi=100)
        plt.close(fig)
        files["training_curves_png"] = "training_curves.png"
    return files


def serving_lines(report: dict) -> list[str]:
    """What ``llmstart train`` says about the serving settings it chose on validation: the
    temperature kept (fitted or 1) and why, and the abstain threshold or plainly that there is none.

    ``report``: :func:`llmstart.evaluation.evaluation_report`'s dict.

    >>> import numpy as np
    >>> from llmstart.evaluation import evaluation_report
    >>> y = np.arange(30) % 3; logits = np.eye(3)[y] * 12.0  # every validation row right, sure of it
    >>> for line in serving_lines(evaluation_report(["t"] * 30, y, logits, "abc", val_logits=logits, val_y=y)):
    ...     print(line)  # doctest: +ELLIPSIS
    calibration: kept T = 1: the model is wrong on 0 of 30 validation rows, too little to fit ...; test ECE 0.000
    warning: cannot abstain: the lowest threshold reaching precision 0.9 is 0.99999, at the top of the confidence scale ...
    """
    from llmstart.evaluation.abstain import format_confidence

    cal, ab = report["calibration"], report["abstain"]
    choice = cal.get("choice", {})
    lines = []
    if choice.get("kept") == "fitted":
        lines.append(f"calibration: {choice['reason']}; test ECE {cal['ece_before']:.3f} -> {cal['ece_after']:.3f}")
        if cal["ece_after"] > cal["ece_before"]:
            lines.append(f"note: on the {report['n']} test rows ECE went from {cal['ece_before']:.3f} to "
                         f"{cal['ece_after']:.3f}; serving keeps the temperature chosen on validation (the test "
                         "split chooses nothing), and ECE on a small test set is noisy")
    else:
        lines.append(f"calibration: {choice.get('reason', 'kept T = 1')}; test ECE {cal['ece_before']:.3f}")
    if ab["reached"]:
        val, test = ab["validation"], ab["test"]
        answered = f", answering {val['answered']} of {round(val['answered'] / val['coverage'])} rows" \
            if val.get("answered") and val.get("coverage") else ""
        lines.append(f"abstain below confidence {format_confidence(ab['threshold'])} (precision "
                     f"{ab['target_precision']:g} on validation{answered}): on test it answers "
                     f"{test['answered']} of {report['n']} rows ({test['coverage']:.1%}) at precision "
                     f"{test['precision']:.3f}")
        if ab.get("validation_errors") == 0:
            lines.append("note: validation has no wrong predictions, so the threshold is its lowest confidence: "
                         "texts the model is less sure of than of any validation text are flagged \"abstain\"")
        if test["coverage"] < 0.5:
            lines.append(f"note: `llmstart serve` will flag {1 - test['coverage']:.0%} of predictions \"abstain\" "
                         "(label and scores still given); lower --abstain-precision to hand fewer cases to a person")
    else:
        lines.append(f"warning: cannot abstain: {ab.get('why', 'no threshold reached on validation')}. "
                     "`llmstart serve` and `predict` will never flag \"abstain\" (serving.json: abstain_threshold 0). "
                     "To get a hand-over: more validation rows (more labelled data, or a larger --val-size) or a "
                     "lower --abstain-precision")
    return lines


def _versions() -> dict:
    import torch
    import transformers

    import llmstart

    return {"llmstart": llmstart.__version__, "torch": torch.__version__, "transformers": transformers.__version__}


def finish(out: Path, config, trained: dict, splits, history, pred: Sequence[int], baseline: dict,
           lr_search: list[dict] | None, reading: dict | None = None,
           say: Callable[[str], None] = logger.info) -> dict:
    """Print what happened and how the model compares with the baseline; write ``metrics.json``
    (with the run's :class:`~llmstart.train.TrainConfig` under ``config``, also saved as
    ``train_config.json``: ``llmstart train --config`` re-makes the run) and the test report into ``out``.
    Returns the ``metrics.json`` content.

    ``trained``: what was trained, not how: ``data`` (its source), ``text_col``, ``label_col``,
    ``model`` (name) and ``lora`` (``{"r": rank}`` or None). ``reading``: the texts' token lengths
    (:func:`llmstart.data.unknown_tokens.truncation_report`), kept in ``metrics.json``. ``say``: where
    the report's lines go (the ``llmstart.train.run_report`` logger; ``llmstart train`` prints them)."""
    from llmstart.evaluation.compare import compare_predictions
    from llmstart.evaluation.metrics import classification_metrics
    from llmstart.files import atomic_write_json

    index = {n: i for i, n in enumerate(splits.label_names)}
    gold = [index[str(x)] for x in splits.test.label]
    test = classification_metrics(gold, pred)
    why = config.reasons.get("metric", f"chosen by --select {config.metric}")
    kept = kept_step_line(history, why)
    warnings = ([reading["warning"]] if reading and reading.get("warning") else []) + run_warnings(
        history, config.epochs) + prediction_warnings(gold, pred, splits.label_names)
    compare = {m: compare_predictions(gold, pred, baseline["pred"], metric=m, seed=config.seed or 0,
                                      names=("fine-tuned", "TF-IDF baseline"))
               for m in ("accuracy", "macro_f1")}
    say("validation after each epoch:")
    say(epoch_table(history).round(4).to_string(index=False))
    say(kept + (" (stopped early)" if history.stopped_early else ""))
    for w in warnings:
        say(f"warning: {w}")
    say(f"test set ({len(gold)} rows)        fine-tuned   baseline   difference [95% paired bootstrap interval]")
    for m, c in compare.items():
        say(f"  {m:<24} {c.a_value:>10.4f} {c.b_value:>10.4f}   {c.effect:+.4f} [{c.low:+.4f}, {c.high:+.4f}]")
    # with class weights the goal is the rare labels, so macro-F1 decides; otherwise accuracy
    verdict = compare["macro_f1" if config.class_weights is not None else "accuracy"]
    say(f"verdict: {verdict.sentence()}")
    if verdict.winner != "fine-tuned":
        say("warning: the fine-tuned model does not beat the TF-IDF baseline on this test set: "
              "the cheap model may be enough")
    files = write_test_report(out, gold, pred, splits.label_names, history)
    history.save(out / "history.json")
    summary = {
        "versions": _versions(),
        "data": {"source": str(trained["data"]), "text_col": trained["text_col"], "label_col": trained["label_col"],
                 "sizes": splits.sizes(), "label_names": splits.label_names, "split": splits.report,
                 "token_lengths": {k: v for k, v in (reading or {}).items() if k != "warning"}},
        "model": {"name": trained["model"], "lora": trained["lora"], "max_length": config.max_length},
        "config": config.to_dict(),
        "precision_used": history.precision,
        "lr_search": lr_search,
        "training": {"evals": history.evals, "kept_step": history.best_step, "selected_by": config.metric,
                     "tie_breaker": None if config.metric == "loss" else config.tie_breaker,
                     "kept": kept, "stopped_early": history.stopped_early, "warnings": warnings,
                     **history.summary()},
        "test": test,
        "baseline": {"method": baseline["method"], "test": baseline["test"], "time_s": baseline["time_s"]},
        "comparison": {**{m: c.to_dict() for m, c in compare.items()}, "decided_by": verdict.metric},
        "files": files,
    }
    atomic_write_json(out / "metrics.json", summary)
    config.save(out / "train_config.json")
    say(f"saved to {out} (metrics.json, {', '.join(files.values())}); label new texts with: "
          f"python -m llmstart predict --model {out} --data new.csv --text-col {trained['text_col']} --out labelled.csv")
    return summary
