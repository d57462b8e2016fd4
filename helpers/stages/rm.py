"""Stage 04: a reward model (one-label sequence classifier) trained on preference pairs with the pairwise loss."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from ..lm.models import load_reward_model, lora_config, merge_and_save, torch_dtype, with_lora
from ..lm.rewards import build_tiny_reward_model, cut_conversation, cut_pairs, reward_scores, row_scores
from ..env.settings import knob
from ..env.sources import course_records
from .base import Stage, TrainerSettings


def pairwise_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """Bradley-Terry pairwise loss: mean of −log σ(r_chosen − r_rejected)."""
    return -torch.nn.functional.logsigmoid(r_chosen - r_rejected).mean()


@dataclass(frozen=True)
class RMSettings(TrainerSettings):
    """Stage 04's knobs (with TrainerSettings': batch, accumulation, saving, held-out and hub limits)."""

    max_steps: int = knob(200, "optimizer steps")
    learning_rate: float = knob(1e-4, "AdamW learning rate (LoRA weights and the new score head)")
    max_length: int = knob(512, "tokens of prompt + answer the reward model reads; longer pairs are dropped")
    hub_valid_limit: int = knob(500, "held-out pairs read from the hub dataset (scored twice: before and after)")
    cut_share: float = knob(0.5, "extra training pairs, as a share of the real ones: a chosen answer preferred to its "
                                 "own first 30–90 % of tokens with no end of turn (lm.rewards.cut_pairs), so the model "
                                 "does not pay for answers cut off at a length cap; 0: none")


class RMStage(Stage):
    name = "rm"
    settings_class = RMSettings
    produces = {"scores_before": "evaluate_before", "scores_after": "evaluate_after"}
    steps = ("load", "build_model", "evaluate_before", "build_trainer", "train", "evaluate_after", "save")

    def previous(self) -> tuple[str, ...]:
        return ("sft",)

    def load(self) -> None:
        self.tok = self.tokenizer()
        hub = self.profile.data_source != "shipped"
        s = self.settings
        limits = {"train": s.hub_limit if hub else None, "valid": s.hub_valid_limit if hub else None}
        self.data = {split: course_records(self.profile, "preference", split, n) for split, n in limits.items()}
        self.metrics.update(train_pairs=len(self.data["train"]), valid_pairs=len(self.data["valid"]))

    def build_model(self) -> None:
        """03's model (else the base) as a one-label classifier: a new `score` head on the last token's hidden state.
        LoRA adapts the blocks; the head is new, so it is trained in full (`modules_to_save`)."""
        self.base_source = self.input_model()
        if self.base_source is None:
            print("Tiny profile: a random-init sequence classifier of the tiny architecture.")
            base = build_tiny_reward_model(self.profile, self.tok, seed=self.seed)
        else:
            torch.manual_seed(self.seed)  # the new score head is initialised at random
            base = load_reward_model(self.base_source, self.profile, self.tok)
            self.prepare_vocabulary(base)  # from the base model: 01's added tokens get initialised rows
        base.config.pad_token_id = self.tok.pad_token_id
        self.model = with_lora(base, lora_config(self.profile, task_type="SEQ_CLS", modules_to_save=["score"]))

    def pairs(self, split: str = "valid"):
        """The pairs of `split` that are measured: held-out ones up to the profile's eval_limit (None: all)."""
        ds = self.data[split]
        limit = self.settings.eval_limit if split == "valid" else None
        return ds if limit is None or limit >= len(ds) else ds.select(range(limit))

    def scores(self, split: str = "valid") -> dict[str, list[float]]:
        """Rewards of the chosen and of the rejected answer of every pair of `split`."""
        ds = self.pairs(split)
        answers = {k: [m[0]["content"] for m in ds[k]] for k in ("chosen", "rejected")}
        return {k: reward_scores(self.model, self.tok, ds["prompt"], v, max_length=self.settings.max_length)
                for k, v in answers.items()}

    @staticmethod
    def accuracy(scores: dict[str, list[float]]) -> float:
        """Share of pairs whose chosen answer scores higher than the rejected one (a tie counts half)."""
        return sum((c > r) + 0.5 * (c == r) for c, r in zip(scores["chosen"], scores["rejected"])) / len(scores["chosen"])

    def length_scores(self, split: str = "valid") -> dict[str, list[float]]:
        """The trivial judge: an answer's 'reward' is its length in characters. Its accuracy is the baseline a reward
        model must beat, or it may have learned length rather than content."""
        ds = self.pairs(split)
        return {k: [float(len(m[0]["content"])) for m in ds[k]] for k in ("chosen", "rejected")}

    def cut_accuracy(self, scores: dict[str, list[float]]) -> float:
        """Share of held-out chosen answers whose complete form (its score in `scores`) outscores its own cut
        beginning (lm.rewards.cut_conversation, cut points seeded alike before and after training). Below 0.5, the
        model pays for unfinished answers: PPO will learn to stop ending them."""
        ds, rng = self.pairs("valid"), random.Random(0)
        cuts = [cut_conversation(self.tok, p, c[0]["content"], rng) for p, c in zip(ds["prompt"], ds["chosen"])]
        kept = [(cut[1][-self.settings.max_length:], full) for cut, full in zip(cuts, scores["chosen"]) if cut]
        if not kept:
            return float("nan")
        cut_scores = row_scores(self.model, self.tok.pad_token_id, [row for row, _ in kept])
        return sum(full > cut for (_, full), cut in zip(kept, cut_scores)) / len(kept)

    def evaluate_before(self) -> None:
        self.scores_before = self.scores("valid")
        self.save_metrics(accuracy_before=self.accuracy(self.scores_before),
                          length_baseline=self.accuracy(self.length_scores("valid")),
                          cut_accuracy_before=self.cut_accuracy(self.scores_before))

    def reward_config(self):
        from trl import RewardConfig

        return RewardConfig(**self.training_kwargs(), max_length=self.settings.max_length, dataset_num_proc=None)

    def build_trainer(self) -> None:
        from trl import RewardTrainer

        self.trainer = RewardTrainer(model=self.model, args=self.reward_config(), train_dataset=self.data["train"],
                                     processing_class=self.tok, callbacks=self.callbacks())
        self.metrics.update(train_pairs_used=len(self.trainer.train_dataset))
        self.add_cut_pairs()

    def add_cut_pairs(self) -> None:
        """Append cut_share × the real pairs of (complete chosen answer, its cut beginning) to the trainer's tokenised
        training set (lm.rewards.cut_pairs); the trainer's sampler mixes them with the real ones."""
        from datasets import Dataset, concatenate_datasets

        train, s = self.data["train"], self.settings
        extra = cut_pairs(self.tok, list(train["prompt"]), [m[0]["content"] for m in train["chosen"]], s.cut_share,
                          seed=self.seed, max_length=s.max_length) if s.cut_share > 0 else []
        if extra:
            real = self.trainer.train_dataset.select_columns(["chosen_ids", "rejected_ids"])
            extra = Dataset.from_list(extra, features=real.features)
            self.trainer.train_dataset = concatenate_datasets([real, extra])
        self.metrics.update(cut_pairs=len(extra))

    def batch(self, n: int = 8) -> dict[str, torch.Tensor]:
        """The first `n` tokenised training pairs collated as the trainer does: n chosen rows, then n rejected rows."""
        ds = self.trainer.train_dataset
        rows = [{"chosen_ids": ds[i]["chosen_ids"], "rejected_ids": ds[i]["rejected_ids"]} for i in range(min(n, len(ds)))]
        device = next(self.model.parameters()).device
        return {k: v.to(device) for k, v in self.trainer.data_collator(rows).items()}

    def evaluate_after(self) -> None:
        self.scores_after = self.scores("valid")
        margins = [c - r for c, r in zip(self.scores_after["chosen"], self.scores_after["rejected"])]
        self.save_metrics(accuracy=self.accuracy(self.scores_after), mean_margin=sum(margins) / len(margins),
                          cut_accuracy=self.cut_accuracy(self.scores_after))

    def save(self) -> None:
        """Merge LoRA and the trained head into the classifier; save it (num_labels=1, pad_token_id set) for 05/06."""
        model = self.model.merge_and_unload()
        model.config.num_labels = 1
        model.config.pad_token_id = self.tok.pad_token_id
        model = model.to(torch_dtype(self.profile))
        merge_and_save(model, self.tok, self.output)
        losses = [h["loss"] for h in self.log_history if "loss" in h]
        self.save_metrics(key_metric="accuracy", first_loss=losses[0], final_loss=losses[-1])
