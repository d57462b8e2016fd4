"""Reinforcement learning from a reward model (layer 3, on top of helpers.lm): the course's own PPO trainer (`ppo`), its
losses, advantages and KL control (`losses`), its rollouts (`rollout`) and resource tracking (`resources`).

The names below are the ones notebooks and tests use, importable from here (loaded on first use, so importing this
package costs nothing); each lives in the submodule named in `_EXPORTS`.
"""

from __future__ import annotations

from .. import lazy_exports

_EXPORTS = {
    "AdaptiveKL": "losses", "FixedKL": "losses", "PPOConfig": "ppo", "PPOTrainer": "ppo",
    "compute_advantages": "losses", "encode_prompts": "rollout", "kl_rewards": "losses", "logprobs_of": "losses",
    "make_value_model": "rollout", "masked_mean": "losses", "masked_whiten": "losses", "policy_loss": "losses",
    "response_mask": "rollout", "value_loss": "losses",
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
