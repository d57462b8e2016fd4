"""helpers.lm.lm_head: on a CPU, TRL's fused head is answered by full logits with the same loss, gradients and metrics;
helpers.lm.models.prepare_4bit_base: a 4-bit base (bitsandbytes' CPU backend) keeps its 16-bit weights and trains LoRA."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from helpers.lm.lm_head import full_logits_head

OUTPUTS = ("log_probs", "entropy", "mean_logits", "is_top1", "log_sum_sq_probs")


def test_full_logits_equal_trls_fused_head(tiny_model, tiny_tokenizer):
    from trl.trainer.utils import add_fused_lm_head

    fused, full = tiny_model, copy.deepcopy(tiny_model)
    add_fused_lm_head(fused, outputs=OUTPUTS)
    add_fused_lm_head(full, outputs=OUTPUTS)
    assert full_logits_head(full)
    torch.manual_seed(0)
    ids = torch.randint(5, len(tiny_tokenizer), (2, 16))
    labels = ids.clone()
    labels[:, :6] = -100  # a prompt: no loss there
    a = fused(input_ids=ids, labels=labels, fused_lm_head=True)
    b = full(input_ids=ids, labels=labels, fused_lm_head=True)
    for name in ("loss", "label_mask") + OUTPUTS:
        assert torch.allclose(getattr(a, name).float(), getattr(b, name).float(), atol=1e-5), name
    a.loss.backward()
    b.loss.backward()
    for pa, pb in zip(fused.parameters(), full.parameters()):
        assert torch.allclose(pa.grad, pb.grad, atol=1e-6)
    assert full(input_ids=ids).logits.shape == (2, 16, len(tiny_tokenizer))  # the plain forward is unchanged


def test_sft_trainer_on_a_cpu_never_runs_the_fused_kernel(tiny_model, tiny_tokenizer, tmp_path, monkeypatch):
    """After full_logits_head the SFTTrainer's loss and metrics come from full logits, equal to TRL's own."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer
    import trl.trainer.utils as trl_utils

    from helpers.lm.models import lora_config, with_lora
    from helpers.env.profiles import get_profile

    data = Dataset.from_dict({"text": ["The patient reports a headache and mild fever."] * 4})
    args = SFTConfig(output_dir=str(tmp_path), max_steps=1, report_to="none", use_cpu=True, max_length=32,
                     packing=True, padding_free=True, dataset_num_proc=None)
    trainer = SFTTrainer(model=with_lora(tiny_model, lora_config(get_profile("tiny"))), args=args,
                         train_dataset=data, processing_class=tiny_tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    expected = trainer.compute_loss(trainer.model, dict(batch))
    metrics = {k: v[-1] for k, v in trainer._metrics["train"].items() if k != "num_tokens"}
    assert full_logits_head(trainer.model)

    def refuse(*args, **kwargs):
        raise AssertionError("the fused kernel ran")

    monkeypatch.setattr(trl_utils._ChunkedLogProbFunction, "apply", refuse)
    loss = trainer.compute_loss(trainer.model, dict(batch))
    assert torch.allclose(loss, expected, atol=1e-5)
    for name, value in metrics.items():
        assert trainer._metrics["train"][name][-1] == pytest.approx(value, abs=1e-4), name


def test_prepare_4bit_base_keeps_16_bit_weights_and_trains_lora(tmp_path, tiny_profile, tiny_tokenizer):
    """bitsandbytes (pyproject's dev extra) loads NF4 on a CPU; no fp32 upcast, checkpointing on, LoRA fp32 learns."""
    pytest.importorskip("bitsandbytes")
    from transformers import AutoModelForCausalLM

    from helpers.lm.models import lora_config, prepare_4bit_base, quantization_config, tiny_config, with_lora
    from helpers.env.profiles import get_profile

    t4 = get_profile("t4")
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(tiny_config(tiny_profile, tiny_tokenizer)).to(torch.bfloat16).save_pretrained(
        tmp_path)
    base = AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.bfloat16, device_map={"": "cpu"},
                                                quantization_config=quantization_config(t4))
    assert any(type(p).__name__ == "Params4bit" for p in base.parameters())
    model = with_lora(prepare_4bit_base(base), lora_config(t4))
    others = [p for p in base.parameters() if type(p).__name__ != "Params4bit" and not p.requires_grad]
    assert others and all(p.dtype == torch.bfloat16 for p in others), "norms and embeddings are not upcast"
    assert base.is_activation_checkpointing
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable and all(p.dtype == torch.float32 for p in trainable)
    model.train()
    ids = torch.randint(5, len(tiny_tokenizer), (1, 12))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    assert all(p.grad is not None for p in trainable) and any(p.grad.abs().sum() > 0 for p in trainable)


