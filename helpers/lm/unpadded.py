"""Padded batches on a CPU, row by row over the real tokens only: what a forward pass costs there is its tokens.

A batch padded to its longest row holds 1.5–2× its real tokens in this course (04's pairs of 8: 1.60×, 06's of 4:
1.48×, 05's rollouts: prompts of median 48 tokens padded to up to 256, answers cut at their EOS). A GPU computes the
padding in the same kernels for free; a CPU pays for every padded token in every layer. So on a CPU:

- `unpadded_backbone(model)` makes the model's transformer body run a padded batch one row at a time, each row
  without its padding, and put the hidden states back in place (0 at padded positions). It covers every forward pass
  that reaches the body with an attention mask and no cache: TRL's RewardTrainer, DPOTrainer and SFTTrainer (through
  helpers.lm.lm_head), GRPO's log-probabilities, perplexities; not generation (its cache holds the padding).
- `row_by_row_on_cpu` and `window_rows` do the same around a whole forward pass (PPO's scores, log-probabilities
  and values, helpers.rl).

Each row gives the numbers it gives alone, so the results equal the padded batch's up to float rounding (tests).
A dense block-diagonal mask over all rows in one call (transformers' packed-sequence path) would cost (Σ lengths)²
in attention: slower here than the loop (benchmarks/attention_cpu.json).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

ROWS_ATTR = "_unpadded_rows"  # set on a body whose forward unpadded_backbone replaced
_padded = False  # True inside padded(): every function below takes the padded batch, as on a GPU


@contextmanager
def padded() -> Iterator[None]:
    """Inside: padded batches run padded, as on a GPU (for side-by-side timing, tools/bench_unpadded.py)."""
    global _padded
    before, _padded = _padded, True
    try:
        yield
    finally:
        _padded = before


def on_cpu(x: torch.Tensor) -> bool:
    """Whether row-by-row applies to a tensor: on a CPU, outside padded()."""
    return x.device.type == "cpu" and not _padded


def spans(attn: torch.Tensor) -> list[tuple[int, int]]:
    """(first real token, last real token + 1) of each row of an attention mask."""
    width = attn.shape[1]
    first = attn.int().argmax(dim=1).tolist()
    last = (width - attn.flip(1).int().argmax(dim=1)).tolist()
    return list(zip(first, last))


def row_by_row_on_cpu(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], ids: torch.Tensor,
                      attn: torch.Tensor, right: bool = False) -> torch.Tensor:
    """`fn(ids, attn)` (a forward pass giving one row per sequence) on a left-padded batch. On a CPU, one row at a time
    without its left padding (with `right`, also without the padding after its last real token: for an `fn` whose
    output does not depend on the row's width), the rows stacked. On a GPU the batched call."""
    if not on_cpu(ids):
        return fn(ids, attn)
    return torch.cat([fn(ids[r:r + 1, s:e if right else None], attn[r:r + 1, s:e if right else None])
                      for r, (s, e) in enumerate(spans(attn))])


def window_rows(fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor], ids: torch.Tensor, attn: torch.Tensor,
                start: int, width: int) -> torch.Tensor:
    """Outputs at positions start … start + width − 1 of a padded batch: [rows, width, ...]. `fn(ids, attn, keep)` is a
    forward pass giving the outputs at the last `keep` positions of its rows. On a CPU, one row at a time over its real
    tokens only; positions after a row's last real token are 0. On a GPU the batched call."""
    if not on_cpu(ids):
        return fn(ids, attn, ids.shape[1] - start)[:, :width]
    rows = []
    for r, (s, e) in enumerate(spans(attn)):
        out = fn(ids[r:r + 1, s:e], attn[r:r + 1, s:e], e - start)[:, :width]
        rows.append(torch.cat([out, out.new_zeros(1, width - out.shape[1], *out.shape[2:])], 1))
    return torch.cat(rows)


def body_of(model) -> torch.nn.Module:
    """The transformer body (embeddings, layers, final norm) of a transformers model, inside a PEFT wrapper or not."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return getattr(inner, inner.base_model_prefix, inner)


def _rows_forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                  inputs_embeds=None, use_cache=None, **kwargs):
    """The body's forward; a padded batch without cache runs row by row over each row's attended tokens. Any other
    tensor argument (cache_position, token_type_ids, ... of some families) keeps the padded batch: it is not sliced."""
    forward = type(self).forward
    plain = dict(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                 past_key_values=past_key_values, inputs_embeds=inputs_embeds, use_cache=use_cache)
    if (attention_mask is None or attention_mask.dim() != 2 or past_key_values is not None or use_cache
            or kwargs.get("output_hidden_states") or kwargs.get("output_attentions")
            or any(isinstance(v, torch.Tensor) for v in kwargs.values())
            or not on_cpu(attention_mask) or bool(attention_mask.all())):
        return forward(self, **plain, **kwargs)
    from transformers.modeling_outputs import BaseModelOutputWithPast

    rows = []
    for r, keep in enumerate(attention_mask.bool()):
        pick = lambda x: None if x is None else x[r:r + 1, keep]  # noqa: E731
        hidden = forward(self, input_ids=pick(input_ids), inputs_embeds=pick(inputs_embeds),
                         position_ids=pick(position_ids), use_cache=False, **kwargs).last_hidden_state
        rows.append(hidden.new_zeros(1, keep.shape[0], hidden.shape[-1]).masked_scatter(keep[None, :, None], hidden))
    return BaseModelOutputWithPast(last_hidden_state=torch.cat(rows))


def unpadded_backbone(model) -> bool:
    """On a CPU, make `model`'s body run padded batches row by row without their padding (see the module); True if
    done. The class's own forward is called on the instance, so a deep copy of the model stays correct."""
    body = body_of(model)
    if next(body.parameters()).device.type != "cpu":
        return False
    if not getattr(body, ROWS_ATTR, False):
        body.forward = types.MethodType(_rows_forward, body)
        setattr(body, ROWS_ATTR, True)
    return True
