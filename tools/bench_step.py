"""How close the SFT stage's training step comes to the hardware, side by side in one run (CPU by default).

    python tools/bench_step.py [--profile cpu] [--model PATH] [--steps 4] [--out benchmarks/step_cpu.json]

Measurements of the same profile's SFT stage (03), each over `--steps` optimizer steps (the first left out:
warm-up), one process, interleaved with nothing else:

1. **trainer**: the stage as it trains — `SFTStage.load/build_model/build_trainer` (TRL's SFTTrainer, packing "bfd",
   padding-free, helpers.lm.packing's attention, helpers.lm.lm_head's head), timed by a callback; real tokens per second.
2. **floor**: plain PyTorch on the same model, LoRA adapters and batches the trainer just trained on: forward with
   full logits, float32 cross-entropy on the labelled tokens, backward, AdamW step — no Trainer, no TRL.
3. **unpacked**: the stage with `packing = False` (padded batches of whole conversations), same steps; its real
   (attention-mask) tokens per second against the trainer's.
4. **trainer_trl_head**: the trainer as before issue 21's head change (TRL's fused LM head, its torch fallback on a
   CPU), for the before → after of the step.
5. **packed/unpacked at `--wide-batch`** (default 8): packing's gain is the padding it saves, which grows with the
   batch; the profile's batch of 2 can save at most what the data's length spread allows (the report says so).
6. **`--heads`** (default dpo, text2sql): those stages' training step with helpers.lm.lm_head's full logits against
   TRL's fused head, seconds per step.

Goals (issue 21): trainer ≥ 0.8 × floor; packed ≥ 1.5 × unpacked real tokens/s. The t4 micro-batch's operators and
syncs before/after (tools/gpu_check.py --sft-pieces --tiny-dims --four-bit yes) are copied in from
benchmarks/sft_pieces_cpu_tiny-dims.json when present. `--model` points the profile at a local model folder
(WORKBOOK_BASE_MODEL). Writes JSON and a short Markdown summary next to it; exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from toolkit import REPO

GOALS = {"trainer_vs_floor": 0.8, "packed_vs_unpacked": 1.5}
PIECES = REPO / "benchmarks" / "sft_pieces_cpu_tiny-dims.json"


def real_tokens(batch: dict) -> int:
    """Non-pad tokens of a micro-batch: the attention mask's ones, else every id of a padding-free row."""
    return int(batch["attention_mask"].sum()) if "attention_mask" in batch else int(batch["input_ids"].numel())


def rate(seconds: list[float], tokens: list[int]) -> dict:
    """Tokens per second and seconds per step, the first step (warm-up) left out when there are two or more."""
    skip = 1 if len(seconds) > 1 else 0
    s, t = seconds[skip:], tokens[skip:]
    return {"steps_timed": len(s), "seconds_per_step": round(sum(s) / len(s), 3),
            "tokens_per_step": round(sum(t) / len(t), 1), "tokens_per_second": round(sum(t) / sum(s), 1),
            "first_step_seconds": round(seconds[0], 3)}


def stage_for(profile, root: Path, steps: int, name: str = "sft", trl_head: bool = False, **knobs):
    """The profile's stage `name` (sft, dpo or text2sql) up to build_trainer, saving nothing, `steps` optimizer steps,
    `knobs` replacing its settings (`trl_head`: TRL's fused LM head left in place, as before issue 21)."""
    import importlib

    from helpers.stages import stage_class

    module = importlib.import_module(f"helpers.stages.{name}")
    stage = stage_class(name)(root=root, profile=profile, max_steps=steps, save_steps=0, **knobs)
    stage.load()
    stage.build_model()
    patch = module.full_logits_head
    module.full_logits_head = (lambda model, *a: False) if trl_head else patch
    try:
        stage.build_trainer()
    finally:
        module.full_logits_head = patch
    stage.trainer.args.save_strategy = "no"
    return stage


