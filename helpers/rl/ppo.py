"""PPO for language models, small enough to read in one sitting (Ziegler et al. 2019, Ouyang et al. 2022).

One PPO step (`PPOTrainer.step`):

1. rollout: sample a response to each prompt from the policy (the causal LM with its LoRA adapter on), at most
   `max_new_tokens` tokens; the first EOS ends a response and every token after it is masked out;
2. score: the reward model reads prompt + response and its score head is read at the last response token
   (a reward function on token ids can stand in for it); a response cut off without EOS loses
   `missing_eos_penalty`;
3. KL: per response token, log π(token) − log π_ref(token), with π_ref the same network with the adapter disabled;
   each token's reward is −β·KL, and the last one also gets the score. β is fixed or adapted (Ziegler et al.);
4. GAE: advantages and returns from those rewards and the value model's per-token values (`compute_advantages`),
   then the advantages are whitened over the batch;
5. update: `ppo_epochs` passes over minibatches: clipped policy loss (`policy_loss`) + clipped value loss
   (`value_loss`), one AdamW step per minibatch.

This module holds the trainer; the losses, GAE and β are in helpers.rl.losses, sampling and scoring in
helpers.rl.rollout.

The value model is 04's reward model (a causal-LM backbone + a one-output linear `score` head, as
AutoModelForSequenceClassification builds it) applied at every position instead of only the last one, so its
values start as the reward model's own estimates. It is trained with LoRA on the backbone and a trainable copy of
the score head (peft `modules_to_save`). With that adapter disabled the same network *is* the frozen reward model:
one backbone serves reward and value, as the policy's backbone serves policy and reference.

Sampling draws from exactly softmax(logits / T) of the policy, the distribution whose log-probs PPO computes: the
model's own generation_config (repetition penalty, top-k, ...) is ignored (helpers.lm.generation).

Precision: a model that holds float16/bfloat16 weights runs its forward passes under autocast in that dtype (its
float32 LoRA weights and value head copy stay float32); log-probs, values, rewards, advantages and losses are float32.
With float16 the loss is scaled (torch.amp.GradScaler) so that small gradients do not underflow; a step whose
gradients overflowed is skipped and the scale lowered. A loss that is itself inf or NaN stops training with
NonFiniteLossError before the optimizer steps.

Checkpoints: `<output_dir>/checkpoint-<step>/` holds both adapters (policy/, value/), the optimizer, the gradient
scaler, the step, β, the log and the RNG state, and is published with helpers.lm.checkpoints.publish; `train()` resumes
from latest_complete. Each step's randomness (sampling, minibatch order) is seeded from (seed, step), so a resumed run
repeats the uninterrupted one exactly.

Several processes (`torchrun --nproc_per_node N`, helpers.env.distributed), data parallel as the Trainer's DDP: every
process holds the whole policy and value model and rolls out its own `batch_size` prompts (rank r takes the r-th
share of the step's global batch of batch_size × N prompts, so batch_size is per process and the batch grows with N);
its sampling is seeded from (seed, step, rank). The gradients of the trained weights are averaged over the processes
before clipping, so every process takes the same optimizer step and the weights stay equal; the whitening of the
advantages, the logged statistics and the adaptive β use the global batch. Rank 0 alone writes and publishes
checkpoints; every process resumes from the same one. With one process no collective call is made.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..env.distributed import (all_reduce_mean, average_gradients, barrier, broadcast_object, broadcast_parameters,
                               gather_objects, init_from_env, is_main, rank, world)
from ..env.settings import Settings, knob
from ..lm.models import half_dtype
from ..lm.unpadded import row_by_row_on_cpu, window_rows
from .losses import (AdaptiveKL, FixedKL, compute_advantages, entropy_of, kl_rewards, logprobs_of, masked_mean,
                     masked_whiten, policy_loss, value_loss)
from .resources import return_freed_memory, track_resources
from .rollout import (RewardFn, append_turn_suffix, encode_prompts, left_pad, make_value_model, positions,
                      response_logits, response_mask, sample, sequence_scores, token_scores, turn_suffix)

__all__ = ["NonFiniteLossError", "PPOConfig", "PPOTrainer",
           # defined in helpers.rl.losses, .rollout and .resources; re-exported for the code that imports them from here
           "AdaptiveKL", "FixedKL", "compute_advantages", "entropy_of", "kl_rewards", "logprobs_of", "masked_mean",
           "masked_whiten", "policy_loss", "value_loss", "RewardFn", "encode_prompts", "left_pad",
           "make_value_model", "positions", "append_turn_suffix", "response_logits", "response_mask", "sample", "sequence_scores",
           "token_scores", "turn_suffix", "return_freed_memory", "track_resources"]


class NonFiniteLossError(FloatingPointError):
    """A PPO loss (or, without a gradient scaler, a gradient) came out inf or NaN; the optimizer did not step."""


@dataclass(frozen=True)
class PPOConfig(Settings):
    """PPO's knobs, each with its one default: the course's recipe for Qwen2.5-0.5B on a free T4; a profile overrides
    some (helpers.env.profiles), and helpers.stages.ppo.PPOSettings adds the stage's own."""

    # -- rollouts
    max_steps: int = knob(60, "PPO steps: one rollout and its updates each")
    batch_size: int = knob(8, "prompts, and so responses, per rollout and process (× N processes under torchrun)")
    max_new_tokens: int = knob(128, "response length cap")
    max_prompt_length: int = knob(256, "longer prompts keep their last tokens")
    temperature: float = knob(1.0, "sampling temperature of the rollouts")
    # -- the update
    mini_batch_size: int = knob(4, "responses per gradient step")
    ppo_epochs: int = knob(2, "passes over each rollout")
    learning_rate: float = knob(1e-5, "AdamW learning rate of the policy's and value model's LoRA weights")
    cliprange: float = knob(0.2, "ε of the policy ratio")
    cliprange_value: float = knob(0.2, "how far a value may move from its rollout value before it is clipped")
    vf_coef: float = knob(0.1, "loss = policy loss + vf_coef * value loss")
    whiten_advantages: bool = knob(True, "advantages scaled to mean 0, std 1 per rollout")
    max_grad_norm: float = knob(1.0, "gradient clipping")
    gamma: float = knob(1.0, "discount of GAE")
    lam: float = knob(0.95, "λ of GAE: 1 = Monte Carlo returns, 0 = one-step TD")
    # -- the reward
    kl_coef: float = knob(0.05, "β: the per-token KL penalty to the reference (its starting value when adaptive)")
    adaptive_kl: bool = knob(False, "adapt β to hold target_kl (Ziegler et al., 2019)")
    target_kl: float = knob(6.0, "adaptive: the KL per response (nats) to hold")
    kl_horizon: int = knob(10000, "adaptive: how fast β follows (responses)")
    missing_eos_penalty: float = knob(3.0, "subtracted from the reward of a response cut off at max_new_tokens; larger "
                                           "than the spread of the reward model's scores, so that ending always pays")
    # -- saving
    save_steps: int = knob(10, "a checkpoint every this many steps (0: only at the end)")
    seed: int = knob(0, "seed of sampling and initialisation")


