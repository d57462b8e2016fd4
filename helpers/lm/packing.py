"""Packing without cross-example attention: one SDPA call per layer on a GPU, per example on a CPU.

TRL's padding-free collator flattens a packed batch into one row [1, Σ lengths] and passes the example boundaries
(`cu_seq_lens_q`, a tensor, and `max_length_q`, the longest example, a Python int). FlashAttention's varlen kernels use
them directly (Ampere and newer, when installed: left alone). Without FlashAttention, "sdpa_varlen" keeps every
example to itself, exactly as if it ran alone, with one of two kernels chosen by device:

- `padded` (GPU): the row is gathered into a batch [examples, heads, longest, dim] and SDPA runs once, causal, over
  it (n · longest² / 2 work); the outputs are gathered back. The gather indices come from `cu_seq_lens_q` on the
  device, once per batch (cached for every layer and the checkpoint recompute): no host sync, no Python loop, a
  constant number of kernel launches per layer — what a host-bound GPU step needs. Padding sits after each example's
  end, so causal attention never reads it, and the padded slots' outputs are never gathered back.
- `loop` (CPU): SDPA on each example's slice (Σ length² / 2 work, no padding at all). On a CPU there is no device to
  sync with and launches are cheap; the arithmetic decides. Measured (tools/bench_attention.py →
  benchmarks/attention_cpu.json: one layer, forward + backward, SmolLM2's 9 × 64 heads, 100–500-token conversations,
  fp32, CPU seconds): 1 × 1024 tokens loop 0.032 / padded 0.070 / dense block-diagonal mask 0.099; 1 × 4096 tokens
  0.145 / 0.33 / 1.61 (bf16 alike). The dense mask that transformers builds from `position_ids` (masking_utils'
  packed-sequence detection) is (Σ lengths)² work: never chosen. SDPA on jagged nested tensors has no CPU backend in
  torch 2.13; on CUDA it would be the Σ length² alternative to `padded` (tools/gpu_check.py --sft-pieces times both).

`PACKED_KERNEL` ("auto", "padded" or "loop") overrides the choice, e.g. to measure the GPU's kernel on a CPU.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward, use_gqa_in_sdpa
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

VARLEN = "sdpa_varlen"
PACKED_KERNEL = "auto"  # "auto": padded on a GPU, loop on a CPU (see the module docstring)


@dataclass(frozen=True)
class Bounds:
    """Where each example of one packed row lies: gather indices into a padded batch and back, or slice lengths."""

    examples: int
    longest: int
    gather: torch.Tensor | None = None  # [examples * longest]: the row position of each padded slot
    scatter: torch.Tensor | None = None  # [tokens]: the padded slot of each row position
    lengths: tuple[int, ...] = ()  # loop kernel: each example's length (host ints)


_CACHE: list = [None, None, None]  # [weakref to cu_seq_lens_q, kernel, Bounds]: one batch, shared by every layer


def padded_bounds(cu: torch.Tensor, longest: int, tokens: int) -> Bounds:
    """Gather/scatter indices between a packed row and [examples, longest], computed on cu's device (no sync)."""
    examples = cu.numel() - 1
    offsets = torch.arange(longest, device=cu.device, dtype=torch.long)
    gather = (cu[:-1, None].long() + offsets).clamp(max=tokens - 1).flatten()
    position = torch.arange(tokens, device=cu.device, dtype=cu.dtype)
    example = torch.searchsorted(cu[1:].contiguous(), position, right=True).clamp(max=examples - 1)
    scatter = example.long() * longest + (position - cu[example]).long().clamp(max=longest - 1)
    return Bounds(examples, longest, gather=gather, scatter=scatter)


