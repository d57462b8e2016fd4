"""Packing without cross-example attention: packed rows padded side by side, position ids restarting per example."""

from __future__ import annotations

from trl.trainer.sft_trainer import DataCollatorForLanguageModeling


class PackedRowsCollator(DataCollatorForLanguageModeling):
    """Batches TRL's packed rows as a [batch, longest row] tensor with restarting `position_ids` and no attention mask.

    Without an attention mask and KV cache, transformers derives a block-diagonal causal mask from where the
    position ids restart, so the examples packed in one row never attend to each other (with eager/SDPA
    attention, on CPU too). TRL's own padding-free collator flattens the whole batch into one row instead, which
    is right for FlashAttention's varlen kernels but makes SDPA attend over (batch × length)² scores.
    """

    def __init__(self, pad_token_id: int):
        super().__init__(pad_token_id=pad_token_id, padding_free=False, return_position_ids=True)

    def torch_call(self, examples):
        batch = super().torch_call(examples)
        batch.pop("attention_mask")
        batch["labels"][batch["input_ids"] == self.pad_token_id] = -100  # the padding after the last example
        return batch
