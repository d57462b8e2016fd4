"""What the maintainer tools in tools/ share: the import path, the course's stages, the measured Qwen2.5-0.5B shape and
stage knobs, the stand-in models' offline environment, packed-attention kernels and the operator / sync counter.

Each tool imports only this module and helpers, never another tool. Importing it puts the repository root (helpers)
and tools/ on sys.path, so `from toolkit import ...` is a tool's whole set-up; torch loads only where it is used.
"""

from __future__ import annotations

import argparse
import re
import sys
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

REPO = Path(__file__).resolve().parent.parent
for _path in (REPO, REPO / "tools"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from helpers.env.profiles import STAGES  # noqa: E402

if TYPE_CHECKING:
    import torch

TRAINING_STAGES = tuple(s for s in STAGES if s != "tokenizer")  # 02-07: what runs after 01's tokenizer
GIB = 2**30
# Qwen2.5-0.5B's body (helpers.maintainer.standin.standin_config supplies the vocabulary shape, ids, rope, dtype).
QWEN05_SHAPE = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                    num_key_value_heads=2)
# max_length per stage for a short measurement (PPO: new tokens). 07's prompts need max_length - 192 generated tokens.
LENGTHS = {"pt": 64, "sft": 128, "rm": 128, "ppo": 8, "dpo": 128, "text2sql": 512}
BATCH = {"ppo": 4}  # GRPO needs a batch divisible by its 4 generations per prompt
EVAL_TRIM = dict(n_prompts=1, eval_limit=2)  # the stage settings that bound the evaluation steps
SHOWN_KNOBS = ("max_steps", "batch_size", "grad_accum", "max_length", "max_new_tokens", "save_steps", "learning_rate")


# ---------------------------------------------------------------- effects over seeds

def seed_verdict(changes: list[float], better: str) -> dict:
    """Mean and std of a change over seeds and whether it moves the right way beyond the spread: every seed the right
    way (`better`: "up" | "down") and the mean change larger than its std (None for one seed: no spread)."""
    import statistics

    mean, std = statistics.mean(changes), statistics.pstdev(changes)
    sign = 1 if better == "up" else -1
    right = (all(sign * c > 0 for c in changes) and sign * mean > std) if len(changes) > 1 else None
    return dict(mean_change=mean, std_change=std, moves_right_way=right)


# ---------------------------------------------------------------- stages and models

def stage_knobs(name: str, length: int | None = None, trim_eval: bool = False, **knobs) -> dict:
    """Keywords for stage `name`'s constructor: `length` as its length knob (PPO's is max_new_tokens), EVAL_TRIM's
    held-out cuts with `trim_eval`, and `knobs`."""
    from helpers.stages import stage_class

    known = stage_class(name).settings_class.help()
    knobs["max_new_tokens" if name == "ppo" else "max_length"] = length
    if trim_eval:
        knobs.update({k: v for k, v in EVAL_TRIM.items() if k in known})
    return {k: v for k, v in knobs.items() if k in known}


def shown_settings(settings) -> dict:
    """The knobs a report shows."""
    return {k: getattr(settings, k) for k in SHOWN_KNOBS if hasattr(settings, k)}


def trim_loaded(stage) -> None:
    """Bound the evaluation steps to a few examples (they only write metrics)."""
    if hasattr(stage, "blocks"):  # 02: perplexity over valid blocks
        stage.blocks["valid"] = stage.blocks["valid"][:4]
    data = getattr(stage, "data", None)
    if isinstance(data, dict) and hasattr(data.get("valid"), "select"):  # 03, 04, 06: held-out loss, rewards, samples
        data["valid"] = data["valid"].select(range(min(4, len(data["valid"]))))


def build_models(folder: Path, shape: dict | None = None) -> dict[str, Path]:
    """{"base", "sql"}: Qwen2.5-0.5B-shaped random models (bf16 safetensors, Qwen2.5's tokenizer; the SQL model with
    the Instruct tokenizer and generation defaults). `shape` overrides the body (default: Qwen2.5-0.5B's)."""
    from helpers.maintainer.standin import build_qwen_standin

    shape = QWEN05_SHAPE if shape is None else shape
    return {"base": build_qwen_standin(folder / "qwen2.5-0.5b-shape", **shape),
            "sql": build_qwen_standin(folder / "qwen2.5-coder-0.5b-instruct-shape", instruct=True, **shape)}


def course_env(models: dict[str, Path], profile: str) -> dict[str, str]:
    """Environment of a headless course run on the local models and the shipped data (no hub)."""
    return dict(WORKBOOK_PROFILE=profile, WORKBOOK_BASE_MODEL=str(models["base"]),
                WORKBOOK_SQL_MODEL=str(models["sql"]), WORKBOOK_DATA_SOURCE="shipped", HF_HUB_OFFLINE="1",
                HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                TRANSFORMERS_VERBOSITY="error")


def gpu_slug(name: str) -> str:
    """'NVIDIA H200' -> 'h200', 'Tesla T4' -> 't4', 'NVIDIA A100-SXM4-80GB' -> 'a100-sxm4-80gb'."""
    name = re.sub(r"^(nvidia|tesla)\s+", "", name.strip(), flags=re.I)
    name = re.sub(r"^(geforce|quadro)\s+", "", name, flags=re.I)
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "gpu"


