"""Stage 04 (reward model): the pairwise loss equals RewardTrainer's, the trained model ranks held-out pairs well above
chance, and what it saves is the one-label classifier that 05 and 06 load."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch

from helpers.lm.checkpoints import checkpoint_mismatch, latest_complete
from helpers.env.profiles import get_profile
from helpers.env.runs import find_output

# Measured under tiny with the shipped pairs (a random-init tiny classifier, the profile's 60 steps at max_length
# 512): 1.0 held out for seeds 42 and 1 (0.26 and 0.29 before training); at max_length 256 it was 0.875. Set with a
# margin below the measurement, and far above chance (0.5).
MIN_HELD_OUT_ACCURACY = 0.75



@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    """An RMStage trained under tiny in a fresh run directory (no output of 03: the tiny random-init classifier)."""
    from helpers.stages.rm import RMStage

    stage = RMStage(root=tmp_path_factory.mktemp("run"), profile=get_profile("tiny"), seed=42)
    for step in ("load", "build_model", "evaluate_before", "build_trainer", "train", "evaluate_after"):
        getattr(stage, step)()
    stage.resume_problem = checkpoint_mismatch(latest_complete(stage.publish_dir), stage.trainer.model)  # before a merge
    return stage


def test_pairwise_loss_formula():
    from helpers.stages.rm import pairwise_loss

    loss = pairwise_loss(torch.tensor([2.0, 0.0, 1.0]), torch.tensor([0.0, 0.0, 3.0]))
    expected = (math.log1p(math.exp(-2.0)) + math.log(2.0) + math.log1p(math.exp(2.0))) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_tiny_reward_model_is_a_one_label_classifier(tiny_profile, tiny_tokenizer):
    from helpers.lm.rewards import build_tiny_reward_model, reward_scores

    model = build_tiny_reward_model(tiny_profile, tiny_tokenizer, seed=0)
    assert model.config.num_labels == 1 and model.config.pad_token_id == tiny_tokenizer.pad_token_id
    prompts = [[{"role": "user", "content": "I have a fever."}]] * 2
    answers = ["Rest and drink water.", "Rest and drink water; see a doctor if it lasts three days."]
    batched = reward_scores(model, tiny_tokenizer, prompts, answers, batch_size=2)
    one_by_one = [reward_scores(model, tiny_tokenizer, [p], [a])[0] for p, a in zip(prompts, answers)]
    assert batched == pytest.approx(one_by_one, abs=1e-5)  # padding does not change a score


def test_score_head_is_trained_in_full(stage):
    trainable = {n for n, p in stage.model.named_parameters() if p.requires_grad}
    assert any("score" in n and "modules_to_save" in n for n in trainable)
    assert any("lora_" in n for n in trainable)


def test_hand_computed_loss_equals_reward_trainer(stage):
    batch = stage.batch(8)
    with torch.no_grad():
        rewards = stage.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.squeeze(-1)
        r_chosen, r_rejected = rewards.chunk(2)
        by_hand = -torch.nn.functional.logsigmoid(r_chosen - r_rejected).mean()
        trainer_loss = stage.trainer.compute_loss(stage.model, dict(batch))
    assert torch.allclose(by_hand, trainer_loss)


def test_held_out_pairwise_accuracy_is_well_above_chance(stage):
    losses = [h["loss"] for h in stage.log_history if "loss" in h]
    assert losses[-1] < losses[0]
    assert stage.metrics["valid_pairs"] >= 50
    assert stage.metrics["accuracy"] >= MIN_HELD_OUT_ACCURACY, stage.metrics


def test_cut_pairs_prefer_a_complete_answer_to_its_own_unended_beginning(tiny_tokenizer):
    import random

    from helpers.lm.rewards import cut_conversation, cut_pairs

    tok = tiny_tokenizer
    prompt = [{"role": "user", "content": "How do I treat a mild burn at home?"}]
    answer = "Cool it under running water for twenty minutes, then cover it loosely with a clean dressing."
    full, cut = cut_conversation(tok, prompt, answer, random.Random(3))
    head = tok.apply_chat_template(prompt, add_generation_prompt=True, return_dict=True)["input_ids"]
    n = full.index(tok.eos_token_id, len(head)) - len(head)  # the answer's tokens before its end of turn
    assert full[:len(cut)] == cut and cut[:len(head)] == list(head)
    assert tok.eos_token_id not in cut[len(head):]  # unended, as a rollout cut at the length cap
    assert 0.3 * n <= len(cut) - len(head) <= 0.9 * n
    pairs = cut_pairs(tok, [prompt] * 10, [answer] * 10, share=0.5, seed=0)
    assert len(pairs) == 5 and all(p["chosen_ids"] == full for p in pairs)
    assert cut_pairs(tok, [prompt] * 10, [answer] * 10, share=0.5, seed=0, max_length=len(full) - 1) == []


def test_trained_with_cut_pairs_it_no_longer_pays_for_unfinished_answers(stage):
    m = stage.metrics
    assert m["cut_pairs"] == pytest.approx(stage.settings.cut_share * m["train_pairs"], abs=0.1 * m["train_pairs"])
    # Measured under tiny, seed 42: 0.19 before training, 1.0 after (0.5 is a coin flip).
    assert m["cut_accuracy"] >= 0.75 and m["cut_accuracy"] > m["cut_accuracy_before"]


def test_saved_reward_model_is_what_ppo_and_dpo_load(stage):
    from helpers.lm.models import load_reward_model
    from helpers.lm.rewards import reward_scores

    stage.save()
    path = find_output("rm", stage.root)
    assert path == stage.output
    config = json.loads((path / "config.json").read_text())
    assert len(config["id2label"]) == 1 and config["pad_token_id"] == stage.tok.pad_token_id
    reloaded = load_reward_model(path, stage.profile, stage.tok)
    valid = stage.data["valid"]
    again = reward_scores(reloaded, stage.tok, valid["prompt"][:6], [m[0]["content"] for m in valid["chosen"][:6]],
                          max_length=stage.settings.max_length)
    assert again == pytest.approx(stage.scores_after["chosen"][:6], abs=1e-4)
    assert json.loads((stage.dir / "metrics.json").read_text())["key_metric"] == "accuracy"


def test_stage_runner(stage, tmp_path):
    """python -m helpers.stages rm --run-dir DIR --max-steps N (tokenizer copied in, so nothing is rebuilt)."""
    from helpers.stages.__main__ import main

    shutil.copytree(stage.root / "tokenizer", tmp_path / "tokenizer")
    assert main(["rm", "--run-dir", str(tmp_path), "--max-steps", "2", "--profile", "tiny"]) == 0
    assert find_output("rm", tmp_path) is not None


def test_its_own_checkpoint_is_not_taken_for_another_run(stage):
    """The guard that sets aside checkpoints of other settings (helpers.lm.checkpoints.checkpoint_mismatch) must let this
    stage's own published checkpoint resume (checked in the fixture, before a test merges the adapter)."""
    assert latest_complete(stage.publish_dir) is not None and stage.resume_problem is None
