"""The run directory: one per run (Drive on Colab, ./runs/<name> locally), one sub-folder per stage."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

DRIVE_ROOT = Path("/content/drive")
DRIVE_RUNS = DRIVE_ROOT / "MyDrive" / "llm-workbook" / "runs"
REPO_ROOT = Path(__file__).resolve().parents[2]
# What each stage saves as its final output, where the next stage looks first.
OUTPUTS = {
    "tokenizer": "tokenizer",  # PreTrainedTokenizerFast with a chat template
    "pt": "model",  # merged causal LM
    "sft": "model",
    "rm": "model",  # merged sequence-classification model (one label)
    "ppo": "model",
    "dpo": "model",
    "text2sql": "model",
}


def in_colab() -> bool:
    return "google.colab" in sys.modules


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
        return True
    except OSError:
        return False


def mount_drive(mountpoint: Path = DRIVE_ROOT) -> bool:
    """Mount Google Drive on Colab; False (with a message, never a traceback) when that is not possible."""
    if not in_colab():
        print("Not on Colab: checkpoints stay in the local run directory.")
        return False
    try:
        from google.colab import drive  # type: ignore[import-not-found]

        drive.mount(str(mountpoint))
    except Exception as exc:  # the user refused, or the mount timed out
        print(f"Google Drive could not be mounted ({exc}). Checkpoints stay on the Colab disk and are lost "
              "when the session ends.")
        return False
    return True


def run_dir(name: str = "default") -> Path:
    """WORKBOOK_RUN_DIR if set; on Colab with Drive mounted, a folder on Drive; else ./runs/<name>."""
    env = os.environ.get("WORKBOOK_RUN_DIR")
    if env:
        path = Path(env).expanduser()
    elif in_colab() and (DRIVE_ROOT / "MyDrive").is_dir():
        path = DRIVE_RUNS / name
    else:
        path = REPO_ROOT / "runs" / name
    if not _writable(path):
        fallback = REPO_ROOT / "runs" / name
        print(f"Run directory {path} is not writable; using {fallback} instead (it does not survive a Colab reset).")
        path = fallback
        path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def shown(path: str | Path) -> str:
    """A path as notebooks and logs print it: `<run>/...` inside the run directory (WORKBOOK_RUN_DIR), relative to
    this repository inside it, `<cache>/...` inside the course's cache (cache_root: the cpu model), else unchanged (a
    Drive path is the same for every learner; a hub id is no path)."""
    if not Path(path).exists():
        return str(path)
    p = Path(path).resolve()
    run = os.environ.get("WORKBOOK_RUN_DIR")
    for root, label in ((Path(run).resolve() if run else None, "<run>"), (REPO_ROOT, "."),
                        (cache_root().resolve(), "<cache>")):
        if root is not None and root in p.parents:
            return f"{label}/{p.relative_to(root).as_posix()}"
        if root is not None and p == root and label == ".":
            return "."
    return str(p)


def stage_dir(stage: str, root: Path | None = None) -> Path:
    path = (root or run_dir()) / stage
    path.mkdir(parents=True, exist_ok=True)
    return path


def stage_output(stage: str, root: Path | None = None) -> Path:
    """Where `stage` saves its final artefact (and where the next stage looks for it)."""
    return (root or run_dir()) / stage / OUTPUTS[stage]


def find_output(stage: str, root: Path | None = None) -> Path | None:
    """The saved output of `stage` if it is complete, else None."""
    path = stage_output(stage, root)
    marker = "tokenizer_config.json" if stage == "tokenizer" else "config.json"
    return path if (path / marker).is_file() else None


def save_metrics(stage: str, metrics: dict, root: Path | None = None) -> Path:
    """Merge `metrics` into <run>/<stage>/metrics.json (read by `make course` for its summary). Under torchrun only
    rank 0 writes (every rank computes the same metrics)."""
    from .distributed import is_main

    path = stage_dir(stage, root) / "metrics.json"
    if not is_main():
        return path
    old = json.loads(path.read_text()) if path.is_file() else {}
    old.update(metrics)
    path.write_text(json.dumps(old, indent=2, ensure_ascii=False, default=float))
    return path


def load_metrics(stage: str, root: Path | None = None) -> dict:
    path = (root or run_dir()) / stage / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def cache_root() -> Path:
    """$WORKBOOK_CACHE, else $XDG_CACHE_HOME/llm-workbook, else ~/.cache/llm-workbook."""
    env = os.environ.get("WORKBOOK_CACHE")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser() / "llm-workbook"
