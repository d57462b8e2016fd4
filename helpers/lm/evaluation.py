"""Evaluation shared by the stages: perplexity, greedy answers to prompts, early-vs-late loss."""

from __future__ import annotations

import math

import torch

from .generation import generate_plain
from ..env.progress import bar, progress


@torch.no_grad()
def perplexity(model, blocks: list[list[int]], batch_size: int = 8, label: str = "perplexity") -> float:
    """exp(mean next-token loss) over fixed-length blocks of token ids (under autocast for a half-precision model with
    float32 trained parts, as in training)."""
    from .models import autocast_for

    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for i in progress(range(0, len(blocks), batch_size), desc=label):
        ids = torch.tensor(blocks[i:i + batch_size], device=device)
        with autocast_for(model):
            logits = model(input_ids=ids).logits[:, :-1].float()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1),
                                                 reduction="sum")
        total += loss.item()
        count += ids[:, 1:].numel()
    return math.exp(total / count)


def generate_answers(model, tokenizer, prompts: list[list[dict]], max_new_tokens: int = 48) -> list[str]:
    """Greedy answers (argmax of the raw logits, up to EOS) of a chat model to conversations ending with a user turn,
    in one batched call (answer_stats); the model's generation_config (repetition penalty & co.) is ignored."""
    return answer_stats(model, tokenizer, prompts, max_new_tokens)["answers"]


def repetition_rate(ids: list[int], n: int = 4) -> float:
    """Share of the answer's token n-grams that already occurred earlier in it (0: no loop; near 1: a loop)."""
    grams = [tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)]
    return (len(grams) - len(set(grams))) / len(grams) if grams else 0.0


@torch.no_grad()
def answer_stats(model, tokenizer, prompts: list[list[dict]], max_new_tokens: int, batch_size: int = 32) -> dict:
    """Greedy answers to held-out prompts, batched (one generate call for up to `batch_size` prompts: on a CPU, 24
    answers in one call took 40.0 s where three calls of 8 took 68.0 s, with the same answers; benchmarks/eval_cpu.md):
    the share that end with EOS before `max_new_tokens`, their mean 4-gram repetition rate and length in tokens, and
    the texts."""
    model.eval()
    device = next(model.parameters()).device
    ended, repeats, lengths, texts = [], [], [], []
    starts = range(0, len(prompts), batch_size)
    ticks = bar(len(starts) * max_new_tokens, desc="answers (tokens, at most)")
    for i in starts:
        rows = [tokenizer.apply_chat_template(m, add_generation_prompt=True, return_dict=True)["input_ids"]
                for m in prompts[i:i + batch_size]]
        width = max(map(len, rows))  # left padding: every answer starts at the same column
        ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(r)) + r for r in rows], device=device)
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=device)
        out = generate_plain(model, tokenizer, ids, mask, max_new_tokens=max_new_tokens,
                             progress_bar=ticks)[:, width:].tolist()
        for answer in out:
            stop = answer.index(tokenizer.eos_token_id) if tokenizer.eos_token_id in answer else None
            kept = [t for t in answer[:stop] if t != tokenizer.pad_token_id]
            ended.append(stop is not None)
            repeats.append(repetition_rate(kept))
            lengths.append(len(kept))
            texts.append(tokenizer.decode(kept, skip_special_tokens=True).strip())
    ticks.close()
    mean = lambda xs: sum(xs) / max(len(xs), 1)  # noqa: E731
    return dict(eos_rate=mean(ended), repetition_rate=mean(repeats), answer_length=mean(lengths), answers=texts)


def early_late(log_history: list[dict], key: str = "loss", n: int = 3) -> tuple[float, float]:
    """Mean of the first and of the last `n` logged values of `key`."""
    values = [h[key] for h in log_history if key in h]
    if len(values) < 2:
        raise ValueError(f"need at least two logged {key!r} values, got {len(values)}")
    n = max(1, min(n, len(values) // 2))
    return sum(values[:n]) / n, sum(values[-n:]) / n


@torch.no_grad()
def assistant_loss(model, tokenizer, conversations: list[list[dict]], max_length: int, batch_size: int = 8) -> float:
    """Mean next-token loss over the assistant tokens (the chat template's {% generation %} mask, end-of-turn token
    included) of held-out conversations: the quantity SFT's assistant-only loss trains, measured on data it never saw.
    Conversations longer than `max_length` tokens are cut there."""
    from .models import autocast_for

    model.eval()
    device = next(model.parameters()).device
    rows = []
    for messages in conversations:
        enc = tokenizer.apply_chat_template(list(messages), return_dict=True, return_assistant_tokens_mask=True)
        ids, mask = enc["input_ids"][:max_length], enc["assistant_masks"][:max_length]
        rows.append((ids, [t if m else -100 for t, m in zip(ids, mask)]))
    total, count = 0.0, 0
    for i in range(0, len(rows), batch_size):
        chunk = rows[i:i + batch_size]
        width = max(len(ids) for ids, _ in chunk)
        ids = torch.tensor([r + [tokenizer.pad_token_id] * (width - len(r)) for r, _ in chunk], device=device)
        labels = torch.tensor([r + [-100] * (width - len(r)) for _, r in chunk], device=device)
        attention = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r, _ in chunk], device=device)
        with autocast_for(model):
            logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
        total += torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1),
                                                   ignore_index=-100, reduction="sum").item()
        count += int((labels[:, 1:] != -100).sum())
    return total / max(count, 1)