def test_dpo_trainer_on_a_cpu_gets_the_same_loss_from_full_logits(tiny_model, tiny_tokenizer, tmp_path,
                                                                   monkeypatch):
    """DPO (policy and adapter-disabled reference through one patched base): same loss and metrics, no fused kernel."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer
    import trl.trainer.utils as trl_utils

    from helpers.lm.models import lora_config
    from helpers.env.profiles import get_profile

    data = Dataset.from_dict({"prompt": ["Fever for two days?"] * 4, "chosen": [" Rest and drink water."] * 4,
                              "rejected": [" No idea."] * 4})
    args = DPOConfig(output_dir=str(tmp_path), max_steps=1, report_to="none", use_cpu=True, max_length=32,
                     per_device_train_batch_size=2, dataset_num_proc=None)
    trainer = DPOTrainer(model=tiny_model, ref_model=None, args=args, train_dataset=data,
                         processing_class=tiny_tokenizer, peft_config=lora_config(get_profile("tiny")))
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    expected = trainer.compute_loss(trainer.model, dict(batch))
    metrics = {k: v[-1] for k, v in trainer._metrics["train"].items() if k != "num_tokens"}
    assert full_logits_head(trainer.model)
    monkeypatch.setattr(trl_utils._ChunkedLogProbFunction, "apply", lambda *a, **k: 1 / 0)
    assert torch.allclose(trainer.compute_loss(trainer.model, dict(batch)), expected, atol=1e-5)
    for name, value in metrics.items():
        assert trainer._metrics["train"][name][-1] == pytest.approx(value, abs=1e-4), name


def test_grpo_trainer_on_a_cpu_gets_the_same_log_probs_from_full_logits(tiny_model, tiny_tokenizer, tmp_path,
                                                                        monkeypatch):
    """GRPO's per-token log-probabilities and entropies (at its sampling temperature) from full logits equal TRL's."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer
    import trl.trainer.utils as trl_utils

    from helpers.lm.models import lora_config
    from helpers.env.profiles import get_profile

    data = Dataset.from_dict({"prompt": [[{"role": "user", "content": "Fever for two days?"}]] * 4})
    args = GRPOConfig(output_dir=str(tmp_path), max_steps=1, report_to="none", use_cpu=True, num_generations=2,
                      per_device_train_batch_size=2, max_completion_length=4, temperature=0.7, dataloader_num_workers=0,
                      bf16=False)
    trainer = GRPOTrainer(model=tiny_model, reward_funcs=lambda completions, **k: [0.0] * len(completions),
                          args=args, train_dataset=data, processing_class=tiny_tokenizer,
                          peft_config=lora_config(get_profile("tiny")))
    torch.manual_seed(0)
    ids = torch.randint(5, len(tiny_tokenizer), (2, 12))
    attention = torch.ones_like(ids)
    attention[0, :3] = 0  # left padding
    trainer.model.eval()  # no LoRA dropout: the two passes see the same weights
    expected = trainer._get_per_token_logps_and_entropies(trainer.model, ids, attention, 5, compute_entropy=True)
    assert full_logits_head(trainer.model, trainer.temperature)
    monkeypatch.setattr(trl_utils._ChunkedLogProbFunction, "apply", lambda *a, **k: 1 / 0)
    got = trainer._get_per_token_logps_and_entropies(trainer.model, ids, attention, 5, compute_entropy=True)
    for a, b in zip(expected[:2], got[:2]):
        assert torch.allclose(a, b, atol=1e-5)


def test_host_indexed_head_scores_the_collators_rows_without_a_sync(tiny_model, tiny_tokenizer, tmp_path,
                                                                    monkeypatch):
    """Where TRL's kernel runs (a GPU; faked here, its torch fallback computes), the collator lists the labelled
    positions on the host and the head selects them by index: TRL's loss and metrics, no boolean index, no sync."""
    import sys

    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    import helpers.lm.lm_head as lm_head
    from helpers.lm.models import lora_config, with_lora
    from helpers.env.profiles import get_profile

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    from toolkit import counting

    data = Dataset.from_dict({"messages": [[{"role": "user", "content": "Fever?"},
                                            {"role": "assistant", "content": "Rest and drink water."}]] * 4})
    args = SFTConfig(output_dir=str(tmp_path), max_steps=1, report_to="none", use_cpu=True, max_length=64,
                     packing=True, padding_free=True, assistant_only_loss=True, dataset_num_proc=None)
    trainer = SFTTrainer(model=with_lora(tiny_model, lora_config(get_profile("tiny"))), args=args,
                         train_dataset=data, processing_class=tiny_tokenizer)
    trainer.model.eval()  # no LoRA dropout: both heads see the same weights
    monkeypatch.setattr("trl.trainer.utils._use_triton", lambda device: True)  # TRL's head compacts, as on a GPU
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    expected = trainer.compute_loss(trainer.model, dict(batch))
    metrics = {k: v[-1] for k, v in trainer._metrics["train"].items() if k != "num_tokens"}
    with counting() as trl_head:
        trainer.model(**batch, fused_lm_head=True)
    monkeypatch.setattr(lm_head, "uses_fused_kernel", lambda model: True)
    assert lm_head.host_indexed_head(trainer)
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    assert torch.equal(batch["label_rows"], lm_head.label_rows(batch["labels"]))
    loss = trainer.compute_loss(trainer.model, dict(batch))
    assert torch.allclose(loss, expected, atol=1e-5)
    for name, value in metrics.items():
        assert trainer._metrics["train"][name][-1] == pytest.approx(value, abs=1e-4), name
    with counting() as ours:
        trainer.model(**batch, fused_lm_head=True)
    body = {k: n for k, n in trl_head.syncs.items() if k != "aten::index"}  # the model's own (the same in both)
    assert trl_head.syncs.get("aten::index") and ours.syncs == body, (trl_head.syncs, ours.syncs)
