"""helpers.stages.memo: a held-out measure is reused for the same saved weights, reward model, prompts and settings,
and measured again when any of them changes (a model saved again, another seed, another KL reference)."""

from __future__ import annotations

import os
from pathlib import Path

from helpers.stages.memo import FILE, measured_once, recall


def saved(folder: Path, payload: bytes = b"w") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.safetensors").write_bytes(payload)
    return folder


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return {"reward": float(self.calls), "kl": 0.5}


def test_reused_for_the_same_weights_and_measured_again_when_anything_changes(tmp_path):
    model, rm, ref = saved(tmp_path / "ppo"), saved(tmp_path / "rm"), saved(tmp_path / "sft")
    prompts, compute = [[1, 2, 3], [4, 5]], Counter()
    args = dict(max_new_tokens=8, missing_eos_penalty=1.0, seed=42)
    first = measured_once(tmp_path, model, rm, prompts, compute, reference_dir=ref, **args)
    again = measured_once(tmp_path, model, rm, prompts, compute, reference_dir=ref, **args)
    assert compute.calls == 1 and again == dict(first, remembered=True) and (tmp_path / FILE).is_file()
    assert recall(tmp_path, model, rm, prompts, **args)["reward"] == 1.0  # no KL asked: any reference will do

    measured_once(tmp_path, model, rm, prompts, compute, reference_dir=ref, **dict(args, seed=1))
    assert compute.calls == 2  # another seed
    measured_once(tmp_path, model, rm, prompts[:1], compute, reference_dir=ref, **args)
    assert compute.calls == 3  # other prompts
    assert recall(tmp_path, model, rm, prompts, reference_dir=saved(tmp_path / "other", b"x"), **args) is None
    os.utime(saved(model, b"new weights") / "model.safetensors", ns=(1, 1))  # the model saved again
    assert recall(tmp_path, model, rm, prompts, reference_dir=ref, **args) is None
    os.utime(saved(rm, b"new head") / "model.safetensors", ns=(2, 2))
    measured_once(tmp_path, model, rm, prompts, compute, reference_dir=ref, **args)
    assert compute.calls == 4


def test_a_model_without_a_folder_or_a_stand_in_reward_model_is_never_remembered(tmp_path):
    model, compute = saved(tmp_path / "ppo"), Counter()
    for _ in range(2):
        measured_once(tmp_path, model, None, [[1]], compute, seed=0)  # stand-in reward model: random head
        measured_once(tmp_path, None, saved(tmp_path / "rm"), [[1]], compute, seed=0)  # tiny random-init model
        measured_once(tmp_path, "Qwen/Qwen2.5-0.5B", saved(tmp_path / "rm"), [[1]], compute, seed=0)  # a hub name
    assert compute.calls == 6 and not (tmp_path / FILE).exists()


def test_a_measure_without_kl_does_not_answer_a_request_for_one(tmp_path):
    model, rm, ref = saved(tmp_path / "ppo"), saved(tmp_path / "rm"), saved(tmp_path / "sft")
    calls = []
    no_kl = lambda: calls.append(1) or {"reward": 0.0, "kl": float("nan")}  # noqa: E731
    measured_once(tmp_path, model, rm, [[1]], no_kl, seed=0)
    assert recall(tmp_path, model, rm, [[1]], seed=0) is not None
    assert recall(tmp_path, model, rm, [[1]], reference_dir=ref, seed=0) is None


def test_the_scoreboard_reads_the_measures_the_stages_filed(tmp_path, tiny_profile, tiny_tokenizer, monkeypatch):
    """A run with 03's and 05's models and 04's reward model: the scoreboard samples each model's held-out answers
    once; scored again from an empty scoreboard cache, it reads them back (no new sample, the same numbers)."""
    import helpers.stages.ppo as stage_ppo
    from helpers.env.runs import stage_output
    from helpers.learner import scoreboard as board_module
    from helpers.lm.models import build_tiny_causal_lm
    from helpers.lm.rewards import build_tiny_reward_model

    for name, build in (("sft", build_tiny_causal_lm), ("ppo", build_tiny_causal_lm), ("rm", build_tiny_reward_model)):
        build(tiny_profile, tiny_tokenizer, seed=len(name)).save_pretrained(stage_output(name, tmp_path))
        tiny_tokenizer.save_pretrained(stage_output(name, tmp_path))
    sampled = []
    real = stage_ppo.heldout_measure
    monkeypatch.setattr(stage_ppo, "heldout_measure", lambda *a, **k: sampled.append(1) or real(*a, **k))
    first = board_module.scoreboard(tmp_path, tiny_profile)
    assert set(first) == {"sft", "ppo"} and len(sampled) == 2 and (tmp_path / FILE).is_file()
    (tmp_path / board_module.FILE).unlink()
    again = board_module.scoreboard(tmp_path, tiny_profile)
    assert len(sampled) == 2
    for row in ("sft", "ppo"):
        assert {k: again[row][k] for k in ("reward", "rm_score", "eos_fraction")} == \
            {k: first[row][k] for k in ("reward", "rm_score", "eos_fraction")}
