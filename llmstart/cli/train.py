"""``llmstart train``: fine-tune a classifier on your own CSV/TSV/JSONL/Parquet file or a course corpus.

What a run does, in order: read and check the data (every problem in one message), split it
(stratified, de-duplicated), fit a TF-IDF + logistic-regression baseline on the same split,
choose the settings for this model and this data (:mod:`llmstart.train.recipe`; any flag overrides),
fine-tune with early stopping and the best validation step restored, then compare with the
baseline on the test set (paired bootstrap) and write the model, ``metrics.json``, a test
report (per class, confusion matrix, curves), the evaluation report (slices, calibration, likely
label errors) and ``serving.json`` (temperature, abstain threshold, drift reference for
``llmstart serve``) into ``--out``.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from pathlib import Path

from llmstart.models.hub import DEFAULT_ENCODER, DEFAULT_MAX_LENGTH


def _auto(kind):
    """An argparse type: ``"auto"`` or a number of ``kind``."""
    def parse(value: str):
        return None if value == "auto" else kind(value)
    parse.__name__ = kind.__name__
    return parse


def _precision_target(value: str) -> float:
    """An argparse type: a precision in (0, 1]."""
    x = float(value)
    if not 0 < x <= 1:
        raise argparse.ArgumentTypeError(f"{value}: a precision between 0 (excluded) and 1, e.g. 0.9")
    return x


def add_parser(sub) -> None:
    """Register ``train`` and its options (every default shown by ``--help``)."""
    t = sub.add_parser("train", help="fine-tune a classifier on your own CSV/JSONL/Parquet file",
                       description=__doc__.split("\n\n")[1].replace("\n", " "),
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = t.add_argument_group("data")
    data.add_argument("--data", required=True, help="file (.csv .tsv .jsonl .parquet .xlsx) or course corpus name")
    data.add_argument("--text-col", default="text", help="column holding the text")
    data.add_argument("--label-col", default="label", help="column holding the label")
    data.add_argument("--encoding", default="utf-8", help="text encoding of the file (e.g. cp1252, latin-1)")
    data.add_argument("--sep", default=None, help="CSV separator (default: ',' for .csv, tab for .tsv; "
                      "'tab' or ';' for others)")
    data.add_argument("--sheet", default=None, help="sheet of an .xlsx workbook, by name or position "
                      "(default: the first)")
    data.add_argument("--val-size", type=float, default=0.1, help="share of rows for validation (model choice)")
    data.add_argument("--test-size", type=float, default=0.2, help="share of rows for the test")
    data.add_argument("--max-per-label", type=int, default=None, help="subsample each label (quick runs)")
    data.add_argument("--check-only", action="store_true", help="check and split the data, fit the baseline, stop")
    model = t.add_argument_group("model")
    model.add_argument("--model", default=DEFAULT_ENCODER, help="pre-trained encoder: Hub id, alias or folder")
    model.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH, help="tokens kept per text")
    model.add_argument("--allow-unknown-tokens", action="store_true",
                       help="train even when over 5%% of the training words hold characters the tokenizer "
                            "maps to its unknown token (it cannot read them: the model would fit noise)")
    model.add_argument("--lora", action="store_true", help="train LoRA adapters + head only; saves a small folder")
    model.add_argument("--lora-r", type=int, default=8, help="LoRA rank")
    run = t.add_argument_group("training (auto: chosen for the model and the data size, see llmstart.train.recipe)")
    run.add_argument("--config", default=None,
                     help="re-make a saved run: its train_config.json or metrics.json (or their folder); its settings "
                          "replace the rules, and --seed, --max-length and --precision; other flags given here win")
    run.add_argument("--epochs", type=_auto(int), default="auto", help="epoch cap (early stopping usually ends sooner)")
    run.add_argument("--patience", type=_auto(int), default="auto", help="evaluations without progress before stopping")
    run.add_argument("--lr", type=_auto(float), default="auto", help="peak learning rate (AdamW, linear warm-up and decay)")
    run.add_argument("--lr-search", action="store_true", help="try 5 learning rates on a slice first, keep the best")
    run.add_argument("--batch-size", type=_auto(int), default="auto", help="examples per optimizer step")
    run.add_argument("--select", choices=["auto", "macro_f1", "loss", "accuracy"], default="auto",
                     help="validation figure that chooses the kept step")
    run.add_argument("--class-weights", choices=["none", "balanced"], default="none",
                     help="balanced: rare labels weigh more in the loss (for imbalanced data; macro-F1 then "
                          "chooses the kept step and decides the comparison, and the baseline is balanced too)")
    run.add_argument("--precision", choices=["auto", "bf16", "fp16", "fp32"], default="auto",
                     help="auto: bf16 where the hardware does it natively")
    run.add_argument("--seed", type=int, default=0, help="seed of the split, the head, LoRA and the shuffling")
    run.add_argument("--cpu", action="store_true", help="ignore any GPU")
    out = t.add_argument_group("output")
    out.add_argument("--out", required=True, help="folder for the fine-tuned model and its reports")
    out.add_argument("--checkpoint-every", type=int, default=None,
                     help="save a resumable checkpoint every N optimizer steps (Ctrl-C always saves one)")
    out.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    out.add_argument("--abstain-precision", type=_precision_target, default=0.9,
                     help="serving flags predictions below the confidence that reaches this precision on "
                          "validation (written to serving.json)")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")


# --------------------------------------------------------------------------- the steps of a run


def load_training_data(args: argparse.Namespace):
    """Read and validate the data; a :class:`~llmstart.data.DataValidationError` names every problem.

    Returns the table with columns ``text`` and ``label`` (the user's columns renamed).
    """
    from llmstart.data import DataValidationError, load_data, read_table, validate_frame
    from llmstart.data.read import TABLE_SUFFIXES

    source = str(args.data)
    path = Path(source)
    if path.suffix.lower() in TABLE_SUFFIXES or path.exists():
        raw = read_table(path, encoding=args.encoding, sep=args.sep, sheet=getattr(args, "sheet", None))
        read_as = raw.attrs.get("read_as")
        if read_as:
            print(f"read: {source}: {read_as}")
        try:
            validate_frame(raw, args.text_col, args.label_col, source=source, min_per_label=3)
        except DataValidationError as err:  # say which sheet (or encoding) the columns were looked for in
            raise DataValidationError(f"{err}; read {read_as}" if read_as else str(err)) from None
        df = load_data(raw, text_col=args.text_col, label_col=args.label_col)
    else:
        df = load_data(source, text_col=args.text_col, label_col=args.label_col, encoding=args.encoding)
        validate_frame(df, "text", "label", source=source, min_per_label=3)
    return df[["text", "label"]].assign(text=df["text"].astype(str))


def split_data(df, args: argparse.Namespace):
    """Stratified, de-duplicated train/validation/test split; one line about it."""
    from llmstart.data import DataValidationError, split_frame

    try:
        splits = split_frame(df, val_size=args.val_size, test_size=args.test_size, seed=args.seed,
                             max_per_label=args.max_per_label)
    except DataValidationError as err:
        raise DataValidationError(f"{args.data}: {err}") from None
    except ValueError as err:  # scikit-learn: a split smaller than the number of labels
        raise DataValidationError(
            f"{args.data}: {len(df)} rows and {df.label.nunique()} labels are too few for a stratified "
            f"train/validation/test split ({err}). Add rows, or raise --val-size/--test-size.") from None
    print(f"data: {args.data}: {splits.sizes()}, {len(splits.label_names)} labels {splits.label_names}, "
          f"{splits.report['duplicates_dropped']} duplicate texts dropped")
    if splits.report.get("rare_labels"):
        print(f"split: {splits.report['rare_labels']}")
    return splits


def run_baseline(splits, seed: int, class_weights: str = "none") -> dict:
    """TF-IDF + logistic regression on the same split (and the same class weighting): test
    predictions, metrics, seconds, and a line that says what was fitted."""
    from llmstart.evaluation.baseline import fit_baseline
    from llmstart.evaluation.metrics import classification_metrics

    balanced = class_weights == "balanced"
    tic = time.perf_counter()
    model = fit_baseline(splits.train.text, splits.train.label.astype(str), seed=seed,
                         class_weight="balanced" if balanced else None)
    pred = [str(p) for p in model.predict(splits.test.text)]
    seconds = time.perf_counter() - tic
    index = {n: i for i, n in enumerate(splits.label_names)}
    gold = [index[str(x)] for x in splits.test.label]
    metrics = classification_metrics(gold, [index[p] for p in pred])
    weighting = ", balanced class weights" if balanced else ""
    method = f"TF-IDF (words 1-2, characters 2-4) + logistic regression{weighting}, same split"
    print(f"baseline (TF-IDF + logistic regression{weighting}, {seconds:.1f} s): test accuracy "
          f"{metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f}")
    return {"pred": [index[p] for p in pred], "test": metrics, "time_s": round(seconds, 2), "method": method}


def check_tokenizer_reads(args: argparse.Namespace, splits) -> dict:
    """Stop with a clear message when the model's tokenizer cannot read the training text (e.g.
    Chinese); print how long the texts are in tokens and how many ``--max-length`` cuts. Returns
    :func:`llmstart.data.unknown_tokens.truncation_report` (``metrics.json`` keeps it)."""
    from llmstart.data import DataValidationError
    from llmstart.data.unknown_tokens import (
        TokenizerCoverageError,
        check_coverage,
        truncation_report,
        unknown_token_rate,
    )
    from llmstart.models.pretrained import load_tokenizer

    tokenizer = load_tokenizer(args.model)
    model_max = tokenizer.model_max_length if tokenizer.model_max_length < 1_000_000 else None  # huge: no limit
    if model_max and args.max_length > model_max:
        raise DataValidationError(f"--max-length {args.max_length}: {args.model} reads at most {model_max} tokens "
                                  f"per text; pass --max-length {model_max} or less")
    if args.allow_unknown_tokens:
        coverage = unknown_token_rate(splits.train.text, tokenizer)
    else:
        try:
            coverage = check_coverage(splits.train.text, tokenizer, args.model)
        except TokenizerCoverageError as err:
            raise TokenizerCoverageError(f"{args.data}: column {args.text_col!r}: {err} To train anyway, pass --allow-unknown-tokens.") from None
    print(f"tokenizer: {coverage.summary()}")
    report = truncation_report(coverage, args.max_length, tokenizer.num_special_tokens_to_add(), model_max)
    if report["texts_measured"]:
        print(f"text length: median {report['median_tokens']} tokens, 95th percentile {report['p95_tokens']}; "
              f"{report['share_cut']:.1%} of the texts are cut to --max-length {args.max_length}")
    if report["warning"]:
        print(f"warning: {report['warning']}")
    return report


def build_model(args: argparse.Namespace, label_names: list[str]):
    """The pre-trained encoder with a new head (seeded), wrapped in LoRA when ``--lora``."""
    import torch

    from llmstart.models.pretrained import load_classifier

    model, tokenizer = load_classifier(args.model, label_names=label_names, seed=args.seed, new_head=True)
    if args.lora:
        from llmstart.models.lora import add_lora

        torch.manual_seed(args.seed)  # LoRA's A matrices start from this seed, not leftover state
        model = add_lora(model, r=args.lora_r, alpha=2 * args.lora_r)
    return model, tokenizer


def make_loaders(splits, tokenizer, batch_size: int, args: argparse.Namespace):
    """Train (shuffled) and validation loaders, dynamically padded."""
    from llmstart.data import make_loader

    def loader(part, shuffle):
        return make_loader(part, tokenizer, splits.label_names, batch_size=batch_size,
                           max_length=args.max_length, shuffle=shuffle, seed=args.seed)

    return loader(splits.train, True), loader(splits.val, False)


def saved_config(args: argparse.Namespace):
    """``--config``: the saved :class:`~llmstart.train.TrainConfig`, whose seed, max length and
    precision replace the flags' (so the split and the loaders are re-made too); None without it."""
    if args.config is None:
        return None
    from llmstart.data import DataValidationError
    from llmstart.train import TrainConfig

    config = TrainConfig.load(args.config)
    if config.batch_size is None or config.seed is None:
        raise DataValidationError(f"--config {args.config}: no batch_size or seed recorded; pass a train_config.json "
                                  "or metrics.json that llmstart train wrote")
    args.seed, args.max_length, args.precision = config.seed, config.max_length, config.precision
    args.class_weights = "none" if config.class_weights is None else "balanced"
    print(f"config: {args.config}: re-making its settings")
    return config


