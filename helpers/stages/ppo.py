"""Stage 05: PPO on 03's chat model against 04's reward model (helpers.rl.ppo), then TRL's GRPO for comparison."""

from __future__ import annotations

import gc
from dataclasses import dataclass, replace

import torch

from ..lm.evaluation import generate_answers
from ..lm.lm_head import full_logits_head
from ..lm.rewards import ended_alike
from ..lm.models import (fp32_trainable, lora_config,
                         merge_and_save, prepare_4bit_base, with_lora)
from ..rl.ppo import (PPOConfig, PPOTrainer, append_turn_suffix, encode_prompts, left_pad, logprobs_of,
                      make_value_model, response_logits, response_mask, sample, sequence_scores, track_resources,
                      turn_suffix)
from ..lm.unpadded import row_by_row_on_cpu, window_rows
from ..env.distributed import is_main
from ..env.progress import bar
from ..env.quiet import compact_progress
from ..env.tensorboard import ScalarLogger, stage_log_dir, trainer_callback
from ..env.settings import knob
from ..env.sources import course_records
from .base import Stage
from .memo import measured_once, remember


@torch.no_grad()
def heldout_measure(policy, reward_model, tok, prompts: list[list[int]], max_new_tokens: int,
                    missing_eos_penalty: float, seed: int, batch_size: int = 8, kl: bool = True,
                    reference=None) -> dict:
    """One sampled answer per held-out prompt (seeded), scored exactly as PPO's training reward is: the reward model
    reads prompt + answer token ids (+ the turn suffix after an EOS) and a cut-off answer loses `missing_eos_penalty`.
    Returns the mean reward, the reward model's raw mean score, the share of answers that ended (EOS), their mean
    length, the KL to the reference in nats per answer (the sum over its tokens of log π − log π_ref at the sampled
    tokens: the policy with its adapter disabled, or `reference(ids, attention, n)` → its response logits; only when
    `kl`), and per answer its score, whether it ended and its text. PPO, GRPO and DPO policies are all measured this
    way, so their numbers compare."""
    suffix = turn_suffix(tok)
    rewards, raw, ended, lengths, kls, texts = [], [], [], [], [], []
    starts = range(0, len(prompts), batch_size)
    ticks = bar(len(starts) * max_new_tokens, desc="held-out answers (tokens, at most)")
    for i in starts:
        query, query_mask, responses = sample(policy, tok, prompts[i:i + batch_size], max_new_tokens, seed=seed + i,
                                              progress_bar=ticks)
        mask, has_eos = response_mask(responses, tok.eos_token_id)
        ids, attn = torch.cat([query, responses], 1), torch.cat([query_mask, mask.long()], 1)
        scored = row_by_row_on_cpu(lambda i, a: sequence_scores(reward_model, i, a),
                                   *append_turn_suffix(ids, attn, query.shape[1], mask, has_eos, suffix,
                                                       tok.pad_token_id), right=True)
        raw += scored.tolist()
        rewards += (scored - missing_eos_penalty * (~has_eos).float()).tolist()
        ended += has_eos.float().tolist()
        lengths += mask.sum(1).tolist()
        texts += [tok.decode(r[m], skip_special_tokens=True).strip() for r, m in zip(responses, mask)]
        if kl:
            window = dict(ids=ids, attn=attn, start=query.shape[1] - 1, width=responses.shape[1])
            logits = window_rows(lambda i, a, keep: response_logits(policy, i, a, keep - 1), **window)
            if reference is None:  # the policy's own reference: its adapter switched off
                with policy.disable_adapter():
                    ref = window_rows(lambda i, a, keep: response_logits(policy, i, a, keep - 1), **window)
            else:
                ref = window_rows(lambda i, a, keep: reference(i, a, keep - 1), **window)
            kls += ((logprobs_of(logits, responses) - logprobs_of(ref, responses)) * mask).sum(1).tolist()
    ticks.close()
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    return dict(reward=mean(rewards), raw_score=mean(raw), eos_fraction=mean(ended), response_length=mean(lengths),
                kl=mean(kls) if kls else float("nan"), scores=rewards, raw_scores=raw, ended=ended, responses=texts)