def train_timed(stage) -> tuple[dict, list[dict]]:
    """Train the stage's trainer; its step rate and the micro-batches it trained on."""
    from transformers import TrainerCallback

    trainer, batches, seconds, tokens = stage.trainer, [], [], []

    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.t0, self.n = time.perf_counter(), len(batches)

        def on_step_end(self, args, state, control, **kwargs):
            seconds.append(time.perf_counter() - self.t0)
            tokens.append(sum(real_tokens(b) for b in batches[self.n:]))

    step = trainer.training_step

    def training_step(model, inputs, *a, **k):
        batches.append({k_: v for k_, v in inputs.items()})
        return step(model, inputs, *a, **k)

    trainer.training_step = training_step
    trainer.add_callback(Timer())
    trainer.train()
    return rate(seconds, tokens), batches


def floor_step(model, optimizer, micro_batches: list[dict]) -> None:
    """One optimizer step in plain PyTorch: full logits, fp32 cross-entropy over labelled tokens, AdamW."""
    import torch.nn.functional as F

    for batch in micro_batches:
        inputs = {k: v for k, v in batch.items() if k not in ("labels", "seq_idx")}
        logits = model(**inputs, use_cache=False).logits[:, :-1]
        labels = batch["labels"][:, 1:]
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100)
        (loss / len(micro_batches)).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def floor_timed(stage, batches: list[dict]) -> dict:
    """The floor over the trainer's own micro-batches, grouped into its optimizer steps (same precision)."""
    import torch

    model, args = stage.trainer.model, stage.trainer.args
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.learning_rate)
    accum = args.gradient_accumulation_steps
    groups = [batches[i:i + accum] for i in range(0, len(batches), accum)]
    dtype = torch.bfloat16 if args.bf16 else torch.float16 if args.fp16 else None
    seconds, tokens = [], []
    for group in groups:
        t0 = time.perf_counter()
        with torch.autocast(args.device.type, dtype=dtype, enabled=dtype is not None):
            floor_step(model, optimizer, group)
        seconds.append(time.perf_counter() - t0)
        tokens.append(sum(real_tokens(b) for b in group))
    return rate(seconds, tokens)


def pieces_summary(path: Path = PIECES) -> dict | None:
    """Operators and syncs per t4 micro-batch before and after issue 21, from the --sft-pieces report."""
    if not path.is_file():
        return None
    report = json.loads(path.read_text())
    rows = report.get("micro_batch", {})
    pick = {"before": "before issue 21", "after": "stage now"}
    out = {when: {k: row.get(k) for k in ("operators", "syncs", "seconds")} | {"variant": name}
           for when, prefix in pick.items() for name, row in rows.items() if name.startswith(prefix)}
    out["source"] = str(path.relative_to(REPO))
    out["goals"] = report.get("goals")
    return out


def verdicts(report: dict) -> dict:
    """The two ratios and whether each meets its goal."""
    trainer, floor, unpacked = (report[k]["tokens_per_second"] for k in ("trainer", "floor", "unpacked"))
    ratios = {"trainer_vs_floor": round(trainer / floor, 3), "packed_vs_unpacked": round(trainer / unpacked, 3)}
    return {k: {"ratio": v, "goal": GOALS[k], "met": v >= GOALS[k]} for k, v in ratios.items()}


