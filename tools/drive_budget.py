"""Google Drive budget of a full course run at Qwen2.5-0.5B's shape, measured on a CPU.

    python tools/drive_budget.py [--out benchmarks/drive_qwen_shape.json] [--stages pt sft rm ppo dpo text2sql]
                                 [--max-steps 2] [--profile ampere] [--work DIR] [--keep-work]

On Colab the run directory lives on Drive: every stage publishes its checkpoints there (keep=2) and saves its final
model there. This script builds Qwen2.5-0.5B's exact shape (24 layers, hidden 896, 151,936 tied rows, ~494M
parameters, bf16 safetensors, Qwen2.5's real tokenizer) and a second folder for the SQL model (same shape, the
Instruct tokenizer), both with random weights, in a temporary folder outside the repository. It builds 01's
tokenizer (the profile's 2000 domain tokens: the embedding grows to 153,665 rows, the real case), then runs every
training stage in course order under the profile (default `ampere`: bf16, the GPU code path; on a CPU the Trainer
runs bf16 autocast), shipped data, `max_steps` steps with `save_steps=1` so that keep=2 published checkpoints exist,
as on Colab after a full run. Each stage runs in its own process (memory is returned between stages; a crash is
recorded and the next stage runs). Evaluation steps run on a handful of examples (they write nothing large).

It records, per stage: bytes of every published checkpoint (largest files, tensors per dtype of each safetensors
file), bytes of the final model folder, everything else the stage keeps in the run directory, and the Trainer's
local work folder (on Colab a local disk, not Drive), then the course total against the 15 GB of a free Drive, with
a projection for a full t4/ampere run (more checkpoints published and pruned: on a Drive mount a deleted file goes
to the Drive bin, which counts against the quota for 30 days).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from toolkit import (BATCH, LENGTHS, QWEN05_SHAPE, REPO, TRAINING_STAGES, build_models, course_env,
                     shown_settings, stage_knobs, trim_loaded)

FREE_DRIVE_BYTES = 15 * 10**9  # "15 GB" (Google counts 15 GiB = 16.1e9 bytes; the smaller figure is the safe one)


# ---------------------------------------------------------------- assets

def build_tokenizer(run: Path) -> dict:
    """01's result, headless: the base tokenizer + the profile's domain tokens, saved where 02 looks for it."""
    from helpers.env.profiles import get_profile
    from helpers.env.runs import stage_output
    from helpers.lm.tokenizer import course_tokenizer
    from helpers.maintainer.standin import TOKENIZER_SIZE

    start = time.perf_counter()
    profile = get_profile()
    tok = course_tokenizer(profile)
    tok.save_pretrained(stage_output("tokenizer", run))
    return {"seconds": round(time.perf_counter() - start, 1), "tokens": len(tok),
            "domain_tokens_added": len(tok) - TOKENIZER_SIZE}


# ---------------------------------------------------------------- one stage (run in a child process)

def run_stage(name: str, run: Path, max_steps: int, batch_size: int | None = None, max_length: int | None = None,
              save_steps: int = 1, grad_accum: int | None = 1, trim_eval: bool = True, profile: str | None = None,
              on_step=None) -> tuple[dict, object]:
    """Build stage `name` on `run`, run its steps in order (timed) and return (row, stage). The first failing step
    ends the stage: its error and traceback go into the row. `on_step(stage, step)` is called before each step."""
    from helpers.env.profiles import get_profile
    from helpers.stages import stage_class

    row: dict = {"stage": name, "steps": {}}
    stage = None
    try:
        knobs = stage_knobs(name, max_length, trim_eval, max_steps=max_steps, batch_size=batch_size,
                            save_steps=save_steps, grad_accum=grad_accum or None)
        stage = stage_class(name)(root=run, profile=get_profile(profile), seed=42, **knobs)
        row["settings"] = shown_settings(stage.settings)
        for step in stage.steps:
            if on_step is not None:
                on_step(stage, step)
            print(f"── {name}: {step}", flush=True)
            start = time.perf_counter()
            getattr(stage, step)()
            row["steps"][step] = round(time.perf_counter() - start, 2)
            if step == "load" and trim_eval:
                trim_loaded(stage)
    except BaseException as exc:  # noqa: BLE001 - the report says what broke; the next stage still runs
        row["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        row["failed_step"] = step if stage is not None and "step" in locals() else "construct"
        row["traceback"] = traceback.format_exc()[-6000:]
        print(row["traceback"], file=sys.stderr, flush=True)
    if stage is not None:
        row["metrics"] = {k: v for k, v in stage.metrics.items() if isinstance(v, (int, float, str, bool))}
        history = getattr(stage, "log_history", None) or []
        row["train_log"] = [{k: v for k, v in h.items() if isinstance(v, (int, float))} for h in history][-6:]
    return row, stage


def child_main(args) -> None:
    row, _stage = run_stage(args.child, Path(args.run), args.max_steps, args.batch_size, args.max_length,
                            save_steps=1, grad_accum=1, profile=args.profile)
    row["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    Path(args.row).write_text(json.dumps(row, indent=1, default=str))


# ---------------------------------------------------------------- measuring folders

def tree_bytes(path: Path) -> int:
    """Bytes of a file, or of every file under a folder (0 when missing)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def safetensors_summary(path: Path) -> dict:
    """Bytes per dtype, tensor count and the largest tensors of a safetensors file (header only)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    by_dtype: dict[str, int] = {}
    sizes = []
    for key, meta in header.items():
        size = meta["data_offsets"][1] - meta["data_offsets"][0]
        by_dtype[meta["dtype"]] = by_dtype.get(meta["dtype"], 0) + size
        sizes.append((size, key, meta["dtype"], meta["shape"]))
    sizes.sort(reverse=True)
    return {"tensors": len(header), "bytes_by_dtype": by_dtype,
            "largest": [{"name": k, "dtype": d, "shape": s, "bytes": b} for b, k, d, s in sizes[:4]]}


def folder_report(path: Path, top: int = 6) -> dict:
    files = sorted(((p.stat().st_size, p.relative_to(path).as_posix()) for p in path.rglob("*") if p.is_file()),
                   reverse=True)
    out = {"bytes": sum(s for s, _ in files), "files": len(files),
           "largest_files": [{"file": f, "bytes": s} for s, f in files[:top]]}
    tensors = {f: safetensors_summary(path / f) for _s, f in files if f.endswith(".safetensors")}
    if tensors:
        out["safetensors"] = tensors
    return out


def measure_stage(run: Path, name: str) -> dict:
    """What stage `name` keeps in the run directory (Drive on Colab) and in its local work folder."""
    sdir = run / name
    ckpt_root = sdir / "checkpoints"
    ckpts = sorted((p for p in ckpt_root.iterdir() if p.is_dir()), key=lambda p: p.name) if ckpt_root.is_dir() else []
    published = {p.name: folder_report(p) for p in ckpts}
    model = sdir / "model"
    drive = {p.name: tree_bytes(p) for p in sdir.iterdir() if p.name != "work"} if sdir.is_dir() else {}
    return {"checkpoints": published,
            "checkpoint_bytes": max((c["bytes"] for c in published.values()), default=0),
            "checkpoints_bytes_total": sum(c["bytes"] for c in published.values()),
            "model": folder_report(model) if model.is_dir() else None,
            "model_bytes": tree_bytes(model),
            "drive_bytes_by_entry": drive,
            "drive_bytes": sum(drive.values()),
            "local_work_bytes": tree_bytes(sdir / "work")}


# ---------------------------------------------------------------- projection of a full run

def saves_in_full_run(profile_name: str, stage: str) -> int:
    """How many checkpoints a full run of the profile publishes for `stage` (one per save_steps and one at the end)."""
    from helpers.env.profiles import get_profile
    from helpers.stages import settings_for

    s = settings_for(get_profile(profile_name), stage)
    return math.ceil(s.max_steps / (s.save_steps or s.max_steps))


def projection(rows: dict, tokenizer_bytes: int) -> dict:
    """Drive bytes of a full t4 / ampere course run from the measured sizes (checkpoint bytes do not depend on the
    number of steps; the trainer_state's log grows by a few KB)."""
    out = {}
    for profile in ("ampere", "t4"):
        kept = binned = 0
        per_stage = {}
        for name, r in rows.items():
            m = r.get("measured") or {}
            ckpt, model = m.get("checkpoint_bytes", 0), m.get("model_bytes", 0)
            other = m.get("drive_bytes", 0) - m.get("checkpoints_bytes_total", 0) - model
            saves = saves_in_full_run(profile, name)
            adapter = 0
            if profile == "t4" and name != "rm":  # a 4-bit merge saves the adapter to <stage>/adapter first
                adapter = adapter_bytes(m)
            stage_kept = min(2, saves) * ckpt + model + other + adapter
            stage_binned = max(0, saves - 2) * ckpt
            per_stage[name] = {"published_checkpoints": saves, "kept_bytes": stage_kept, "bin_bytes": stage_binned}
            kept += stage_kept
            binned += stage_binned
        total = kept + tokenizer_bytes
        out[profile] = {"per_stage": per_stage, "kept_bytes": total, "kept_fraction_of_15GB": round(total / FREE_DRIVE_BYTES, 3),
                        "with_bin_bytes": total + binned,
                        "with_bin_fraction_of_15GB": round((total + binned) / FREE_DRIVE_BYTES, 3)}
    return out


def adapter_bytes(measured: dict) -> int:
    """Bytes of the adapter files in the newest published checkpoint (what merge_and_save writes under t4)."""
    ckpts = measured.get("checkpoints") or {}
    if not ckpts:
        return 0
    newest = ckpts[sorted(ckpts)[-1]]
    return sum(f["bytes"] for f in newest["largest_files"] if "adapter_model" in f["file"])


# ---------------------------------------------------------------- driver

def findings(report: dict) -> list[str]:
    """What the numbers say, in sentences (computed, so a rerun updates them)."""
    from helpers.maintainer.standin import VOCAB_ROWS

    rows, out = report.get("stages", {}), []
    for name, r in rows.items():
        m = r.get("measured") or {}
        ckpts = m.get("checkpoints") or {}
        if not ckpts:
            continue
        newest = ckpts[sorted(ckpts)[-1]]
        for file, summary in (newest.get("safetensors") or {}).items():
            full = [t for t in summary["largest"] if t["shape"] and t["shape"][0] >= VOCAB_ROWS]
            if full:
                size = sum(t["bytes"] for t in full)
                out.append(f"{name}: every published checkpoint carries {len(full)} full vocabulary matrices in {file} "
                           f"({', '.join(t['name'].split('.')[-4] + ' ' + 'x'.join(map(str, t['shape'])) + ' ' + t['dtype'] for t in full)}"
                           f"; {size / 1e6:.0f} MB of its {newest['bytes'] / 1e6:.0f} MB)")
    totals = report.get("totals") or {}
    if totals:
        out.append(f"final models: {totals['final_models_bytes'] / 1e9:.2f} GB of the {totals['drive_bytes'] / 1e9:.2f} GB "
                   f"on Drive ({len(rows)} merged copies of the 0.5B model)")
    proj = report.get("full_run_projection") or {}
    for profile, p in proj.items():
        out.append(f"full {profile} run: {p['kept_bytes'] / 1e9:.2f} GB kept ({p['kept_fraction_of_15GB']:.0%} of 15 GB); "
                   f"checkpoints pruned from a Drive mount go to the Drive bin, which counts for 30 days: "
                   f"{p['with_bin_bytes'] / 1e9:.2f} GB ({p['with_bin_fraction_of_15GB']:.0%})")
    return out


def gb(n: int) -> str:
    return f"{n / 1e9:.3f} GB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "drive_qwen_shape.json")
    parser.add_argument("--stages", nargs="+", default=list(TRAINING_STAGES), choices=TRAINING_STAGES)
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--profile", default="ampere", choices=("ampere", "rehearsal", "t4"))
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new temporary folder, deleted after)")
    parser.add_argument("--keep-work", action="store_true", help="leave the scratch folder in place")
    parser.add_argument("--small", action="store_true",
                        help="the stand-in's tiny body (hidden 64, 2 layers) instead of Qwen2.5-0.5B's: checks the tool")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--row", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--max-length", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args)
        return 0

    import torch
    import transformers

    work = (args.work or Path(tempfile.mkdtemp(prefix="drive-budget-"))).resolve()
    if work == REPO or REPO in work.parents:
        parser.error(f"--work {work} is inside the repository; use a folder outside it")
    started = time.perf_counter()
    report: dict = {
        "what": "Drive bytes of a course run at Qwen2.5-0.5B shape (random weights), measured on a CPU; keep=2",
        "profile": args.profile, "max_steps": args.max_steps, "save_steps": 1, "grad_accum": 1,
        "lengths": {k: LENGTHS[k] for k in args.stages}, "free_drive_bytes": FREE_DRIVE_BYTES,
        "machine": {"platform": platform.platform(), "cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(), "python": platform.python_version()},
        "torch": torch.__version__, "transformers": transformers.__version__,
    }
    for pkg in ("trl", "peft"):
        try:
            report[pkg] = __import__(pkg).__version__
        except ImportError:
            pass
    try:
        t0 = time.perf_counter()
        shape = {} if args.small else QWEN05_SHAPE
        models = build_models(work / "models", shape)
        report["base_model"] = {"seconds": round(time.perf_counter() - t0, 1),
                                "model_safetensors_bytes": (models["base"] / "model.safetensors").stat().st_size,
                                "shape": shape or "stand-in body (hidden 64, 2 layers)"}
        env = dict(os.environ, **course_env(models, args.profile))
        os.environ.update(course_env(models, args.profile))
        run = work / "run"
        report["tokenizer"] = build_tokenizer(run)
        report["tokenizer"]["drive_bytes"] = tree_bytes(run / "tokenizer")
        rows: dict = {}
        for name in args.stages:
            row_path = work / f"row-{name}.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--run", str(run), "--row",
                   str(row_path), "--max-steps", str(args.max_steps), "--profile", args.profile,
                   "--max-length", str(LENGTHS[name])]
            if name in BATCH:
                cmd += ["--batch-size", str(BATCH[name])]
            else:
                cmd += ["--batch-size", "1"]
            print(f"==== {name}: {' '.join(cmd[1:])}", flush=True)
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=REPO, env=env)
            row = json.loads(row_path.read_text()) if row_path.is_file() else {
                "stage": name, "error": f"the stage's process ended with code {proc.returncode} and wrote no row"}
            row["seconds"] = round(time.perf_counter() - t0, 1)
            row["returncode"] = proc.returncode
            row["measured"] = measure_stage(run, name)
            rows[name] = row
            m = row["measured"]
            print(f"==== {name}: {row['seconds']} s, checkpoint {gb(m['checkpoint_bytes'])}, model "
                  f"{gb(m['model_bytes'])}, drive {gb(m['drive_bytes'])}, local work {gb(m['local_work_bytes'])}"
                  + (f", ERROR {row['error']}" if row.get("error") else ""), flush=True)
            report["stages"] = rows
            args.out.write_text(json.dumps(report, indent=1, default=str))
        tok_bytes = report["tokenizer"]["drive_bytes"]
        measured_total = tok_bytes + sum(r["measured"]["drive_bytes"] for r in rows.values())
        report["totals"] = {
            "drive_bytes": measured_total,
            "fraction_of_15GB": round(measured_total / FREE_DRIVE_BYTES, 3),
            "checkpoints_bytes": sum(r["measured"]["checkpoints_bytes_total"] for r in rows.values()),
            "final_models_bytes": sum(r["measured"]["model_bytes"] for r in rows.values()),
            "local_work_bytes": sum(r["measured"]["local_work_bytes"] for r in rows.values()),
            "failed_stages": [n for n, r in rows.items() if r.get("error")],
        }
        report["full_run_projection"] = projection(rows, tok_bytes)
        report["findings"] = findings(report)
        report["table"] = [{"stage": n, "checkpoint_bytes": r["measured"]["checkpoint_bytes"],
                            "checkpoints_kept": len(r["measured"]["checkpoints"]),
                            "model_bytes": r["measured"]["model_bytes"], "drive_bytes": r["measured"]["drive_bytes"],
                            "error": r.get("error")} for n, r in rows.items()]
    finally:
        report["seconds"] = round(time.perf_counter() - started, 1)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1, default=str))
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    for r in report.get("table", []):
        print(f"{r['stage']:>9}: checkpoint {gb(r['checkpoint_bytes'])} x{r['checkpoints_kept']}, model "
              f"{gb(r['model_bytes'])}, on Drive {gb(r['drive_bytes'])}" + (f"  ERROR {r['error']}" if r["error"] else ""))
    if "totals" in report:
        t = report["totals"]
        print(f"course total on Drive: {gb(t['drive_bytes'])} = {t['fraction_of_15GB']:.0%} of 15 GB")
        for p, v in report["full_run_projection"].items():
            print(f"full {p} run: kept {gb(v['kept_bytes'])} ({v['kept_fraction_of_15GB']:.0%}), with pruned "
                  f"checkpoints in the Drive bin {gb(v['with_bin_bytes'])} ({v['with_bin_fraction_of_15GB']:.0%})")
    for line in report.get("findings", []):
        print("- " + line)
    print(f"wrote {args.out} in {report['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
