"""Several processes, one training run: the few torch.distributed calls the course needs.

`torchrun --nproc_per_node N -m helpers.stages NAME` starts N copies of the runner with RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR and MASTER_PORT set; `init_from_env()` joins them into one process group (gloo on CPU, NCCL on GPU, each
process on GPU LOCAL_RANK). Outside a process group (a notebook, a plain `python -m helpers.stages`) every helper here
is a no-op: world() is 1, rank() 0, is_main() true, and no collective call is made.

Rank 0 is the main process: it alone writes the run directory (metrics, final model, published checkpoints); the
others wait for it at a barrier.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import torch
import torch.distributed as dist


def initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def world() -> int:
    """How many processes train together (1 outside a process group)."""
    return dist.get_world_size() if initialized() else 1


def rank() -> int:
    """This process's index, 0 … world() − 1."""
    return dist.get_rank() if initialized() else 0


def is_main() -> bool:
    return rank() == 0


def init_from_env() -> bool:
    """Join the process group torchrun (or accelerate launch) describes in the environment when WORLD_SIZE > 1;
    True when this process is in a group of more than one. Safe to call twice, and after the Trainer did it."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        # GPU tensors through NCCL, CPU tensors (FSDP's full state dict, offload) through gloo, as accelerate does
        dist.init_process_group("cuda:nccl,cpu:gloo" if torch.cuda.is_available() else "gloo")
    return world() > 1


def barrier() -> None:
    """Wait until every process got here."""
    if world() > 1:
        dist.barrier()


@contextmanager
def main_first():
    """Run the block on rank 0, then (after a barrier) on the other ranks: rank 0 writes, the others read."""
    if not is_main():
        barrier()
    yield
    if is_main():
        barrier()


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """`t` summed over the processes, in place (unchanged with one process)."""
    if world() > 1:
        dist.all_reduce(t)
    return t


def all_reduce_mean(t: torch.Tensor) -> torch.Tensor:
    """`t` averaged over the processes, in place (unchanged with one process)."""
    if world() > 1:
        dist.all_reduce(t)
        t /= world()
    return t


def average_gradients(params) -> None:
    """Replace every parameter's gradient by its mean over the processes (what DistributedDataParallel does in its
    backward pass): one all-reduce of all the gradients flattened together. A missing gradient counts as zeros."""
    if world() == 1:
        return
    params = list(params)
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.flatten() for p in params])
    all_reduce_mean(flat)
    for p, g in zip(params, flat.split([p.numel() for p in params])):
        p.grad.copy_(g.view_as(p.grad))


def broadcast_parameters(params) -> None:
    """Give every process rank 0's values of `params` (so that all ranks start from the same weights)."""
    if world() > 1:
        with torch.no_grad():
            for p in params:
                dist.broadcast(p.data, src=0)


def broadcast_object(obj):
    """Rank 0's `obj` (anything picklable), on every rank."""
    if world() == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(obj) -> list:
    """[rank 0's obj, rank 1's obj, …] on every rank."""
    if world() == 1:
        return [obj]
    out = [None] * world()
    dist.all_gather_object(out, obj)
    return out


def shutdown() -> None:
    """Leave the process group (at the end of a torchrun run), after every process got there."""
    if initialized():
        barrier()
        dist.destroy_process_group()
