"""Packing without cross-example attention on any hardware: SDPA run per packed example ("varlen" attention).

TRL's padding-free collator flattens a packed batch into one row and passes the example boundaries
(`cu_seq_lens_q`). FlashAttention's variable-length kernels use them directly; on a CPU or a T4 (no FlashAttention
2) plain SDPA would compute attention over the whole row and mask most of it away — (Σ lengths)² work. This
attention function runs SDPA on each example separately, causal inside it, so the work is Σ length² and no token
ever attends to another example. Packed input must come with `cu_seq_lens_q` (TRL's collator provides them):
without them the row is treated as one causal sequence.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

VARLEN = "sdpa_varlen"


def sdpa_varlen_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None, **kwargs):
    """Attention over [1, heads, tokens, dim] split at `cu_seq_lens_q`; plain SDPA when there are no boundaries."""
    bounds = kwargs.get("cu_seq_lens_q")
    if bounds is None or query.shape[0] != 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    edges = bounds.tolist()
    p = dropout if module.training else 0.0
    outs = [F.scaled_dot_product_attention(query[:, :, s:e], key[:, :, s:e], value[:, :, s:e], is_causal=True,
                                           scale=scaling, dropout_p=p) for s, e in zip(edges[:-1], edges[1:])]
    return torch.cat(outs, dim=2).transpose(1, 2).contiguous(), None


def varlen_mask(*args, attention_mask=None, **kwargs):
    """No mask at all for a padding-free packed batch (the boundaries come as cu_seq_lens; a dense mask over the
    flattened row would cost (Σ lengths)² to build); SDPA's usual mask when there is padding (generation)."""
    return None if attention_mask is None else sdpa_mask(*args, attention_mask=attention_mask, **kwargs)


AttentionInterface.register(VARLEN, sdpa_varlen_attention)
AttentionMaskInterface.register(VARLEN, varlen_mask)


def use_varlen_attention(model) -> bool:
    """Switch `model` to per-example SDPA unless it already uses a FlashAttention kernel; True if switched."""
    config = model.config
    if "flash" in str(config._attn_implementation):
        return False
    config._attn_implementation = VARLEN
    for sub in model.modules():  # PEFT wrappers and nested configs share the setting
        sub_config = getattr(sub, "config", None)
        if sub_config is not None and hasattr(sub_config, "_attn_implementation"):
            sub_config._attn_implementation = VARLEN
    return True
