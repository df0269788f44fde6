"""The six steps of ``benchmarks/gpu_check.py``, one function each; each runs in its own process.

    python benchmarks/gpu_check_steps.py STEP RESULT.json WORK_DIR DEADLINE [--dry-run]

A step does its work before ``DEADLINE`` (a Unix time: its children get the time that is left),
then writes ``RESULT.json``: ``{"status", "summary", "details"}``. ``status`` is ``ok``,
``partial`` (some of it measured, the rest says why not), ``failed`` or ``not checked``. With
``--dry-run`` every step runs on the CPU at tiny sizes (the code paths, not the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
THROUGHPUT_RUNNERS = ["llmstart.fit (default: auto precision)", "transformers.Trainer", "Trainer, grouped, bf16",
                      "naive loop (article)"]
NOTEBOOKS = ["00", "02", "05", "06", "04"]  # the longest on CPU (04) last: a short window still times four


@dataclass
class Context:
    work: Path
    deadline: float
    dry: bool

    def left(self, reserve: float = 0.0) -> float:
        """Seconds left before the deadline, less ``reserve`` for what must still follow."""
        return self.deadline - time.time() - reserve


@dataclass
class Ran:
    returncode: int | None
    output: str
    seconds: float
    timed_out: bool


def run(cmd: list[str], timeout: float, env: dict | None = None) -> Ran:
    """Run ``cmd`` in its own process group (its output echoed to ours), killing the whole group
    after ``timeout`` seconds."""
    print("$ " + " ".join(cmd), flush=True)
    tic = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=max(1.0, timeout))
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this call started, nothing else
        out, _ = proc.communicate()
        timed_out = True
    print(out, flush=True)
    return Ran(proc.returncode, out, round(time.perf_counter() - tic, 1), timed_out)


def failure(ran: Ran, what: str) -> str:
    """One line saying how a command ended badly, with its last output line."""
    last = next((line for line in reversed(ran.output.strip().splitlines()) if line.strip()), "")
    how = f"stopped after {ran.seconds:.0f} s (its time budget)" if ran.timed_out else f"exit code {ran.returncode}"
    return f"{what}: {how}; last output: {last[:300]}"


def tiny_model_and_data(ctx: Context) -> tuple[Path, Path]:
    """The dry run's stand-ins: a tiny BERT folder and a CSV of the tests' synthetic topic task."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import synthetic_frame, tiny_bert
    from llmstart.models.pretrained import load_tokenizer

    base, csv = ctx.work / "tiny-bert", ctx.work / "topics.csv"
    if not base.exists():
        tiny_bert().save_pretrained(base)
        load_tokenizer("minilm").save_pretrained(base)
        synthetic_frame(240).to_csv(csv, index=False)
    return base, csv


# ----------------------------------------------------------------------------- 1. doctor
def step_doctor(ctx: Context) -> dict:
    import contextlib
    import io

    import torch

    from llmstart.cli import main as cli
    from llmstart.environment_report import doctor

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli(["doctor", "--no-hub"])
    print(printed.getvalue())
    report = doctor(check_hub=False, verbose=False)
    facts = {"device": report["device"], "gpu": report["gpu"], "gpu_count": torch.cuda.device_count(),
             "fit_default_precision": report["precision"], "cpu_threads": report["cpu_threads"],
             "python": report["python"], "packages": report["packages"], "torch_cuda": torch.version.cuda,
             "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None,
             "missing_offline_models": [m["name"] for m in report["offline_models"] if not m["installed"]],
             "missing_offline_data": [k for k, (_, v) in report["offline_data"].items() if not v],
             "doctor_exit_code": code, "doctor_output": printed.getvalue()}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        facts.update(capability=f"{props.major}.{props.minor}", memory_gib=round(props.total_memory / 2**30, 1),
                     bf16_supported=torch.cuda.is_bf16_supported())
        where = (f"{facts['gpu']} x{facts['gpu_count']} (compute capability {facts['capability']}, "
                 f"{facts['memory_gib']} GiB), bf16 {'yes' if facts['bf16_supported'] else 'no'}")
    else:
        where = f"no CUDA device: {report['device']}, {report['cpu_threads']} CPU threads"
    missing = facts["missing_offline_models"] + facts["missing_offline_data"]
    summary = (f"{where}; fit's default precision {report['precision']}; torch {report['packages']['torch']} "
               f"(CUDA {facts['torch_cuda']}, cuDNN {facts['cudnn']}), transformers "
               f"{report['packages']['transformers']}, accelerate {report['packages']['accelerate']}; "
               + (f"MISSING offline: {', '.join(missing)}" if missing
                  else "every offline model and data set installed"))
    good = code == 0 and not missing and (ctx.dry or report["device"] == "cuda")
    return {"status": "ok" if good else "failed", "summary": summary, "details": facts}


