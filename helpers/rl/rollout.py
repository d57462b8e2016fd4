"""PPO's rollouts (helpers.rl.ppo uses them): prompts encoded and left-padded, responses sampled and masked after EOS,
the policy's response logits, the reward/value model's scores."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..lm.models import autocast_for, with_lora
from .losses import logprobs_of

RewardFn = Callable[[list[int], list[int]], float]  # (prompt ids, response ids up to and including EOS) -> score


def _inner(model):
    """The transformers model inside a peft wrapper (LoRA layers and all), or the model itself."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def token_scores(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """A sequence-classification model's one-output score head applied at every position: [batch, length]."""
    hf = _inner(model)
    backbone = getattr(hf, hf.base_model_prefix)
    with autocast_for(model):
        hidden = backbone(input_ids=input_ids, attention_mask=attention_mask,
                          position_ids=positions(attention_mask)).last_hidden_state
    return hf.score(hidden).squeeze(-1).float()  # outside autocast: a float32 head computes in float32


def sequence_scores(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The reward: the score head at the last non-pad token of each row."""
    last = attention_mask.shape[1] - 1 - attention_mask.flip(1).int().argmax(dim=1)
    return token_scores(model, input_ids, attention_mask)[torch.arange(len(last)), last]


def response_logits(model, ids: torch.Tensor, attn: torch.Tensor, n: int) -> torch.Tensor:
    """Float32 logits at the `n` positions that predict the last `n` tokens of `ids` (the response). Only those rows
    of the output layer are computed (`logits_to_keep`): over a 151,936-token vocabulary the prompt's logits would
    cost more memory than the model."""
    with autocast_for(model):
        logits = model(input_ids=ids, attention_mask=attn, position_ids=positions(attn), logits_to_keep=n + 1).logits
    return logits[:, :-1].float()


def positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that skip left padding (as generate() counts them)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def make_value_model(reward_model, lora):
    """The value model: `reward_model` with a LoRA adapter and a trainable float32 copy of its score head. With the
    adapter disabled it is the unchanged reward model. Each score head casts its input to its own dtype."""
    model = with_lora(reward_model, lora)
    for head in _inner(model).score.modules():
        if isinstance(head, torch.nn.Linear):  # the frozen original and the trained copy
            if head.weight.requires_grad:
                head.float()
            head.register_forward_pre_hook(lambda m, args: tuple(a.to(m.weight.dtype) for a in args))
    return model


def turn_suffix(tokenizer) -> list[int]:
    """The tokens the chat template writes after the EOS that ends an assistant turn (ChatML: a newline). A reward
    model trained on templated conversations read its score after them, so PPO appends them before scoring."""
    messages = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    ids = list(tokenizer.apply_chat_template(messages, return_dict=True)["input_ids"])
    last_eos = len(ids) - 1 - ids[::-1].index(tokenizer.eos_token_id)
    return ids[last_eos + 1:]


def encode_prompts(tokenizer, conversations: Sequence[list[dict]], max_length: int) -> list[list[int]]:
    """Chat-template each conversation (ending with a user turn) with the generation prompt; keep its last tokens."""
    out = []
    for messages in conversations:
        ids = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, return_dict=True)["input_ids"]
        out.append(list(ids)[-max_length:])
    return out


def left_pad(rows: Sequence[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.tensor([[pad_id] * (width - len(r)) + list(r) for r in rows], device=device)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=device)
    return ids, mask


def response_mask(responses: torch.Tensor, eos_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mask true up to and including the first EOS of each row, whether each row has an EOS)."""
    is_eos = responses == eos_token_id
    has_eos = is_eos.any(dim=1)
    first = torch.where(has_eos, is_eos.int().argmax(dim=1), responses.shape[1] - 1)
    return torch.arange(responses.shape[1], device=responses.device)[None, :] <= first[:, None], has_eos


@torch.no_grad()
def sample(policy, tokenizer, prompts: Sequence[list[int]], max_new_tokens: int, temperature: float = 1.0,
           seed: int | None = 0, progress_bar=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample one response per prompt from softmax(logits / temperature), whatever the model's generation_config
    says (seeded, without touching the global RNG; greedy when seed is None); (query, query mask, responses padded
    to max_new_tokens with pad after EOS). `progress_bar`: advanced once per generated token."""
    from ..lm.generation import generate_plain

    device = next(policy.parameters()).device
    query, query_mask = left_pad(prompts, tokenizer.pad_token_id, device)
    policy.eval()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), autocast_for(policy):
        if seed is not None:
            torch.manual_seed(seed)
        out = generate_plain(policy, tokenizer, query, query_mask, max_new_tokens=max_new_tokens,
                             do_sample=seed is not None, temperature=temperature, progress_bar=progress_bar)
    responses = out[:, query.shape[1]:]
    responses = F.pad(responses, (0, max_new_tokens - responses.shape[1]), value=tokenizer.pad_token_id)
    mask, _ = response_mask(responses, tokenizer.eos_token_id)
    return query, query_mask, responses.masked_fill(~mask, tokenizer.pad_token_id)


@torch.no_grad()
def append_turn_suffix(ids: torch.Tensor, attn: torch.Tensor, query_length: int, mask: torch.Tensor,
                       has_eos: torch.Tensor, suffix: Sequence[int], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompt + response ids (and attention) with the chat template's turn suffix after every response that ended:
    what the reward model reads (it was trained on whole turns)."""
    k = len(suffix)
    if k == 0:
        return ids, attn
    ids, attn = F.pad(ids, (0, k), value=pad_id), F.pad(attn, (0, k))
    tail = torch.tensor(list(suffix), device=ids.device)
    for row in torch.nonzero(has_eos).flatten().tolist():
        end = query_length + int(mask[row].sum())
        ids[row, end:end + k], attn[row, end:end + k] = tail, 1
    return ids, attn
