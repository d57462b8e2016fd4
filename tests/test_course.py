"""`make course`'s table: each stage's held-out metric before → after, the baseline, and the 3-seed spread."""

from __future__ import annotations

from helpers.learner.course import HEADLINES, headline_rows
from helpers.env.runs import save_metrics


def test_headlines_show_before_after_direction_baseline_and_spread(tmp_path):
    save_metrics("rm", {"accuracy_before": 0.45, "accuracy": 0.9, "length_baseline": 0.5}, tmp_path)
    save_metrics("sft", {"heldout_ppl_before": 300.0, "heldout_ppl_after": 350.0}, tmp_path)
    effects = {"rm": {"accuracy": {"seeds": 3, "mean_change": 0.4, "std_change": 0.05}}}
    (rm,) = headline_rows("rm", tmp_path, effects)
    assert rm.startswith("held-out pairwise accuracy: 0.45 → 0.9 ✓") and "length-only judge 0.5" in rm
    assert "3 seed(s): change +0.4 ± 0.05" in rm
    sft = headline_rows("sft", tmp_path)[0]
    assert "300 → 350 ✗ (wrong way)" in sft  # perplexity must fall
    assert headline_rows("dpo", tmp_path)[0].endswith("(not measured)")


def test_every_training_stage_has_a_headline():
    assert set(HEADLINES) == {"tokenizer", "pt", "sft", "rm", "ppo", "dpo", "text2sql"}