# ----------------------------------------------------------------------------- 2. GPU tests
def junit_cases(path: Path) -> list[dict]:
    """Every test case of a pytest JUnit file: name, outcome, seconds, message, recorded properties."""
    import xml.etree.ElementTree as ET

    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                message = node.get("message", "")
                outcome = "xfailed" if tag == "skipped" and node.get("type") == "pytest.xfail" else {
                    "failure": "failed", "error": "error", "skipped": "skipped"}[tag]
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        cases.append({"test": case.get("name"), "outcome": outcome, "seconds": float(case.get("time", 0)),
                      "message": message[:500], "properties": props})
    return cases


def step_tests(ctx: Context) -> dict:
    xml = ctx.work / "gpu_tests.xml"
    env = {"LLMSTART_GPU_TESTS": "cpu"} if ctx.dry else {}
    ran = run([PY, "-m", "pytest", "tests/test_gpu.py", "-m", "gpu", "-q", "-rA", "-p", "no:cacheprovider",
               "-o", "junit_family=legacy", "--junitxml", str(xml)], ctx.left(3), env)
    if not xml.exists():
        return {"status": "failed", "summary": failure(ran, "pytest wrote no report"), "details": {}}
    cases = junit_cases(xml)
    counts = {k: sum(c["outcome"] == k for c in cases) for k in ("passed", "failed", "error", "xfailed", "skipped")}
    props = {k: v for c in cases for k, v in c["properties"].items()}
    figures = [f"{k} {props[k]}" for k in ("cpu_fp32_test_accuracy", "bf16_test_accuracy", "fp16_test_accuracy",
                                           "noise_margin", "fp16_final_loss_scale",
                                           "resume_fp32_run_to_run_max_abs", "resume_fp16_run_to_run_max_abs",
                                           "device_vs_cpu_max_abs_logit", "serve_backend") if k in props]
    bad = [f"{c['test']}: {c['outcome']} ({c['message'][:200]})" for c in cases if c["outcome"] in ("failed", "error")]
    xfails = [f"{c['test']} ({c['message'][:160]})" for c in cases if c["outcome"] == "xfailed"]
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v) + (" (CPU stand-ins)" if ctx.dry else "")
    summary += "; " + "; ".join(figures) if figures else ""
    summary += ("; FAILED: " + "; ".join(bad)) if bad else ""
    summary += ("; known gap (xfail): " + "; ".join(xfails)) if xfails else ""
    good = not bad and not ran.timed_out and counts["passed"] > 0
    return {"status": "ok" if good else "failed", "summary": summary,
            "details": {"counts": counts, "cases": cases, "seconds": ran.seconds}}


