"""Reinforcement learning from a reward model (layer 3, on top of helpers.lm): the course's own PPO trainer, its
losses, advantages and KL control (`ppo`).

The names below are the ones notebooks and tests use, importable from here (loaded on first use, so importing this
package costs nothing); each lives in the submodule named in `_EXPORTS`.
"""

from __future__ import annotations

from .. import lazy_exports

_EXPORTS = {
    "AdaptiveKL": "ppo", "FixedKL": "ppo", "PPOConfig": "ppo", "PPOTrainer": "ppo", "compute_advantages": "ppo",
    "encode_prompts": "ppo", "kl_rewards": "ppo", "logprobs_of": "ppo", "make_value_model": "ppo",
    "masked_mean": "ppo", "masked_whiten": "ppo", "policy_loss": "ppo", "response_mask": "ppo", "value_loss": "ppo",
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
