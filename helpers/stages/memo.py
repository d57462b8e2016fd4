"""Held-out measures remembered per saved model, in <run>/heldout_measures.json.

05 measures 03's model, its PPO policy and GRPO's; 06 measures its DPO policy. All use the same held-out prompts,
seed, length cap and cut-off penalty (helpers.stages.ppo.heldout_measure). 06's comparison and the run's scoreboard
need the same numbers for the same saved models, so they read them here instead of sampling the same answers again.

An entry's key covers the model folder's weight files (name, size, modification time), the reward model's, the prompt
token ids and every setting of the measurement. A model saved again is therefore measured again. A policy measured
before it was merged and saved is filed under its saved folder: merging its adapter changes its logits only by float
rounding. A KL is reused only when it was taken against the same reference folder."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

from ..env.distributed import is_main

FILE = "heldout_measures.json"
Folder = Path | str | None


def weights_of(folder: Folder) -> list | None:
    """[(file, size, mtime_ns)] of the folder's safetensors files: what changes whenever the model is saved again."""
    if folder is None:
        return None
    return [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in sorted(Path(folder).glob("*.safetensors"))]


def measure_key(model_dir: Folder, reward_dir: Folder, prompts: list[list[int]], **settings) -> str | None:
    """The key of one measurement, or None when it cannot be remembered (no folder for the model or reward model:
    a tiny random-init model, a stand-in reward model)."""
    model, reward = weights_of(model_dir), weights_of(reward_dir)
    if not model or not reward:
        return None
    payload = json.dumps([model, reward, [list(map(int, p)) for p in prompts], sorted(settings.items())])
    return hashlib.sha256(payload.encode()).hexdigest()


def _read(root: Path) -> dict:
    path = Path(root) / FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def recall(root: Path, model_dir: Folder, reward_dir: Folder, prompts: list[list[int]], *,
           reference_dir: Folder = None, **settings) -> dict | None:
    """The remembered measure (marked `remembered=True`), or None. With `reference_dir`, only one whose KL was taken
    against that reference."""
    key = measure_key(model_dir, reward_dir, prompts, **settings)
    entry = _read(root).get(key) if key else None
    if entry is None or (reference_dir is not None and entry["kl_reference"] != weights_of(reference_dir)):
        return None
    return dict(entry["measured"], remembered=True)


def remember(root: Path, model_dir: Folder, reward_dir: Folder, prompts: list[list[int]], measured: dict, *,
             reference_dir: Folder = None, **settings) -> None:
    """File `measured` under the model saved in `model_dir` (its KL, if any, taken against `reference_dir`)."""
    key = measure_key(model_dir, reward_dir, prompts, **settings)
    if key is None or not is_main():
        return
    table = _read(root)
    kl_reference = weights_of(reference_dir) if measured.get("kl") == measured.get("kl") else None  # NaN: no KL
    table[key] = {"model": Path(model_dir).name, "kl_reference": kl_reference,
                  "measured": {k: v for k, v in measured.items() if k != "remembered"}}
    path = Path(root) / FILE
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(table))
    os.replace(partial, path)


def measured_once(root: Path, model_dir: Folder, reward_dir: Folder, prompts: list[list[int]],
                  compute: Callable[[], dict], *, reference_dir: Folder = None, **settings) -> dict:
    """recall(), else compute() and remember() it."""
    found = recall(root, model_dir, reward_dir, prompts, reference_dir=reference_dir, **settings)
    if found is not None:
        return found
    measured = compute()
    remember(root, model_dir, reward_dir, prompts, measured, reference_dir=reference_dir, **settings)
    return measured
