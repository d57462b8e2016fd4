"""Subprocess for tests/test_distributed.py: helpers.env.distributed and PPO's global-batch statistics on fixed tensors.

torchrun --standalone --nproc_per_node 2 tests/_ddp_ops_worker.py OUT

Rank r takes the r-th half of the rows of fixed random advantages and response masks, whitens them over the global
batch, averages made-up gradients and broadcasts parameters, and saves what it got to OUT.rank<r>.pt (its output:
OUT.rank<r>.log).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")


def fixed_batch():
    """8 rows of advantages with response masks of different lengths (the same tensors on every process)."""
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 6, generator=g)
    lengths = torch.tensor([6, 1, 3, 2, 5, 6, 4, 2])
    return x, torch.arange(6)[None, :] < lengths[:, None]


def main() -> int:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository root
    from tests._ddp_ppo_worker import redirect_output

    redirect_output(sys.argv[1])
    import torch

    from helpers.env import distributed
    from helpers.rl.ppo import masked_mean, masked_whiten

    assert distributed.init_from_env() and distributed.world() == 2
    r = distributed.rank()
    x, mask = fixed_batch()
    rows = slice(4 * r, 4 * r + 4)
    out = dict(whitened=masked_whiten(x[rows], mask[rows], global_batch=True),
               local_whitened=masked_whiten(x[rows], mask[rows]),
               mean=masked_mean(x[rows], mask[rows], global_batch=True))
    params = [torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2, 2))]
    params[0].grad = torch.full((3,), float(r + 1))  # rank 0: 1, rank 1: 2 -> 1.5
    if r == 1:
        params[1].grad = torch.full((2, 2), 4.0)  # rank 0 has none: counts as zeros -> 2
    distributed.average_gradients(params)
    out["grads"] = [p.grad.clone() for p in params]
    weights = [torch.full((2,), float(r + 10))]
    distributed.broadcast_parameters(weights)
    out["broadcast"] = weights[0].clone()
    out["object"] = distributed.broadcast_object({"from": r})
    out["gathered"] = distributed.gather_objects(r * 100)
    torch.save(out, f"{sys.argv[1]}.rank{r}.pt")
    distributed.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
