"""Subprocess for tests/test_distributed.py: `python -m helpers.stages STAGE ...`, one copy per torchrun process,
with probes.

torchrun --standalone --nproc_per_node N tests/_ddp_stage_worker.py PREFIX STAGE [runner arguments]

Rank r writes its output to PREFIX.rank<r>.log and, after the train step, its trained weights to
PREFIX.rank<r>.safetensors. It prints BATCH (a hash of each batch it trains on), OPTIMIZER_STEP (in a process
group? of how many?) after every optimizer step, PUBLISH / SAVE_MODEL when it publishes a checkpoint / saves the final
model itself, and METRICS (its stage's metrics) at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> int:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository root
    from tests._ddp_ppo_worker import redirect_output

    prefix, argv = sys.argv[1], sys.argv[2:]
    rank = redirect_output(prefix)

    import torch
    import torch.distributed as dist
    from safetensors.torch import save_file
    from transformers import TrainerCallback

    from helpers.lm import checkpoints
    from helpers.stages import stage_class
    from helpers.stages.__main__ import main as run_stage

    torch.set_num_threads(1)
    cls = stage_class(argv[0])
    module = sys.modules[cls.__module__]

    def probe(name, fn):
        def wrapped(*args, **kwargs):
            print(f"\n{name} rank={rank}", flush=True)
            return fn(*args, **kwargs)
        return wrapped

    checkpoints.publish = probe("PUBLISH", checkpoints.publish)
    module.merge_and_save = probe("SAVE_MODEL", module.merge_and_save)

    class Steps(TrainerCallback):
        def on_optimizer_step(self, args, state, control, **kwargs):
            grouped = dist.is_initialized()
            world = dist.get_world_size() if grouped else 1
            print(f"\nOPTIMIZER_STEP initialized={grouped} world={world}", flush=True)

    build_trainer, train = cls.build_trainer, cls.train

    def probed_build_trainer(self):
        build_trainer(self)
        self.trainer.add_callback(Steps())
        step = self.trainer.training_step

        def training_step(model, inputs, *args, **kwargs):
            ids = inputs["input_ids"].detach().cpu().numpy().tobytes()
            print(f"\nBATCH {hashlib.sha256(ids).hexdigest()[:16]}", flush=True)  # after a progress bar
            return step(model, inputs, *args, **kwargs)

        self.trainer.training_step = training_step

    def probed_train(self):
        train(self)
        weights = {k: p.detach().contiguous().clone() for k, p in self.model.named_parameters() if p.requires_grad}
        save_file(weights, f"{prefix}.rank{rank}.safetensors")

    cls.build_trainer, cls.train = probed_build_trainer, probed_train
    run = cls.run

    def probed_run(self):
        metrics = run(self)
        print("METRICS", json.dumps(metrics, default=str), flush=True)
        return metrics

    cls.run = probed_run
    return run_stage(argv)


if __name__ == "__main__":
    sys.exit(main())
