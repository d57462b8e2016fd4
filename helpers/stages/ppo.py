"""Stage 05: PPO on 03's chat model against 04's reward model (helpers.ppo), then TRL's GRPO for comparison."""

from __future__ import annotations

import gc

import torch

from ..evaluation import generate_answers
from ..models import (fp32_trainable, load_reward_model, lora_config,
                      merge_and_save, with_lora)
from ..ppo import PPOConfig, PPOTrainer, encode_prompts, evaluate_policy, make_value_model, track_resources, turn_suffix
from ..rewards import build_tiny_reward_model, reward_scores
from ..runs import find_output
from ..sources import course_records
from .base import Stage


class PPOStage(Stage):
    name = "ppo"
    steps = ("load", "build_models", "answers_before", "train", "answers_after", "evaluate", "save", "grpo", "compare")
    hub_limit = 2000  # prompts of the hub preference set used on Colab
    n_prompts = 3  # held-out prompts whose answers are shown before and after
    n_eval = 16  # held-out prompts on which PPO and GRPO are measured
    max_prompt_length = 256
    kl_coef = 0.05
    adaptive_kl = False
    grpo_generations = 4  # GRPO: responses per prompt (the group its advantages are relative to)

    def previous(self) -> tuple[str, ...]:
        return ("sft",)

    # ---- data
    def load(self) -> None:
        """Prompts (conversations ending with a user turn) from the preference data; held-out ones for evaluation."""
        if self.profile.name == "tiny" and not torch.cuda.is_available():
            torch.set_num_threads(1)  # a tiny model's matmuls gain nothing from threads; on busy cores they cost a lot
        self.tok = self.tokenizer()
        limit = None if self.profile.data_source == "shipped" else self.hub_limit
        self.train_conversations = list(course_records(self.profile, "preference", "train", limit)["prompt"])
        self.eval_conversations = list(course_records(self.profile, "preference", "valid", self.n_eval)["prompt"])
        self.prompts = encode_prompts(self.tok, self.train_conversations, self.max_prompt_length)
        self.eval_prompts = encode_prompts(self.tok, self.eval_conversations, self.max_prompt_length)
        self.metrics.update(train_prompts=len(self.prompts), eval_prompts=len(self.eval_prompts))

    # ---- models
    def policy_base(self):
        """03's model (else the base / tiny model) as a causal LM, without adapter."""
        return self.causal_lm(prepare_kbit=False)

    def reward_model(self):
        """04's reward model; without it (saying so) a stand-in whose score head is random, so rewards mean nothing."""
        found = find_output("rm", self.root)
        torch.manual_seed(self.seed)  # a stand-in's random head is the same every time it is built
        if found is not None:
            model = load_reward_model(found, self.profile, self.tok)
            self.reward_source = str(found)
        elif self.base_source is None:
            print("No output of 04_rm in this run: a random-init tiny reward model stands in (its rewards are noise).")
            model = build_tiny_reward_model(self.profile, self.tok, seed=self.seed)
            self.reward_source = "random tiny reward model (04 missing)"
        else:
            print(f"No output of 04_rm in this run: {self.base_source} with a random score head stands in "
                  "(its rewards are noise). Run 04_rm first for a meaningful PPO run.")
            model = load_reward_model(self.base_source, self.profile, self.tok)
            self.reward_source = f"{self.base_source} + random head (04 missing)"
        model.config.pad_token_id = self.tok.pad_token_id
        return model.eval()

    def ppo_config(self) -> PPOConfig:
        s = self.settings
        return PPOConfig(steps=s.max_steps, batch_size=s.batch_size, mini_batch_size=max(1, s.batch_size // 2),
                         ppo_epochs=2, learning_rate=s.learning_rate, max_new_tokens=s.max_length,
                         max_prompt_length=self.max_prompt_length, kl_coef=self.kl_coef, adaptive_kl=self.adaptive_kl,
                         save_steps=s.save_steps, seed=self.seed)

    def build_models(self) -> None:
        """Policy = 03's model + LoRA (reference = adapter disabled); value model = 04's reward model + LoRA and a
        trainable copy of its score head (reward = adapter disabled)."""
        from peft import prepare_model_for_kbit_training

        base = self.policy_base()
        if self.profile.load_in_4bit:
            base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=True)
        self.policy = with_lora(base, lora_config(self.profile))
        self.value_model = make_value_model(self.reward_model(),
                                            lora_config(self.profile, task_type="SEQ_CLS", modules_to_save=["score"]))
        self.ppo = PPOTrainer(self.policy, self.value_model, self.tok, self.prompts, self.ppo_config(),
                              output_dir=self.work_dir, publish_dir=self.publish_dir,
                              reward_suffix=turn_suffix(self.tok))

    # ---- answers and scores
    def answers_before(self) -> None:
        self.before = generate_answers(self.policy, self.tok, self.eval_conversations[:self.n_prompts],
                                       max_new_tokens=self.settings.max_length)
        with self.value_model.disable_adapter():  # the reward model
            self.eval_before = self.measure(self.policy, self.value_model)

    def measure(self, policy, reward_model) -> dict:
        """Sampled responses to the held-out prompts: KL to 03's model and mean reward (the text scored as 04 and
        TRL score it: prompt + answer through the chat template)."""
        out = evaluate_policy(policy, self.tok, self.eval_prompts, self.settings.max_length, seed=self.seed)
        scores = reward_scores(reward_model, self.tok, self.eval_conversations, out["responses"])
        return dict(reward=sum(scores) / len(scores), kl=out["kl"], response_length=out["response_length"],
                    responses=out["responses"])

    def train(self) -> None:
        with track_resources() as usage:
            self.ppo.train()
        self.log_history = self.ppo.log_history
        self.ppo_usage = usage

    def answers_after(self) -> None:
        self.after = generate_answers(self.policy, self.tok, self.eval_conversations[:self.n_prompts],
                                      max_new_tokens=self.settings.max_length)

    def evaluate(self) -> None:
        with self.value_model.disable_adapter():
            self.eval_after = self.measure(self.policy, self.value_model)
        self.save_metrics(reward_before=self.eval_before["reward"], reward_after=self.eval_after["reward"],
                          kl_after=self.eval_after["kl"], ppo_wall_s=self.ppo_usage["wall_s"],
                          ppo_peak_mb=self.ppo_usage["peak_mb"], reward_model=self.reward_source)

    def save(self) -> None:
        """Merge the policy's adapter and save the model where later stages look for it."""
        merge_and_save(self.policy, self.tok, self.output, profile=self.profile, base_source=self.base_source)
        train = [h["reward"] for h in self.log_history]
        self.save_metrics(key_metric="reward_after", first_train_reward=train[0], final_train_reward=train[-1])

    # ---- GRPO, for comparison
    def grpo_config(self):
        from trl import GRPOConfig

        s = self.settings
        return GRPOConfig(output_dir=str(self.work_dir / "grpo"), max_steps=s.max_steps,
                          per_device_train_batch_size=s.batch_size, num_generations=self.grpo_generations,
                          max_completion_length=s.max_length, learning_rate=s.learning_rate, beta=self.kl_coef,
                          temperature=1.0, logging_steps=1, save_strategy="no", report_to="none", seed=self.seed,
                          data_seed=self.seed, bf16=self.profile.bf16, fp16=self.profile.fp16,
                          gradient_checkpointing=self.profile.load_in_4bit, use_cpu=not torch.cuda.is_available(),
                          dataloader_num_workers=0, disable_tqdm=True)

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
        self.grpo_trainer = GRPOTrainer(model=self.policy_base(), reward_funcs=self.grpo_reward_model,
                                        args=self.grpo_config(),
                                        train_dataset=Dataset.from_dict({"prompt": self.train_conversations}),
                                        processing_class=self.tok, reward_processing_classes=self.tok,
                                        peft_config=lora_config(self.profile))
        fp32_trainable(self.grpo_trainer.model)
        with track_resources() as usage:
            self.grpo_trainer.train()
        self.grpo_usage = usage
        self.grpo_log_history = self.grpo_trainer.state.log_history
        self.eval_grpo = self.measure(self.grpo_trainer.model, self.grpo_reward_model)
        self.save_metrics(grpo_reward=self.eval_grpo["reward"], grpo_kl=self.eval_grpo["kl"],
                          grpo_wall_s=usage["wall_s"], grpo_peak_mb=usage["peak_mb"])

    def compare(self):
        """One table: held-out mean reward and KL, training wall time and peak memory, for 03's model, PPO and GRPO."""
        import pandas as pd

        memory = f"peak MB ({self.ppo_usage['memory']})"
        rows = {
            "03 (SFT, before)": dict(reward=self.eval_before["reward"], kl=self.eval_before["kl"]),
            "PPO (helpers.ppo)": dict(reward=self.eval_after["reward"], kl=self.eval_after["kl"],
                                      wall_s=self.ppo_usage["wall_s"], peak=self.ppo_usage["peak_mb"]),
            "GRPO (TRL)": dict(reward=self.eval_grpo["reward"], kl=self.eval_grpo["kl"],
                               wall_s=self.grpo_usage["wall_s"], peak=self.grpo_usage["peak_mb"]),
        }
        table = pd.DataFrame(rows).T.rename(columns={"reward": "mean reward (held out)", "kl": "KL to 03 (nats)",
                                                     "wall_s": "train wall time (s)", "peak": memory})
        self.comparison = table
        return table

