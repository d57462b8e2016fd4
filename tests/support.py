"""Measures only the tests use (kept out of helpers/: no chapter or stage needs them)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from helpers.rl.losses import logprobs_of
from helpers.rl.rollout import RewardFn, response_logits, response_mask, sample


def evaluate_policy(policy, tokenizer, prompts: Sequence[list[int]], max_new_tokens: int,
                    reward_fn: RewardFn | None = None, seed: int = 1234, batch_size: int = 8) -> dict:
    """Sample one response per prompt (seeded) from a peft policy; its KL to the reference (adapter disabled).

    Returns {"kl": mean KL per response, "response_length", "responses": decoded texts} and, with `reward_fn`,
    "reward" (without the missing-EOS penalty). Policies trained in different ways are measured the same way.
    """
    rewards, kls, lengths, texts = [], [], [], []
    for i in range(0, len(prompts), batch_size):
        query, query_mask, responses = sample(policy, tokenizer, prompts[i:i + batch_size], max_new_tokens,
                                              seed=seed + i)
        mask, _ = response_mask(responses, tokenizer.eos_token_id)
        ids, attn = torch.cat([query, responses], 1), torch.cat([query_mask, mask.long()], 1)
        logits = response_logits(policy, ids, attn, responses.shape[1])
        with policy.disable_adapter():
            ref = response_logits(policy, ids, attn, responses.shape[1])
        kls += ((logprobs_of(logits, responses) - logprobs_of(ref, responses)) * mask).sum(1).tolist()
        lengths += mask.sum(1).tolist()
        texts += [tokenizer.decode(r[m], skip_special_tokens=True).strip() for r, m in zip(responses, mask)]
        if reward_fn is not None:
            rewards += [float(reward_fn(a[k.bool()].tolist(), r[m].tolist()))
                        for a, k, r, m in zip(query, query_mask, responses, mask)]
    out = dict(kl=sum(kls) / len(kls), response_length=sum(lengths) / len(lengths), responses=texts)
    if reward_fn is not None:
        out["reward"] = sum(rewards) / len(rewards)
    return out


def read_scalars(log_dir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the event files of `log_dir`: {tag: [(step, value), ...]} (TensorBoard's EventAccumulator)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
