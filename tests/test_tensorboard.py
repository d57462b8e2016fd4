"""TensorBoard logging: PPO's ScalarLogger and the Trainer callback write event files TensorBoard reads back."""

from __future__ import annotations

import pytest

from helpers.env.tensorboard import ScalarLogger, stage_log_dir, trainer_callback

from .support import read_scalars


def test_scalar_logger_writes_ppo_logs(tmp_path):
    logs = [dict(step=1, reward=0.5, kl=0.01, eos_fraction=0.25, note="text", done=True),
            dict(step=2, reward=0.75, kl=0.02, eos_fraction=0.5, value_loss=float("nan")),
            dict(step=3, reward=1.0, kl=0.04, eos_fraction=1.0)]
    log_dir = stage_log_dir("ppo", tmp_path)
    with ScalarLogger(log_dir) as logger:
        for log in logs:
            logger(log)  # the PPOTrainer.train(callback=...) protocol
    assert logger.writer is None  # closed by the with block
    with pytest.raises(RuntimeError):
        logger(logs[0])
    scalars = read_scalars(log_dir)
    assert log_dir == tmp_path / "ppo" / "tensorboard"
    assert set(scalars) == {"train/reward", "train/kl", "train/eos_fraction"}  # no step, text, bool or NaN
    assert scalars["train/reward"] == [(1, 0.5), (2, 0.75), (3, 1.0)]
    assert [s for s, _ in scalars["train/kl"]] == [1, 2, 3]
    assert scalars["train/kl"][2][1] == pytest.approx(0.04)


def test_scalar_logger_counts_steps_without_step_key(tmp_path):
    logger = ScalarLogger(tmp_path, prefix="ppo/")
    logger({"reward": 1.0})
    logger({"reward": 2.0})
    logger.close()
    logger.close()  # twice is fine
    assert read_scalars(tmp_path) == {"ppo/reward": [(1, 1.0), (2, 2.0)]}


def test_resumed_run_replaces_the_steps_after_its_checkpoint(tmp_path):
    with ScalarLogger(tmp_path) as first:  # interrupted after step 4, last checkpoint at step 2
        for step in range(1, 5):
            first({"step": step, "reward": float(step)})
    with ScalarLogger(tmp_path) as resumed:
        for step in range(3, 6):
            resumed({"step": step, "reward": 10.0 * step})
    assert read_scalars(tmp_path)["train/reward"] == [(1, 1.0), (2, 2.0), (3, 30.0), (4, 40.0), (5, 50.0)]


def test_logging_dir_is_gone_from_training_arguments():
    """Why the stages pass trainer_callback(): transformers 5.x has no TrainingArguments.logging_dir."""
    from transformers import TrainingArguments

    assert "logging_dir" not in TrainingArguments.__dataclass_fields__


@pytest.mark.slow
def test_trainer_callback_writes_to_the_stage_folder(tmp_path, tiny_profile, tiny_tokenizer):
    import torch
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments, default_data_collator

    from helpers.lm.models import build_tiny_causal_lm

    torch.set_num_threads(1)
    ids = tiny_tokenizer("The patient reports a headache and mild fever.")["input_ids"][:12]
    data = Dataset.from_dict({"input_ids": [ids] * 8, "labels": [ids] * 8, "attention_mask": [[1] * len(ids)] * 8})
    log_dir = stage_log_dir("sft", tmp_path / "run")
    args = TrainingArguments(output_dir=str(tmp_path / "work"), max_steps=3, per_device_train_batch_size=4,
                             learning_rate=1e-3, logging_steps=1, save_strategy="no", report_to="none",
                             use_cpu=True, dataloader_num_workers=0, disable_tqdm=True)
    trainer = Trainer(model=build_tiny_causal_lm(tiny_profile, tiny_tokenizer), args=args, train_dataset=data,
                      data_collator=default_data_collator, callbacks=[trainer_callback(log_dir)])
    trainer.train()
    scalars = read_scalars(log_dir)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert [s for s, _ in scalars["train/loss"]] == [1, 2, 3]
    assert [v for _, v in scalars["train/loss"]] == pytest.approx(losses, rel=1e-5)
    assert "train/learning_rate" in scalars
    assert not (tmp_path / "work" / "runs").exists()  # nothing in the Trainer's default folder
