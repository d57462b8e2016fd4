"""Padded batches on a CPU: row by row over their real tokens (helpers.lm.unpadded) against the padded batch, side by
side in one run, on the same batches.

    python tools/bench_unpadded.py --run runs/<a cpu run with 03's and 04's models> [--batches 3] [--ppo-steps 2]
                                   [--out benchmarks/unpadded_cpu.json]

For the training step of 04 (TRL's RewardTrainer) and 06 (DPOTrainer): `--batches` batches of the stage's own data
loader, each timed padded (`helpers.lm.unpadded.padded()`, as before this change and as on a GPU) and row by row,
alternately (loss + backward, no optimizer step; one warm-up call of each first). For PPO (05): `--ppo-steps`
rollouts, whose generation is the same either way (timed apart), then the rollout's scoring passes and the update,
each timed padded and row by row from the same weights and optimizer state. Reports seconds, real and padded tokens,
the speed-up and the largest difference of the losses (float rounding). Writes JSON and a Markdown summary.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from pathlib import Path

from toolkit import REPO

MODES = ("padded", "rows")
SCRATCH: list[Path] = []  # the temporary run directories, removed at the end


def timed(fn, mode: str) -> tuple[float, object]:
    """(seconds, result) of fn() with helpers.lm.unpadded in `mode`."""
    from contextlib import nullcontext

    from helpers.lm.unpadded import padded

    with padded() if mode == "padded" else nullcontext():
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out


def scratch_run(run: Path, stage: str) -> Path:
    """A temporary run directory that links `run`'s earlier stages (01–04, not `stage`): nothing is written into `run`."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix=f"bench_unpadded_{stage}_"))
    SCRATCH.append(root)
    for name in ("tokenizer", "pt", "sft", "rm"):
        if name != stage and (run / name).exists():
            (root / name).symlink_to((run / name).resolve())
    return root


def trainer_stage(name: str, run: Path, seed: int):
    """The cpu profile's stage `name` (rm or dpo) over `run`'s earlier stages, up to its trainer (nothing trained)."""
    from helpers.env.profiles import get_profile
    from helpers.stages import stage_class

    stage = stage_class(name)(root=scratch_run(run, name), profile=get_profile("cpu"), seed=seed, save_steps=0)
    for step in stage.steps[:stage.steps.index("train")]:
        if not step.startswith("evaluate"):
            getattr(stage, step)()
    return stage


def trainer_steps(name: str, run: Path, batches: int, seed: int) -> dict:
    """Loss + backward of `batches` training batches of stage `name`, padded and row by row."""
    import torch

    trainer = trainer_stage(name, run, seed).trainer
    trainer.model.train()
    loader = iter(trainer.get_train_dataloader())
    data = [trainer._prepare_inputs(next(loader)) for _ in range(batches)]

    def step(batch):
        loss = trainer.compute_loss(trainer.model, dict(batch))
        loss.backward()
        trainer.model.zero_grad(set_to_none=True)
        return float(loss.detach())

    for mode in MODES:  # warm-up
        timed(lambda: step(data[0]), mode)
    seconds, losses = dict.fromkeys(MODES, 0.0), {m: [] for m in MODES}
    for batch in data:
        for mode in MODES:
            s, loss = timed(lambda: step(batch), mode)
            seconds[mode] += s
            losses[mode].append(loss)
    real = sum(int(b["attention_mask"].sum()) for b in data)
    width = sum(b["attention_mask"].numel() for b in data)
    del trainer
    torch.set_grad_enabled(True)
    return summary(seconds, real, width, losses)


def summary(seconds: dict, real: int, width: int, losses: dict) -> dict:
    return {"padded_s": round(seconds["padded"], 2), "rows_s": round(seconds["rows"], 2),
            "speedup": round(seconds["padded"] / seconds["rows"], 3), "real_tokens": real, "padded_tokens": width,
            "padded_over_real": round(width / real, 3),
            "max_loss_difference": max(abs(a - b) for a, b in zip(losses["padded"], losses["rows"]))}


