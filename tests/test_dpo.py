"""Stage 06 (DPO): the hand-computed loss equals DPOTrainer's, it starts at log 2, falls while the implicit-reward
accuracy rises, and the comparison scores SFT, DPO and PPO answers with 04's reward model."""

from __future__ import annotations

import math
import shutil

import pytest
import torch

from helpers.lm.checkpoints import checkpoint_mismatch, latest_complete
from helpers.lm.evaluation import early_late
from helpers.env.profiles import get_profile
from helpers.env.runs import find_output, stage_output



@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    """A DPOStage trained under tiny in a fresh run directory; `start_loss` is the trainer's loss before step 1."""
    from helpers.stages.dpo import DPOStage

    stage = DPOStage(root=tmp_path_factory.mktemp("run"), profile=get_profile("tiny"), seed=42)
    for step in ("load", "build_model", "build_trainer", "evaluate_before"):
        getattr(stage, step)()
    with torch.no_grad():
        stage.start_loss = stage.trainer.compute_loss(stage.model, dict(stage.batch(8))).item()
    stage.train()
    stage.resume_problem = checkpoint_mismatch(latest_complete(stage.publish_dir), stage.trainer.model)  # before a merge
    stage.evaluate_after()
    return stage


def test_heldout_preference_accuracy_starts_at_chance_and_rises(stage):
    """Before training the policy is the reference: every held-out margin is exactly 0 (accuracy 0.5, ties half)."""
    assert stage.metrics["heldout_accuracy_before"] == 0.5
    assert stage.metrics["heldout_accuracy_after"] > 0.6, stage.metrics
    assert len(stage.heldout_margins) == len(stage.data["valid"])


