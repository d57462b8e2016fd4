"""What every notebook's setup cell (colab/setup_cell.py) calls: install the course on Colab once, then report the
library versions, the accelerator and anything off the pins — including a library this session imported before
the install replaced it, which only a runtime restart can fix.

Imported from the cloned folder before the course is installed, so: standard library only at import time.
"""

from __future__ import annotations

import importlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from . import pins
from .runs import in_colab

SHOWN = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "tokenizers")
# The pins that matter on Colab: the core and the [colab] extra. Never [dev]: Colab ships its own ipykernel etc.,
# which the notebooks do not depend on and which no restart would change.
COLAB_EXTRAS = ("colab",)
# Written into the cloned folder after pip succeeded; while it is missing, the setup cell installs again.
MARKER = ".installed"


def repository() -> str:
    """The course's GitHub OWNER/NAME: [tool.workbook].repository in pyproject.toml, the one source."""
    return pins.pyproject()["tool"]["workbook"]["repository"]


def colab_badge(notebook: str, repo: str | None = None) -> str:
    """Markdown for an 'Open in Colab' badge of notebooks/<notebook> (repo: OWNER/NAME, default the course's)."""
    url = f"https://colab.research.google.com/github/{repo or repository()}/blob/main/notebooks/{notebook}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def pip_command(folder: str | Path) -> list[str]:
    """pip install the course from `folder` with its [colab] extra, holding torch at the installed version
    (pip then refuses, rather than replaces, Colab's CUDA build of torch)."""
    cmd = [sys.executable, "-m", "pip", "install", "-q", "-e", f"{folder}[colab]"]
    try:
        cmd.append(f"torch=={metadata.version('torch')}")
    except metadata.PackageNotFoundError:
        pass
    return cmd


def ensure_installed(folder: str | Path, run=None) -> bool:
    """On Colab, pip install the course cloned in `folder` unless an earlier install succeeded (`folder`/.installed).

    The marker is written only after pip succeeded, so a failed install is retried the next time the setup cell
    runs. `run` replaces subprocess.run (tests). Returns whether it installed now; does nothing outside Colab."""
    marker = Path(folder) / MARKER
    if not in_colab() or marker.exists():
        return False
    cmd = pip_command(folder)
    result = (run or subprocess.run)(cmd, check=True)
    if getattr(result, "returncode", 0):
        raise subprocess.CalledProcessError(result.returncode, cmd)
    marker.touch()
    importlib.invalidate_caches()  # so that this session finds the packages pip just added
    return True


def _same_version(a: str, b: str) -> bool:
    try:
        from packaging.version import InvalidVersion, Version
    except ModuleNotFoundError:
        return a == b
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def stale_imports(extras: tuple[str, ...] = COLAB_EXTRAS) -> dict[str, tuple[str, str]]:
    """Pinned libraries this session imported at another version than the one installed now (pip replaced them
    after the import): name -> (imported, installed). Only a runtime restart loads the installed one."""
    stale: dict[str, tuple[str, str]] = {}
    for name in pins.pinned(extras):
        module = sys.modules.get(name.replace("-", "_"))
        imported = getattr(module, "__version__", None)
        if not isinstance(imported, str):
            continue  # not imported (the usual case), or no version to compare
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if not _same_version(imported, installed):
            stale[name] = (imported, installed)
    return stale


def pin_warnings(extras: tuple[str, ...] = COLAB_EXTRAS) -> list[str]:
    """The warnings report_environment prints: libraries installed off their pins, and a restart request when an
    imported library is not the installed one."""
    lines = [f"warning: {name} {have} is installed but the course is pinned to {want}; results may differ."
             for name, (want, have) in pins.mismatches(extras).items()]
    stale = stale_imports(extras)
    if stale:
        listed = ", ".join(f"{name} {imported} (installed now: {installed})"
                           for name, (imported, installed) in stale.items())
        lines.append(f"Restart the runtime (Runtime → Restart session), then run the notebook from the top: this "
                     f"session imported {listed} before the setup cell installed the pinned version.")
    return lines


def quiet_library_deprecations() -> None:
    """Silence FutureWarnings raised *inside* transformers, trl, peft and accelerate (e.g. one library calling another's
    deprecated attribute) and library log lines about their own internals: they are not about the learner's code, and
    they would bury the outputs a chapter is about. Warnings raised by our own calls still show (helpers.env.quiet)."""
    from .quiet import quiet_libraries

    quiet_libraries()


def report_environment() -> None:
    """Print Python and library versions and the GPU (or 'CPU only'); warn about versions off the pins."""
    import torch

    quiet_library_deprecations()
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in SHOWN)
    print(f"python {platform.python_version()}, {versions}")
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        print(f"GPU: {props.name}, {props.total_memory / 2**30:.1f} GiB, compute capability {props.major}.{props.minor}")
    else:
        print("GPU: none (CPU only)")
    for line in pin_warnings():
        print(line)
