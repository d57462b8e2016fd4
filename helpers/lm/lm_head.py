"""The LM head and loss per device: TRL's fused head where its Triton kernel runs (GPU), full logits on a CPU.

TRL 1.16's SFTTrainer and DPOTrainer always train through `add_fused_lm_head` (`model(..., fused_lm_head=True)`):
the hidden states are projected in tiles of 4096 tokens × 32,768 vocabulary entries and reduced on the fly to
log-probabilities, entropy, mean logit and top-1 flags. On CUDA a Triton kernel does it in one pass. On a CPU the
fallback is a chain of torch ops per tile, measured at ≈6× the time of full logits + cross-entropy (13.9 s vs 2.3 s
for 1,023 tokens at Qwen's 151,936-row vocabulary, benchmarks/t4_sft_step_analysis.md). `full_logits_head` makes
`fused_lm_head=True` on such a device compute the labelled positions' full logits, a float32 log-softmax and the
same outputs (the metrics from the same logits, without gradient), so the trainers' losses and metrics are unchanged.

Where the kernel runs, TRL selects the labelled positions with a boolean index (`hidden[labels != -100]`): the GPU must
tell the host how many there are, three device-to-host syncs per micro-batch. `host_indexed_head` has the collator
list those positions on the host, where the batch is built (`label_rows`), so the kernel gets them by `index_select`:
the same positions and outputs, no sync.
"""

from __future__ import annotations

import functools
import types

import torch

SCALED = ("final_logit_softcapping", "logit_scale", "output_multiplier", "lm_head_multiplier", "logits_scaling")
LABEL_ROWS = "label_rows"  # the batch key of label_rows(labels)


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


def full_logits_output(self, hidden: torch.Tensor, labels: torch.Tensor, num_items_in_batch=None,
                       temperature: float = 1.0):
    """TRL's FusedCausalLMOutput from full logits (divided by `temperature`) of the labelled positions ([batch, len]
    hidden and labels)."""
    from trl.trainer.utils import FusedCausalLMOutput

    mask = labels != -100
    compact = hidden.device.type == "cpu"  # a boolean index would make a GPU wait for the host
    rows = hidden[mask] if compact else hidden.reshape(-1, hidden.size(-1))
    targets = labels[mask] if compact else labels.clamp(min=0).reshape(-1)
    values = per_token(self.get_output_embeddings()(rows) / temperature, targets)
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


def patchable_base(model, on_kernel_device: bool):
    """The (PEFT-unwrapped) model whose forward a head may replace, or None: where TRL's Triton kernel runs is not
    `on_kernel_device`, or the logits are scaled or soft-capped or an MoE adds router losses (TRL's head keeps those)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = base.config.get_text_config()
    special = any(getattr(config, k, None) is not None for k in SCALED) or getattr(config, "output_router_logits", 0)
    return None if special or uses_fused_kernel(base) != on_kernel_device else base


def full_logits_head(model, temperature: float = 1.0) -> bool:
    """After TRL's add_fused_lm_head: answer `fused_lm_head=True` with full logits on devices without its Triton
    kernel (`model` may be a PEFT model: its base is patched; `temperature`: the one the trainer gave TRL's head, as
    GRPO does). True if patched."""
    base = patchable_base(model, on_kernel_device=False)
    if base is None:
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
        return full_logits_output(self, hidden, shift_labels, num_items_in_batch, temperature)

    base.forward = types.MethodType(forward, base)
    return True


def label_rows(labels: torch.Tensor) -> torch.Tensor:
    """Flat indices into [batch × (length − 1)] of the positions whose next token is labelled (not -100), computed
    where `labels` lives: on the host, in the collator, so that a GPU selects them without a sync."""
    return torch.nonzero(labels[:, 1:].reshape(-1) != -100).flatten()


class WithLabelRows:
    """A data collator that adds `label_rows` (see label_rows) to every batch it builds."""

    def __init__(self, collator):
        self.collator = collator

    def __call__(self, examples):
        batch = self.collator(examples)
        batch[LABEL_ROWS] = label_rows(batch["labels"])
        return batch


def indexed_output(self, hidden: torch.Tensor, labels: torch.Tensor, rows: torch.Tensor, outputs: tuple[str, ...],
                   num_items_in_batch=None):
    """TRL's FusedCausalLMOutput from its chunked kernel over the positions `rows` (flat indices into [batch, len]
    hidden and labels, already shifted): index_select and index_copy, no boolean index."""
    from trl.trainer.utils import _CHUNKED_LOGPROB_CHUNK_SIZE, FusedCausalLMOutput, _ChunkedLogProbFunction

    mask = labels != -100
    head = self.get_output_embeddings()
    hs = hidden.reshape(-1, hidden.size(-1)).index_select(0, rows).to(head.weight.device)
    ys = labels.reshape(-1).index_select(0, rows)
    values = _ChunkedLogProbFunction.apply(hs, head.weight, head.bias, ys, 1.0, _CHUNKED_LOGPROB_CHUNK_SIZE, None, 1.0,
                                           outputs)
    names = ("log_probs", "entropy", "log_sum_sq_probs", "mean_logits", "is_top1")
    full = {k: None if v is None else v.new_zeros(mask.numel()).index_copy(0, rows, v).view(mask.shape)
            for k, v in zip(names, values)}
    count = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
    return FusedCausalLMOutput(loss=-full["log_probs"].sum() / count, label_mask=mask, **full)


def host_indexed_head(trainer, outputs: tuple[str, ...] = ("log_probs", "entropy", "is_top1")) -> bool:
    """On a device with TRL's Triton kernel: the trainer's collator lists the labelled positions on the host and the
    model's fused head scores exactly those (indexed_output), instead of selecting them with a boolean index on the
    device. `outputs`: what the trainer asked TRL's head for (SFTTrainer's default). True if patched."""
    base = patchable_base(trainer.model, on_kernel_device=True)
    if base is None:
        return False  # a CPU has full_logits_head; scaled or soft-capped logits and MoE aux losses stay with TRL
    fused = base.forward

    @functools.wraps(type(base).forward)
    def forward(self, *args, fused_lm_head=False, labels=None, shift_labels=None, num_items_in_batch=None,
                label_rows=None, **kwargs):
        if not fused_lm_head or label_rows is None or shift_labels is not None:
            return fused(*args, fused_lm_head=fused_lm_head, labels=labels, shift_labels=shift_labels,
                         num_items_in_batch=num_items_in_batch, **kwargs)
        hidden = self.base_model(*args, **{**kwargs, "use_cache": False}).last_hidden_state[:, :-1]
        return indexed_output(self, hidden, labels[:, 1:], label_rows, outputs, num_items_in_batch)

    base.forward = types.MethodType(forward, base)
    trainer.data_collator = WithLabelRows(trainer.data_collator)
    return True
