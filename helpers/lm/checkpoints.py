"""Checkpoints that survive a dead Colab VM: train locally, publish each checkpoint atomically to Drive.

publish() copies a Trainer checkpoint folder into dest_root under a temporary name, writes MANIFEST.json
(sha256 and size of every file, plus the step) last, then renames the folder into place. latest_complete()
returns the newest published checkpoint whose manifest verifies, so a copy cut short by a dead VM, a folder
copied by hand or a corrupted file is never resumed from. Single writer per dest_root: only the main process
publishes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from pathlib import Path

from transformers import TrainerCallback

from ..env.distributed import barrier
from ..env.runs import DRIVE_ROOT, shown

MANIFEST = "MANIFEST.json"
_NAME = re.compile(r"^checkpoint-(\d+)$")
_TEMP_PREFIXES = (".tmp-", ".old-")
_CHUNK = 1 << 20


def step_of(path: str | Path) -> int | None:
    """The step of a folder named checkpoint-<step>, else None."""
    match = _NAME.match(Path(path).name)
    return int(match.group(1)) if match else None


def _copy_file(src: Path, dst: Path) -> tuple[str, int]:
    """Copy one file (fsynced) and return the sha256 and size of the bytes written."""
    digest, size = hashlib.sha256(), 0
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while chunk := fin.read(_CHUNK):
            digest.update(chunk)
            fout.write(chunk)
            size += len(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    shutil.copystat(src, dst)
    return digest.hexdigest(), size


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_tree(src: Path, dst: Path) -> dict[str, dict]:
    """Copy every file under src into dst (created); return {relative path: {"sha256", "size"}}."""
    files: dict[str, dict] = {}
    dst.mkdir(parents=True)
    for path in sorted(p for p in src.rglob("*") if p.is_file() and p.name != MANIFEST):
        rel = path.relative_to(src).as_posix()
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        sha, size = _copy_file(path, dst / rel)
        files[rel] = {"sha256": sha, "size": size}
    return files


def _write_manifest(folder: Path, step: int, files: dict[str, dict]) -> None:
    """Write folder/MANIFEST.json atomically (temp file, fsync, rename)."""
    tmp = folder / f".{MANIFEST}.tmp"
    with open(tmp, "w") as f:
        json.dump({"format": 1, "step": step, "files": files}, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / MANIFEST)


def problem(checkpoint_dir: str | Path) -> str | None:
    """Why `checkpoint_dir` is not a complete published checkpoint, or None when its manifest verifies."""
    folder = Path(checkpoint_dir)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return f"no {MANIFEST} (partial or hand-copied)"
    except (OSError, ValueError) as exc:
        return f"unreadable {MANIFEST} ({exc})"
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        return f"{MANIFEST} lists no files"
    if manifest.get("step") != step_of(folder):
        return f"{MANIFEST} is for step {manifest.get('step')}, not {step_of(folder)}"
    for rel, meta in files.items():
        path = folder / rel
        if not path.is_file():
            return f"{rel} is missing"
        if path.stat().st_size != meta.get("size"):
            return f"{rel} has {path.stat().st_size} bytes, expected {meta.get('size')}"
        if _sha256(path) != meta.get("sha256"):
            return f"{rel} does not match its sha256"
    return None


def is_complete(checkpoint_dir: str | Path) -> bool:
    """True when the manifest of `checkpoint_dir` exists and every file it lists verifies."""
    return problem(checkpoint_dir) is None


def _published(dest_root: Path) -> list[Path]:
    """checkpoint-<step> folders in dest_root, newest step first."""
    if not dest_root.is_dir():
        return []
    found = [p for p in dest_root.iterdir() if p.is_dir() and step_of(p) is not None]
    return sorted(found, key=lambda p: step_of(p), reverse=True)


def latest_complete(dest_root: str | Path) -> Path | None:
    """The published checkpoint with the highest step that verifies; incomplete or corrupt ones are skipped."""
    for folder in _published(Path(dest_root)):
        why = problem(folder)
        if why is None:
            return folder
        print(f"Skipping {shown(folder)}: {why}.")
    return None


def _prune(dest_root: Path, keep: int | None, current: Path) -> None:
    """Delete stale temporaries and all but the `keep` newest manifested checkpoints (never `current`)."""
    for path in dest_root.iterdir():
        if path.name.startswith(_TEMP_PREFIXES) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    if keep is None:
        return
    manifested = [p for p in _published(dest_root) if (p / MANIFEST).is_file()]
    for old in manifested[keep:]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


def publish(local_checkpoint_dir: str | Path, dest_root: str | Path, keep: int | None = 2) -> Path:
    """Copy a Trainer checkpoint into dest_root atomically (temp folder, manifest last, rename); keep the newest `keep`."""
    src, dest_root = Path(local_checkpoint_dir), Path(dest_root)
    step = step_of(src)
    if step is None or not src.is_dir():
        raise ValueError(f"{src} is not a Trainer checkpoint folder (expected a folder named checkpoint-<step>)")
    if keep is not None and keep < 1:
        raise ValueError(f"keep must be at least 1 (or None to keep all), got {keep}")
    dest_root.mkdir(parents=True, exist_ok=True)
    tmp = dest_root / f".tmp-{src.name}-{uuid.uuid4().hex[:8]}"
    try:
        files = _copy_tree(src, tmp)
        _write_manifest(tmp, step, files)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    final = dest_root / src.name
    if final.exists():  # rename(dir, non-empty dir) fails on POSIX: move the old one aside first
        os.rename(final, dest_root / f".old-{src.name}-{uuid.uuid4().hex[:8]}")
    os.rename(tmp, final)
    _prune(dest_root, keep, final)
    return final


def check_output_dir(output_dir: str | Path, dest_root: str | Path | None = None) -> Path:
    """Refuse a Trainer output_dir on the Drive mount or inside dest_root (train locally, publish to Drive)."""
    out = Path(output_dir).expanduser().resolve()
    if out == DRIVE_ROOT or DRIVE_ROOT in out.parents:
        raise ValueError(f"output_dir {out} is on the Google Drive mount: train into a local folder (e.g. "
                         "/content/out) and publish checkpoints to Drive with PublishCallback")
    if dest_root is not None:
        dest = Path(dest_root).expanduser().resolve()
        if out == dest or dest in out.parents:
            raise ValueError(f"output_dir {out} is inside the publish folder {dest}: use a separate local folder")
    return out


def resume_from(dest_root: str | Path, local_output_dir: str | Path) -> str | None:
    """Copy the latest complete published checkpoint into local_output_dir; its path for
    trainer.train(resume_from_checkpoint=...), or None when there is nothing to resume."""
    local = check_output_dir(local_output_dir, dest_root)
    latest = latest_complete(dest_root)
    if latest is None:
        return None
    target = local / latest.name
    manifest = json.loads((latest / MANIFEST).read_text())
    if target.is_dir() and all(
            (target / rel).is_file() and _sha256(target / rel) == meta["sha256"] for rel, meta in manifest["files"].items()):
        return str(target)  # already here (same session): nothing to copy
    local.mkdir(parents=True, exist_ok=True)
    tmp = local / f".tmp-{latest.name}-{uuid.uuid4().hex[:8]}"
    try:
        files = _copy_tree(latest, tmp)
        if {k: v["sha256"] for k, v in files.items()} != {k: v["sha256"] for k, v in manifest["files"].items()}:
            raise RuntimeError(f"{latest} changed while it was being copied to {local}; run resume_from again")
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"Resuming from {shown(latest)} (copied to {shown(target)}).")
    return str(target)


def checkpoint_mismatch(checkpoint_dir: str | Path, model) -> str | None:
    """Why the weights saved in a Trainer checkpoint cannot be loaded into `model`, or None when they can (or when
    there is no single safetensors file to read). Compares the tensors' names and shapes with what saving `model`
    now would write (the adapter's state dict for a PEFT model): a checkpoint from a run with another model size,
    LoRA rank or vocabulary is caught here, before the Trainer fails half-way through loading it."""
    from safetensors import safe_open

    folder = Path(checkpoint_dir)
    found = [folder / n for n in ("adapter_model.safetensors", "model.safetensors") if (folder / n).is_file()]
    if not found:
        return None
    with safe_open(str(found[0]), framework="pt") as f:
        saved = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118 - safe_open is not a dict
    if found[0].name.startswith("adapter"):
        from peft import get_peft_model_state_dict

        current = get_peft_model_state_dict(model) if hasattr(model, "peft_config") else {}
    else:
        current = model.state_dict()
    current = {k: tuple(v.shape) for k, v in current.items()}
    common = saved.keys() & current.keys()
    if not common:
        return f"{found[0].name} shares no tensor name with this model (another architecture or adapter)"
    differ = sorted(k for k in common if saved[k] != current[k])
    if differ:
        return (f"{len(differ)} tensors have other shapes, e.g. {differ[0]}: {list(saved[differ[0]])} saved, "
                f"{list(current[differ[0]])} now (another model size, LoRA rank or vocabulary)")
    return None


def set_aside(dest_root: str | Path) -> Path:
    """Move a folder of published checkpoints out of the way (renamed `<name>.stale-<n>`, nothing deleted); the new
    name."""
    dest_root = Path(dest_root)
    n = 1
    while (target := dest_root.with_name(f"{dest_root.name}.stale-{n}")).exists():
        n += 1
    os.rename(dest_root, target)
    return target


class PublishCallback(TrainerCallback):
    """Publish every checkpoint the Trainer saves to dest_root (main process only), keeping the newest `keep`."""

    def __init__(self, dest_root: str | Path, keep: int | None = 2):
        self.dest_root = Path(dest_root)
        self.keep = keep

    def on_train_begin(self, args, state, control, **kwargs):
        check_output_dir(args.output_dir, self.dest_root)

    def on_save(self, args, state, control, **kwargs):
        barrier()  # under torchrun every process first writes its part of the checkpoint (its RNG state, ZeRO shards)
        if state.is_world_process_zero:
            local = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            published = publish(local, self.dest_root, keep=self.keep)
            print(f"Published {shown(published)}.")
