"""GPU check of the t4 and ampere profiles on all seven stages, without the hub: a Qwen2.5-0.5B-shaped random model
(Qwen2.5's real tokenizer, 151,936 tied rows, bf16 safetensors) and the data shipped in data/.

    python tools/gpu_check.py [--profiles t4 ampere] [--stages tokenizer pt sft rm ppo dpo text2sql] [--steps 10]
                              [--out benchmarks/gpu_<gpu>.json] [--limit-gib 13] [--trim-eval]
    python tools/gpu_check.py --cpu-dry-run --out /tmp/dry.json [--stages tokenizer pt]   # the tool itself, on a CPU
    python tools/gpu_check.py --sft-pieces [--layers 24] [--rows 4] [--length 1024]       # what an SFT step costs

For each profile it builds 01's tokenizer (helpers.lm.tokenizer.course_tokenizer: the profile's 2000 domain tokens) and
runs stages 02-07 in course order, each in its own process, with the profile's batch size, gradient accumulation and
max_length and `--steps` optimizer steps. Per stage it records: peak GPU memory (torch.cuda.max_memory_allocated and
max_memory_reserved, reset per stage and per step of the stage), seconds per optimizer step (median, the first step
left out: warm-up), training tokens per second (the real tokens of the micro-batches trained on:
attention-mask ones, every token of a padding-free packed row, GRPO's prompt + completion masks, PPO's query +
response tokens), whether the base was loaded in 4 bits,
and the error if any. It prints PASS/FAIL per t4 stage against `--limit-gib` (a free Colab T4 has 15 GB; 13 GiB
leaves room for the CUDA context and fragmentation) and writes benchmarks/gpu_<gpu-name>.json.

`--cpu-dry-run` runs the same driver with no CUDA call at all: the stand-in's tiny body (hidden 64, 2 layers, the real
vocabulary), the ampere profile (t4 needs CUDA: 4-bit, fp16), one or two steps, short sequences and trimmed
evaluations. tests/test_tools.py runs it.

`--sft-pieces` takes one t4 SFT micro-batch apart (tools/sft_pieces.py): operators, device-to-host syncs and seconds
of the stage's setup against one change at a time, on whatever device there is; `--four-bit yes` refuses to run
without a real 4-bit base. `--tiny-dims` keeps layers, modules and tokens but shrinks the widths: what is left is the
host-side cost. See benchmarks/t4_sft_step_analysis.md.

One command on a lent GPU (≤ 8 minutes on an H100; `--deadline-minutes` stops starting stages after that, and the
ones left are reported as not measured):

    python tools/gpu_check.py --steps 4 --trim-eval --pieces

`--pieces` first writes the 4-bit micro-batch report (benchmarks/gpu_<gpu>_sft_pieces.json, at most 3 minutes), then
every stage runs under t4 and ampere. The end of the output lists every number that misses its goal: t4 peak memory
above `--limit-gib`, an SFT step slower than the T4's arithmetic floor (STEP_GOALS), the micro-batch's operators and
syncs (issue 21: ≤ 9,000, ≤ 1 outside TRL's LM head), errors and stages not measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from toolkit import (BATCH, GIB, LENGTHS, QWEN05_SHAPE, REPO, STAGES, build_models, course_env, gpu_slug,
                     pieces_options, shown_settings, stage_knobs, trim_loaded)

SFT_PIECES = REPO / "tools" / "sft_pieces.py"


# ---------------------------------------------------------------- inside a stage's process

def batch_tokens(inputs: dict) -> int:
    """Real (non-pad) tokens of one training micro-batch: the attention mask's ones when there is one (padded
    batches: RM, DPO, 07), GRPO's prompt + completion masks, else every input id (02's full blocks and 03's
    padding-free packed row have no padding; counting `!= pad_token_id` would drop Qwen's EOS, which is its pad)."""
    if "attention_mask" in inputs:
        return int(inputs["attention_mask"].sum())
    if "prompt_mask" in inputs and "completion_mask" in inputs:
        return int(inputs["prompt_mask"].sum()) + int(inputs["completion_mask"].sum())
    if "input_ids" in inputs:
        return int(inputs["input_ids"].numel())
    return 0


