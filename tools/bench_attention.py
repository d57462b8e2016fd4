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
import torch.nn.functional as F

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import helpers.lm.packing as packing  # noqa: E402

HEADS, KV, DIM = 9, 3, 64


def lengths_for(total: int, seed: int = 1) -> list[int]:
    """Conversation lengths (100–500 tokens) filling a row of `total` tokens, the last one cut at the end."""
    g, out = torch.Generator().manual_seed(seed), []
    while sum(out) < total:
        out.append(int(torch.randint(100, 501, (1,), generator=g)))
    out[-1] -= sum(out) - total
    return [n for n in out if n > 0]


def kernels(lengths: list[int], dtype: torch.dtype, heads: tuple[int, int, int] = (HEADS, KV, DIM),
            device: str | torch.device = "cpu") -> tuple[dict, tuple]:
    """name -> forward function of one layer's packed attention, and the leaf tensors (q, k, v)."""
    (n_q, n_kv, dim), total, longest = heads, sum(lengths), max(lengths)
    cu = torch.tensor([0] + torch.tensor(lengths).cumsum(0).tolist(), dtype=torch.int32, device=device)
    q, k, v = (torch.randn(1, n, total, dim, dtype=dtype, device=device, requires_grad=True) for n in (n_q, n_kv, n_kv))
    module = type("Attention", (torch.nn.Module,), {"num_key_value_groups": n_q // n_kv})().train()
    position = torch.cat([torch.arange(n) for n in lengths]).to(device)
    example = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths)).to(device)
    dense = (example[:, None] == example[None, :]) & (position[:, None] >= position[None, :])
    full = lambda x: x.repeat_interleave(n_q // x.shape[1], 1)  # noqa: E731 - grouped heads repeated

    def helpers_kernel(kind):
        def run():
            packing.PACKED_KERNEL = kind
            return packing.sdpa_varlen_attention(module, q, k, v, None, cu_seq_lens_q=cu, max_length_q=longest)[0]
        return run

    def masked():
        return F.scaled_dot_product_attention(q, full(k), full(v), attn_mask=dense).transpose(1, 2)

    def nested():
        def jagged(x):
            x = full(x)[0].transpose(0, 1).contiguous()
            return torch.nested.nested_tensor_from_jagged(x, cu.long(), max_seqlen=longest).transpose(1, 2)
        out = F.scaled_dot_product_attention(jagged(q), jagged(k), jagged(v), is_causal=True)
        return out.transpose(1, 2).values()[None]

    return {"loop (helpers.lm.packing, CPU)": helpers_kernel("loop"), "padded (helpers.lm.packing, GPU)":
            helpers_kernel("padded"), "dense block-diagonal mask": masked, "jagged nested tensors": nested}, (q, k, v)


def measure(lengths: list[int], dtype: torch.dtype, reps: int) -> dict:
    """Fastest CPU and wall seconds per kernel (forward + backward), and its largest difference from the loop."""
    fns, leaves = kernels(lengths, dtype)
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


def layer_and_head(pieces) -> dict:
    """At tools/sft_pieces.py's shape: one layer's attention (every kernel above) and the LM head (TRL's fused head vs
    full logits), forward + backward, fastest of --reps in wall seconds (the device synchronised)."""
    from trl.kernels import ChunkedLogProbFunction
    from trl.trainer.utils import _CHUNKED_LOGPROB_CHUNK_SIZE

    from helpers.lm.lm_head import per_token

    p, c = pieces, pieces.config
    total, dev = sum(p.lengths), p.device
    shape = (c.num_attention_heads, c.num_key_value_heads, c.hidden_size // c.num_attention_heads)
    attention, _ = kernels(p.lengths, p.dtype, shape, dev)
    fns = {f"attention, 1 layer: {name}": (lambda fn=fn: fn().float().sum().backward())
           for name, fn in attention.items()}
    hidden = torch.randn(total - 1, c.hidden_size, device=dev, dtype=p.dtype, requires_grad=True)
    targets = torch.randint(0, c.vocab_size, (total - 1,), device=dev)
    weight = torch.randn(c.vocab_size, c.hidden_size, device=dev, dtype=p.dtype) * 0.02
    fns["head: TRL fused log_probs + entropy + is_top1"] = lambda: ChunkedLogProbFunction.apply(
        hidden, weight, None, targets, 1.0, _CHUNKED_LOGPROB_CHUNK_SIZE, None, 1.0,
        ("log_probs", "entropy", "is_top1"))[0].sum().backward()

    def logits():
        with torch.autocast(dev.type, dtype=p.dtype):
            out = per_token(hidden @ weight.t(), targets)
        out["log_probs"].sum().backward()

    fns["head: full logits + fp32 log-softmax (helpers.lm.lm_head)"] = logits
    out: dict = {}
    for name, fn in fns.items():
        try:
            fn()
            p.sync()
        except Exception as exc:  # noqa: BLE001 - e.g. no backend for nested tensors on this device
            out[name] = f"{type(exc).__name__}: {exc}"[:160]
            continue
        best = float("inf")
        for _ in range(p.args.reps):
            t0 = time.perf_counter()
            fn()
            p.sync()
            best = min(best, time.perf_counter() - t0)
        out[name] = round(best, 4)
        print(f"{name:>72}: {out[name]}", flush=True)
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
