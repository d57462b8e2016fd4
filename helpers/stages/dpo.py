"""Stage 06: direct preference optimisation of 03's model (LoRA; the reference is the policy with its adapter off)."""

from __future__ import annotations

from contextlib import nullcontext

import torch

from ..evaluation import early_late, generate_answers
from ..models import load_causal_lm, load_reward_model, lora_config, merge_and_save
from ..rewards import reward_scores
from ..runs import find_output
from ..sources import course_records
from .base import Stage


def completion_logps(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """log π(y|x) per row: the log-probabilities of the completion tokens (completion_mask) summed over the row."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1].float()
    chosen = logits.gather(-1, batch["input_ids"][:, 1:, None]).squeeze(-1)
    per_token = chosen - torch.logsumexp(logits, dim=-1)  # log softmax of the taken token, without a vocabulary-size copy
    return (per_token * batch["completion_mask"][:, 1:]).sum(dim=1)


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float) -> torch.Tensor:
    """Mean of −log σ(β[(log πθ(yw|x) − log πref(yw|x)) − (log πθ(yl|x) − log πref(yl|x))])."""
    logits = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))
    return -torch.nn.functional.logsigmoid(logits).mean()


class DPOStage(Stage):
    name = "dpo"
    steps = ("load", "build_model", "build_trainer", "train", "compare", "save")
    hub_limit = 20000
    beta = 0.1  # strength of the pull towards the reference: small β lets the policy move further
    n_prompts = 8  # held-out prompts answered by each model in `compare`

    def previous(self) -> tuple[str, ...]:
        return ("sft",)

    @property
    def max_new_tokens(self) -> int:
        """Length cap of the answers compared in `compare` (the profile's, else 48 tokens)."""
        return self.settings.max_new_tokens or 48

    def load(self) -> None:
        self.tok = self.tokenizer()
        limit = None if self.profile.data_source == "shipped" else self.hub_limit
        self.data = {split: course_records(self.profile, "preference", split, limit) for split in ("train", "valid")}
        self.prompts = list(self.data["valid"]["prompt"][:self.n_prompts])
        self.metrics.update(train_pairs=len(self.data["train"]), valid_pairs=len(self.data["valid"]))

    def build_model(self) -> None:
        """03's model (else the base): the policy *and*, with the LoRA adapter switched off, the reference."""
        base = self.causal_lm()
        self.base = base

    def dpo_config(self):
        from trl import DPOConfig

        return DPOConfig(**self.training_kwargs(), beta=self.beta, max_length=self.settings.max_length,
                         dataset_num_proc=None)

    def build_trainer(self) -> None:
        """The trainer wraps the base in LoRA (peft_config); with ref_model=None it computes the reference
        log-probabilities with the adapter disabled, so no second copy of the model is kept."""
        from trl import DPOTrainer

        self.trainer = DPOTrainer(model=self.base, ref_model=None, args=self.dpo_config(),
                                  train_dataset=self.data["train"], processing_class=self.tok,
                                  peft_config=lora_config(self.profile), callbacks=self.callbacks())
        self.model = self.trainer.model  # float32 adapter weights are restored by Stage.train_resumable
        self.metrics.update(train_pairs_used=len(self.trainer.train_dataset))

    def batch(self, n: int = 8) -> dict[str, torch.Tensor]:
        """The first `n` tokenised training pairs collated as the trainer does: n prompt+chosen rows, then n
        prompt+rejected rows, with completion_mask marking the answer tokens."""
        ds = self.trainer.train_dataset
        keys = ("prompt_ids", "chosen_ids", "rejected_ids")
        rows = [{k: ds[i][k] for k in keys} for i in range(min(n, len(ds)))]
        device = next(self.model.parameters()).device
        return {k: v.to(device) for k, v in self.trainer.data_collator(rows).items()}

    def train(self) -> None:
        self.train_resumable(self.trainer)
        (loss0, loss1), (acc0, acc1) = (early_late(self.log_history, k) for k in ("loss", "rewards/accuracies"))
        self.save_metrics(loss_early=loss0, loss_late=loss1, reward_accuracy_early=acc0, reward_accuracy=acc1)

    def reference(self):
        """Context in which the policy acts as the reference (03's model): the LoRA adapter disabled."""
        return self.model.disable_adapter()

    def compare(self) -> None:
        """Greedy answers to held-out prompts from 03's model, this DPO model and (if 05 ran) the PPO model, scored by
        04's reward model when it exists."""
        self.answers: dict[str, list[str]] = {}
        for label, ctx in (("sft", self.reference()), ("dpo", nullcontext())):
            with ctx:
                self.answers[label] = generate_answers(self.model, self.tok, self.prompts, self.max_new_tokens)
        ppo = find_output("ppo", self.root)
        if ppo is not None:
            policy = load_causal_lm(ppo, self.profile)
            self.answers["ppo"] = generate_answers(policy, self.tok, self.prompts, self.max_new_tokens)
            del policy
        else:
            print("No output of 05_ppo in this run: comparing SFT and DPO only.")
        rm_path = find_output("rm", self.root)
        self.rewards: dict[str, list[float]] = {}
        if rm_path is None:
            print("No reward model from 04_rm in this run: the answers are compared without rewards.")
        else:
            rm = load_reward_model(rm_path, self.profile, self.tok)
            self.rewards = {k: reward_scores(rm, self.tok, self.prompts, v) for k, v in self.answers.items()}
            del rm
        for label, answers in self.answers.items():
            row = {f"length_{label}": sum(len(self.tok(a)["input_ids"]) for a in answers) / len(answers)}
            if label in self.rewards:
                row[f"reward_{label}"] = sum(self.rewards[label]) / len(answers)
            self.save_metrics(**row)

    def comparison(self):
        """One row per model: mean reward from 04's reward model (if any) and mean answer length in tokens."""
        import pandas as pd

        rows = {label: {"mean reward": self.metrics.get(f"reward_{label}", float("nan")),
                        "mean length (tokens)": self.metrics[f"length_{label}"]} for label in self.answers}
        return pd.DataFrame(rows).T

    def side_by_side(self, n: int = 3):
        """The first `n` held-out prompts with every model's answer (and its reward, when there is one)."""
        import pandas as pd

        rows = []
        for i, prompt in enumerate(self.prompts[:n]):
            row = {"prompt": prompt[-1]["content"]}
            for label, answers in self.answers.items():
                reward = f" [{self.rewards[label][i]:+.2f}]" if label in self.rewards else ""
                row[label] = answers[i] + reward
            rows.append(row)
        return pd.DataFrame(rows)

    def save(self) -> None:
        merge_and_save(self.model, self.tok, self.output, profile=self.profile, base_source=self.base_source)
        self.save_metrics(key_metric="reward_accuracy")