class StepTimer:
    """TrainerCallback: wall seconds and real input tokens of every optimizer step (CUDA synchronised at both ends);
    `add` is called with each micro-batch's tokens (see instrument_trainers)."""

    def __init__(self, cuda: bool):
        self.cuda = cuda
        self.seconds: list[float] = []
        self.tokens: list[int] = []
        self._t0 = 0.0
        self._pending = 0

    def _sync(self):
        if self.cuda:
            import torch

            torch.cuda.synchronize()

    def add(self, n: int) -> None:
        self._pending += n

    def on_step_begin(self, args, state, control, **kwargs):
        self._sync()
        self._t0 = time.perf_counter()
        self._pending = 0

    def on_step_end(self, args, state, control, **kwargs):
        self._sync()
        self.seconds.append(time.perf_counter() - self._t0)
        self.tokens.append(self._pending)

    def __getattr__(self, name):  # every other callback event: nothing to do
        if name.startswith("on_"):
            return lambda *a, **k: None
        raise AttributeError(name)


def instrument_trainers(cuda: bool) -> list:
    """Make every Trainer.train in this process time its optimizer steps and count the real tokens of the
    micro-batches it trains on; returns the list that collects (trainer class name, StepTimer, trainer)."""
    from transformers import Trainer

    timers: list = []
    original = Trainer.train

    def train(self, *args, **kwargs):
        timer = StepTimer(cuda)
        self.add_callback(timer)
        timers.append((type(self).__name__, timer, self))
        step = self.training_step

        def training_step(model, inputs, *a, **k):
            timer.add(batch_tokens(inputs))
            return step(model, inputs, *a, **k)

        self.training_step = training_step
        return original(self, *args, **kwargs)

    Trainer.train = train
    return timers


def count_4bit(*models) -> bool:
    """True when one of `models` holds bitsandbytes 4-bit weights."""
    for model in models:
        if model is None or not hasattr(model, "parameters"):
            continue
        if any(type(p).__name__ == "Params4bit" for p in model.parameters()):
            return True
    return False


def timing_summary(seconds: list[float], tokens: list[int]) -> dict:
    """Median seconds per step and tokens per second, the first step (warm-up) left out when there are 3 or more."""
    if not seconds:
        return {}
    skip = 1 if len(seconds) >= 3 else 0
    s, t = seconds[skip:], tokens[skip:]
    out = {"steps_timed": len(seconds), "first_step_seconds": round(seconds[0], 3),
           "seconds_per_step": round(statistics.median(s), 3)}
    if t and sum(t) > 0:
        out["tokens_per_step"] = round(sum(t) / len(t), 1)
        out["tokens_per_second"] = round(sum(t) / sum(s), 1)
    return out


def log_tokens(history: list[dict]) -> list[int]:
    """Per-log-entry token increments from a cumulative `num_tokens` in a Trainer log (SFT, GRPO)."""
    cumulative = [h["num_tokens"] for h in history if "num_tokens" in h and "train_runtime" not in h]
    return [b - a for a, b in zip([0] + cumulative[:-1], cumulative)]


