"""Subprocess for tests/test_distributed.py: the toy PPO run of tests/test_ppo.py, one copy per torchrun process.

torchrun --standalone --nproc_per_node N tests/_ddp_ppo_worker.py --out LOCAL --dest PUBLISHED --final PREFIX
    [--resume] [--slow-after S] [--steps 6] [--save-steps 2] [--batch-size 4] [--mini-batch-size 2] [--greedy]
    [--evaluate]

Rank r writes its output to PREFIX.rank<r>.log and its trained weights to PREFIX.rank<r>.safetensors. It prints
OPTIMIZER_STEP (in a process group? of how many?) before every optimizer step, LOG (the step's log and this rank's
prompt indices) after every PPO step and PUBLISH for every checkpoint it publishes itself. --greedy: rollouts decode
greedily (no sampling noise: a test compares runs with different numbers of processes); --evaluate: EVAL, the mean
toy reward and KL of sampled answers to the evaluation prompts, before and after training.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def redirect_output(prefix: str) -> int:
    """Send this process's stdout and stderr to PREFIX.rank<r>.log; its rank."""
    rank = int(os.environ.get("RANK", "0"))
    log = os.open(f"{prefix}.rank{rank}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, 1)
    os.dup2(log, 2)
    return rank


def main() -> int:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository root
    parser = argparse.ArgumentParser()
    for name in ("--out", "--dest", "--final"):
        parser.add_argument(name, required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--slow-after", type=int)
    parser.add_argument("--greedy", action="store_true")
    parser.add_argument("--evaluate", action="store_true")
    for name, default in (("--steps", 6), ("--save-steps", 2), ("--batch-size", 4), ("--mini-batch-size", 2)):
        parser.add_argument(name, type=int, default=default)
    a = parser.parse_args()
    rank = redirect_output(a.final)

    import torch
    import torch.distributed as dist
    from safetensors.torch import save_file

    from helpers.lm import checkpoints
    from helpers.rl import ppo
    from tests.support import evaluate_policy
    from tests.test_ppo import build_toy, toy_reward  # the same toy models, prompts and reward as tests/test_ppo.py

    torch.set_num_threads(1)
    real_publish = checkpoints.publish

    def publish(folder, dest, keep=2):
        print(f"PUBLISH rank={rank} {os.path.basename(folder)}", flush=True)
        return real_publish(folder, dest, keep=keep)

    checkpoints.publish = publish
    if a.greedy:
        sample = ppo.sample
        ppo.sample = lambda *args, seed=0, **kwargs: sample(*args, seed=None, **kwargs)
    trainer = build_toy(steps=a.steps, save_steps=a.save_steps, output_dir=a.out, publish_dir=a.dest,
                        batch_size=a.batch_size, mini_batch_size=a.mini_batch_size)

    def before_optimizer_step(optimizer, args, kwargs):
        grouped = dist.is_initialized()
        print(f"OPTIMIZER_STEP initialized={grouped} world={dist.get_world_size() if grouped else 1}", flush=True)

    trainer.optimizer.register_step_pre_hook(before_optimizer_step)

    def after_step(log):
        print("LOG", json.dumps(dict(log, rank=rank, indices=trainer.batch_indices(log["step"] - 1))), flush=True)
        if a.slow_after is not None and log["step"] > a.slow_after:
            time.sleep(1.0)

    def evaluate(when):
        if a.evaluate:
            out = evaluate_policy(trainer.policy, trainer.tok, trainer.eval_prompts, 2, reward_fn=toy_reward)
            print("EVAL", json.dumps(dict(when=when, reward=out["reward"], kl=out["kl"])), flush=True)

    resumed = trainer.resume() if a.resume else None
    print(f"RESUME_FROM {resumed} AT_STEP {trainer.global_step}", flush=True)
    evaluate("before")
    trainer.train(resume=False, callback=after_step, progress=False)  # the log is parsed line by line
    evaluate("after")
    weights = {f"{name}.{k}": p.detach().contiguous().clone() for name, m in
               (("policy", trainer.policy), ("value", trainer.value_model))
               for k, p in m.named_parameters() if p.requires_grad}
    save_file(weights, f"{a.final}.rank{rank}.safetensors")
    print("LOGGED_STEPS", [h["step"] for h in trainer.log_history], flush=True)
    print(f"FINAL_STEP {trainer.global_step}", flush=True)
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
