"""Benchmark: SFT on the shipped conversations, packed vs unpacked, tiny profile on CPU.

    python tools/bench_packing.py [--steps 30]  ->  benchmarks/packing_tiny_cpu.json (quoted by 03_sft)

Measures the fraction of non-padding tokens in the batches the trainer sees and the non-padding tokens
trained per second (same model, data, batch size and steps; only `packing` differs).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from toolkit import REPO  # first: it puts the repository (helpers) on sys.path

from helpers.env.profiles import get_profile
from helpers.stages.sft import SFTStage

OUT = REPO / "benchmarks" / "packing_tiny_cpu.json"


def measure(packing: bool, steps: int, root: Path, batch_size: int | None = None) -> dict:
    stage = SFTStage(root=root, profile=get_profile("tiny"), max_steps=steps, batch_size=batch_size, packing=packing)
    stage.load()
    stage.build_model()
    stage.build_trainer()
    pad = stage.tok.pad_token_id
    loader = stage.trainer.get_train_dataloader()
    steps = min(steps, len(loader))  # within one epoch, so the batches counted here are the ones trained on
    stage.trainer.args.max_steps = steps
    real, total = [], 0
    for i, batch in enumerate(loader):
        if i == steps:
            break
        ids = batch["input_ids"]
        total += ids.numel()
        real.append(int((ids != pad).sum()) if "attention_mask" not in batch else int(batch["attention_mask"].sum()))
    timer = StepTimer()
    stage.trainer.add_callback(timer)
    stage.trainer.args.save_strategy = "no"  # time the training steps only, not checkpoint writing
    stage.trainer.train()
    # the first step pays one-off costs (allocations, lazy initialisation): leave it out of the rate
    seconds = sum(timer.seconds[1:])
    return {"packing": packing, "steps": steps, "batch_size": stage.settings.batch_size,
            "non_pad_fraction": sum(real) / total, "non_pad_tokens": sum(real), "timed_seconds": seconds,
            "tokens_per_second": sum(real[1:]) / seconds}


class StepTimer(TrainerCallback):
    """Wall time of every optimisation step."""

    def __init__(self):
        self.seconds: list[float] = []

    def on_step_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self.start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30, help="at most one epoch: fewer when an epoch is shorter")
    parser.add_argument("--batch-size", type=int, help="default: the tiny profile's SFT batch size")
    args = parser.parse_args()
    torch.set_num_threads(2)
    results = {}
    for packing in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            results["packed" if packing else "unpacked"] = measure(packing, args.steps, Path(tmp), args.batch_size)
    results["speedup"] = results["packed"]["tokens_per_second"] / results["unpacked"]["tokens_per_second"]
    results["machine"] = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
