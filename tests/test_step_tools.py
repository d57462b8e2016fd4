"""Issue 21's tools on a CPU: --sft-pieces counts operators and syncs (and refuses a 16-bit stand-in for 4-bit),
gpu_check's goals and its --pieces dry run, tools/bench_step.py end to end on the tiny profile."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

import bench_step  # noqa: E402
import gpu_check  # noqa: E402
import sft_pieces  # noqa: E402


def test_four_bit_yes_refuses_without_bitsandbytes(monkeypatch):
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # `import bitsandbytes` now raises ImportError
    with pytest.raises(SystemExit, match="Refusing to measure a 16-bit base"):
        sft_pieces.want_4bit("yes")
    assert sft_pieces.want_4bit("auto") is False and sft_pieces.want_4bit("no") is False


def test_four_bit_refuses_a_base_that_loaded_in_16_bits(monkeypatch, tiny_profile, tiny_tokenizer):
    """bitsandbytes imports but the load gives 16-bit weights: an error, not a silent 16-bit measurement."""
    pytest.importorskip("bitsandbytes")
    import helpers.lm.models
    from helpers.lm.models import tiny_config

    monkeypatch.setattr(helpers.lm.models, "quantization_config", lambda profile: None)
    pieces = sft_pieces.Pieces.__new__(sft_pieces.Pieces)
    pieces.config, pieces.dtype, pieces.cuda = tiny_config(tiny_profile, tiny_tokenizer), torch.bfloat16, False
    with pytest.raises(SystemExit, match="did not load in 4 bits"):
        pieces.build(True)


def test_goal_misses_name_what_missed():
    assert gpu_check.misses("t4", "sft", {"peak_allocated_gib": 12.0, "seconds_per_step": 2.0}, 13) == []
    assert gpu_check.misses("t4", "sft", {"peak_allocated_gib": 14.0, "seconds_per_step": 9.8}, 13) == [
        "t4/sft: peak 14.0 GiB > 13 GiB", "t4/sft: 9.8 s/step > 2.5 s (host-bound)"]
    assert gpu_check.misses("ampere", "rm", {"peak_allocated_gib": 40, "seconds_per_step": 9}, 13) == []
    assert "not measured" in gpu_check.misses("t4", "dpo", {"skipped": "past --deadline-minutes 8"}, 13)[0]
    assert gpu_check.pieces_misses({"goals": {"met": False, "operators": 18142, "operators_goal": 9000,
                                              "syncs_outside_head": 48, "syncs_goal": 1}})
    assert gpu_check.pieces_misses({"goals": {"applies": False}}) == []


@pytest.mark.slow
def test_gpu_check_pieces_dry_run_counts_operators_and_syncs(tmp_path):
    """--pieces on a CPU: the stage's micro-batch syncs once in the body (transformers' packed check), the old
    per-example loop once per layer and pass; the boolean index of TRL's compact head is counted apart."""
    env_before = dict(os.environ)
    row = gpu_check.run_pieces(gpu_check.argparse.Namespace(), False, float("inf"), tmp_path / "dry.json")
    assert dict(os.environ) == env_before
    assert "error" not in row, row
    variants = row["micro_batch"]
    stage = next(v for k, v in variants.items() if k.startswith("stage now"))
    before = next(v for k, v in variants.items() if k.startswith("before issue 21"))
    body = variants["body only (no LM head)"]
    assert body["syncs"] == 1 and before["syncs"] > stage["syncs"]
    assert variants["fused head over every position (no boolean index)"]["syncs"] == 1
    assert stage["operators"] > 0 and row["goals"]["applies"] is False


@pytest.mark.slow
def test_bench_step_end_to_end_on_the_tiny_profile(tmp_path, monkeypatch):
    """Trainer, floor and unpacked rates from one run, the ratios against their goals, JSON and Markdown written."""
    monkeypatch.setenv("WORKBOOK_RUN_DIR", str(tmp_path / "runs"))
    out = tmp_path / "step.json"
    code = bench_step.main(["--profile", "tiny", "--steps", "2", "--threads", "1", "--out", str(out)])
    report = json.loads(out.read_text())
    for key in ("trainer", "floor", "unpacked", "trainer_trl_head"):
        assert report[key]["tokens_per_second"] > 0 and report[key]["steps_timed"] == 1
    assert report["trainer"]["tokens_per_step"] > report["unpacked"]["tokens_per_step"]  # packed rows are fuller
    assert set(report["verdicts"]) == {"trainer_vs_floor", "packed_vs_unpacked"}
    assert code == (0 if all(v["met"] for v in report["verdicts"].values()) else 1)
    assert "| floor |" in out.with_suffix(".md").read_text()
    assert report["packed_vs_unpacked_batch_8"] > 0 and "packed_batch_8" in report
    for name in ("dpo", "text2sql"):  # their steps timed with both heads
        assert report[f"{name}_head"]["speedup"] > 0
