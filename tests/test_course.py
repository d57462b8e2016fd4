"""`make course`'s table: each stage's held-out metric before → after, the baseline, and the 3-seed spread."""

from __future__ import annotations

from helpers.learner.course import HEADLINES, headline_rows
from helpers.env.runs import save_metrics


def test_headlines_show_before_after_direction_baseline_and_spread(tmp_path):
    save_metrics("rm", {"accuracy_before": 0.45, "accuracy": 0.9, "length_baseline": 0.5}, tmp_path)
    save_metrics("sft", {"heldout_ppl_before": 300.0, "heldout_ppl_after": 350.0}, tmp_path)
    effects = {"rm": {"accuracy": {"seeds": 3, "mean_change": 0.4, "std_change": 0.05}}}
    rm, cut = headline_rows("rm", tmp_path, effects)
    assert cut == "complete answers outscore their own cut beginning: (not measured)"
    assert rm.startswith("held-out pairwise accuracy: 0.45 → 0.9 ✓") and "length-only judge 0.5" in rm
    assert "3 seed(s): change +0.4 ± 0.05" in rm
    sft = headline_rows("sft", tmp_path)[0]
    assert "300 → 350 ✗ (wrong way)" in sft  # perplexity must fall
    assert headline_rows("dpo", tmp_path)[0].endswith("(not measured)")


def test_every_training_stage_has_a_headline():
    assert set(HEADLINES) == {"tokenizer", "pt", "sft", "rm", "ppo", "dpo", "text2sql"}


def test_quoted_effects_name_their_file_spread_and_verdict(tmp_path, monkeypatch):
    import json

    from helpers.learner import course

    monkeypatch.setattr(course, "BENCHMARKS", tmp_path)
    entry = dict(label="held-out reward", before=[0.1, 0.2, 0.3], after=[0.5, 0.2, 0.9], mean_change=0.333,
                 std_change=0.25, moves_right_way=False, seeds=3)
    (tmp_path / "cpu_effects.json").write_text(json.dumps({"ppo": {"reward_after": entry}}))
    (tmp_path / "cpu_rl_heldout.json").write_text(json.dumps({"prompts": 64, "effects": {"reward": {
        **entry, "moves_right_way": True}}}))
    said = course.quoted_effect("ppo", "reward_after", "cpu")
    assert "3 seed(s) (benchmarks/cpu_effects.json)" in said and "0.2 → 0.5333" in said
    assert said.endswith("+0.333 ± 0.25 (NOT beyond seed noise)")
    again = course.quoted_heldout("reward", "cpu")
    assert "64 held-out prompts, benchmarks/cpu_rl_heldout.json" in again and again.endswith("(beyond seed noise)")
    assert course.quoted_heldout("eos_fraction", "cpu") is None and course.quoted_heldout("reward", "tiny") is None
    assert "no seed-spread measurement" in course.quoted_effect("dpo", "win_rate_vs_sft", "tiny")


def test_quoted_rm_cut_says_both_sides_or_that_nothing_was_measured(tmp_path, monkeypatch):
    import json

    from helpers.learner import course

    monkeypatch.setattr(course, "BENCHMARKS", tmp_path)
    assert "not compared on the cpu profile: tools/rm_cut.py" in course.quoted_rm_cut("cpu")
    side = lambda cut: dict(accuracy=[0.9, 1.0], cut_accuracy=cut, length_correlation=[0.1, -0.2])  # noqa: E731
    (tmp_path / "cpu_rm_cut.json").write_text(json.dumps(dict(seeds=[42, 1], pairs=48, without=side([0.33, 0.88]),
                                                               **{"with": side([1.0, 0.96])})))
    said = course.quoted_rm_cut("cpu")
    assert "seeds 42, 1 (benchmarks/cpu_rm_cut.json), on 48 held-out answers" in said
    assert "without cut pairs" in said and "0.33, 0.88 of them" in said and "with them 1.00, 0.96" in said