def test_the_untrained_policy_is_measured_in_one_pass(stage, tmp_path, monkeypatch):
    """Before DPO's first step every LoRA B matrix is 0: the policy's log-probs are the reference's, taken once."""
    import helpers.stages.dpo as dpo

    fresh = dpo.DPOStage(root=tmp_path, profile=get_profile("tiny"), seed=42)
    for step in ("load", "build_model", "build_trainer"):
        getattr(fresh, step)()
    assert fresh.policy_is_reference() and not stage.policy_is_reference()  # the trained one has stepped
    passes = []
    monkeypatch.setattr(dpo, "completion_logps", lambda model, batch: passes.append(1) or
                        torch.zeros(len(batch["input_ids"])))
    fresh.evaluate_before()
    n = min(len(fresh.data["valid"]), fresh.settings.eval_limit or len(fresh.data["valid"]))
    assert len(passes) == -(-n // 8) and fresh.metrics["heldout_accuracy_before"] == 0.5
    with torch.no_grad():
        next(p for name, p in fresh.model.named_parameters() if "lora_B" in name).add_(0.1)
    assert not fresh.policy_is_reference()


def test_reference_preference_is_read_per_answer_token(stage, tmp_path):
    """How often 03's model already prefers the chosen answer: from the reference log-probs kept while measuring,
    per answer token (a longer chosen answer with the lower sum can still be the likelier per token)."""
    from helpers.stages.dpo import DPOStage

    kept = stage.reference_logps["valid"]
    assert len(kept) == len(stage.heldout_margins) and all(a > 0 and b > 0 for _, _, a, b in kept.values())
    assert stage.metrics["reference_prefers_chosen"] == stage.reference_prefers_chosen("valid")
    other = DPOStage(root=tmp_path, profile=get_profile("tiny"), seed=42)
    with pytest.raises(AttributeError, match="build_model"):
        other.reference_prefers_chosen()
    other.reference_logps = {"valid": {0: (-10.0, -20.0, 10, 10), 1: (-30.0, -20.0, 10, 10), 2: (-20.0, -15.0, 20, 10),
                                       3: (-5.0, -5.0, 5, 5)}}
    assert other.reference_prefers_chosen("valid") == 0.5  # pairs 0 and 2 (-1.0 vs -1.5 per token); 3 is a tie
    with pytest.raises(ValueError, match="evaluate_before"):
        other.reference_prefers_chosen("train")


def test_dpo_loss_formula():
    from helpers.stages.dpo import dpo_loss

    w, l = torch.tensor([-10.0, -20.0]), torch.tensor([-12.0, -15.0])
    assert dpo_loss(w, l, w, l, beta=0.1).item() == pytest.approx(math.log(2))  # policy = reference
    loss = dpo_loss(w + 2, l - 3, w, l, beta=0.5)  # beta * ((+2) - (-3)) = 2.5 for both pairs
    assert loss.item() == pytest.approx(math.log1p(math.exp(-2.5)), rel=1e-6)


def test_reference_is_the_policy_with_its_adapter_disabled(stage):
    assert stage.trainer.ref_model is None
    assert stage.start_loss == pytest.approx(math.log(2), abs=1e-6)  # LoRA starts at zero: policy = reference


def test_hand_computed_loss_equals_dpo_trainer(stage):
    from helpers.stages.dpo import completion_logps, dpo_loss

    batch = stage.batch(8)
    with torch.no_grad():
        policy = completion_logps(stage.model, batch)
        with stage.reference():
            reference = completion_logps(stage.model, batch)
        by_hand = dpo_loss(*policy.chunk(2), *reference.chunk(2), beta=stage.settings.beta)
        trainer_loss = stage.trainer.compute_loss(stage.model, dict(batch))
    assert not torch.allclose(policy, reference)  # trained: policy and reference differ
    assert torch.allclose(by_hand, trainer_loss, atol=1e-5)


def test_loss_falls_and_implicit_reward_accuracy_rises(stage):
    loss_early, loss_late = early_late(stage.log_history, "loss")
    acc_early, acc_late = early_late(stage.log_history, "rewards/accuracies")
    margin_early, margin_late = early_late(stage.log_history, "rewards/margins")
    assert loss_late < loss_early - 0.05, (loss_early, loss_late)
    assert acc_late > acc_early + 0.1 and acc_late >= 0.75, (acc_early, acc_late)
    assert margin_late > margin_early


def test_comparison_scores_every_model_with_the_reward_model(stage):
    """With 04's reward model and 05's policy in the run directory, all three models are answered and scored."""
    from helpers.lm.models import build_tiny_causal_lm
    from helpers.lm.rewards import build_tiny_reward_model

    for name, build in (("rm", build_tiny_reward_model), ("ppo", build_tiny_causal_lm)):
        model = build(stage.profile, stage.tok, seed=1)
        model.save_pretrained(stage_output(name, stage.root))
        stage.tok.save_pretrained(stage_output(name, stage.root))
    stage.compare()
    assert set(stage.measured) == {"sft", "dpo", "ppo"}
    table = stage.comparison()
    assert list(table.index) == ["sft", "dpo", "ppo"]
    assert table.drop(columns="KL to 03 (nats)").notna().all().all() and table["KL to 03 (nats)"].notna()["dpo"]
    assert 0.0 <= stage.metrics["win_rate_vs_sft"] <= 1.0
    assert len(stage.side_by_side(2)) == 2
    first = stage.measured["ppo"]
    stage.compare()  # 05's model measured once (helpers.stages.memo): the same numbers, not a second sample
    assert stage.measured["ppo"].get("remembered") and stage.measured["ppo"]["scores"] == first["scores"]
    assert not stage.measured["dpo"].get("remembered")  # the policy being trained is always measured
    build_tiny_causal_lm(stage.profile, stage.tok, seed=2).save_pretrained(stage_output("ppo", stage.root))
    stage.compare()  # 05's model saved again: measured again
    assert not stage.measured["ppo"].get("remembered")
    for name in ("rm", "ppo"):
        shutil.rmtree(stage_output(name, stage.root).parent)


def test_merged_model_equals_the_trained_policy(stage):
    from transformers import AutoModelForCausalLM

    batch = stage.batch(2)
    with torch.no_grad():
        before = stage.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    stage.save()
    saved = AutoModelForCausalLM.from_pretrained(find_output("dpo", stage.root))
    with torch.no_grad():
        after = saved(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert torch.allclose(before, after, atol=1e-4)


def test_its_own_checkpoint_is_not_taken_for_another_run(stage):
    """The guard that sets aside checkpoints of other settings (helpers.lm.checkpoints.checkpoint_mismatch) must let this
    stage's own published checkpoint resume (checked in the fixture, before a test merges the adapter)."""
    assert latest_complete(stage.publish_dir) is not None and stage.resume_problem is None
