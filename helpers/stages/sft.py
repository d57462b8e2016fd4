"""Stage 03: supervised fine-tuning on multi-turn chats (assistant-only loss, packing, LoRA)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..lm.evaluation import answer_stats, assistant_loss, repetition_rate
from ..lm.lm_head import full_logits_head, host_indexed_head
from ..lm.packing import use_varlen_attention
from ..lm.models import lora_config, merge_and_save, with_lora
from ..env.settings import knob
from ..env.sources import course_records
from .base import Stage, TrainerSettings


def prompts_of(records, n: int) -> list[list[dict]]:
    """The first `n` conversations cut before their first assistant turn (system + user)."""
    out = []
    for messages in records["messages"][:n]:
        first = next(i for i, m in enumerate(messages) if m["role"] == "assistant")
        out.append(messages[:first])
    return out


@dataclass(frozen=True)
class SFTSettings(TrainerSettings):
    """Stage 03's knobs (with TrainerSettings': batch, accumulation, saving, held-out and hub limits)."""

    max_steps: int = knob(300, "optimizer steps")
    learning_rate: float = knob(2e-4, "AdamW learning rate of the LoRA weights")
    max_length: int = knob(1024, "tokens per packed row (per conversation, unpacked); longer conversations are cut")
    packing: bool = knob(True, "conversations packed into rows (best-fit), each attending only to itself")
    neftune_noise_alpha: float | None = knob(None, "NEFTune: noise on the input embeddings, e.g. 5.0 (None: off)")
    max_new_tokens: int = knob(96, "new tokens a measured held-out answer may have")
    n_prompts: int = knob(3, "held-out prompts whose answers are shown before and after")


class SFTStage(Stage):
    name = "sft"
    settings_class = SFTSettings
    produces = {"prompts": "load", "before": "evaluate_before", "after": "evaluate_after"}
    steps = ("load", "build_model", "evaluate_before", "build_trainer", "train", "evaluate_after", "save")

    def previous(self) -> tuple[str, ...]:
        return ("pt",)

    def load(self) -> None:
        self.tok = self.tokenizer()
        limit = None if self.profile.data_source == "shipped" else self.settings.hub_limit
        self.data = {split: course_records(self.profile, "sft", split, limit) for split in ("train", "valid")}
        self.prompts = prompts_of(self.data["valid"], self.settings.n_prompts)
        self.metrics.update(train_conversations=len(self.data["train"]), valid_conversations=len(self.data["valid"]))

    def build_model(self) -> None:
        """The input model (02's output, else the base) with LoRA adapters on every linear layer."""
        base = self.causal_lm()
        self.model = with_lora(base, lora_config(self.profile))

    def heldout_loss(self) -> float:
        """Loss on the assistant tokens of every held-out conversation (what SFT trains, on chats it never sees)."""
        valid = self.data["valid"]["messages"][:self.settings.eval_limit]  # the profile's limit (None: all)
        return assistant_loss(self.model, self.tok, valid, self.settings.max_length)

    def answer_cap(self) -> int:
        """New tokens a measured answer may have (SFTSettings.max_new_tokens)."""
        return self.settings.max_new_tokens

    def n_measured(self) -> int:
        """How many held-out conversations the answer measures use (the profile's eval_limit, at least the shown ones)."""
        return max(self.settings.n_prompts, self.settings.eval_limit or len(self.data["valid"]))

    def heldout_answers(self) -> dict:
        """Greedy answers to the held-out prompts: share that end (EOS), repetition rate, length."""
        prompts = prompts_of(self.data["valid"], self.n_measured())  # the shown prompts (self.prompts) come first
        return answer_stats(self.model, self.tok, prompts, self.answer_cap())

    def reference_answers(self) -> dict:
        """The same measures on the held-out conversations' own first answers (what SFT imitates): the share that fits
        in the generation cap, their 4-gram repetition and length in tokens."""
        cap = self.answer_cap()
        answers = [next(m["content"] for m in messages if m["role"] == "assistant")
                   for messages in self.data["valid"]["messages"][:self.n_measured()]]
        ids = [self.tok(a, add_special_tokens=False)["input_ids"] for a in answers]
        return dict(eos_rate=sum(len(i) < cap for i in ids) / len(ids),
                    repetition_rate=sum(repetition_rate(i[:cap]) for i in ids) / len(ids),
                    answer_length=sum(min(len(i), cap) for i in ids) / len(ids))

    def evaluate(self, when: str) -> None:
        """Held-out assistant-token loss and greedy answers (`when`: "before" | "after" SFT)."""
        if when == "before":
            ref = self.reference_answers()
            self.save_metrics(**{f"{k}_reference": v for k, v in ref.items()})
        loss = self.heldout_loss()
        stats = self.heldout_answers()
        self.save_metrics(**{f"heldout_loss_{when}": loss, f"heldout_ppl_{when}": math.exp(loss),
                             f"eos_rate_{when}": stats["eos_rate"], f"repetition_rate_{when}": stats["repetition_rate"],
                             f"answer_length_{when}": stats["answer_length"]})
        setattr(self, when, stats["answers"][:self.settings.n_prompts])  # the greedy answers to the first prompts, shown

    def evaluate_before(self) -> None:
        """Held-out assistant-token loss and greedy answers of the model before SFT."""
        self.evaluate("before")

    def sft_config(self):
        from trl import SFTConfig

        return SFTConfig(**self.training_kwargs(), max_length=self.settings.max_length, assistant_only_loss=True,
                         packing=self.settings.packing, packing_strategy="bfd", padding_free=self.settings.packing,
                         neftune_noise_alpha=self.settings.neftune_noise_alpha, dataset_num_proc=None)

    def build_trainer(self) -> None:
        from trl import SFTTrainer

        self.trainer = SFTTrainer(model=self.model, args=self.sft_config(), train_dataset=self.data["train"],
                                  processing_class=self.tok, callbacks=self.callbacks())
        if self.settings.packing:
            use_varlen_attention(self.model)  # no FlashAttention here: packed SDPA, each example kept to itself
        if not full_logits_head(self.trainer.model):  # on a CPU: full logits + fp32 log-softmax beat TRL's head
            host_indexed_head(self.trainer)  # on a GPU: TRL's kernel over rows the collator lists (no sync)

    def evaluate_after(self) -> None:
        """The same held-out loss and prompts after SFT."""
        self.evaluate("after")

    def save(self) -> None:
        merge_and_save(self.model, self.tok, self.output, profile=self.profile, base_source=self.base_source)
        losses = [h["loss"] for h in self.log_history if "loss" in h]
        self.save_metrics(key_metric="heldout_ppl_after", first_loss=losses[0], final_loss=losses[-1])
