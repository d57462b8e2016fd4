"""Stage 02: continued pre-training on domain text (fixed-length blocks, LoRA + trained embeddings)."""

from __future__ import annotations

import math
from functools import partial
from dataclasses import dataclass
from itertools import chain

from ..lm.evaluation import perplexity
from ..lm.models import embedding_training, lora_config, merge_and_save, with_lora
from ..env.settings import knob
from ..env.sources import course_texts, has_cjk
from .base import Stage, TrainerSettings


def group_texts(token_lists: list[list[int]], block_size: int, eos_id: int) -> list[list[int]]:
    """Concatenate documents (each ended by EOS) and cut the stream into full blocks; the tail is dropped."""
    stream = list(chain.from_iterable(ids + [eos_id] for ids in token_lists))
    usable = len(stream) // block_size * block_size
    return [stream[i:i + block_size] for i in range(0, usable, block_size)]


@dataclass(frozen=True)
class PTSettings(TrainerSettings):
    """Stage 02's knobs (with TrainerSettings': batch, accumulation, saving, held-out and hub limits)."""

    max_steps: int = knob(300, "optimizer steps")
    learning_rate: float = knob(2e-4, "AdamW learning rate (LoRA weights and the new tokens' rows)")
    max_length: int = knob(512, "tokens per training block (documents are concatenated and cut)")


class PTStage(Stage):
    name = "pt"
    settings_class = PTSettings
    produces = {"blocks": "load", "data": None}  # its load makes token blocks, not records
    steps = ("load", "build_model", "evaluate_before", "build_trainer", "train", "evaluate_after", "save")

    def load(self) -> None:
        """Tokenizer from 01; domain documents tokenised and packed into blocks of max_length tokens."""
        self.tok = self.tokenizer()
        limit = None if self.profile.data_source == "shipped" else self.settings.hub_limit
        texts = {split: course_texts(self.profile, "pt", split, limit) for split in ("train", "valid")}
        valid = texts["valid"]
        texts["valid_zh"] = [t for t in valid if has_cjk(t)]  # the same held-out text, by language
        texts["valid_en"] = [t for t in valid if not has_cjk(t)]
        texts["general"] = course_texts(self.profile, "general", "valid")  # not medical: does PT make it forget?
        ids = {split: self.tok(t, add_special_tokens=False)["input_ids"] for split, t in texts.items() if t}
        self.blocks = {split: group_texts(v, self.settings.max_length, self.tok.eos_token_id) for split, v in ids.items()}
        self.metrics.update(train_blocks=len(self.blocks["train"]), valid_blocks=len(self.blocks["valid"]))

    def build_model(self) -> None:
        """Base model fitted to 01's vocabulary, LoRA on every linear layer, and the embedding rows of the added tokens
        trained too (only those rows: PEFT trainable tokens; a tied output layer follows). A random-init base (tiny)
        has nothing in its embeddings for LoRA to steer: its embedding and output layers are trained in full."""
        base = self.causal_lm()
        if self.base_source is None:
            extra: dict = {"modules_to_save": ["embed_tokens", "lm_head"]}
        else:
            extra = embedding_training(base, self.new_token_ids)
        self.model = with_lora(base, lora_config(self.profile, **extra))
        if extra.get("trainable_token_indices"):
            # PEFT saves the whole (resized) embedding and lm_head in every checkpoint by default: 2 × 151,936+ rows.
            # The trained rows are in the trainable-tokens delta, and the rest is rebuilt exactly on resume
            # (prepare_vocabulary is deterministic), so checkpoints keep only LoRA and the new rows.
            self.model.save_pretrained = partial(self.model.save_pretrained, save_embedding_layers=False)

    def held_out_perplexities(self) -> dict[str, float]:
        """Perplexity on the held-out domain text by language (Chinese, English) and overall (their token-weighted
        geometric mean: the same blocks, not measured twice), and on general, non-medical text."""
        names = {"valid_zh": "ppl_zh", "valid_en": "ppl_en", "general": "ppl_general"}
        limit = self.settings.eval_limit  # blocks per split (None: all)
        out = {key: perplexity(self.model, self.blocks[split][:limit], label=key)
               for split, key in names.items() if self.blocks.get(split)}
        sizes = {k: len(self.blocks[s][:limit]) for s, k in names.items() if k != "ppl_general" and k in out}
        out["ppl"] = math.exp(sum(n * math.log(out[k]) for k, n in sizes.items()) / sum(sizes.values()))
        return out

    def evaluate_before(self) -> None:
        self.save_metrics(**{f"{k}_before": v for k, v in self.held_out_perplexities().items()})

    def build_trainer(self) -> None:
        from datasets import Dataset
        from transformers import Trainer, TrainingArguments, default_data_collator

        train = Dataset.from_dict({"input_ids": self.blocks["train"], "labels": self.blocks["train"]})
        self.trainer = Trainer(model=self.model, args=TrainingArguments(**self.training_kwargs()), train_dataset=train,
                               data_collator=default_data_collator, callbacks=self.callbacks())

    def evaluate_after(self) -> None:
        self.save_metrics(**{f"{k}_after": v for k, v in self.held_out_perplexities().items()})

    def save(self) -> None:
        """Merge the adapter and save model + tokenizer where 03 looks for them."""
        merge_and_save(self.model, self.tok, self.output, profile=self.profile, base_source=self.base_source)
        self.save_metrics(key_metric="ppl_after", tokens_per_step=self.tokens_per_step)

    @property
    def tokens_per_step(self) -> int:
        s = self.settings
        return s.batch_size * s.grad_accum * s.max_length
