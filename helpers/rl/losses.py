"""PPO's algorithm on tensors (helpers.rl.ppo uses it): masked statistics, GAE, the clipped policy and value losses,
the per-token KL rewards, log-probs and entropy of logits, and the fixed or adaptive KL coefficient β."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..env.distributed import all_reduce_sum, world


def masked_mean(x: torch.Tensor, mask: torch.Tensor, global_batch: bool = False) -> torch.Tensor:
    """The mean of the masked entries; with `global_batch`, of every process's masked entries (sums and counts
    all-reduced)."""
    mask = mask.to(x.dtype)
    total, count = (x * mask).sum(), mask.sum()
    if global_batch and world() > 1:
        total, count = all_reduce_sum(torch.stack([total, count]))
    return total / count.clamp(min=1)


def masked_whiten(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8, global_batch: bool = False) -> torch.Tensor:
    """(x - mean) / std over the masked entries (of every process with `global_batch`); 0 elsewhere."""
    mean = masked_mean(x, mask, global_batch)
    var = masked_mean((x - mean) ** 2, mask, global_batch)
    return (x - mean) * torch.rsqrt(var + eps) * mask.to(x.dtype)


def compute_advantages(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float,
                       lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over [batch, time] tensors; `mask` is true on response tokens (a prefix).

    δ_t = r_t + γ·V_{t+1} − V_t (V = 0 after the last response token), A_t = δ_t + γλ·A_{t+1}; returns = A + V.
    The advantages are plain GAE (not whitened) and 0 outside the mask.
    """
    m = mask.to(values.dtype)
    rewards, masked_values = rewards * m, values * m
    advantages = torch.zeros_like(values)
    running = torch.zeros_like(values[:, 0])
    for t in reversed(range(values.shape[1])):
        next_value = masked_values[:, t + 1] if t + 1 < values.shape[1] else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - masked_values[:, t]
        running = (delta + gamma * lam * running) * m[:, t]
        advantages[:, t] = running
    return advantages, advantages + values


def policy_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
                cliprange: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Clipped surrogate: mean of max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε)), ρ = π/π_old; and the fraction that was clipped."""
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - cliprange, 1 + cliprange)
    return masked_mean(torch.maximum(unclipped, clipped), mask), masked_mean((clipped > unclipped).float(), mask)


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
               cliprange_value: float) -> tuple[torch.Tensor, torch.Tensor]:
    """½ mean of max((V − R)², (V_clip − R)²), V_clip = V_old + clip(V − V_old, ±ε_v); and the clipped fraction."""
    clipped_values = old_values + torch.clamp(values - old_values, -cliprange_value, cliprange_value)
    unclipped_loss, clipped_loss = (values - returns) ** 2, (clipped_values - returns) ** 2
    loss = 0.5 * masked_mean(torch.maximum(unclipped_loss, clipped_loss), mask)
    return loss, masked_mean((clipped_loss > unclipped_loss).float(), mask)


def kl_rewards(scores: torch.Tensor, logprobs: torch.Tensor, ref_logprobs: torch.Tensor, mask: torch.Tensor,
               kl_coef: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards −β·(log π − log π_ref), plus the score on each row's last response token; and the KL."""
    kl = (logprobs - ref_logprobs) * mask
    rewards = -kl_coef * kl
    last = mask.long().sum(dim=1) - 1
    rewards[torch.arange(len(scores)), last] += scores
    return rewards, kl


def logprobs_of(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    return torch.gather(F.log_softmax(logits.float(), dim=-1), 2, tokens[..., None]).squeeze(-1)


def entropy_of(logits: torch.Tensor) -> torch.Tensor:
    logp = F.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


class FixedKL:
    """β stays where it is."""

    def __init__(self, value: float):
        self.value = value

    def update(self, kl: float, n: int) -> None:
        pass


class AdaptiveKL:
    """Ziegler et al. (2019): β ← β·(1 + clip(KL/target − 1, ±0.2)·n/horizon) after a batch of n responses."""

    def __init__(self, value: float, target: float, horizon: int):
        self.value, self.target, self.horizon = value, target, horizon

    def update(self, kl: float, n: int) -> None:
        error = min(max(kl / self.target - 1, -0.2), 0.2)
        self.value *= 1 + error * n / self.horizon
