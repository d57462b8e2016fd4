"""Plain decoding: sampling from exactly softmax(logits / T), or greedy argmax of the raw logits, whatever the model's
own generation_config says.

A checkpoint's generation_config.json reshapes the next-token distribution (Qwen2.5-Instruct ships
repetition_penalty 1.1, top_k 20, top_p 0.8, temperature 0.7). PPO needs samples from the distribution whose
log-probs it computes, and greedy evaluation should be the argmax of the model's logits, so both turn all of it off.

How transformers 5.x merges the two configs (GenerationMixin._prepare_generation_config): every field of the
generation_config passed to generate() that is None is filled from `model.generation_config`
(`update(..., defaults_only=True)`), then from the global defaults (GenerationConfig._get_default_generation_params).
Explicit neutral values survive, but several fields can only be switched off by None (suppress_tokens,
bad_words_ids, min_p, forced_*_token_id, sequence_bias, watermarking_config, max_time, ...), so a passed config alone
cannot switch them off. generate_plain therefore also swaps the model's generation_config for a blank one during the
call; what is still unset then takes the global defaults, all neutral but top_k=50, which is set to 0 here.
(generate() in 5.23 has no switch such as `use_model_defaults=False`; generate() itself is kept rather than a
hand-written loop because it handles the KV cache, left padding, 4-bit models and every architecture.)
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

# The off value of every logits processor and length rule that has one other than None (min_new_tokens: None, as
# 0 would still add a (no-op) MinLengthLogitsProcessor).
NEUTRAL = dict(num_beams=1, num_return_sequences=1, repetition_penalty=1.0, encoder_repetition_penalty=1.0,
               no_repeat_ngram_size=0, encoder_no_repeat_ngram_size=0, min_length=0,
               guidance_scale=1.0, renormalize_logits=False, remove_invalid_values=False,
               return_dict_in_generate=False)
NEUTRAL_SAMPLING = dict(top_k=0, top_p=1.0, typical_p=1.0, epsilon_cutoff=0.0, eta_cutoff=0.0)


def neutral_generation_config(tokenizer, *, do_sample: bool, temperature: float = 1.0,
                              max_new_tokens: int) -> GenerationConfig:
    """Sampling from softmax(logits / temperature), or greedy; stop at the tokenizer's EOS or after max_new_tokens."""
    sampling = dict(NEUTRAL_SAMPLING, temperature=temperature) if do_sample else {}
    return GenerationConfig(do_sample=do_sample, max_new_tokens=max_new_tokens, eos_token_id=tokenizer.eos_token_id,
                            pad_token_id=tokenizer.pad_token_id, use_cache=True, **NEUTRAL, **sampling)


@contextmanager
def blank_generation_config(model):
    """The model's generation_config replaced by an empty one inside the block (a peft model: its base model's)."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    saved = inner.generation_config
    inner.generation_config = GenerationConfig()
    try:
        yield
    finally:
        inner.generation_config = saved


class TickPerToken(StoppingCriteria):
    """Never stops generation; moves a progress bar by one for every generated token (position)."""

    def __init__(self, progress_bar):
        self.progress_bar = progress_bar

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs) -> torch.Tensor:
        self.progress_bar.update(1)
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def generate_plain(model, tokenizer, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *,
                   max_new_tokens: int, do_sample: bool = False, temperature: float = 1.0,
                   progress_bar=None) -> torch.Tensor:
    """model.generate() under neutral_generation_config, blind to the model's generation_config: prompt + new ids.
    `progress_bar` (helpers.env.progress.bar): advanced by max_new_tokens in all, one step per generated token."""
    config = neutral_generation_config(tokenizer, do_sample=do_sample, temperature=temperature,
                                       max_new_tokens=max_new_tokens)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    ticks = StoppingCriteriaList([TickPerToken(progress_bar)]) if progress_bar is not None else None
    with blank_generation_config(model):
        out = model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=config,
                             stopping_criteria=ticks)
    if progress_bar is not None:  # all rows ended early: the rest of this call's share
        progress_bar.update(max_new_tokens - (out.shape[1] - input_ids.shape[1]))
    return out


@torch.no_grad()
def continue_text(model, tokenizer, text: str, prompt_tokens: int = 24, new_tokens: int = 32) -> tuple[str, str]:
    """Greedy continuation of plain text (no chat template), as continued pre-training sees text: the first
    `prompt_tokens` tokens of `text` as the tokenizer decodes them (fewer where the cut would split a character's
    bytes), and the (up to) `new_tokens` tokens the model writes after them."""
    model.eval()
    device = next(model.parameters()).device
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"][:, :prompt_tokens]
    while ids.shape[1] > 1 and tokenizer.decode(ids[0]).endswith("\ufffd"):  # a byte piece of a split character
        ids = ids[:, :-1]
    ids = ids.to(device)
    out = generate_plain(model, tokenizer, ids, max_new_tokens=new_tokens)
    return tokenizer.decode(ids[0]), tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