def child_main(args) -> None:
    """Run one stage of one profile in this process and write its row (JSON) to args.row."""

    import torch

    cuda = not args.cpu_dry_run and torch.cuda.is_available()
    row: dict = {"stage": args.child, "profile": args.profile, "steps": {}}
    timers = instrument_trainers(cuda)
    ppo_tokens: list[int] = []
    stage = None
    step = "construct"
    loaded_4bit = False
    try:
        from helpers.env.profiles import get_profile
        from helpers.stages import stage_class

        profile = get_profile(args.profile)
        dry = dict(batch_size=BATCH.get(args.child, 1), grad_accum=1, save_steps=0) if args.cpu_dry_run else {}
        kw = stage_knobs(args.child, LENGTHS[args.child] if args.cpu_dry_run else None, args.trim_eval,
                         max_steps=args.steps, **dry)
        stage = stage_class(args.child)(root=Path(args.run), profile=profile, seed=42, **kw)
        row["settings"] = shown_settings(stage.settings)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        for step in stage.steps:
            if step == "train" and hasattr(stage, "ppo"):  # PPO: count the rollout's query + response tokens
                rollout = stage.ppo.rollout

                def counted(*a, _rollout=rollout, **k):
                    batch = _rollout(*a, **k)
                    ppo_tokens.append(int(batch["query_mask"].sum()) + int(batch["mask"].sum()))
                    return batch

                stage.ppo.rollout = counted
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()  # per step; the stage's peak is the largest step peak
            print(f"── {args.profile} {args.child}: {step}", flush=True)
            start = time.perf_counter()
            getattr(stage, step)()
            entry: dict = {"seconds": round(time.perf_counter() - start, 2)}
            if cuda:
                torch.cuda.synchronize()
                entry["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / GIB, 3)
                entry["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved() / GIB, 3)
            row["steps"][step] = entry
            if step == "load" and args.trim_eval:
                trim_loaded(stage)
            loaded_4bit = loaded_4bit or count_4bit(*(getattr(stage, a, None) for a in
                                                      ("model", "policy", "base", "value_model")))
    except BaseException as exc:  # noqa: BLE001 - the report says what broke
        row["error"] = f"{type(exc).__name__}: {exc}"[:3000]
        row["failed_step"] = step
        row["traceback"] = traceback.format_exc()[-8000:]
        print(row["traceback"], file=sys.stderr, flush=True)
    if cuda:
        try:
            torch.cuda.synchronize()  # the failing step's peak too: the counters were reset before it
        except Exception as exc:  # noqa: BLE001 - a broken CUDA context: the counters still answer
            row["cuda_error_after"] = f"{type(exc).__name__}: {exc}"[:500]
        peaks = [e.get("peak_allocated_gib", 0) for e in row["steps"].values()]
        reserved = [e.get("peak_reserved_gib", 0) for e in row["steps"].values()]
        row["peak_allocated_gib"] = round(max(peaks + [torch.cuda.max_memory_allocated() / GIB]), 3)
        row["peak_reserved_gib"] = round(max(reserved + [torch.cuda.max_memory_reserved() / GIB]), 3)
        row["peak_step"] = max(row["steps"], key=lambda k: row["steps"][k].get("peak_allocated_gib", 0),
                               default=None)
        for train_step in ("train", "grpo"):
            if train_step in row["steps"]:
                row[f"{train_step}_peak_allocated_gib"] = row["steps"][train_step].get("peak_allocated_gib")
    else:
        import resource

        row["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)
    row["loaded_in_4bit"] = loaded_4bit
    row["training"] = {}
    for name, timer, trainer in timers:
        summary = timing_summary(timer.seconds, timer.tokens)
        if not summary.get("tokens_per_second"):  # no input_ids in the batch (GRPO): the trainer's own count
            increments = log_tokens(trainer.state.log_history)
            if increments and len(increments) == len(timer.seconds):
                summary = timing_summary(timer.seconds, increments)
        row["training"][name] = summary
    if stage is not None and hasattr(stage, "log_history") and stage.name == "ppo":
        seconds = [h["step_seconds"] for h in stage.log_history if "step_seconds" in h]
        row["training"]["PPOTrainer (helpers.rl.ppo)"] = timing_summary(seconds, ppo_tokens[-len(seconds):]
                                                                     if seconds else [])
    main_name = {"ppo": "PPOTrainer (helpers.rl.ppo)"}.get(args.child)
    main = row["training"].get(main_name) if main_name else next(iter(row["training"].values()), None)
    if main:
        row.update({k: main.get(k) for k in ("seconds_per_step", "tokens_per_second", "tokens_per_step")})
    if stage is not None:
        row["metrics"] = {k: v for k, v in stage.metrics.items() if isinstance(v, (int, float, str, bool))}
    Path(args.row).write_text(json.dumps(row, indent=1, default=str))


# ---------------------------------------------------------------- --sft-pieces: what one SFT micro-batch costs

def sft_pieces(args) -> int:
    """Take one t4 SFT micro-batch apart on this machine's device: tools/sft_pieces.py with the same options, in its
    own process."""
    cmd = [sys.executable, str(SFT_PIECES), "--length", str(args.length), "--reps", str(args.reps),
           "--four-bit", args.four_bit]
    for flag, value in (("--layers", args.layers), ("--rows", args.rows), ("--out", args.out)):
        cmd += [flag, str(value)] if value is not None else []
    cmd += ["--only", *args.only] if args.only else []
    cmd += ["--tiny-dims"] if args.tiny_dims else []
    cmd += ["--cpu-dry-run"] if args.cpu_dry_run else []
    return subprocess.run(cmd).returncode


# ---------------------------------------------------------------- the driver

def tokenizer_stage(run: Path) -> dict:
    """01, headless: the profile's base tokenizer extended with its domain tokens, saved where 02 looks."""
    from helpers.env.profiles import get_profile
    from helpers.env.runs import stage_output
    from helpers.lm.tokenizer import course_tokenizer
    from helpers.maintainer.standin import TOKENIZER_SIZE

    start = time.perf_counter()
    try:
        tok = course_tokenizer(get_profile())
        tok.save_pretrained(stage_output("tokenizer", run))
        return {"stage": "tokenizer", "seconds": round(time.perf_counter() - start, 2), "tokens": len(tok),
                "domain_tokens_added": len(tok) - TOKENIZER_SIZE}
    except Exception as exc:  # noqa: BLE001
        return {"stage": "tokenizer", "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-4000:]}


def probe_gpu() -> dict:
    """{"name", "memory_gib", "capability", "cuda"} of GPU 0, asked in a child process so that this one never holds a
    CUDA context (its few hundred MB would count against a T4's 15 GB); {} without a GPU."""
    code = ("import json, torch\n"
            "if torch.cuda.is_available():\n"
            "    p = torch.cuda.get_device_properties(0)\n"
            "    print(json.dumps({'name': p.name, 'memory_gib': round(p.total_memory / 2**30, 1),\n"
            "                      'capability': f'{p.major}.{p.minor}', 'cuda': torch.version.cuda}))\n"
            "else:\n"
            "    print('{}')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {}


# Goals a GPU run is held to (besides the t4 memory limit): the SFT step of either profile no slower than the T4's
# arithmetic floor (≈2.5 s for 4 × 4 × 1024 tokens, benchmarks/t4_sft_step_analysis.md): a faster GPU above it is
# host-bound. Other stages have no basis for a time goal yet: their numbers are recorded, not judged.
STEP_GOALS = {("t4", "sft"): 2.5, ("ampere", "sft"): 2.5}


def misses(profile: str, stage: str, row: dict, limit_gib: float) -> list[str]:
    """What of this stage's row misses a goal, in words (empty: nothing)."""
    if row.get("skipped"):
        return [f"{profile}/{stage}: not measured ({row['skipped']})"]
    if row.get("error"):
        return [f"{profile}/{stage}: error in {row.get('failed_step', '?')}: {row['error'][:120]}"]
    out = []
    peak = row.get("peak_allocated_gib")
    if profile == "t4" and peak is not None and peak > limit_gib:
        out.append(f"t4/{stage}: peak {peak} GiB > {limit_gib} GiB")
    goal, step = STEP_GOALS.get((profile, stage)), row.get("seconds_per_step")
    if goal is not None and step is not None and step > goal:
        out.append(f"{profile}/{stage}: {step} s/step > {goal} s (host-bound)")
    return out


def pieces_misses(report: dict) -> list[str]:
    """The --sft-pieces goals (operators, syncs per t4 micro-batch) that its report says are missed."""
    goals = report.get("goals") or {}
    if goals.get("met", True):
        return []
    return [f"t4/sft micro-batch: {goals['operators']} operators (goal ≤ {goals['operators_goal']}), "
            f"{goals['syncs_outside_head']} syncs outside the LM head (goal ≤ {goals['syncs_goal']})"]


def verdict(profile: str, row: dict, limit_gib: float) -> str:
    if row.get("error"):
        return "FAIL (error)"
    if row.get("skipped"):
        return "skipped"
    peak = row.get("peak_allocated_gib")
    if peak is None:
        return "n/a"
    if profile != "t4":
        return "info"
    return "PASS" if peak <= limit_gib else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="default: benchmarks/gpu_<gpu-name>.json")
    parser.add_argument("--profiles", nargs="+", default=None, choices=("t4", "ampere"))
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps per stage (default 10; dry run 2)")
    parser.add_argument("--limit-gib", type=float, default=13.0, help="t4 stages must peak at or below this")
    parser.add_argument("--trim-eval", action="store_true", help="evaluation steps on a few examples only")
    parser.add_argument("--cpu-dry-run", action="store_true", help="no CUDA: tiny body, ampere, few steps")
    parser.add_argument("--deadline-minutes", type=float, default=8.0,
                        help="stop starting stages after this many minutes (the rest are recorded as not measured)")
    parser.add_argument("--pieces", action="store_true",
                        help="first take one t4 SFT micro-batch apart (--sft-pieces, 4-bit) into its own JSON")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary folder, deleted after)")
    parser.add_argument("--keep-work", action="store_true")
    parser.add_argument("--sft-pieces", action="store_true", help="time the pieces of one SFT micro-batch instead")
    pieces_options(parser)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--row", help=argparse.SUPPRESS)
    parser.add_argument("--profile", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.steps is None:
        args.steps = 2 if args.cpu_dry_run else 10
    if args.child:
        child_main(args)
        return 0
    if args.sft_pieces:
        return sft_pieces(args)

    import torch
    import transformers

    device = {} if args.cpu_dry_run else probe_gpu()
    cuda = bool(device)
    if not args.cpu_dry_run and not cuda:
        parser.error("no CUDA device: run on a GPU machine, or pass --cpu-dry-run to check the tool on a CPU")
    profiles = args.profiles or ["t4", "ampere"]  # a dry run records t4 as skipped (it needs CUDA)
    gpu = device.get("name", "cpu (dry run)")
    out = args.out or (REPO / "benchmarks" / f"gpu_{gpu_slug(gpu) if cuda else 'cpu-dry-run'}.json")
    work = (args.work or Path(tempfile.mkdtemp(prefix="gpu-check-"))).resolve()
    started = time.perf_counter()
    report: dict = {
        "what": "t4/ampere profiles on a Qwen2.5-0.5B-shaped random model, shipped data; per profile and stage",
        "gpu": gpu, "cpu_dry_run": args.cpu_dry_run, "limit_gib": args.limit_gib, "steps": args.steps,
        "trim_eval": args.trim_eval, "machine": {"platform": platform.platform(), "cores": os.cpu_count(),
                                                 "python": platform.python_version()},
        "torch": torch.__version__, "transformers": transformers.__version__, "cuda": torch.version.cuda,
        "model_shape": "stand-in body (hidden 64, 2 layers), real vocabulary" if args.cpu_dry_run else QWEN05_SHAPE,
    }
    from importlib.metadata import PackageNotFoundError, version

    for pkg in ("trl", "peft", "accelerate", "bitsandbytes"):  # versions without importing (no CUDA context here)
        try:
            report[pkg] = version(pkg)
        except PackageNotFoundError:
            report[pkg] = None
    if cuda:
        report["gpu_memory_gib"] = device["memory_gib"]
        report["compute_capability"] = device["capability"]
    verdicts: list[tuple[str, str, str, dict]] = []
    deadline = started + 60 * args.deadline_minutes
    if args.pieces:
        report["sft_pieces"] = run_pieces(args, cuda, deadline, out)
    try:
        models = build_models(work / "models", {} if args.cpu_dry_run else QWEN05_SHAPE)
        for profile in profiles:
            report[profile] = {}
            if args.cpu_dry_run and profile == "t4":
                report[profile] = {"skipped": "t4 needs CUDA (4-bit NF4, fp16)"}
                continue
            env = dict(os.environ, **course_env(models, profile))
            if args.cpu_dry_run:
                env["CUDA_VISIBLE_DEVICES"] = ""
            run = work / profile
            saved = dict(os.environ)
            os.environ.update(env)
            try:
                for name in args.stages:
                    t0 = time.perf_counter()
                    if t0 > deadline - 30:  # a stage takes more than 30 s even on an H100
                        row = {"stage": name, "skipped": f"past --deadline-minutes {args.deadline_minutes}"}
                    elif name == "tokenizer":
                        row = tokenizer_stage(run)
                    else:
                        row_path = work / f"row-{profile}-{name}.json"
                        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--run", str(run),
                               "--row", str(row_path), "--profile", profile, "--steps", str(args.steps)]
                        cmd += ["--cpu-dry-run"] if args.cpu_dry_run else []
                        cmd += ["--trim-eval"] if (args.trim_eval or args.cpu_dry_run) else []
                        row = run_child(cmd, env, row_path, name, deadline)
                    row["wall_seconds"] = round(time.perf_counter() - t0, 1)
                    row["verdict"] = verdict(profile, row, args.limit_gib)
                    report[profile][name] = row
                    verdicts.append((profile, name, row["verdict"], row))
                    print(f"==== {profile:>6} {name:>9}: {row['verdict']:<12} " + line(row), flush=True)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_text(json.dumps(report, indent=1, default=str))
            finally:
                os.environ.clear()
                os.environ.update(saved)
                if not args.keep_work:
                    shutil.rmtree(run, ignore_errors=True)  # ~10 GB of models and checkpoints per profile
    finally:
        report["seconds"] = round(time.perf_counter() - started, 1)
        report["goal_misses"] = [m for p, s, _, r in verdicts for m in misses(p, s, r, args.limit_gib)] + \
            pieces_misses(report.get("sft_pieces") or {})
        report["summary"] = [{"profile": p, "stage": s, "verdict": v, **{k: r.get(k) for k in (
            "peak_allocated_gib", "peak_reserved_gib", "seconds_per_step", "tokens_per_second", "loaded_in_4bit",
            "error")}} for p, s, v, r in verdicts]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1, default=str))
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'profile':>7} {'stage':>9}  verdict       peak GiB (reserved)  s/step   tokens/s  4-bit")
    for p, s, v, r in verdicts:
        print(f"{p:>7} {s:>9}  {v:<12}  " + line(r))
    print("goals missed:\n  " + "\n  ".join(report["goal_misses"]) if report["goal_misses"] else "every goal met")
    failed = [f"{p}/{s}" for p, s, v, _ in verdicts if v.startswith("FAIL")]
    print(f"{'FAILED: ' + ', '.join(failed) if failed else 'all stages passed'}; wrote {out} in {report['seconds']} s")
    return 1 if failed else 0