def pieces_options(parser: argparse.ArgumentParser, prefix: str = "--sft-pieces: ") -> None:
    """tools/sft_pieces.py's options (tools/gpu_check.py --sft-pieces takes them too and passes them on)."""
    parser.add_argument("--layers", type=int, help=prefix + "decoder layers (default 24 on a GPU, 2 on a CPU)")
    parser.add_argument("--rows", type=int, default=None, help=prefix + "packed rows per micro-batch")
    parser.add_argument("--length", type=int, default=1024, help=prefix + "tokens per packed row")
    parser.add_argument("--reps", type=int, default=3, help=prefix + "timed repetitions per variant")
    parser.add_argument("--four-bit", choices=("auto", "yes", "no"), default="auto",
                        help=prefix + "4-bit NF4 base (auto: when bitsandbytes imports)")
    parser.add_argument("--only", nargs="+", metavar="PREFIX",
                        help=prefix + "only the variants whose name starts with one of these (e.g. 'stage now')")
    parser.add_argument("--tiny-dims", action="store_true",
                        help=prefix + "same layers, modules and tokens, tiny widths: the host-side cost")


# ---------------------------------------------------------------- packed attention (bench_attention, sft_pieces)

def kernels(lengths: list[int], dtype: torch.dtype, heads: tuple[int, int, int],
            device: str | torch.device = "cpu") -> tuple[dict, tuple]:
    """name -> forward function of one layer's packed attention ((query heads, key/value heads, head dim) `heads`),
    and the leaf tensors (q, k, v)."""
    import torch
    import torch.nn.functional as F

    import helpers.lm.packing as packing

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


# ---------------------------------------------------------------- what a step costs the host, on any device
# Each aten operator is at least one kernel launch on a GPU, so a small model's step is host-bound when they are many;
# a sync (`.item()`, `.tolist()`, `bool(tensor)`, a boolean index, `nonzero`, a copy to the CPU) makes the host wait
# until the GPU queue drains. Both are counted the same way on a CPU, where they cost little, so a CPU run predicts
# them for a GPU (tools/sft_pieces.py, tests/test_packing.py).

METADATA_OPS = frozenset({  # leaf aten ops that launch no kernel (shape/stride bookkeeping, allocation)
    "aten::empty", "aten::empty_strided", "aten::empty_like", "aten::view", "aten::as_strided", "aten::_reshape_alias",
    "aten::reshape", "aten::t", "aten::transpose", "aten::expand", "aten::slice", "aten::select", "aten::unsqueeze",
    "aten::squeeze", "aten::detach", "aten::alias", "aten::resolve_conj", "aten::resolve_neg", "aten::permute",
    "aten::unbind", "aten::split", "aten::narrow", "aten::lift_fresh", "aten::_unsafe_view", "aten::set_",
    "aten::result_type", "aten::_has_compatible_shallow_copy_type", "aten::is_same_size", "aten::numpy_T",
    "aten::split_with_sizes", "aten::chunk", "aten::view_as", "aten::expand_as", "aten::flatten", "aten::contiguous"})
SYNC_OPS = frozenset({"aten::_local_scalar_dense", "aten::nonzero", "aten::masked_select", "aten::unique_consecutive",
                      "aten::_unique2", "aten::unique_dim"})  # .item() / bool() / int(), and data-dependent shapes


def is_sync(name: str, args: tuple, kwargs: dict) -> bool:
    """True when this aten call makes a GPU wait for the host (a CPU-side value or a shape read from the device)."""
    import torch

    if name in SYNC_OPS:
        return True
    if name in ("aten::index", "aten::index_put", "aten::index_put_", "aten::_index_put_impl_") and len(args) > 1:
        return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in args[1] or ())  # nonzero inside
    if name == "aten::repeat_interleave":
        return kwargs.get("output_size") is None and isinstance(args[0], torch.Tensor) and len(args) < 3
    if name in ("aten::_to_copy", "aten::to", "aten::copy_"):
        src = args[1] if name == "aten::copy_" else args[0]
        dst = args[0].device if name == "aten::copy_" else kwargs.get("device")
        return isinstance(src, torch.Tensor) and src.device.type != "cpu" and dst is not None and \
            torch.device(dst).type == "cpu"
    return False


@cache
def counter_class() -> type:
    """Counter, a TorchDispatchMode (defined on first use: importing toolkit imports no torch)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Counter(TorchDispatchMode):
        """Counts operators (metadata-only ones left out) and syncs dispatched while active."""

        def __init__(self):
            super().__init__()
            self.ops: dict[str, int] = {}
            self.syncs: dict[str, int] = {}

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            name = f"{func.namespace}::{func.overloadpacket.__name__}"
            if name not in METADATA_OPS:
                self.ops[name] = self.ops.get(name, 0) + 1
            if is_sync(name, args, kwargs):
                self.syncs[name] = self.syncs.get(name, 0) + 1
            return func(*args, **kwargs)

        def total(self) -> int:
            return sum(self.ops.values())

        def top(self, n: int = 15) -> dict[str, int]:
            return dict(sorted(self.ops.items(), key=lambda kv: -kv[1])[:n])

    return Counter


@contextmanager
def counting() -> Iterator:
    """Count operators and syncs inside the block; `.tolist()` too (it reads memory without dispatching an op)."""
    import torch

    counter = counter_class()()
    original = torch.Tensor.tolist

    def tolist(self):
        counter.syncs["Tensor.tolist"] = counter.syncs.get("Tensor.tolist", 0) + 1
        return original(self)

    torch.Tensor.tolist = tolist
    try:
        with counter:
            yield counter
    finally:
        torch.Tensor.tolist = original


def measure(fn: Callable[[], object]) -> dict:
    """Operators, the most frequent ones and syncs (by kind) of one call of `fn`."""
    with counting() as counter:
        fn()
    return {"operators": counter.total(), "most_frequent": counter.top(), "syncs": sum(counter.syncs.values()),
            "sync_kinds": dict(counter.syncs)}
