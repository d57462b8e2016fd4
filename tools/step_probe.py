"""What a training step costs the host: aten operators dispatched and device-to-host syncs, on any device.

Each operator is at least one kernel launch on a GPU, so a small model's step is host-bound when they are many; a sync
(`.item()`, `.tolist()`, `bool(tensor)`, a boolean index, `nonzero`, a copy to the CPU) makes the host wait until the
GPU queue drains, so host and GPU stop overlapping. Both are counted the same way on a CPU, where they cost little,
so a CPU run predicts them for a GPU. Used by tools/gpu_check.py --sft-pieces, tools/bench_step.py and tests.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch.utils._python_dispatch import TorchDispatchMode

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


@contextmanager
def counting():
    """Count operators and syncs inside the block; `.tolist()` too (it reads memory without dispatching an op)."""
    counter = Counter()
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


def measure(fn) -> dict:
    """Operators, the most frequent ones and syncs (by kind) of one call of `fn`."""
    with counting() as counter:
        fn()
    return {"operators": counter.total(), "most_frequent": counter.top(), "syncs": sum(counter.syncs.values()),
            "sync_kinds": dict(counter.syncs)}
