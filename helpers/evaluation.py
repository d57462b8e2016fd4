"""Evaluation shared by the stages: perplexity, greedy answers to prompts, early-vs-late loss."""

from __future__ import annotations

import math

import torch

from .generation import generate_plain


@torch.no_grad()
def perplexity(model, blocks: list[list[int]], batch_size: int = 8) -> float:
    """exp(mean next-token loss) over fixed-length blocks of token ids (under autocast for a half-precision model with
    float32 trained parts, as in training)."""
    from .models import autocast_for

    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for i in range(0, len(blocks), batch_size):
        ids = torch.tensor(blocks[i:i + batch_size], device=device)
        with autocast_for(model):
            logits = model(input_ids=ids).logits[:, :-1].float()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1),
                                                 reduction="sum")
        total += loss.item()
        count += ids[:, 1:].numel()
    return math.exp(total / count)


@torch.no_grad()
def generate_answers(model, tokenizer, prompts: list[list[dict]], max_new_tokens: int = 48) -> list[str]:
    """Greedy answers (argmax of the raw logits, up to EOS) of a chat model to conversations ending with a user turn;
    the model's generation_config (repetition penalty & co.) is ignored."""
    model.eval()
    device = next(model.parameters()).device
    answers = []
    for messages in prompts:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True)["input_ids"].to(device)
        out = generate_plain(model, tokenizer, ids, max_new_tokens=max_new_tokens)
        answers.append(tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip())
    return answers


def early_late(log_history: list[dict], key: str = "loss", n: int = 3) -> tuple[float, float]:
    """Mean of the first and of the last `n` logged values of `key`."""
    values = [h[key] for h in log_history if key in h]
    if len(values) < 2:
        raise ValueError(f"need at least two logged {key!r} values, got {len(values)}")
    n = max(1, min(n, len(values) // 2))
    return sum(values[:n]) / n, sum(values[-n:]) / n
