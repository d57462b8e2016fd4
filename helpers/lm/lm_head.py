"""The LM head and loss per device: TRL's fused head where its Triton kernel runs (GPU), full logits on a CPU.

TRL 1.16's SFTTrainer and DPOTrainer always train through `add_fused_lm_head` (`model(..., fused_lm_head=True)`):
the hidden states are projected in tiles of 4096 tokens × 32,768 vocabulary entries and reduced on the fly to
log-probabilities, entropy, mean logit and top-1 flags. On CUDA a Triton kernel does it in one pass. On a CPU the
fallback is a chain of torch ops per tile, measured at ≈6× the time of full logits + cross-entropy (13.9 s vs 2.3 s
for 1,023 tokens at Qwen's 151,936-row vocabulary, benchmarks/t4_sft_step_analysis.md). `full_logits_head` makes
`fused_lm_head=True` on such a device compute the labelled positions' full logits, a float32 log-softmax and the
same outputs (the metrics from the same logits, without gradient), so the trainers' losses and metrics are unchanged.
"""

from __future__ import annotations

import functools
import types

import torch

SCALED = ("final_logit_softcapping", "logit_scale", "output_multiplier", "lm_head_multiplier", "logits_scaling")


def per_token(logits: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
    """log_probs (with gradient) and entropy, log_sum_sq_probs, mean_logits, is_top1 of [tokens, vocab] logits."""
    logp = logits.float().log_softmax(-1)
    out = {"log_probs": logp.gather(-1, targets[:, None]).squeeze(-1)}
    with torch.no_grad():
        probs = logp.exp()
        out["entropy"] = -(probs * logp).sum(-1)
        out["log_sum_sq_probs"] = (2 * logp).logsumexp(-1)
        out["mean_logits"] = logits.float().mean(-1)
        out["is_top1"] = logits.argmax(-1) == targets
    return out


def full_logits_output(self, hidden: torch.Tensor, labels: torch.Tensor, num_items_in_batch=None):
    """TRL's FusedCausalLMOutput from full logits of the labelled positions ([batch, len] hidden and labels)."""
    from trl.trainer.utils import FusedCausalLMOutput

    mask = labels != -100
    compact = hidden.device.type == "cpu"  # a boolean index would make a GPU wait for the host
    rows = hidden[mask] if compact else hidden.reshape(-1, hidden.size(-1))
    targets = labels[mask] if compact else labels.clamp(min=0).reshape(-1)
    values = per_token(self.get_output_embeddings()(rows), targets)
    if compact:
        values = {k: v.new_zeros(mask.shape).masked_scatter(mask, v) for k, v in values.items()}
    else:
        values = {k: v.view(mask.shape).masked_fill(~mask, 0) for k, v in values.items()}
    count = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
    return FusedCausalLMOutput(loss=-values["log_probs"].sum() / count, label_mask=mask, **values)


def uses_fused_kernel(model) -> bool:
    """True where TRL's fused head runs its Triton kernel (CUDA/XPU with Triton): faster there, kept."""
    from trl.kernels.chunked_logprob import _use_triton

    return _use_triton(next(model.parameters()).device)


def full_logits_head(model) -> bool:
    """After TRL's add_fused_lm_head: answer `fused_lm_head=True` with full logits on devices without its Triton
    kernel (`model` may be a PEFT model: its base is patched). True if patched."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = base.config.get_text_config()
    special = any(getattr(config, k, None) is not None for k in SCALED) or getattr(config, "output_router_logits", 0)
    if uses_fused_kernel(base) or special:
        return False  # a GPU's kernel wins; scaled or soft-capped logits and MoE aux losses stay with TRL's head
    fused = base.forward

    @functools.wraps(type(base).forward)  # generate and the Trainer read the signature
    def forward(self, *args, fused_lm_head=False, labels=None, shift_labels=None, num_items_in_batch=None, **kwargs):
        if not fused_lm_head:
            return fused(*args, labels=labels, shift_labels=shift_labels, num_items_in_batch=num_items_in_batch,
                         **kwargs)
        hidden = self.base_model(*args, **{**kwargs, "use_cache": False}).last_hidden_state
        if shift_labels is None:
            hidden, shift_labels = hidden[:, :-1], labels[:, 1:]
        return full_logits_output(self, hidden, shift_labels, num_items_in_batch)

    base.forward = types.MethodType(forward, base)
    return True
