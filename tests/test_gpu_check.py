"""`make gpu-check`'s dry run: every step of benchmarks/gpu_check.py runs on the CPU at tiny sizes
and fills its row, so the script still works the day a GPU is there (its figures mean nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "TOKENIZERS_PARALLELISM": "false"}
TOUCHED_BY_A_REAL_RUN = ["notebooks/course.yml", "README.md", "benchmarks/results/gpu_check.json"]


def test_the_dry_run_fills_every_row_and_leaves_the_repository_alone(tmp_path):
    before = {p: (ROOT / p).read_bytes() if (ROOT / p).exists() else None for p in TOUCHED_BY_A_REAL_RUN}
    out = tmp_path / "gpu_check.json"
    # a generous cap (about 90 s of CPU are needed): on a busy machine the steps take longer, not more
    ran = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--dry-run", "--out", str(out),
                          "--work", str(tmp_path / "work"), "--budget", "1500"],
                         capture_output=True, text=True, env=ENV, timeout=1800)
    assert out.exists(), ran.stdout[-3000:] + ran.stderr[-3000:]
    report = json.loads(out.read_text())
    rows = {r["row"]: r for r in report["rows"]}
    assert report["dry_run"] is True and sorted(rows) == [1, 2, 3, 4, 5, 6]
    assert [rows[i]["step"] for i in range(1, 7)] == ["doctor", "tests", "benchmark", "full_data", "notebooks",
                                                      "multi_gpu"]
    bad = {r["step"]: r["summary"] for r in report["rows"] if r["status"] != "ok"}
    assert not bad and ran.returncode == 0, (bad, ran.stdout[-3000:])
    assert all(r["summary"] and r["seconds"] > 0 for r in report["rows"])
    # what each row is made of
    assert rows[1]["details"]["doctor_exit_code"] == 0
    counts = rows[2]["details"]["counts"]
    assert counts["passed"] >= 5 and counts["failed"] == counts["error"] == 0  # the stand-ins ran
    assert rows[3]["details"]["table"]["llmstart.fit (default: auto precision)"]["samples_per_s"] > 0
    shared = rows[4]["details"]["shared_test"]
    assert shared["rows"] > 0 and shared["accuracy"]["low"] <= shared["accuracy"]["difference"] <= (
        shared["accuracy"]["high"])
    assert list(rows[5]["details"]["seconds"]) == ["00_tiny.ipynb"]
    assert "processes=1" in rows[6]["details"]["launched"] and "not checked" in rows[6]["summary"]
    assert "row" in ran.stdout and "s / budget" in ran.stdout  # the summary table
    after = {p: (ROOT / p).read_bytes() if (ROOT / p).exists() else None for p in TOUCHED_BY_A_REAL_RUN}
    assert after == before


def test_without_a_gpu_the_real_run_refuses_at_once():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the real run would start")
    result = ROOT / "benchmarks" / "results" / "gpu_check.json"
    before = result.read_bytes() if result.exists() else None
    ran = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py")], capture_output=True,
                         text=True, env=ENV, timeout=300)
    assert ran.returncode == 2 and "no CUDA GPU" in ran.stderr and "--dry-run" in ran.stderr
    assert (result.read_bytes() if result.exists() else None) == before  # a committed GPU result stays


def test_help_says_how_long_and_what_it_needs():
    ran = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--help"], capture_output=True,
                         text=True, env=ENV, timeout=300)
    assert ran.returncode == 0
    assert "at most 10 minutes" in ran.stdout and "Needs:" in ran.stdout and "--dry-run" in ran.stdout
