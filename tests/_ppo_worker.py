"""Subprocess for tests/test_ppo.py: a tiny deterministic PPO run that publishes its checkpoints.

python tests/_ppo_worker.py --out LOCAL --dest PUBLISHED --final WEIGHTS.safetensors [--resume] [--slow-after N]

--resume: continue from the newest complete checkpoint in PUBLISHED; --slow-after N: sleep after every step past N
(so that the test can SIGKILL the run after a checkpoint was published).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

STEPS, SAVE_STEPS = 6, 2


def main() -> int:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository root
    from tests.conftest import worker_args

    a = worker_args()

    import torch
    from safetensors.torch import save_file

    from tests.test_ppo import build_toy  # the same toy policy, value model, prompts and reward as the tests

    torch.set_num_threads(1)
    trainer = build_toy(steps=STEPS, save_steps=SAVE_STEPS, output_dir=a.out, publish_dir=a.dest)

    def slow(log):
        if a.slow_after is not None and log["step"] > a.slow_after:
            time.sleep(0.5)

    resumed = trainer.resume() if a.resume else None
    print(f"RESUME_FROM {resumed} AT_STEP {trainer.global_step}", flush=True)
    trainer.train(resume=False, callback=slow, progress=False)
    weights = {f"{name}.{k}": p.detach().contiguous().clone() for name, m in
               (("policy", trainer.policy), ("value", trainer.value_model))
               for k, p in m.named_parameters() if p.requires_grad}
    save_file(weights, a.final)
    print("LOGGED_STEPS", [h["step"] for h in trainer.log_history], flush=True)
    print(f"FINAL_STEP {trainer.global_step}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
