"""Stage 06: direct preference optimisation of 03's model (LoRA; the reference is the policy with its adapter off)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..lm.evaluation import early_late
from ..lm.lm_head import full_logits_head
from ..lm.models import autocast_for, load_causal_lm, lora_config, merge_and_save
from ..rl.ppo import encode_prompts
from ..env.progress import progress
from ..env.runs import find_output
from ..env.settings import knob
from ..env.sources import course_records
from .base import Stage, TrainerSettings
from .memo import measured_once, remember


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


def win_rate(ours: list[float], theirs: list[float]) -> float:
    """Share of prompts where our answer scores higher than theirs (a tie counts half)."""
    return sum((a > b) + 0.5 * (a == b) for a, b in zip(ours, theirs)) / len(ours)


@dataclass(frozen=True)
class DPOSettings(TrainerSettings):
    """Stage 06's knobs (with TrainerSettings': batch, accumulation, saving, held-out and hub limits). Its comparison
    with SFT and PPO measures answers exactly as 05 does, with 05's settings (PPOSettings: prompts, length cap,
    cut-off penalty)."""

    max_steps: int = knob(200, "optimizer steps")
    learning_rate: float = knob(5e-6, "AdamW learning rate of the LoRA weights")
    max_length: int = knob(512, "tokens of prompt + answer; longer answers are cut")
    beta: float = knob(0.1, "β: strength of the pull towards the reference (small β lets the policy move further)")


class DPOStage(Stage):
    name = "dpo"
    settings_class = DPOSettings
    produces = {"base": "build_model", "heldout_margins": "evaluate_before", "measured": "compare",
                "reference_logps": "build_model", "answers": "compare", "prompts": "compare"}
    steps = ("load", "build_model", "build_trainer", "evaluate_before", "train", "evaluate_after", "compare", "save")

    def previous(self) -> tuple[str, ...]:
        return ("sft",)

    def load(self) -> None:
        self.tok = self.tokenizer()
        limit = None if self.profile.data_source == "shipped" else self.settings.hub_limit
        self.data = {split: course_records(self.profile, "preference", split, limit) for split in ("train", "valid")}
        self.metrics.update(train_pairs=len(self.data["train"]), valid_pairs=len(self.data["valid"]))

    def build_model(self) -> None:
        """03's model (else the base): the policy *and*, with the LoRA adapter switched off, the reference."""
        base = self.causal_lm()
        self.base = base
        # split → pair → the reference's log-probs of (chosen, rejected) and their numbers of answer tokens
        self.reference_logps: dict[str, dict[int, tuple[float, float, int, int]]] = {}

    def dpo_config(self):
        from trl import DPOConfig

        return DPOConfig(**self.training_kwargs(), beta=self.settings.beta, max_length=self.settings.max_length,
                         dataset_num_proc=None)

    def build_trainer(self) -> None:
        """The trainer wraps the base in LoRA (peft_config); with ref_model=None it computes the reference
        log-probabilities with the adapter disabled, so no second copy of the model is kept."""
        from trl import DPOTrainer

        self.trainer = DPOTrainer(model=self.base, ref_model=None, args=self.dpo_config(),
                                  train_dataset=self.data["train"], eval_dataset=self.data["valid"],
                                  processing_class=self.tok, peft_config=lora_config(self.profile),
                                  callbacks=self.callbacks())
        self.model = self.trainer.model  # float32 adapter weights are restored by Stage.train_resumable
        full_logits_head(self.model)  # on a CPU: full logits beat TRL's fused head (policy and reference)
        self.metrics.update(train_pairs_used=len(self.trainer.train_dataset))

    def dataset(self, split: str = "train"):
        """The trainer's tokenised pairs of `split` ("train" or "valid")."""
        return self.trainer.train_dataset if split == "train" else self.trainer.eval_dataset

    def batch(self, n: int = 8, start: int = 0, split: str = "train", rows: list[int] | None = None
              ) -> dict[str, torch.Tensor]:
        """`n` tokenised pairs from `start` (or the pairs `rows`) collated as the trainer does: n prompt+chosen rows,
        then n prompt+rejected rows, with completion_mask marking the answer tokens."""
        ds = self.dataset(split)
        keys = ("prompt_ids", "chosen_ids", "rejected_ids")
        rows = range(start, min(start + n, len(ds))) if rows is None else rows
        device = next(self.model.parameters()).device
        return {k: v.to(device) for k, v in self.trainer.data_collator([{k: ds[i][k] for k in keys}
                                                                        for i in rows]).items()}

    @torch.no_grad()
    def implicit_margins(self, split: str = "valid", batch_size: int = 8) -> list[float]:
        """β[(log πθ − log πref)(chosen) − (log πθ − log πref)(rejected)] for every pair of `split`: the implicit
        reward margin DPO's loss pushes up. Positive: the policy prefers the chosen answer more than 03's model did.
        Pairs of similar length are batched together (little padding); the reference's log-probs are computed once
        per pair and kept (the reference, 03's model, does not change while the policy trains)."""
        ds = self.dataset(split)
        n = min(len(ds), self.settings.eval_limit or len(ds))  # the profile's limit on held-out pairs
        size = [len(ds[i]["prompt_ids"]) + max(len(ds[i]["chosen_ids"]), len(ds[i]["rejected_ids"])) for i in range(n)]
        order = sorted(range(n), key=lambda i: -size[i])
        kept = self.reference_logps.setdefault(split, {})  # the reference's, computed once per pair
        untrained = self.policy_is_reference()
        margins = [0.0] * n
        for start in progress(range(0, n, batch_size), desc="implicit margins"):
            rows = order[start:start + batch_size]
            batch = self.batch(split=split, rows=rows)
            with autocast_for(self.model):
                if any(i not in kept for i in rows):
                    with self.reference():
                        rw, rl = completion_logps(self.model, batch).chunk(2)
                    nw, nl = batch["completion_mask"][:, 1:].sum(1).chunk(2)  # the answer tokens each sum covers
                    kept.update({i: (w, l, a, b) for i, w, l, a, b in zip(rows, rw.tolist(), rl.tolist(), nw.tolist(),
                                                                           nl.tolist())})
                rw, rl = (torch.tensor([kept[i][k] for i in rows], device=batch["input_ids"].device) for k in (0, 1))
                pw, pl = (rw, rl) if untrained else completion_logps(self.model, batch).chunk(2)
            for i, m in zip(rows, (self.settings.beta * ((pw - rw) - (pl - rl))).tolist()):
                margins[i] = m
        return margins

    def policy_is_reference(self) -> bool:
        """True before DPO's first step: every LoRA B matrix is 0 (peft's initialisation), so the policy's log-probs are
        the reference's and need no second pass."""
        if self.trainer.state.global_step > 0:
            return False
        b = [p for n, p in self.model.named_parameters() if "lora_B" in n]
        return bool(b) and all(not p.detach().any() for p in b)

    @staticmethod
    def preference_accuracy(margins: list[float]) -> float:
        """Share of pairs with a positive implicit margin; a tie (the untrained policy: every margin 0) counts half."""
        return sum((m > 0) + 0.5 * (m == 0) for m in margins) / len(margins)

    def reference_prefers_chosen(self, split: str = "valid") -> float:
        """Share of the measured pairs of `split` (implicit_margins) on which the reference, 03's model before DPO,
        already gives the chosen answer the higher log-probability per answer token."""
        kept = self.reference_logps.get(split)
        if not kept:
            raise ValueError(f"no reference log-probs of {split!r} pairs yet: run stage.evaluate_before() first")
        return sum(w / max(a, 1) > r / max(b, 1) for w, r, a, b in kept.values()) / len(kept)

    def evaluate_before(self) -> None:
        """Held-out preference accuracy of the untrained policy (it equals the reference: 0.5, every pair a tie), and
        how often 03's model already gives the chosen answer the higher log-probability per token."""
        self.save_metrics(heldout_accuracy_before=self.preference_accuracy(self.implicit_margins("valid")),
                          reference_prefers_chosen=self.reference_prefers_chosen("valid"))

    def train(self) -> None:
        self.train_resumable(self.trainer)
        (loss0, loss1), (acc0, acc1) = (early_late(self.log_history, k) for k in ("loss", "rewards/accuracies"))
        self.save_metrics(loss_early=loss0, loss_late=loss1, reward_accuracy_early=acc0, reward_accuracy=acc1)

    def evaluate_after(self) -> None:
        """The same held-out pairs after training: does the policy prefer the chosen answers it never saw?"""
        self.heldout_margins = self.implicit_margins("valid")
        self.save_metrics(heldout_accuracy_after=self.preference_accuracy(self.heldout_margins),
                          heldout_margin_after=sum(self.heldout_margins) / len(self.heldout_margins))

    def reference(self):
        """Context in which the policy acts as the reference (03's model): the LoRA adapter disabled."""
        return self.model.disable_adapter()

    @torch.no_grad()
    def reference_logits(self, ids: torch.Tensor, attention: torch.Tensor, n: int) -> torch.Tensor:
        """03's model's logits for the last `n` positions (the KL reference of a policy loaded without adapter)."""
        from ..rl.ppo import response_logits

        with self.reference():
            return response_logits(self.model, ids, attention, n)

    def compare(self) -> None:
        """03's model (adapter off), this DPO model and (if 05 ran) the PPO model answer the same held-out prompts, one
        sampled answer each, measured exactly as 05 measures PPO and GRPO (helpers.stages.ppo.heldout_measure: 04's
        reward model reading the answer's tokens, the same cut-off penalty, seed and length cap), so the numbers of
        05 and 06 compare. The win rate is the share of prompts where DPO's answer out-scores 03's."""
        from .ppo import PPOSettings, heldout_measure

        rm = self.reward_model_or_standin()
        ppo = PPOSettings.from_profile(self.profile, "ppo")  # the prompts, length cap and penalty 05 measures with
        prompts = encode_prompts(self.tok, self.data["valid"]["prompt"][:ppo.eval_limit], ppo.max_prompt_length)
        self.prompts = list(self.data["valid"]["prompt"][:ppo.eval_limit])
        measure = dict(max_new_tokens=ppo.max_new_tokens, missing_eos_penalty=ppo.missing_eos_penalty, seed=self.seed)
        self.measure_keys = dict(reward_dir=self.reward_dir, prompts=prompts, **measure)  # helpers.stages.memo

        def sft() -> dict:
            with self.reference():
                return heldout_measure(self.model, rm, self.tok, prompts, kl=False, **measure)

        # 03's model and 05's PPO model were measured by 05 on the same prompts with the same settings: reused
        self.measured = {"sft": measured_once(self.root, self.base_source, compute=sft, **self.measure_keys)}
        self.measured["dpo"] = heldout_measure(self.model, rm, self.tok, prompts, **measure)
        found = find_output("ppo", self.root)
        if found is not None:
            def ppo_policy() -> dict:
                policy = load_causal_lm(found, self.profile)
                return heldout_measure(policy, rm, self.tok, prompts, reference=self.reference_logits, **measure)

            self.measured["ppo"] = measured_once(self.root, found, compute=ppo_policy, reference_dir=self.base_source,
                                                 **self.measure_keys)
        else:
            print("No output of 05_ppo in this run: comparing SFT and DPO only.")
        del rm
        self.answers = {label: m["responses"] for label, m in self.measured.items()}
        scores = {label: m["scores"] for label, m in self.measured.items()}
        self.save_metrics(win_rate_vs_sft=win_rate(scores["dpo"], scores["sft"]),
                          rm_win_rate_vs_sft=win_rate(self.measured["dpo"]["raw_scores"],
                                                      self.measured["sft"]["raw_scores"]),
                          **{f"{k}_{label}": m[k] for label, m in self.measured.items()
                             for k in ("reward", "raw_score", "eos_fraction", "response_length", "kl")})

    def comparison(self):
        """One row per model: mean reward from 04's reward model (if any) and mean answer length in tokens."""
        import pandas as pd

        rows = {label: {"mean reward (held out)": m["reward"], "answers ended (EOS)": m["eos_fraction"],
                        "mean length (tokens)": m["response_length"], "KL to 03 (nats)": m["kl"]}
                for label, m in self.measured.items()}
        return pd.DataFrame(rows).T

    def side_by_side(self, n: int = 3):
        """The first `n` held-out prompts with every model's sampled answer and its reward."""
        import pandas as pd

        rows = []
        for i, prompt in enumerate(self.prompts[:n]):
            row = {"prompt": prompt[-1]["content"]}
            for label, m in self.measured.items():
                row[label] = f"{m['responses'][i]} [{m['scores'][i]:+.2f}]"
            rows.append(row)
        return pd.DataFrame(rows)

    def save(self) -> None:
        merge_and_save(self.model, self.tok, self.output, profile=self.profile, base_source=self.base_source)
        if getattr(self, "measured", None):  # the scoreboard reads it instead of sampling again
            remember(self.root, self.output, measured=self.measured["dpo"], reference_dir=self.base_source,
                     **self.measure_keys)
        self.save_metrics(key_metric="heldout_accuracy_after")
