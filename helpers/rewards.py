"""Reward models: the tiny one-label sequence classifier, and scoring (prompt, answer) pairs with a reward model."""

from __future__ import annotations

import torch
from transformers import AutoModelForSequenceClassification, PreTrainedModel, PreTrainedTokenizerBase

from .models import autocast_for, tiny_config
from .profiles import Profile


def build_tiny_reward_model(profile: Profile, tokenizer: PreTrainedTokenizerBase, seed: int = 0) -> PreTrainedModel:
    """A random-init one-label sequence classifier of the tiny architecture (the CI stand-in for a reward model)."""
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(tiny_config(profile, tokenizer, num_labels=1))


def conversation_ids(tokenizer: PreTrainedTokenizerBase, prompt: list[dict], answer: str) -> list[int]:
    """Token ids of `prompt` + the assistant `answer` through the chat template, as TRL's RewardTrainer tokenises."""
    messages = list(prompt) + [{"role": "assistant", "content": answer}]
    return list(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"])


@torch.no_grad()
def reward_scores(model, tokenizer: PreTrainedTokenizerBase, prompts: list[list[dict]], answers: list[str],
                  batch_size: int = 16, max_length: int | None = None) -> list[float]:
    """The scalar reward of each (prompt, answer): the classifier's logit at the last token of the conversation.

    Sequences are right-padded with the pad token (the model reads the score at the last non-pad token); with
    `max_length`, longer ones keep their last `max_length` tokens, so the end of the answer is always scored.
    """
    if len(prompts) != len(answers):
        raise ValueError(f"{len(prompts)} prompts but {len(answers)} answers")
    model.eval()
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id
    if pad is None or model.config.pad_token_id != pad:
        raise ValueError(f"the reward model's config.pad_token_id ({model.config.pad_token_id}) must be the "
                         f"tokenizer's pad token id ({pad}) to find the last token of each sequence")
    scores: list[float] = []
    for i in range(0, len(prompts), batch_size):
        ids = [conversation_ids(tokenizer, p, a) for p, a in zip(prompts[i:i + batch_size], answers[i:i + batch_size])]
        if max_length is not None:
            ids = [x[-max_length:] for x in ids]
        width = max(map(len, ids))
        input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids], device=device)
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids], device=device)
        with autocast_for(model):  # half-precision base, float32 trained parts
            logits = model(input_ids=input_ids, attention_mask=mask).logits
        scores += logits[:, 0].float().tolist()
    return scores