def choose_settings(args: argparse.Namespace, model, splits, saved=None):
    """The :class:`~llmstart.train.TrainConfig` for this model and data (the recipe's rules, or
    the ``--config`` run's values); flags given explicitly win."""
    from llmstart.models.pretrained import count_parameters
    from llmstart.train import TrainConfig
    from llmstart.train.recipe import balanced_class_weights, choose_recipe

    flags = {"lr": args.lr, "batch_size": args.batch_size, "epochs": args.epochs, "patience": args.patience,
             "metric": None if args.select == "auto" else args.select}
    if saved is not None:
        return saved.replace(**{k: v for k, v in flags.items() if v is not None})
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    weights = (balanced_class_weights(splits.train.label, splits.label_names) if args.class_weights == "balanced"
               else None)
    fixed = TrainConfig(precision=args.precision, seed=args.seed, max_length=args.max_length)
    return choose_recipe(count_parameters(base), len(splits.train), len(splits.val), lora=args.lora,
                         class_weights=weights, base=fixed, **{**flags, "metric": args.select})


def lr_search(args: argparse.Namespace, splits, config):
    """Five short runs (about one epoch on up to 1,000 training rows); returns ``(config with the
    best lr, table of the tries)``."""
    from llmstart.train import fit
    from llmstart.train.recipe import search_lr

    part = splits.train.sample(min(len(splits.train), 1000), random_state=args.seed)
    steps = max(20, math.ceil(len(part) / config.batch_size))
    trial = config.replace(max_steps=steps, metric="loss", patience=None)

    def train_once(lr: float) -> float:
        model, tokenizer = build_model(args, splits.label_names)
        sliced = type(splits)(part, splits.val, splits.test, splits.label_names)
        train_loader, val_loader = make_loaders(sliced, tokenizer, config.batch_size, args)
        history = fit(model, train_loader, val_loader, trial.replace(lr=lr), cpu=args.cpu, progress=False)
        print(f"  lr {lr:.1e}: validation loss {history.evals[-1]['loss']:.4f}")
        return history.evals[-1]["loss"]

    print(f"lr search: {steps} steps on {len(part)} training rows for each of 5 learning rates")
    lr, table = search_lr(train_once, config.lr)
    reasons = {**config.reasons, "lr": f"{lr:g}: lowest validation loss of the --lr-search"}
    return config.replace(lr=lr, reasons=reasons), table