def batch_bounds(cu: torch.Tensor, longest, tokens: int, kernel: str) -> Bounds:
    """The Bounds of this batch for `kernel`, computed at the first layer and reused by the others."""
    ref, cached_kernel, bounds = _CACHE
    if ref is not None and ref() is cu and cached_kernel == kernel:
        return bounds
    if kernel == "loop":
        lengths = tuple((cu[1:] - cu[:-1]).tolist())  # host ints: the loop kernel runs on a CPU, no device to wait on
        bounds = Bounds(len(lengths), max(lengths), lengths=lengths)
    else:
        if not isinstance(longest, int):  # TRL's collator gives an int; anything else costs one sync per batch
            longest = int((cu[1:] - cu[:-1]).max())
        bounds = padded_bounds(cu, longest, tokens)
    _CACHE[:] = [weakref.ref(cu), kernel, bounds]
    return bounds


def kernel_for(device: torch.device) -> str:
    """`PACKED_KERNEL`, or by measurement: the per-example loop on a CPU, the padded batch elsewhere."""
    if PACKED_KERNEL != "auto":
        return PACKED_KERNEL
    return "loop" if device.type == "cpu" else "padded"


def padded_sdpa(query, key, value, bounds: Bounds, scale, dropout: float) -> torch.Tensor:
    """One causal SDPA call over the row gathered into [examples, heads, longest, dim]; [1, tokens, heads, dim]."""
    gqa = query.shape[1] != key.shape[1] and use_gqa_in_sdpa(None, key, value)
    if query.shape[1] != key.shape[1] and not gqa:
        groups = query.shape[1] // key.shape[1]
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)

    def to_batch(x: torch.Tensor) -> torch.Tensor:
        return x[0].index_select(1, bounds.gather).unflatten(1, (bounds.examples, bounds.longest)).transpose(0, 1)

    out = F.scaled_dot_product_attention(to_batch(query), to_batch(key), to_batch(value), is_causal=True,
                                         scale=scale, dropout_p=dropout, enable_gqa=gqa)
    return out.transpose(0, 1).flatten(1, 2).index_select(1, bounds.scatter).transpose(0, 1)[None]


def looped_sdpa(query, key, value, bounds: Bounds, scale, dropout: float) -> torch.Tensor:
    """Causal SDPA on each example's part of the row (split: its backward is one cat); [1, tokens, heads, dim]."""
    groups = query.shape[1] // key.shape[1]
    key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    parts = zip(*(x.split(bounds.lengths, dim=2) for x in (query, key, value)))
    outs = [F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale, dropout_p=dropout)
            for q, k, v in parts]
    return torch.cat(outs, dim=2).transpose(1, 2)


def sdpa_varlen_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None, **kwargs):
    """Attention over [1, heads, tokens, dim] kept inside each example of `cu_seq_lens_q`; plain SDPA without them."""
    cu = kwargs.get("cu_seq_lens_q")
    if cu is None or query.shape[0] != 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    kernel = kernel_for(query.device)
    bounds = batch_bounds(cu, kwargs.get("max_length_q"), query.shape[2], kernel)
    p = dropout if module.training else 0.0
    run = padded_sdpa if kernel == "padded" else looped_sdpa
    return run(query, key, value, bounds, scaling, p).contiguous(), None


def varlen_mask(*args, attention_mask=None, **kwargs):
    """No mask at all for a padding-free packed batch (the boundaries come as cu_seq_lens; a dense mask over the
    flattened row would cost (Σ lengths)² to build); SDPA's usual mask when there is padding (generation)."""
    return None if attention_mask is None else sdpa_mask(*args, attention_mask=attention_mask, **kwargs)


AttentionInterface.register(VARLEN, sdpa_varlen_attention)
AttentionMaskInterface.register(VARLEN, varlen_mask)


def use_varlen_attention(model) -> bool:
    """Switch `model` to packed SDPA unless it already uses a FlashAttention kernel; True if switched."""
    config = model.config
    if "flash" in str(config._attn_implementation):
        return False
    config._attn_implementation = VARLEN
    for sub in model.modules():  # PEFT wrappers and nested configs share the setting
        sub_config = getattr(sub, "config", None)
        if sub_config is not None and hasattr(sub_config, "_attn_implementation"):
            sub_config._attn_implementation = VARLEN
    return True
