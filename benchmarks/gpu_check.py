"""`make gpu-check`: prove the GPU path in one run of at most 10 minutes, offline, on one GPU.

Needs: a machine with a CUDA GPU (one is enough), the repository with the virtual environment of
`make install` (the offline models and data are installed packages: no network is used). Takes
about 9.5 minutes (--budget 560 s, shared between the steps in the proportions below, leaving a
margin under 10 minutes; a step that ends early hands its time to the next). Each step runs in
its own process with its own time budget: a step that fails or runs out of time is recorded (its
error, or "not checked: why") and the next starts.

  1. doctor      20 s  `llmstart doctor`: device, compute capability, bf16, memory, versions
  2. tests       90 s  pytest -m gpu (tests/test_gpu.py): fit in bf16 and in fp16 with loss scaling
                       against the CPU run's accuracy, exact resume on CUDA, a GPU-trained model on
                       CPU, the service with its model on CUDA, `llmstart serve` on the GPU machine
  3. benchmark  125 s  benchmarks/train_throughput.py: fit vs Trainer (default; grouped + bf16) vs the
                       naive loop, samples/s and test accuracy, 8,000 tweets, 2 runs each
  4. full_data  145 s  `llmstart train` on all 38,158 tweets (the run a CPU cannot afford) against the
                       quick profile (100 per label), on the same test rows, paired bootstrap
  5. notebooks  155 s  notebooks 00 02 05 06 04 top to bottom (`tools/course.py time --gpu`): their
                       seconds into notebooks/course.yml gpu_seconds, then the README table
  6. multi_gpu   35 s  `accelerate launch --num_processes 1 tests/ddp_run.py` against the script alone
                       (2 processes as well when there are 2+ GPUs; otherwise says it could not)

Prints one summary table and writes it as JSON (default benchmarks/results/gpu_check.json,
rewritten after every step); step 5 also changes notebooks/course.yml and README.md. Commit those
three files (on a borrowed machine, copy them back first), and say what the GPU showed.

--dry-run runs every step on the CPU at tiny sizes (a tiny BERT, a synthetic CSV, a two-cell
notebook and course list in a temporary folder; the repository's files are left alone), in about
a minute of one CPU thread: it keeps the code paths working until a GPU is there
(tests/test_gpu_check.py runs it). Its figures prove nothing about a GPU.

    python benchmarks/gpu_check.py                    # on the GPU machine (make gpu-check)
    python benchmarks/gpu_check.py --steps tests notebooks --budget 300   # rerun two steps
    python benchmarks/gpu_check.py --dry-run          # anywhere: JSON in a temporary folder
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS_SCRIPT = ROOT / "benchmarks" / "gpu_check_steps.py"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "gpu_check.json"
# name, what the row checks, its share of the budget (in seconds out of 570)
STEPS = [
    ("doctor", "llmstart doctor: device, capability, bf16, versions", 20),
    ("tests", "GPU tests: bf16/fp16 fit vs CPU, resume, GPU model on CPU, serve", 90),
    ("benchmark", "make benchmark on the GPU: fit vs Trainer vs naive loop", 125),
    ("full_data", "full-data fine-tune (all 38,158 tweets) vs the quick profile", 145),
    ("notebooks", "notebooks 00 02 04 05 06 top to bottom: gpu_seconds", 155),
    ("multi_gpu", "multi-GPU route: accelerate launch through tests/ddp_run.py", 35),
]
GRACE_S = 20  # a step's own children stop at its deadline; past this, the step itself is stopped
MIN_STEP_S = 10
LOG_TAIL_LINES = 40


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_step(name: str, budget: float, work: Path, dry: bool, env: dict) -> dict:
    """One step in its own process (and process group), stopped after its budget plus a grace."""
    result, log = work / f"{name}.result.json", work / f"{name}.log"
    cmd = [sys.executable, str(STEPS_SCRIPT), name, str(result), str(work / name), str(time.time() + budget)]
    tic, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd + (["--dry-run"] if dry else []), cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=budget + GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)  # the group this call started
            proc.wait()
    seconds = round(time.perf_counter() - tic, 1)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)  # of the processes waited for: the step's own and theirs
    cpu_s = round(used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime, 1)
    tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-LOG_TAIL_LINES:]
    if result.exists():
        row = json.loads(result.read_text(encoding="utf-8"))
    else:
        how = (f"stopped after {seconds:.0f} s (budget {budget:.0f} s)" if proc.returncode == -9
               else f"crashed (exit code {proc.returncode})")
        row = {"status": "failed", "summary": f"{how}; last output: {' | '.join(tail[-15:])[-600:]}", "details": {}}
    # the log's end travels in the JSON: the work folder may not come back from a borrowed machine
    return {**row, "seconds": seconds, "cpu_s": cpu_s, "budget_s": round(budget), "log": str(log),
            "log_tail": [line[:300] for line in tail]}


def print_table(report: dict) -> None:
    cpu = sum(r.get("cpu_s", 0) for r in report["rows"])
    print(f"\nmake gpu-check{' --dry-run (CPU stand-ins: no GPU figure here)' if report['dry_run'] else ''}: "
          f"{report['seconds']:.0f} s of {report['budget_s']} s ({cpu:.0f} s of CPU time); {report['out']}")
    print(f"{'row':<4}{'check':<64}{'status':<13}{'s / budget':>11}")
    for row in report["rows"]:
        spent = f"{row['seconds']:.0f} / {row['budget_s']}"
        print(f"{row['row']:<4}{row['check'][:63]:<64}{row['status']:<13}{spent:>11}")
        earlier = f"[from the run of {row['from_run']}] " if row.get("from_run") else ""
        for line in textwrap.wrap(earlier + (row["summary"] or "-"), 104):
            print(f"    {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="every step on the CPU at tiny sizes (no GPU needed)")
    parser.add_argument("--steps", nargs="+", choices=[s[0] for s in STEPS], help="only these steps (default: all)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds for all the steps together (default: 560; --dry-run: 900, a cap for a busy "
                        "machine, not a need)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"the JSON (default: {DEFAULT_OUT.relative_to(ROOT)}; --dry-run: in a temporary folder)")
    parser.add_argument("--work", type=Path, default=None, help="folder for models, logs and runs (default: temporary)")
    args = parser.parse_args(argv)
    tic = time.time()
    if not args.dry_run:
        import torch

        if not torch.cuda.is_available():
            print("gpu_check: no CUDA GPU on this machine. Run it where there is one, or try the code paths "
                  "on the CPU with --dry-run.", file=sys.stderr)
            return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="llmstart-gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    out = args.out or (work / "gpu_check.json" if args.dry_run else DEFAULT_OUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    budget = args.budget or (900 if args.dry_run else 560)
    earlier = {}  # --steps reruns some steps: the other rows stay as the last run wrote them
    if args.steps and out.exists():
        last = json.loads(out.read_text(encoding="utf-8"))
        if last.get("dry_run") == args.dry_run:
            earlier = {r["step"]: {**r, "from_run": r.get("from_run") or last.get("started_utc")}
                       for r in last.get("rows", [])}
    chosen = [s for s in STEPS if not args.steps or s[0] in args.steps]
    scale = budget / sum(s[2] for s in chosen)
    deadline = tic + budget
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
    if args.dry_run:
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    report = {"script": "benchmarks/gpu_check.py", "dry_run": args.dry_run, "started_utc":
              datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "commit": git_commit(),
              "host": {"platform": platform.platform(), "cpus": os.cpu_count()}, "budget_s": round(budget),
              "out": str(out), "work": str(work), "rows": []}
    for i, (name, check, _) in enumerate(chosen):
        later = sum(s[2] for s in chosen[i + 1:]) * scale
        step_budget = deadline - time.time() - later
        row = {"row": [s[0] for s in STEPS].index(name) + 1, "step": name, "check": check}
        print(f"[{i + 1}/{len(chosen)}] {name}: {check} (budget {step_budget:.0f} s; log in {work / name}.log)",
              flush=True)
        if step_budget < MIN_STEP_S:
            row.update(status="not checked", summary=f"not checked: the time budget was spent ({step_budget:.0f} s "
                       "left for it)", seconds=0, budget_s=round(step_budget), details={})
        else:
            row.update(run_step(name, step_budget, work, args.dry_run, env))
        print(f"    {row['status']}: {row['summary'][:300]}", flush=True)
        report["rows"].append(row)
        report["seconds"] = round(time.time() - tic, 1)
        out.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    done = {r["step"] for r in report["rows"]}
    for name, check, _ in STEPS:  # every row is in the table: an earlier run's, or why not
        if name not in done:
            row = earlier.get(name) or {"row": [s[0] for s in STEPS].index(name) + 1, "step": name, "check": check,
                                        "status": "not checked", "summary": "not checked: not in --steps",
                                        "seconds": 0, "budget_s": 0, "details": {}}
            report["rows"].append(row)
    report["rows"].sort(key=lambda r: r["row"])
    report["seconds"] = round(time.time() - tic, 1)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    print_table(report)
    if not args.dry_run:
        print("\nCommit benchmarks/results/gpu_check.json, notebooks/course.yml and README.md (copy them back "
              "from a borrowed machine first); `python tools/course.py setup-cells` puts the GPU times into the "
              "notebooks' headers.")
    return 0 if all(r["status"] in ("ok", "not checked") for r in report["rows"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