def training_folder(out: Path) -> Path:
    """Where checkpoints live during a run (beside ``--out``, removed after success)."""
    return out.with_name(out.name + ".training")


def train_model(args: argparse.Namespace, model, tokenizer, splits, config):
    """Fine-tune with early stopping; Ctrl-C saves a checkpoint that ``--resume`` continues from."""
    from llmstart.data import DataValidationError
    from llmstart.files import existing_dir
    from llmstart.train import fit

    work = training_folder(Path(args.out))
    resume_from = None
    if args.resume:
        resume_from = existing_dir(work / "checkpoint")
        if resume_from is None:
            raise DataValidationError(f"--resume: no checkpoint in {work / 'checkpoint'}; run without --resume "
                                      "(a checkpoint is saved by Ctrl-C or --checkpoint-every).")
        print(f"resuming from {resume_from}")
    train_loader, val_loader = make_loaders(splits, tokenizer, config.batch_size, args)
    return fit(model, train_loader, val_loader, config, cpu=args.cpu, out_dir=work,
               checkpoint_every=args.checkpoint_every, resume_from=resume_from, progress=not args.no_progress)


def test_and_val_logits(model, tokenizer, splits, args: argparse.Namespace):
    """The model's logits on the test rows and on the validation rows, in their order."""
    from llmstart.serve.classifier import TextClassifier

    clf = TextClassifier(model, tokenizer, max_length=args.max_length)
    return clf.logits(list(splits.test.text), batch_size=64), clf.logits(list(splits.val.text), batch_size=64)