# ---------------------------------------------------------------- the trainer


class PPOTrainer:
    """PPO on `policy` (a peft causal LM) with `value_model` (a peft sequence classifier, see make_value_model).

    The reward is `reward_fn(prompt_ids, response_ids)` when given, else the value model with its adapter disabled
    (the reward model it was made from), read at the last token of prompt + response (+ `reward_suffix` after an
    EOS, see turn_suffix). `log_history` holds one dict per step (helpers.env.plots.plot_curves reads it). Under torchrun
    it joins the process group (helpers.env.distributed) and every process starts from rank 0's trained weights.
    """

    def __init__(self, policy, value_model, tokenizer, prompts: Sequence[list[int]], config: PPOConfig,
                 reward_fn: RewardFn | None = None, output_dir: str | Path | None = None,
                 publish_dir: str | Path | None = None, reward_suffix: Sequence[int] = ()):
        self.policy, self.value_model, self.tok, self.config = policy, value_model, tokenizer, config
        self.prompts, self.reward_fn, self.reward_suffix = [list(p) for p in prompts], reward_fn, list(reward_suffix)
        self.output_dir = Path(output_dir) if output_dir else None
        self.publish_dir = Path(publish_dir) if publish_dir else None
        self.device = next(policy.parameters()).device
        init_from_env()
        self.rank, self.world = rank(), world()
        self.params = [p for m in (policy, value_model) for p in m.parameters() if p.requires_grad]
        broadcast_parameters(self.params)  # as DDP does: the same starting point on every process
        self.optimizer = torch.optim.AdamW(self.params, lr=config.learning_rate)
        fp16 = any(half_dtype(m) == torch.float16 for m in (policy, value_model))
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=fp16)  # off: scale() and unscale_() do nothing
        self.kl_ctl = (AdaptiveKL(config.kl_coef, config.target_kl, config.kl_horizon) if config.adaptive_kl
                       else FixedKL(config.kl_coef))
        self.global_step = 0
        self.log_history: list[dict] = []

    # ---- 1. rollout
    def batch_indices(self, step: int) -> list[int]:
        """Indices of this process's prompts at step `step`. A fresh seeded shuffle per pass over the prompt set gives
        the step's global batch of batch_size × world size prompts; rank r takes the r-th batch_size of them."""
        n, b = len(self.prompts), self.config.batch_size * self.world
        order: list[int] = []
        epoch = step * b // n
        while len(order) < (step * b % n) + b:
            g = torch.Generator().manual_seed(self.config.seed * 100_003 + epoch)
            order += torch.randperm(n, generator=g).tolist()
            epoch += 1
        start = step * b % n + self.rank * self.config.batch_size
        return order[start:start + self.config.batch_size]

    def batch_prompts(self, step: int) -> list[list[int]]:
        return [self.prompts[i] for i in self.batch_indices(step)]

    def sampling_seed(self, step: int) -> int:
        """The seed of the responses sampled at `step` on this process: from (seed, step, rank)."""
        return self.config.seed * 1_000_003 + step + self.rank * 1_000_000_007

    @torch.no_grad()
    def rollout(self, step: int) -> dict:
        """Responses, their log-probs under policy and reference, values, scores, per-token rewards and GAE."""
        c = self.config
        query, query_mask, responses = sample(self.policy, self.tok, self.batch_prompts(step), c.max_new_tokens,
                                              c.temperature, seed=self.sampling_seed(step))
        mask, has_eos = response_mask(responses, self.tok.eos_token_id)
        batch = dict(query=query, query_mask=query_mask, responses=responses, mask=mask, has_eos=has_eos)
        self.value_model.eval()
        parts: dict[str, list] = {k: [] for k in ("logprobs", "ref_logprobs", "values", "entropy", "scores")}
        for rows in torch.arange(len(query)).split(c.mini_batch_size):  # in chunks: logits are [rows, length, vocab]
            sub = {k: v[rows] for k, v in batch.items()}
            logits = self.response_logits(self.policy, sub)
            parts["logprobs"].append(logprobs_of(logits, sub["responses"]))
            parts["entropy"].append(entropy_of(logits))
            with self.policy.disable_adapter():  # the reference: the model we started from
                parts["ref_logprobs"].append(logprobs_of(self.response_logits(self.policy, sub), sub["responses"]))
            parts["values"].append(self.response_values(sub))
            if self.reward_fn is None:
                ids, attn = self.scored_sequences(sub)
                with self.value_model.disable_adapter():  # the reward model
                    parts["scores"].append(row_by_row_on_cpu(lambda i, a: sequence_scores(self.value_model, i, a),
                                                             ids, attn, right=True))
            else:
                parts["scores"].append(torch.tensor([float(self.reward_fn(q[m.bool()].tolist(), r[k].tolist()))
                                                     for q, m, r, k in zip(sub["query"], sub["query_mask"],
                                                                           sub["responses"], sub["mask"])],
                                                    device=self.device))
        batch.update({k: torch.cat(v) for k, v in parts.items()})
        batch["scores"] = batch["scores"] - c.missing_eos_penalty * (~has_eos).float()
        batch["rewards"], batch["kl"] = kl_rewards(batch["scores"], batch["logprobs"], batch["ref_logprobs"], mask,
                                                   self.kl_ctl.value)
        batch["advantages"], batch["returns"] = compute_advantages(batch["rewards"], batch["values"], mask, c.gamma,
                                                                   c.lam)
        if c.whiten_advantages:
            batch["advantages"] = masked_whiten(batch["advantages"], mask, global_batch=True)
        return batch

    def sequences(self, b: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompt + response ids and their attention mask (left padding and tokens after EOS are 0)."""
        return torch.cat([b["query"], b["responses"]], 1), torch.cat([b["query_mask"], b["mask"].long()], 1)

    def scored_sequences(self, b: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """What the reward model reads: prompt + response, and reward_suffix after each response that ended."""
        return append_turn_suffix(*self.sequences(b), b["query"].shape[1], b["mask"], b["has_eos"],
                                  self.reward_suffix, self.tok.pad_token_id)

    def response_logits(self, model, b: dict) -> torch.Tensor:
        """Logits that predict each response token (position t − 1 predicts token t), divided by the temperature, in
        float32; on a CPU computed over each row's real tokens only (window_rows), 0 after its EOS."""
        ids, attn = self.sequences(b)
        logits = window_rows(lambda i, a, keep: response_logits(model, i, a, keep - 1), ids, attn,
                             b["query"].shape[1] - 1, b["responses"].shape[1])
        return logits / self.config.temperature

    def response_values(self, b: dict) -> torch.Tensor:
        """V(state before each response token): the value head at the position that predicts that token."""
        ids, attn = self.sequences(b)
        return window_rows(lambda i, a, keep: token_scores(self.value_model, i, a)[:, -keep:-1], ids, attn,
                           b["query"].shape[1] - 1, b["responses"].shape[1])

    # ---- 2. update
    def update(self, batch: dict, step: int) -> dict:
        """ppo_epochs passes over shuffled minibatches: clipped policy loss + vf_coef · clipped value loss. Under
        torchrun each process computes the loss on its own minibatch and the gradients are averaged (as DDP does)."""
        c = self.config
        self.policy.train()
        self.value_model.train()
        g = torch.Generator().manual_seed(c.seed * 1_000_003 + step)
        stats: dict[str, list[float]] = {k: [] for k in ("policy_loss", "value_loss", "clipfrac", "value_clipfrac",
                                                         "approx_kl")}
        for _ in range(c.ppo_epochs):
            for rows in torch.randperm(len(batch["query"]), generator=g).split(c.mini_batch_size):
                mb = {k: v[rows.to(v.device)] for k, v in batch.items()}
                logprobs = logprobs_of(self.response_logits(self.policy, mb), mb["responses"])
                values = self.response_values(mb)
                pg_loss, clipfrac = policy_loss(logprobs, mb["logprobs"], mb["advantages"], mb["mask"], c.cliprange)
                vf_loss, vf_clipfrac = value_loss(values, mb["values"], mb["returns"], mb["mask"], c.cliprange_value)
                loss = pg_loss + c.vf_coef * vf_loss
                with torch.no_grad():
                    approx_kl = 0.5 * masked_mean((logprobs - mb["logprobs"]) ** 2, mb["mask"])
                logged = all_reduce_mean(torch.stack([pg_loss, vf_loss, clipfrac, vf_clipfrac, approx_kl]).detach())
                self.check_finite(step, batch, policy_loss=logged[0], value_loss=logged[1])  # on every process
                self.optimizer.zero_grad()
                self.scaler.scale(loss).backward()
                average_gradients(self.params)  # every process steps with the same gradients
                self.scaler.unscale_(self.optimizer)  # clip the true gradients
                grad_norm = torch.nn.utils.clip_grad_norm_(self.params, c.max_grad_norm)
                if not self.scaler.is_enabled():  # with a scaler, inf gradients are normal: it skips the step
                    self.check_finite(step, batch, gradient_norm=grad_norm)
                self.scaler.step(self.optimizer)
                self.scaler.update()
                for k, v in zip(stats, logged.tolist()):
                    stats[k].append(v)
        self.policy.eval()
        self.value_model.eval()
        return {k: sum(v) / len(v) for k, v in stats.items()}

    def check_finite(self, step: int, batch: dict, **values: torch.Tensor) -> None:
        """Stop with NonFiniteLossError, before the optimizer steps, when one of `values` is inf or NaN."""
        bad = {name: float(v.detach()) for name, v in values.items() if not torch.isfinite(v).all()}
        if not bad:
            return
        names = ", ".join(f"{name.replace('_', ' ')} = {v}" for name, v in bad.items())
        raise NonFiniteLossError(
            f"PPO step {step + 1}: {names} (mean score of the rollout: {float(batch['scores'].mean()):.4g}); the "
            "optimizer did not step. Try a lower learning_rate, a GPU with bfloat16 instead of float16 (not a T4), "
            "a smaller max_new_tokens, or check the reward model / reward function if the score is not finite.")

    def step(self) -> dict:
        """One PPO step: rollout, update, adapt β, log."""
        started = time.perf_counter()
        batch = self.rollout(self.global_step)
        stats = self.update(batch, self.global_step)
        per_response = torch.stack([batch["scores"].mean(), batch["kl"].sum(1).mean(),
                                    batch["mask"].sum(1).float().mean(), batch["has_eos"].float().mean()])
        reward, kl, length, eos = all_reduce_mean(per_response).tolist()  # every process has batch_size responses
        log = dict(step=self.global_step + 1, reward=reward, kl=kl,
                   entropy=float(masked_mean(batch["entropy"], batch["mask"], global_batch=True)),
                   kl_coef=self.kl_ctl.value, response_length=length, eos_fraction=eos, **stats,
                   step_seconds=time.perf_counter() - started)
        self.kl_ctl.update(kl, len(batch["query"]) * self.world)
        self.global_step += 1
        self.log_history.append(log)
        del batch
        if self.device.type == "cpu":
            return_freed_memory()
        return log

    def train(self, resume: bool = True, callback: Callable[[dict], None] | None = None,
              progress: bool = True) -> list[dict]:
        """Steps up to config.max_steps; a checkpoint every save_steps and at the end; first, when `resume`, loads the
        newest complete checkpoint published to publish_dir. `progress`: a progress bar (ETA, newest reward, KL and
        share of answers that end); every step's numbers are in log_history (plot them) and go to `callback`."""
        from tqdm.auto import tqdm

        if resume:
            self.resume()
        c = self.config
        bar = tqdm(total=c.max_steps, initial=self.global_step, desc="PPO steps", disable=not (progress and is_main()),
                   dynamic_ncols=True)
        try:
            while self.global_step < c.max_steps:
                log = self.step()
                bar.set_postfix(reward=f"{log['reward']:.3g}", kl=f"{log['kl']:.3g}", eos=f"{log['eos_fraction']:.2f}",
                                refresh=False)
                bar.update(1)
                if callback:
                    callback(log)
                if self.global_step == c.max_steps or (c.save_steps and self.global_step % c.save_steps == 0):
                    self.save_checkpoint()
        finally:
            bar.close()
        return self.log_history

    # ---- checkpoints
    def save_checkpoint(self) -> Path | None:
        """Write checkpoint-<step> (adapters, optimizer, step, β, log, RNG) to output_dir; publish it. Under torchrun
        rank 0 writes it (the weights and optimizer are the same on every process; each one's RNG state is gathered
        into rng_state_<rank>.pt) while the others wait."""
        if self.output_dir is None:
            return None
        from ..lm.checkpoints import publish
        from ..env.runs import shown

        folder = self.output_dir / f"checkpoint-{self.global_step}"
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        rngs = gather_objects(rng)  # [rank 0's, rank 1's, ...]
        if is_main():
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            self.policy.save_pretrained(folder / "policy")
            self.value_model.save_pretrained(folder / "value")
            torch.save(self.optimizer.state_dict(), folder / "optimizer.pt")
            torch.save(self.scaler.state_dict(), folder / "scaler.pt")  # empty without float16
            for r, state in enumerate(rngs):
                torch.save(state, folder / (f"rng_state_{r}.pt" if r else "rng_state.pt"))
            state = dict(global_step=self.global_step, kl_coef=self.kl_ctl.value, log_history=self.log_history,
                         config=asdict(self.config), world_size=self.world)
            (folder / "trainer_state.json").write_text(json.dumps(state, indent=1))
            for old in sorted(self.output_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))[:-2]:
                shutil.rmtree(old, ignore_errors=True)  # keep the two newest locally
            if self.publish_dir is not None:
                published = publish(folder, self.publish_dir, keep=2)
                print(f"Published {shown(published)}.", flush=True)
        barrier()
        return folder

    def resume(self) -> str | None:
        """Load the newest complete published checkpoint (copied into output_dir first); its path, or None. Under
        torchrun rank 0 finds and copies it and every process loads that one."""
        from ..lm.checkpoints import checkpoint_mismatch, resume_from, set_aside
        from ..env.runs import shown

        if self.output_dir is None or self.publish_dir is None:
            return None
        path = resume_from(self.publish_dir, self.output_dir) if is_main() else None
        why = path and (checkpoint_mismatch(Path(path) / "policy", self.policy)
                        or checkpoint_mismatch(Path(path) / "value", self.value_model))
        if why:  # saved by a run with another model or LoRA rank: keep it aside, start from step 0
            moved = set_aside(self.publish_dir)
            print(f"Not resuming from {shown(Path(path))}: it was saved by a run with other settings ({why}). The "
                  f"earlier checkpoints are kept in {shown(moved)}; PPO starts from step 0.", flush=True)
            path = None
        path = broadcast_object(path)
        if path is not None:
            self.load_checkpoint(path)
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        from peft import set_peft_model_state_dict
        from peft.utils import load_peft_weights

        from ..env.runs import shown

        folder = Path(path)
        for name, model in (("policy", self.policy), ("value", self.value_model)):
            result = set_peft_model_state_dict(model, load_peft_weights(str(folder / name), device=str(self.device)))
            if result.unexpected_keys:
                raise ValueError(f"{folder / name} does not fit this model: unexpected {result.unexpected_keys[:3]}")
        self.optimizer.load_state_dict(torch.load(folder / "optimizer.pt", map_location=self.device))
        if (folder / "scaler.pt").exists():
            self.scaler.load_state_dict(torch.load(folder / "scaler.pt"))
        own = folder / f"rng_state_{self.rank}.pt"  # absent with one process, or when resumed by more processes
        rng = torch.load(own if own.exists() else folder / "rng_state.pt", weights_only=False)
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        state = json.loads((folder / "trainer_state.json").read_text())
        self.global_step, self.kl_ctl.value = state["global_step"], state["kl_coef"]
        self.log_history = state["log_history"]
        if is_main():
            print(f"Resumed PPO at step {self.global_step} from {shown(folder)}.", flush=True)
            if state.get("world_size", 1) != self.world:
                print(f"It was written by {state.get('world_size', 1)} processes, resumed by {self.world}: the global "
                      "batch and the sampling seeds change from here on.", flush=True)