def run_child(cmd: list[str], env: dict, row_path: Path, name: str, deadline: float) -> dict:
    """One stage in its own process, stopped at the deadline; its row (or why there is none)."""
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, timeout=max(1.0, deadline - time.perf_counter()))
        code = proc.returncode
    except subprocess.TimeoutExpired:
        return {"stage": name, "error": "stopped at --deadline-minutes", "failed_step": "train?", "returncode": None}
    row = json.loads(row_path.read_text()) if row_path.is_file() else {
        "stage": name, "error": f"the stage's process ended with code {code} and wrote no row (killed? out of host "
                                "memory?)"}
    row["returncode"] = code
    return row


def run_pieces(args, cuda: bool, deadline: float, out: Path) -> dict:
    """--sft-pieces in its own process (4-bit on a GPU; a quick 16-bit pass on a dry run), at most 3 minutes."""
    path = out.with_name(out.stem + "_sft_pieces.json")
    cmd = [sys.executable, str(SFT_PIECES), "--reps", "2", "--out", str(path)]
    cmd += ["--four-bit", "yes"] if cuda else ["--cpu-dry-run", "--four-bit", "no", "--tiny-dims", "--layers", "1",
                                               "--rows", "1", "--length", "256", "--reps", "1"]
    try:
        proc = subprocess.run(cmd, cwd=REPO, timeout=max(1.0, min(180.0, deadline - time.perf_counter())))
    except subprocess.TimeoutExpired:
        return {"error": "--sft-pieces ran past 3 minutes"}
    if not path.is_file():
        return {"error": f"--sft-pieces ended with code {proc.returncode} and wrote no report"}
    report = json.loads(path.read_text())
    return {"report": str(path), "goals": report.get("goals"), "micro_batch": {
        k: {m: v.get(m) for m in ("operators", "syncs", "seconds", "peak_gib")} for k, v in report["micro_batch"].items()}}


def line(row: dict) -> str:
    if row.get("skipped"):
        return row["skipped"]
    if row.get("error"):
        return f"{row.get('failed_step', '')}: {row['error'][:160]}"
    if row.get("stage") == "tokenizer":
        return f"{row.get('tokens')} tokens in {row.get('seconds')} s"
    peak = row.get("peak_allocated_gib")
    mem = f"{peak:6.2f} ({row.get('peak_reserved_gib'):6.2f})" if peak is not None else \
        f"rss {row.get('peak_rss_gib')} GiB"
    return (f"{mem:>19}  {row.get('seconds_per_step') or float('nan'):6.3f}  "
            f"{row.get('tokens_per_second') or float('nan'):9.1f}  {row.get('loaded_in_4bit')}")


if __name__ == "__main__":
    sys.exit(main())