class PenalizedReward:
    """GRPO's reward function, the very reward PPO trains on: 04's reward model reading prompt + answer token ids (+ the
    turn suffix after an EOS), minus `penalty` for an answer cut off at the length cap."""

    __name__ = "reward_model_minus_cutoff_penalty"  # TRL logs rewards under the function's name

    def __init__(self, reward_model, tokenizer, penalty: float, max_prompt_length: int):
        self.reward_model, self.tok, self.penalty = reward_model, tokenizer, penalty
        self.max_prompt_length, self.suffix = max_prompt_length, turn_suffix(tokenizer)

    @torch.no_grad()
    def __call__(self, prompts, completions, completion_ids, **kwargs) -> list[float]:
        eos, rows, ended = self.tok.eos_token_id, [], []
        for conversation, ids in zip(prompts, completion_ids):
            done = bool(ids) and ids[-1] == eos
            prompt = encode_prompts(self.tok, [conversation], self.max_prompt_length)[0]
            rows.append(prompt + list(ids) + (self.suffix if done else []))
            ended.append(done)
        ids, attn = left_pad(rows, self.tok.pad_token_id, next(self.reward_model.parameters()).device)
        scores = sequence_scores(self.reward_model, ids, attn).tolist()
        return [s - self.penalty * (not done) for s, done in zip(scores, ended)]


@dataclass(frozen=True)
class PPOSettings(PPOConfig):
    """Stage 05's knobs: PPO's own (helpers.rl.ppo.PPOConfig: steps, batch, lengths, learning rate, clipping, GAE, β,
    the cut-off penalty, each with its default there) and the stage's below. 06 measures with these too."""

    eval_limit: int = knob(32, "held-out prompts on which PPO, GRPO (and in 06, DPO) are measured")
    n_prompts: int = knob(3, "held-out prompts whose answers are shown before and after")
    grpo_generations: int = knob(4, "GRPO: responses per prompt (the group its advantages are relative to)")
    hub_limit: int = knob(2000, "training prompts read from the hub preference set (data_source hub)")


