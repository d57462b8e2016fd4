"""Subprocess for tests/test_checkpoints.py: a tiny deterministic SFT run that publishes its checkpoints.

python tests/_train_worker.py --out LOCAL --dest PUBLISHED --final WEIGHTS.safetensors [--resume] [--slow-after N]

--resume: resume_from(PUBLISHED, LOCAL) and continue from there; --slow-after N: sleep after every step past N
(so a test can SIGKILL the run mid-training, after a checkpoint was published).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

STEPS, SAVE_STEPS, BATCH, SEED = 12, 4, 2, 1234
CHATS = [
    {"conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]}
    for q, a in [
        ("I have a headache and mild fever.", "Drink water, rest, and see a doctor if the fever lasts."),
        ("患者自述头痛伴低热两天。", "建议多喝水、注意休息。"),
        ("What is hypertension?", "Hypertension is high blood pressure; check it regularly."),
        ("高血压患者应注意什么？", "低盐饮食，规律服药，定期监测血压。"),
        ("Should I rest with a fever?", "Yes, rest and drink water."),
        ("发热超过三天怎么办？", "请及时就医。"),
    ]
]  # 6 chats, batch 2: 3 steps an epoch, so the checkpoint at step 4 is one batch into the second epoch


def main() -> int:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from conftest import SAMPLE, worker_args  # the same tokenizer as the tiny_tokenizer fixture

    a = worker_args()

    import torch
    from safetensors.torch import save_file
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer


    from helpers.lm.checkpoints import PublishCallback, resume_from
    from helpers.env.data import normalise_records
    from helpers.lm.models import build_tiny_causal_lm
    from helpers.env.profiles import get_profile
    from helpers.lm.tokenizer import byte_level_bpe, to_transformers

    torch.set_num_threads(1)
    tokenizer = to_transformers(byte_level_bpe(SAMPLE, vocab_size=400))
    model = build_tiny_causal_lm(get_profile("tiny"), tokenizer, seed=0)

    class Slow(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if a.slow_after is not None and state.global_step > a.slow_after:
                time.sleep(0.5)

    config = SFTConfig(output_dir=a.out, max_steps=STEPS, save_steps=SAVE_STEPS, save_strategy="steps",
                       per_device_train_batch_size=BATCH, learning_rate=1e-3, max_length=64, seed=SEED,
                       data_seed=SEED, dataloader_num_workers=0, use_cpu=True, report_to="none",
                       logging_steps=1, disable_tqdm=True, dataset_num_proc=None)
    trainer = SFTTrainer(model=model, args=config, train_dataset=normalise_records(CHATS, "sft"),
                         processing_class=tokenizer, callbacks=[PublishCallback(a.dest, keep=2), Slow()])
    checkpoint = resume_from(a.dest, a.out) if a.resume else None
    print(f"RESUME_FROM {checkpoint}", flush=True)
    trainer.train(resume_from_checkpoint=checkpoint)
    weights = {k: v.detach().contiguous().clone() for k, v in trainer.model.state_dict().items()}
    save_file(weights, a.final)
    print(f"FINAL_STEP {trainer.state.global_step}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
