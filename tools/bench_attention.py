"""Which packed attention is fastest on this machine: one layer's forward + backward over a packed row.

    python tools/bench_attention.py [--reps 5] [--threads 1] [--out benchmarks/attention_cpu.json]

Rows of ~300-token conversations (lengths drawn uniformly from 100–500, cut at the row's end), 1 × 1024 and 1 × 4096
tokens (TRL's padding-free layout: a batch of 4 packed rows of 1024 is one row of 4096), SmolLM2-135M's heads (9
query, 3 key/value, dim 64) in float32 and bfloat16. Kernels: helpers.lm.packing's `loop` (SDPA per example, Σ L² work)
and `padded` (one SDPA call over [examples, longest], n · longest² work), one SDPA call with the dense block-diagonal
mask that transformers builds from position_ids ((Σ L)² work), and SDPA on jagged nested tensors. The figure is
the fastest of `--reps` runs in CPU seconds of this process (steadier than wall time when other jobs share the
cores; wall time is recorded too). helpers.lm.packing picks its CPU kernel from these numbers.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

from toolkit import REPO, kernels  # first: it puts the repository (helpers) on sys.path

import helpers.lm.packing as packing

HEADS, KV, DIM = 9, 3, 64


def lengths_for(total: int, seed: int = 1) -> list[int]:
    """Conversation lengths (100–500 tokens) filling a row of `total` tokens, the last one cut at the end."""
    g, out = torch.Generator().manual_seed(seed), []
    while sum(out) < total:
        out.append(int(torch.randint(100, 501, (1,), generator=g)))
    out[-1] -= sum(out) - total
    return [n for n in out if n > 0]


def measure(lengths: list[int], dtype: torch.dtype, reps: int) -> dict:
    """Fastest CPU and wall seconds per kernel (forward + backward), and its largest difference from the loop."""
    fns, leaves = kernels(lengths, dtype, (HEADS, KV, DIM))
    reference = fns["loop (helpers.lm.packing, CPU)"]().detach().float()
    out: dict = {}
    for name, fn in fns.items():
        try:
            diff = (fn().detach().float().reshape(reference.shape) - reference).abs().max().item()
        except Exception as exc:  # noqa: BLE001 - e.g. no CPU backend for nested tensors
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:160]}
            continue
        cpu, wall = [], []
        for _ in range(reps):
            c0, w0 = time.process_time(), time.perf_counter()
            fn().float().sum().backward()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
            for leaf in leaves:
                leaf.grad = None
        out[name] = {"cpu_seconds": round(min(cpu), 4), "wall_seconds": round(min(wall), 4), "max_diff": diff}
    packing.PACKED_KERNEL = "auto"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="1: CPU seconds measure work, not waiting threads")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "attention_cpu.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    report = {"machine": f"{platform.machine()}, {args.threads} threads, torch {torch.__version__}",
              "heads": {"query": HEADS, "key_value": KV, "dim": DIM}, "reps": args.reps, "rows": {}}
    for total in (1024, 4096):
        lengths = lengths_for(total)
        for dtype in (torch.float32, torch.bfloat16):
            key = f"1 x {total} ({len(lengths)} examples, longest {max(lengths)}), {str(dtype)[6:]}"
            report["rows"][key] = measure(lengths, dtype, args.reps)
            print(key, json.dumps(report["rows"][key]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