def write_evaluation(out: Path, splits, test_logits, val_logits, args: argparse.Namespace) -> None:
    """The evaluation report (``out/evaluation/``) and the serving settings (``out/serving.json``)."""
    from llmstart.evaluation import prepare_for_serving

    index = {n: i for i, n in enumerate(splits.label_names)}
    report = prepare_for_serving(out, splits.label_names, test_texts=list(splits.test.text),
                                 test_y=[index[str(x)] for x in splits.test.label], test_logits=test_logits,
                                 val_logits=val_logits, val_y=[index[str(x)] for x in splits.val.label],
                                 target_precision=args.abstain_precision)
    from llmstart.train.run_report import serving_lines

    for line in serving_lines(report):
        print(line)
    print(f"evaluation report: {out / 'evaluation' / 'report.json'}; serving settings: {out / 'serving.json'}")


def save_trained(model, tokenizer, args: argparse.Namespace, label_names: list[str]) -> Path:
    """The full model (safetensors) or, with ``--lora``, only the adapter and head, atomically."""
    from llmstart.files import ADAPTER_INFO, atomic_write_json, replace_dir, temp_dir_beside
    from llmstart.models.lora import save_adapter
    from llmstart.train import save_model

    out = Path(args.out)
    if not args.lora:
        return save_model(model, out, tokenizer)
    tmp = temp_dir_beside(out)
    save_adapter(model, tmp)
    tokenizer.save_pretrained(tmp)
    base = str(Path(args.model).resolve()) if Path(args.model).is_dir() else args.model  # works from any folder
    atomic_write_json(tmp / ADAPTER_INFO, {"base_model": base, "label_names": label_names})
    return replace_dir(tmp, out)