class PPOStage(Stage):
    name = "ppo"
    settings_class = PPOSettings
    produces = {**dict.fromkeys(("prompts", "eval_prompts", "train_conversations", "eval_conversations"), "load"),
                **dict.fromkeys(("policy", "value_model", "ppo"), "build_models"),
                "before": "answers_before", "eval_before": "answers_before", "ppo_usage": "train",
                "after": "answers_after", "eval_after": "evaluate", "comparison": "compare",
                **dict.fromkeys(("grpo_trainer", "eval_grpo", "grpo_usage", "grpo_log_history"), "grpo")}
    steps = ("load", "build_models", "answers_before", "train", "answers_after", "evaluate", "save", "grpo", "compare")

    def previous(self) -> tuple[str, ...]:
        return ("sft",)

    # ---- data
    def load(self) -> None:
        """Prompts (conversations ending with a user turn) from the preference data; held-out ones for evaluation."""
        if self.profile.name == "tiny" and not torch.cuda.is_available():
            torch.set_num_threads(1)  # a tiny model's matmuls gain nothing from threads; on busy cores they cost a lot
        self.tok = self.tokenizer()
        s = self.settings
        limit = None if self.profile.data_source == "shipped" else s.hub_limit
        self.train_conversations = list(course_records(self.profile, "preference", "train", limit)["prompt"])
        self.eval_conversations = list(course_records(self.profile, "preference", "valid", s.eval_limit)["prompt"])
        self.prompts = encode_prompts(self.tok, self.train_conversations, s.max_prompt_length)
        self.eval_prompts = encode_prompts(self.tok, self.eval_conversations, s.max_prompt_length)
        self.metrics.update(train_prompts=len(self.prompts), eval_prompts=len(self.eval_prompts))

    # ---- models
    def policy_base(self):
        """03's model (else the base / tiny model) as a causal LM, without adapter."""
        return self.causal_lm(prepare_kbit=False)

    def reward_model(self):
        """04's reward model, else a stand-in with a random score head (Stage.reward_model_or_standin)."""
        return self.reward_model_or_standin()

    def ppo_config(self) -> PPOConfig:
        """PPO's part of the settings (a PPOConfig), seeded with the stage's seed."""
        return PPOConfig(**{k: getattr(self.settings, k) for k in PPOConfig.help()} | {"seed": self.seed})

    def build_models(self) -> None:
        """Policy = 03's model + LoRA (reference = adapter disabled); value model = 04's reward model + LoRA and a
        trainable copy of its score head (reward = adapter disabled)."""
        base = self.policy_base()
        if self.profile.load_in_4bit:
            base = prepare_4bit_base(base)
        self.policy = with_lora(base, lora_config(self.profile))
        self.value_model = make_value_model(self.reward_model(),
                                            lora_config(self.profile, task_type="SEQ_CLS", modules_to_save=["score"]))
        self.ppo = PPOTrainer(self.policy, self.value_model, self.tok, self.prompts, self.ppo_config(),
                              output_dir=self.work_dir, publish_dir=self.publish_dir,
                              reward_suffix=turn_suffix(self.tok))

    # ---- answers and scores
    def answers_before(self) -> None:
        self.before = generate_answers(self.policy, self.tok, self.eval_conversations[:self.settings.n_prompts],
                                       max_new_tokens=self.settings.max_new_tokens)
        with self.value_model.disable_adapter():  # the reward model
            self.eval_before = measured_once(self.root, self.base_source, compute=lambda: self.measure(
                self.policy, self.value_model), reference_dir=self.base_source, **self.memo_keys())

    def measure(self, policy, reward_model) -> dict:
        """The held-out measurement (heldout_measure): sampled answers scored exactly like the training reward."""
        return heldout_measure(policy, reward_model, self.tok, self.eval_prompts, self.settings.max_new_tokens,
                               self.settings.missing_eos_penalty, seed=self.seed)

    def memo_keys(self) -> dict:
        """What identifies this stage's held-out measurement besides the model (helpers.stages.memo): the reward model,
        the prompts, the length cap, the penalty and the seed. 06 and the scoreboard measure with the same."""
        return dict(reward_dir=self.reward_dir, prompts=self.eval_prompts, max_new_tokens=self.settings.max_new_tokens,
                    missing_eos_penalty=self.settings.missing_eos_penalty, seed=self.seed)

    def reward_hacking_demo(self, missing_eos_penalty: float = 0.0, steps: int | None = None) -> dict:
        """A separate short PPO run (`steps`, default a third of the stage's, at least 2) from the same start (a fresh
        copy of 03's model and 04's reward model, no checkpoints) with `missing_eos_penalty`: with 0, nothing stops the
        policy from exploiting a reward model that scores unfinished answers well. Returns {"log": per-step log,
        "before"/"after": held-out measurements}."""
        policy = with_lora(self.policy_base(), lora_config(self.profile))
        value = make_value_model(self.reward_model(),
                                 lora_config(self.profile, task_type="SEQ_CLS", modules_to_save=["score"]))
        config = replace(self.ppo_config(), missing_eos_penalty=missing_eos_penalty, save_steps=0,
                         max_steps=steps or max(2, self.settings.max_steps // 3))  # the trend shows early
        trainer = PPOTrainer(policy, value, self.tok, self.prompts, config, reward_suffix=turn_suffix(self.tok))
        measure = dict(max_new_tokens=self.settings.max_new_tokens, missing_eos_penalty=missing_eos_penalty,
                       seed=self.seed, kl=False)
        if getattr(self, "eval_before", None) is not None:  # the same start, prompts and seed: the same answers
            before = dict(self.eval_before, reward=self.eval_before["raw_score"] - missing_eos_penalty *
                          (1 - self.eval_before["eos_fraction"]), kl=float("nan"))
        else:
            with value.disable_adapter():  # the reward model
                before = heldout_measure(policy, value, self.tok, self.eval_prompts, **measure)
        log = trainer.train(resume=False)
        with value.disable_adapter():
            after = heldout_measure(policy, value, self.tok, self.eval_prompts, **measure)
        del trainer, policy, value
        gc.collect()
        return {"log": log, "before": before, "after": after}

    def train(self) -> None:
        """PPO steps (resuming from the newest published checkpoint); curves to TensorBoard in <run>/ppo/tensorboard."""
        curves = ScalarLogger(stage_log_dir(self.name, self.root)) if is_main() else None
        try:
            with track_resources() as usage:
                self.ppo.train(callback=curves)
        finally:
            if curves is not None:
                curves.close()
        self.log_history = self.ppo.log_history
        self.ppo_usage = usage

    def answers_after(self) -> None:
        self.after = generate_answers(self.policy, self.tok, self.eval_conversations[:self.settings.n_prompts],
                                      max_new_tokens=self.settings.max_new_tokens)

    def evaluate(self) -> None:
        with self.value_model.disable_adapter():
            self.eval_after = self.measure(self.policy, self.value_model)
        alike = ended_alike(self.eval_before, self.eval_after)
        self.save_metrics(rm_score_ended_before=alike["before"], rm_score_ended_after=alike["after"],
                          ended_both=alike["n"])
        self.save_metrics(reward_before=self.eval_before["reward"], reward_after=self.eval_after["reward"],
                          rm_score_before=self.eval_before["raw_score"], rm_score_after=self.eval_after["raw_score"],
                          length_before=self.eval_before["response_length"],
                          length_after=self.eval_after["response_length"],
                          eos_fraction_before=self.eval_before["eos_fraction"],
                          eos_fraction_after=self.eval_after["eos_fraction"], kl_after=self.eval_after["kl"],
                          ppo_wall_s=self.ppo_usage["wall_s"], ppo_peak_mb=self.ppo_usage["peak_mb"],
                          reward_model=self.reward_source)

    def save(self) -> None:
        """Merge the policy's adapter and save the model where later stages look for it."""
        merge_and_save(self.policy, self.tok, self.output, profile=self.profile, base_source=self.base_source)
        if getattr(self, "eval_after", None) is not None:  # 06 and the scoreboard read it instead of sampling again
            remember(self.root, self.output, measured=self.eval_after, reference_dir=self.base_source,
                     **self.memo_keys())
        train = [h["reward"] for h in self.log_history]
        self.save_metrics(key_metric="reward_after", first_train_reward=train[0], final_train_reward=train[-1])

    # ---- GRPO, for comparison
    def grpo_config(self):
        from trl import GRPOConfig

        s = self.settings
        return GRPOConfig(output_dir=str(self.work_dir / "grpo"), max_steps=s.max_steps,
                          per_device_train_batch_size=s.batch_size, num_generations=s.grpo_generations,
                          max_completion_length=s.max_new_tokens, learning_rate=s.learning_rate, beta=s.kl_coef,
                          temperature=1.0, logging_steps=1, save_strategy="no", report_to="none", seed=self.seed,
                          data_seed=self.seed, bf16=self.profile.bf16, fp16=self.profile.fp16,
                          activation_checkpointing=self.profile.load_in_4bit, use_cpu=not torch.cuda.is_available(),
                          dataloader_num_workers=0, disable_tqdm=True, ddp_find_unused_parameters=False)

    def grpo(self) -> None:
        """TRL's GRPOTrainer on the same prompts, reward model, LoRA settings and number of responses per step.
        No value model: each prompt gets several responses and each one's advantage is its reward minus the group's
        mean (divided by the group's standard deviation)."""
        from datasets import Dataset
        from trl import GRPOTrainer

        for name in ("ppo", "policy", "value_model"):  # free PPO's models first (GPU memory)
            self.__dict__.pop(name, None)
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.grpo_reward_model = self.reward_model()
        reward = PenalizedReward(self.grpo_reward_model, self.tok, self.settings.missing_eos_penalty,
                                 self.settings.max_prompt_length)
        self.grpo_trainer = GRPOTrainer(model=self.policy_base(), reward_funcs=reward, args=self.grpo_config(),
                                        train_dataset=Dataset.from_dict({"prompt": self.train_conversations}),
                                        processing_class=self.tok,
                                        peft_config=lora_config(self.profile),
                                        callbacks=[trainer_callback(stage_log_dir(self.name, self.root) / "grpo")])
        fp32_trainable(self.grpo_trainer.model)
        full_logits_head(self.grpo_trainer.model, self.grpo_trainer.temperature)  # on a CPU: faster than TRL's head
        compact_progress(self.grpo_trainer, keys=("reward", "kl"), desc="GRPO steps")  # not a 900-character dict a step
        with track_resources() as usage:
            self.grpo_trainer.train()
        self.grpo_usage = usage
        self.grpo_log_history = self.grpo_trainer.state.log_history
        self.eval_grpo = self.measure(self.grpo_trainer.model, self.grpo_reward_model)
        if is_main():  # for the run's scoreboard (helpers.learner.scoreboard): GRPO's model beside PPO's
            merge_and_save(self.grpo_trainer.model, self.tok, self.dir / "grpo_model", profile=self.profile,
                           base_source=self.base_source)
            remember(self.root, self.dir / "grpo_model", measured=self.eval_grpo, reference_dir=self.base_source,
                     **self.memo_keys())
        self.save_metrics(grpo_reward=self.eval_grpo["reward"], grpo_rm_score=self.eval_grpo["raw_score"],
                          grpo_eos_fraction=self.eval_grpo["eos_fraction"], grpo_kl=self.eval_grpo["kl"],
                          grpo_wall_s=usage["wall_s"], grpo_peak_mb=usage["peak_mb"])

    def compare(self):
        """One table: held-out mean reward and KL, training wall time and peak memory, for 03's model, PPO and GRPO."""
        import pandas as pd

        memory = f"peak MB ({self.ppo_usage['memory']})"
        rows = {
            "03 (SFT, before)": dict(reward=self.eval_before["reward"], kl=self.eval_before["kl"]),
            "PPO (helpers.rl.ppo)": dict(reward=self.eval_after["reward"], kl=self.eval_after["kl"],
                                         wall_s=self.ppo_usage["wall_s"], peak=self.ppo_usage["peak_mb"]),
            "GRPO (TRL)": dict(reward=self.eval_grpo["reward"], kl=self.eval_grpo["kl"],
                               wall_s=self.grpo_usage["wall_s"], peak=self.grpo_usage["peak_mb"]),
        }
        table = pd.DataFrame(rows).T.rename(columns={"reward": "mean reward (held out)", "kl": "KL to 03 (nats)",
                                                     "wall_s": "train wall time (s)", "peak": memory})
        self.comparison = table
        return table