# ----------------------------------------------------------------------------- 3. benchmark
def step_benchmark(ctx: Context) -> dict:
    import statistics

    out = ctx.work / "throughput.json"
    if ctx.dry:
        runners, sizes = THROUGHPUT_RUNNERS[:1], ["--train", "32", "--test", "16", "--max-length", "16",
                                                  "--batch", "16"]
    else:
        runners, sizes = THROUGHPUT_RUNNERS, ["--train", "8000", "--test", "600", "--repeats", "2"]
    ran = run([PY, "benchmarks/train_throughput.py", "--runners", *runners, *sizes, "--json", str(out)],
              ctx.left(2))
    if not out.exists():
        return {"status": "failed", "summary": failure(ran, "train_throughput.py measured nothing"), "details": {}}
    result = json.loads(out.read_text())
    rows = {}
    for name, runs in result["runs"].items():
        if runs:
            speeds = [r["samples_per_s"] for r in runs]
            rows[name] = {"samples_per_s": statistics.median(speeds), "range": [min(speeds), max(speeds)],
                          "test_accuracy": statistics.median(r["test_accuracy"] for r in runs),
                          "peak_mb": statistics.median(r["peak_mb"] for r in runs), "runs": len(runs),
                          "test_rows": runs[0]["test"]}
    base = rows.get("transformers.Trainer", {}).get("samples_per_s")
    parts = []
    for name, r in rows.items():
        ratio = f", {r['samples_per_s'] / base:.2f}x Trainer" if base else ""
        parts.append(f"{name}: {r['samples_per_s']:.0f} samples/s ({r['range'][0]:.0f}-{r['range'][1]:.0f}, "
                     f"{r['runs']} runs){ratio}, test accuracy {r['test_accuracy']:.3f} (n={r['test_rows']}), "
                     f"peak {r['peak_mb']:.0f} MB")
    missing = [n for n in runners if n not in rows]
    status = "ok" if not missing and not result["failures"] else ("partial" if rows else "failed")
    summary = f"{result['device']}; " + "; ".join(parts)
    if missing:
        summary += "; not measured: " + ", ".join(missing) + (
            " (time budget spent)" if ran.timed_out else " (failed: see details)")
    return {"status": status, "summary": summary, "details": {**result, "table": rows}}


# ----------------------------------------------------------------------------- 4. full data
def cli_splits(data: str, quick_per_label: int):
    """The splits `llmstart train --data DATA` makes with its defaults, without and with
    ``--max-per-label`` (the same code)."""
    from llmstart.cli.train import load_training_data, split_data

    args = argparse.Namespace(data=data, text_col="text", label_col="label", encoding="utf-8", sep=None,
                              sheet=None, val_size=0.1, test_size=0.2, seed=0, max_per_label=None)
    df = load_training_data(args)
    return split_data(df, args), split_data(df, argparse.Namespace(**{**vars(args), "max_per_label": quick_per_label}))


def compare_on_shared_rows(data: str, quick_per_label: int, full: Path, quick: Path) -> dict:
    """Both models on the full run's test rows that the quick run never trained or chose on: test
    accuracy and macro-F1 of each, and the paired-bootstrap interval of the difference."""
    import torch

    from llmstart.evaluation.compare import compare_predictions
    from llmstart.serve.classifier import TextClassifier

    big, small = cli_splits(data, quick_per_label)
    seen = set(small.train.text) | set(small.val.text)
    rows = big.test[~big.test.text.isin(seen)]
    index = {n: i for i, n in enumerate(big.label_names)}
    gold = [index[str(x)] for x in rows.label]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    preds = {}
    for name, folder in (("full", full), ("quick", quick)):
        clf = TextClassifier.load(folder)
        clf.model.to(device)
        preds[name] = [index[p["label"]] for p in clf.predict(list(rows.text), batch_size=256)]
    out = {"rows": len(rows), "left_out_as_seen_by_quick": len(big.test) - len(rows), "device": device}
    for metric in ("accuracy", "macro_f1"):
        c = compare_predictions(gold, preds["full"], preds["quick"], metric=metric,
                                names=("full data", "quick profile"))
        out[metric] = {"full": c.a_value, "quick": c.b_value, "difference": c.effect, "low": c.low,
                       "high": c.high, "verdict": c.sentence()}
    return out


def describe_run(folder: Path) -> dict:
    """What `llmstart train` wrote about its run (metrics.json, history.json)."""
    m = json.loads((folder / "metrics.json").read_text())
    h = json.loads((folder / "history.json").read_text())
    t = m["training"]
    return {"sizes": m["data"]["sizes"], "config": m["config"], "test": m["test"],
            "baseline_test": m["baseline"]["test"], "comparison": m["comparison"], "kept_step": t["kept_step"],
            "steps": t["steps"], "epochs_run": len(t["evals"]), "stopped_early": t["stopped_early"],
            "train_time_s": t["train_time_s"], "samples_per_s": t["samples_per_s"],
            "peak_memory_mb": t["peak_memory_mb"], "precision": t["precision"], "device": h.get("device"),
            "warnings": t["warnings"]}