def ppo_steps(run: Path, steps: int, seed: int) -> dict:
    """PPO rollouts: generation timed apart; the scoring passes and the update padded and row by row."""
    import torch

    import helpers.rl.ppo as ppo_module
    from helpers.env.profiles import get_profile
    from helpers.stages import stage_class

    stage = stage_class("ppo")(root=scratch_run(run, "ppo"), profile=get_profile("cpu"), seed=seed, save_steps=0)
    stage.load()
    stage.build_models()
    trainer = stage.ppo
    generation = {"s": 0.0}
    sample = ppo_module.sample

    def sample_timed(*a, **k):
        t0 = time.perf_counter()
        out = sample(*a, **k)
        generation["s"] += time.perf_counter() - t0
        return out

    ppo_module.sample = sample_timed
    passes, update = dict.fromkeys(MODES, 0.0), dict.fromkeys(MODES, 0.0)
    losses, real, width = {m: [] for m in MODES}, 0, 0
    try:
        for step in range(steps):
            batches = {}
            for mode in MODES:
                before = generation["s"]
                s, batches[mode] = timed(lambda: trainer.rollout(step), mode)
                passes[mode] += s - (generation["s"] - before)
            attn = torch.cat([batches["rows"]["query_mask"], batches["rows"]["mask"].long()], 1)
            real, width = real + int(attn.sum()), width + attn.numel()
            weights = [p.detach().clone() for p in trainer.params]
            optimizer = copy.deepcopy(trainer.optimizer.state_dict())
            for mode in MODES:
                with torch.no_grad():
                    for p, w in zip(trainer.params, weights):
                        p.copy_(w)
                trainer.optimizer.load_state_dict(copy.deepcopy(optimizer))
                s, stats = timed(lambda: trainer.update(batches[mode], step), mode)
                update[mode] += s
                losses[mode].append(stats["policy_loss"] + trainer.config.vf_coef * stats["value_loss"])
    finally:
        ppo_module.sample = sample
    return {"generation_s": round(generation["s"], 2),
            "rollout_passes": summary(passes, real, width, {m: [0.0] for m in MODES}) | {"max_loss_difference": None},
            "update": summary(update, real, width, losses)}


def markdown(report: dict) -> str:
    lines = [f"# Padded batches on a CPU: row by row over the real tokens vs padded ({report['machine']})", "",
             f"`{report['command']}` — same batches, alternately; seconds summed over them.", "",
             "| step | padded s | row by row s | speed-up | padded / real tokens | largest loss difference |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, r in report["results"].items():
        diff = "—" if r["max_loss_difference"] is None else f"{r['max_loss_difference']:.1e}"
        lines.append(f"| {name} | {r['padded_s']} | {r['rows_s']} | {r['speedup']}× | {r['padded_over_real']} | {diff} |")
    lines += ["", f"PPO's generation (the same either way): {report['ppo_generation_s']} s over the rollouts timed."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a cpu run directory with 03's and 04's models")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--ppo-steps", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "unpadded_cpu.json")
    args = parser.parse_args(argv)
    import torch

    import shutil

    torch.set_num_threads(args.threads)
    try:
        results = {f"{name} training step": trainer_steps(name, args.run.resolve(), args.batches, args.seed)
                   for name in ("rm", "dpo")}
        ppo = ppo_steps(args.run.resolve(), args.ppo_steps, args.seed)
    finally:
        for root in SCRATCH:
            shutil.rmtree(root, ignore_errors=True)
    results["ppo rollout: scoring passes"] = ppo["rollout_passes"]
    results["ppo update"] = ppo["update"]
    report = {"machine": f"{platform.machine()}, {args.threads} threads, torch {torch.__version__}",
              "command": "python tools/bench_unpadded.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "ppo_generation_s": ppo["generation_s"], "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