def markdown(report: dict) -> str:
    """A short summary of the report."""
    lines = [f"# SFT step, {report['profile']} profile on {report['machine']}", "",
             f"`{report['command']}` — {report['steps']} optimizer steps each, the first left out.", "",
             "| measurement | real tokens/s | s/step | tokens/step |", "|---|---:|---:|---:|"]
    wide = [k for k in report if k.startswith(("packed_batch_", "unpacked_batch_"))]
    for key in ("trainer", "floor", "unpacked", "trainer_trl_head", *wide):
        r = report[key]
        lines.append(f"| {key} | {r['tokens_per_second']} | {r['seconds_per_step']} | {r['tokens_per_step']} |")
    lines.append("")
    for key, v in report["verdicts"].items():
        lines.append(f"- {key.replace('_', ' ')}: {v['ratio']} (goal ≥ {v['goal']}): {'met' if v['met'] else 'MISSED'}")
    lines.append(f"- trainer with helpers.lm.lm_head vs TRL's fused head (before): {report['speedup_vs_trl_head']}×")
    for key in (k for k in report if k.startswith("packed_vs_unpacked_batch_")):
        lines.append(f"- {key.replace('_', ' ')} (not the profile's batch; packing saves more padding): {report[key]}")
    for key in (k for k, v in report.items() if k.endswith("_head") and isinstance(v, dict) and "speedup" in v):
        r = report[key]
        lines.append(f"- {key.removesuffix('_head')} step, full logits vs TRL's fused head: {r['speedup']}× "
                     f"({r['trl']['seconds_per_step']} → {r['full_logits']['seconds_per_step']} s)")
    if report.get("t4_micro_batch"):
        p = report["t4_micro_batch"]
        lines.append(f"- t4 micro-batch ({p['source']}): operators {p.get('before', {}).get('operators')} → "
                     f"{p.get('after', {}).get('operators')}, syncs {p.get('before', {}).get('syncs')} → "
                     f"{p.get('after', {}).get('syncs')}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--model", help="a local model folder for the profile's base model (WORKBOOK_BASE_MODEL)")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per measurement (the first is warm-up)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "step_cpu.json")
    parser.add_argument("--wide-batch", type=int, nargs="*", default=[8],
                        help="also packed vs unpacked at these SFT batch sizes (information: not the profile's)")
    parser.add_argument("--heads", nargs="*", default=["dpo", "text2sql"],
                        help="stages whose step is also timed with full logits vs TRL's fused head")
    args = parser.parse_args(argv)
    if args.model:
        os.environ["WORKBOOK_BASE_MODEL"] = str(Path(args.model).resolve())
    import torch

    from helpers.env.profiles import get_profile
    from helpers.stages import settings_for

    torch.set_num_threads(args.threads)
    profile = get_profile(args.profile)
    report: dict = {"profile": profile.name, "steps": args.steps, "settings": asdict(settings_for(profile, "sft")),
                    "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
                    "command": "python tools/bench_step.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    with tempfile.TemporaryDirectory() as tmp:
        stage = stage_for(profile, Path(tmp), args.steps, packing=True)
        report["trainer"], batches = train_timed(stage)
        report["floor"] = floor_timed(stage, batches)
        del stage, batches
        report["unpacked"], _ = train_timed(stage_for(profile, Path(tmp), args.steps, packing=False))
        report["trainer_trl_head"], _ = train_timed(stage_for(profile, Path(tmp), args.steps,
                                                              packing=True, trl_head=True))
        for batch in args.wide_batch:  # packing's gain grows with the batch: more padding to save
            for packing in (True, False):
                key = f"{'packed' if packing else 'unpacked'}_batch_{batch}"
                report[key], _ = train_timed(stage_for(profile, Path(tmp), args.steps, packing=packing,
                                                       batch_size=batch))
        for name in args.heads:  # the other TRL-trained stages that compute log-probabilities through its head
            report[f"{name}_head"] = {head: train_timed(stage_for(profile, Path(tmp), args.steps, name,
                                                                  trl_head=head == "trl"))[0]
                                      for head in ("full_logits", "trl")}
    report["verdicts"] = verdicts(report)
    report["speedup_vs_trl_head"] = round(report["trainer"]["tokens_per_second"] /
                                          report["trainer_trl_head"]["tokens_per_second"], 3)
    for batch in args.wide_batch:
        report[f"packed_vs_unpacked_batch_{batch}"] = round(report[f"packed_batch_{batch}"]["tokens_per_second"] /
                                                            report[f"unpacked_batch_{batch}"]["tokens_per_second"], 3)
    for name in args.heads:
        r = report[f"{name}_head"]
        r["speedup"] = round(r["trl"]["seconds_per_step"] / r["full_logits"]["seconds_per_step"], 3)
    report["t4_micro_batch"] = pieces_summary()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    return 0 if all(v["met"] for v in report["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