def step_full_data(ctx: Context) -> dict:
    if ctx.dry:
        base, csv = tiny_model_and_data(ctx)
        data, quick_per_label = str(csv), 20
        extra = ["--model", str(base), "--epochs", "2", "--lr", "2e-3", "--max-length", "32"]
    else:
        data, quick_per_label, extra = "tweet_sentiment", 100, []
    train = [PY, "-m", "llmstart", "train", "--data", data, *extra, "--no-progress"]
    details, notes = {}, []
    full = run([*train, "--out", str(ctx.work / "full")], ctx.left(45 if not ctx.dry else 25))
    if full.returncode == 0:
        details["full"] = describe_run(ctx.work / "full")
    else:
        notes.append(failure(full, "full-data run"))
    quick = run([*train, "--max-per-label", str(quick_per_label), "--out", str(ctx.work / "quick")], ctx.left(15))
    if quick.returncode == 0:
        details["quick"] = describe_run(ctx.work / "quick")
    else:
        notes.append(failure(quick, f"quick-profile run (--max-per-label {quick_per_label})"))
    parts = []
    for name, label in (("full", "all the data"), ("quick", f"quick profile, {quick_per_label} per label")):
        if name in details:
            d = details[name]
            comp = d["comparison"]["accuracy"]
            parts.append(f"{label}: {d['sizes']['train']} training rows, {d['epochs_run']} epochs "
                         f"({d['precision']} on {d['device']}, {d['train_time_s']:.0f} s, {d['samples_per_s']:.0f} "
                         f"samples/s), test accuracy {d['test']['accuracy']:.4f} on its own {d['sizes']['test']} "
                         f"test rows vs TF-IDF {comp['b_value']:.4f} (difference {comp['effect']:+.4f} "
                         f"[{comp['low']:+.4f}, {comp['high']:+.4f}])")
    if "full" in details and "quick" in details:
        details["shared_test"] = shared = compare_on_shared_rows(data, quick_per_label, ctx.work / "full",
                                                                 ctx.work / "quick")
        a = shared["accuracy"]
        parts.append(f"on the same {shared['rows']} test rows: accuracy all data {a['full']:.4f} vs quick "
                     f"{a['quick']:.4f}: {a['verdict']}")
    status = "ok" if not notes else ("partial" if details else "failed")
    return {"status": status, "summary": "; ".join(parts + notes), "details": details}