def run(args: argparse.Namespace) -> int:
    """The whole run; returns the exit code (130 after Ctrl-C, with a checkpoint saved)."""
    from llmstart.train.run_report import finish

    saved = saved_config(args)
    df = load_training_data(args)
    splits = split_data(df, args)
    baseline = run_baseline(splits, args.seed, args.class_weights)
    reading = check_tokenizer_reads(args, splits)
    if args.check_only:
        print("data checked (--check-only): nothing trained")
        return 0
    model, tokenizer = build_model(args, splits.label_names)
    config = choose_settings(args, model, splits, saved)
    search = None
    if args.lr_search:
        config, search = lr_search(args, splits, config)
        model, tokenizer = build_model(args, splits.label_names)
    print("settings: " + ", ".join(f"{k} {v}" for k, v in config.reasons.items()))
    try:
        history = train_model(args, model, tokenizer, splits, config)
    except KeyboardInterrupt:
        work = training_folder(Path(args.out))
        print(f"\ninterrupted: checkpoint in {work / 'checkpoint'}; continue with the same command and --resume",
              file=sys.stderr)
        return 130
    test_logits, val_logits = test_and_val_logits(model, tokenizer, splits, args)
    out = save_trained(model, tokenizer, args, splits.label_names)
    trained = {"data": str(args.data), "text_col": args.text_col, "label_col": args.label_col, "model": args.model,
               "lora": {"r": args.lora_r} if args.lora else None}
    finish(out, config, trained, splits, history, test_logits.argmax(1).tolist(), baseline, search, reading,
           say=print)
    write_evaluation(out, splits, test_logits, val_logits, args)
    shutil.rmtree(training_folder(out), ignore_errors=True)
    return 0
