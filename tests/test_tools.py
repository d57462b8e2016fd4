"""Maintainer tools: tools/gpu_check.py end to end on a CPU (--cpu-dry-run) and tools/drive_budget.py's accounting."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

import drive_budget  # noqa: E402
import gpu_check  # noqa: E402
import bench_unpadded  # noqa: E402
import rl_heldout  # noqa: E402


def test_gpu_slug_names_the_output_file():
    assert gpu_check.gpu_slug("NVIDIA H200") == "h200"
    assert gpu_check.gpu_slug("Tesla T4") == "t4"
    assert gpu_check.gpu_slug("NVIDIA A100-SXM4-80GB") == "a100-sxm4-80gb"
    assert gpu_check.gpu_slug("NVIDIA GeForce RTX 4090") == "rtx-4090"


def test_timing_summary_leaves_out_the_warm_up_step():
    summary = gpu_check.timing_summary([5.0, 1.0, 1.2, 0.8], [100, 100, 120, 80])
    assert summary["first_step_seconds"] == 5.0
    assert summary["seconds_per_step"] == 1.0
    assert summary["tokens_per_second"] == pytest.approx(300 / 3.0, rel=1e-3)
    assert gpu_check.log_tokens([{"num_tokens": 10}, {"num_tokens": 25}, {"train_runtime": 1, "num_tokens": 25}]) \
        == [10, 15]


def test_verdict_holds_t4_stages_to_the_limit():
    assert gpu_check.verdict("t4", {"peak_allocated_gib": 12.9}, 13) == "PASS"
    assert gpu_check.verdict("t4", {"peak_allocated_gib": 13.1}, 13) == "FAIL"
    assert gpu_check.verdict("t4", {"error": "OutOfMemoryError"}, 13).startswith("FAIL")
    assert gpu_check.verdict("ampere", {"peak_allocated_gib": 30}, 13) == "info"


def _safetensors(path: Path, tensors: dict[str, tuple[str, list[int], int]]) -> None:
    header, offset = {}, 0
    for name, (dtype, shape, nbytes) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)


def test_drive_budget_measures_checkpoints_models_and_the_bin(tmp_path):
    run = tmp_path / "run"
    for step in (1, 2):
        ckpt = run / "pt" / "checkpoints" / f"checkpoint-{step}"
        _safetensors(ckpt / "adapter_model.safetensors", {"embed": ("BF16", [10, 4], 80), "lora": ("F32", [4], 16)})
        (ckpt / "optimizer.pt").write_bytes(b"\0" * 32)
    _safetensors(run / "pt" / "model" / "model.safetensors", {"w": ("BF16", [50], 100)})
    (run / "pt" / "metrics.json").write_text("{}")
    (run / "pt" / "work" / "checkpoint-2").mkdir(parents=True)
    (run / "pt" / "work" / "checkpoint-2" / "big.bin").write_bytes(b"\0" * 1000)

    m = drive_budget.measure_stage(run, "pt")
    adapter = m["checkpoints"]["checkpoint-2"]["safetensors"]["adapter_model.safetensors"]
    assert adapter["bytes_by_dtype"] == {"BF16": 80, "F32": 16}
    assert adapter["largest"][0]["name"] == "embed"
    ckpt_bytes = m["checkpoint_bytes"]
    assert m["checkpoints_bytes_total"] == 2 * ckpt_bytes
    assert m["drive_bytes"] == 2 * ckpt_bytes + m["model_bytes"] + 2  # "{}" of metrics.json
    assert m["local_work_bytes"] == 1000  # the Trainer's output_dir is not on Drive

    rows = {"pt": {"measured": m}}
    proj = drive_budget.projection(rows, tokenizer_bytes=7)
    saves = drive_budget.saves_in_full_run("t4", "pt")  # 300 steps, a checkpoint every 50
    assert saves == 6
    assert proj["ampere"]["kept_bytes"] == m["drive_bytes"] + 7
    assert proj["ampere"]["with_bin_bytes"] == m["drive_bytes"] + 7 + (saves - 2) * ckpt_bytes
    assert proj["t4"]["kept_bytes"] > proj["ampere"]["kept_bytes"]  # the 4-bit merge keeps <stage>/adapter too


def test_gpu_check_needs_cuda_or_the_dry_run(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "gpu_check.py"), "--out", str(tmp_path / "x.json")],
                          cwd=REPO, capture_output=True, text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert proc.returncode != 0 and "--cpu-dry-run" in proc.stderr
    assert not (tmp_path / "x.json").exists()


def test_gpu_check_cpu_dry_run_end_to_end(tmp_path):
    """01's tokenizer and 02 under the ampere profile on the stand-in's tiny body: a row per stage, timings, tokens."""
    out, work = tmp_path / "dry.json", tmp_path / "work"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "gpu_check.py"), "--cpu-dry-run", "--stages",
                           "tokenizer", "pt", "--steps", "2", "--out", str(out), "--work", str(work)],
                          cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["cpu_dry_run"] is True and report["t4"] == {"skipped": "t4 needs CUDA (4-bit NF4, fp16)"}
    tok, pt = report["ampere"]["tokenizer"], report["ampere"]["pt"]
    assert tok["domain_tokens_added"] > 271  # more than Qwen2.5's unused rows: the embedding grows
    assert "error" not in pt, pt.get("traceback")
    assert pt["settings"]["max_steps"] == 2 and pt["loaded_in_4bit"] is False
    assert pt["seconds_per_step"] > 0 and pt["tokens_per_second"] > 0
    assert pt["tokens_per_step"] == pt["settings"]["batch_size"] * pt["settings"]["max_length"]
    assert {"load", "build_model", "train", "save"} <= set(pt["steps"])
    assert "peak_allocated_gib" not in pt and pt["peak_rss_gib"] > 0  # no CUDA call in a dry run
    assert [r["stage"] for r in report["summary"]] == ["tokenizer", "pt"]
    assert not work.exists()  # the scratch folder is removed
    assert "ampere        pt" in proc.stdout


def _measured(sft: float, ppo: float, ended: tuple[float, float], dpo_scores: list[float]) -> dict:
    row = lambda score, eos, scores: dict(reward=score, raw_score=score + 1, eos_fraction=eos, scores=scores,  # noqa
                                          raw_scores=scores)
    out = {"sft": row(sft, ended[0], [0.0] * 4), "ppo": row(ppo, ended[1], [0.0] * 4), "dpo": row(sft, 0.5, dpo_scores)}
    out["win_rate_vs_sft"] = out["rm_win_rate_vs_sft"] = sum(s > 0 for s in dpo_scores) / 4
    return out


def test_rl_heldout_judges_a_change_by_every_seed_and_the_spread():
    per_seed = {42: _measured(0.1, 0.5, (0.5, 0.75), [1, 1, 1, -1]), 1: _measured(0.2, 0.7, (0.5, 0.25), [1, 1, 1, 1]),
                2: _measured(0.0, 0.3, (0.5, 0.75), [1, -1, 1, -1])}
    effects = rl_heldout.summarise(per_seed)
    assert effects["reward"]["moves_right_way"] is True  # +0.4, +0.5, +0.3
    assert effects["reward"]["mean_change"] == pytest.approx(0.4)
    assert effects["eos_fraction"]["moves_right_way"] is False  # one seed ends fewer answers
    assert effects["win_rate_vs_sft"]["after"] == [0.75, 1.0, 0.5]
    assert effects["win_rate_vs_sft"]["moves_right_way"] is False  # a coin flip on seed 2
    # like for like: PPO's answers score what 03's did (0 → 0); DPO's ended ones score 0.5, 1, 0 above 03's
    assert effects["rm_score_ended"]["mean_change"] == 0 and effects["rm_score_ended"]["moves_right_way"] is False
    assert effects["dpo_rm_score_ended"]["after"] == [0.5, 1.0, 0.0]
    assert "moves_right_way" in effects["rm_score"] and "| yes |" in rl_heldout.markdown(
        dict(prompts=4, profile="cpu", seeds=[42, 1, 2], effects=effects, per_seed={}))


def test_bench_unpadded_summary_and_scratch_run_leave_the_run_alone(tmp_path):
    """The speed-up is padded seconds over row-by-row seconds; the scratch run links the earlier stages only, so the
    measured stage writes into a temporary folder, never into the run."""
    run = tmp_path / "run"
    for name in ("tokenizer", "sft", "rm"):
        (run / name).mkdir(parents=True)
    root = bench_unpadded.scratch_run(run, "rm")
    assert sorted(p.name for p in root.iterdir()) == ["sft", "tokenizer"] and (root / "sft").is_symlink()
    import shutil

    shutil.rmtree(root)
    r = bench_unpadded.summary({"padded": 3.0, "rows": 2.0}, real=100, width=150,
                               losses={"padded": [1.0, 2.0], "rows": [1.0, 2.5]})
    assert r["speedup"] == 1.5 and r["padded_over_real"] == 1.5 and r["max_loss_difference"] == 0.5
    text = bench_unpadded.markdown({"machine": "m", "command": "c", "ppo_generation_s": 1.0, "results": {"rm": r}})
    assert "| rm | 3.0 | 2.0 | 1.5× | 1.5 | 5.0e-01 |" in text