# ----------------------------------------------------------------------------- 5. notebooks
def tiny_course(ctx: Context) -> tuple[Path, Path, list[str]]:
    """The dry run's course: one two-cell notebook, its course.yml, and a copy of README.md."""
    folder = ctx.work / "course"
    folder.mkdir(exist_ok=True)
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}, "cells": [
        {"cell_type": "markdown", "id": "a", "metadata": {}, "source": "# 00 · tiny"},
        {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "import llmstart\nprint(llmstart.__version__)"}]}
    (folder / "00_tiny.ipynb").write_text(json.dumps(nb))
    (folder / "course.yml").write_text("notebooks:\n- file: 00_tiny.ipynb\n  section: dry run\n  what: timing\n"
                                       "  cpu_seconds: 1\n  gpu_seconds: null\n")
    readme = ctx.work / "README.md"
    readme.write_text((ROOT / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    return folder / "course.yml", readme, ["00"]


def step_notebooks(ctx: Context) -> dict:
    import yaml

    if ctx.dry:
        course, readme, chosen = tiny_course(ctx)
    else:
        course, readme, chosen = ROOT / "notebooks" / "course.yml", ROOT / "README.md", NOTEBOOKS
    cpu = {e["file"]: e["cpu_seconds"] for e in yaml.safe_load(course.read_text())["notebooks"]}
    timed, notes = {}, []
    for number in chosen:
        if ctx.left(8) < 10:
            notes.append(f"{number}: not checked: the step's time budget was spent")
            continue
        ran = run([PY, "tools/course.py", "time", number, "--gpu", "--no-solutions", "--course", str(course)],
                  ctx.left(8))
        found = re.search(r"^(\S+\.ipynb): (\d+) s$", ran.output, re.M)
        if ran.returncode == 0 and found:
            timed[found.group(1)] = int(found.group(2))
        else:
            notes.append(failure(ran, f"notebook {number}") + " (not recorded)")
    details = {"seconds": timed, "cpu_seconds": {k: cpu.get(k) for k in timed}, "course_file": str(course)}
    if timed:
        ran = run([PY, "tools/course.py", "readme", "--course", str(course), "--readme", str(readme)], ctx.left())
        details["readme_updated"] = ran.returncode == 0
        if ran.returncode != 0:
            notes.append(failure(ran, "README table"))
        recorded = {e["file"]: e["gpu_seconds"] for e in yaml.safe_load(course.read_text())["notebooks"]}
        if any(recorded.get(k) != v for k, v in timed.items()):
            notes.append(f"course.yml does not hold the measured seconds: {recorded}")
    parts = [f"{k.split('_')[0]}: {v} s (CPU {cpu.get(k)} s)" for k, v in timed.items()]
    if timed:
        parts.append(f"gpu_seconds written to {course.relative_to(ROOT) if course.is_relative_to(ROOT) else course}"
                     ", README table regenerated")
    status = "ok" if timed and not notes else ("partial" if timed else "failed")
    return {"status": status, "summary": "; ".join(parts + notes), "details": details}


# ----------------------------------------------------------------------------- 6. multi-GPU
def weight_gap(a: Path, b: Path) -> float:
    """Largest absolute weight difference, leaving out the attention key biases (their gradient is
    pure rounding noise: see tests/test_train.py::test_two_cpu_processes_match_one_process)."""
    from safetensors.torch import load_file

    x, y = load_file(str(a)), load_file(str(b))
    return max((x[k] - y[k]).abs().max().item() for k in x if "attention.self.key.bias" not in k)


def step_multi_gpu(ctx: Context) -> dict:
    import torch

    gpus = torch.cuda.device_count()
    entry, launch = "tests/ddp_run.py", [PY, "-m", "accelerate.commands.launch", "--num_machines", "1",
                                         "--mixed_precision", "no", "--dynamo_backend", "no"]
    direct = run([PY, entry, str(ctx.work / "direct.safetensors")], ctx.left(20))
    if direct.returncode != 0:
        return {"status": "failed", "summary": failure(direct, f"{entry} alone"), "details": {}}
    one = run([*launch, "--num_processes", "1", entry, str(ctx.work / "launched.safetensors")], ctx.left(2))
    if one.returncode != 0:
        return {"status": "failed", "summary": failure(one, "accelerate launch --num_processes 1"), "details": {}}
    line = next(x for x in one.output.splitlines() if x.startswith("processes="))
    gap = weight_gap(ctx.work / "direct.safetensors", ctx.work / "launched.safetensors")
    details = {"gpus": gpus, "launched": line, "direct": next(x for x in direct.output.splitlines()
                                                               if x.startswith("processes=")),
               "max_abs_weight_difference": gap}
    good = "processes=1" in line and gap <= 1e-5 and (ctx.dry or "device=cuda" in line)
    summary = (f"accelerate launch --num_processes 1 {entry}: {line}; same weights as the script run alone "
               f"(largest difference {gap:.1e}, tolerance 1e-5)")
    if gpus >= 2 and ctx.left() > 20:
        two = run([*launch, "--multi_gpu", "--num_processes", "2", entry, str(ctx.work / "two.safetensors")],
                  ctx.left(2))
        if two.returncode == 0:
            details["two_gpus_max_abs_weight_difference"] = gap2 = weight_gap(ctx.work / "direct.safetensors",
                                                                              ctx.work / "two.safetensors")
            summary += f"; 2 GPUs (DDP, NCCL): largest weight difference from 1 process {gap2:.1e}"
            good = good and gap2 <= 1e-5
        else:
            summary, good = summary + "; " + failure(two, "2 GPUs"), False
    else:
        summary += (f"; not checked: DDP across 2+ GPUs (NCCL all-reduce, the global batch split between GPUs), "
                    f"this machine has {gpus} GPU(s)" + ("" if gpus < 2 else " and no time was left"))
    return {"status": "ok" if good else "failed", "summary": summary, "details": details}


STEPS = {"doctor": step_doctor, "tests": step_tests, "benchmark": step_benchmark, "full_data": step_full_data,
         "notebooks": step_notebooks, "multi_gpu": step_multi_gpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=list(STEPS))
    parser.add_argument("result", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("deadline", type=float)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    ctx = Context(args.work, args.deadline, args.dry_run)
    args.work.mkdir(parents=True, exist_ok=True)
    result = STEPS[args.step](ctx)
    args.result.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
