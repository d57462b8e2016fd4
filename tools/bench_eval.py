"""Evaluation batched as the stages now batch it, against how they batched it before, side by side in one run.

    python tools/bench_eval.py [--profile cpu] [--model PATH] [--out benchmarks/eval_cpu.json]

1. **greedy answers** (03's held-out measure, helpers.lm.evaluation.answer_stats): the profile's SFT held-out prompts
   (eval_limit, max_new_tokens) in one generate call against three calls of 8 (the former batch). The answers must be
   the same: left padding with an attention mask does not change a greedy answer except by float rounding.
2. **reward scores** (04's held-out measure, helpers.lm.rewards.reward_scores): the held-out pairs' chosen and
   rejected answers, batched by length across the whole set against batches of 16 in data order (the former
   batching; scoring each slice of 16 on its own pads it as the former loop did). The scores must agree to 1e-4.

The model is the profile's base model (`--model`: another folder); the reward model is that model with a score head
seeded at random (the seconds are the body's; a trained head would not change them). Writes JSON and a Markdown
summary next to it; exits 1 when an output differs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from toolkit import REPO


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--model", help="a local model folder (WORKBOOK_BASE_MODEL) instead of the profile's")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.model:
        os.environ["WORKBOOK_BASE_MODEL"] = str(Path(args.model).resolve())

    import torch
    from transformers import AutoTokenizer

    from helpers.env.profiles import get_profile
    from helpers.env.sources import course_records
    from helpers.lm.evaluation import answer_stats
    from helpers.lm.models import load_causal_lm, load_reward_model
    from helpers.lm.rewards import reward_scores
    from helpers.stages import settings_for
    from helpers.stages.sft import prompts_of

    profile = get_profile(args.profile)
    tok = AutoTokenizer.from_pretrained(profile.base_model)
    report: dict = {"profile": profile.name, "model": Path(str(profile.base_model)).name, "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine()}

    sft = settings_for(profile, "sft")
    prompts = prompts_of(course_records(profile, "sft", "valid"), max(sft.n_prompts, sft.eval_limit or 24))
    model = load_causal_lm(profile.base_model, profile).eval()
    one_s, one = timed(lambda: answer_stats(model, tok, prompts, sft.max_new_tokens, batch_size=len(prompts)))
    eight_s, eight = timed(lambda: answer_stats(model, tok, prompts, sft.max_new_tokens, batch_size=8))
    same = sum(a == b for a, b in zip(one["answers"], eight["answers"]))
    report["greedy_answers"] = dict(prompts=len(prompts), max_new_tokens=sft.max_new_tokens, one_call_s=one_s,
                                    calls_of_8_s=eight_s, speedup=eight_s / one_s, same_answers=same,
                                    eos_rate=[one["eos_rate"], eight["eos_rate"]])
    del model

    rm = settings_for(profile, "rm")
    pairs = course_records(profile, "preference", "valid", rm.eval_limit)
    torch.manual_seed(0)
    judge = load_reward_model(profile.base_model, profile, tok).eval()
    judge.config.pad_token_id = tok.pad_token_id
    texts = [m[0]["content"] for k in ("chosen", "rejected") for m in pairs[k]]
    convs = list(pairs["prompt"]) * 2

    def by_slices() -> list[float]:
        return [s for i in range(0, len(texts), 16)
                for s in reward_scores(judge, tok, convs[i:i + 16], texts[i:i + 16], max_length=rm.max_length)]

    sorted_s, by_length = timed(lambda: reward_scores(judge, tok, convs, texts, max_length=rm.max_length))
    order_s, in_order = timed(by_slices)
    diff = max(abs(a - b) for a, b in zip(by_length, in_order))
    report["reward_scores"] = dict(sequences=len(texts), max_length=rm.max_length, by_length_s=sorted_s,
                                   data_order_s=order_s, speedup=order_s / sorted_s, max_abs_difference=diff)

    ok = same == len(prompts) and diff < 1e-4
    out = args.out or REPO / "benchmarks" / f"eval_{profile.name}.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    g, r = report["greedy_answers"], report["reward_scores"]
    out.with_suffix(".md").write_text(
        f"# Evaluation batching, side by side ({profile.name}, {report['model']}, {report['threads']} threads)\n\n"
        f"Written by `python tools/bench_eval.py --profile {profile.name}`.\n\n"
        "| measure | before | now | ratio | same outputs |\n|---|---|---|---|---|\n"
        f"| {g['prompts']} greedy answers × ≤ {g['max_new_tokens']} tokens | calls of 8: {g['calls_of_8_s']:.1f} s | "
        f"one call: {g['one_call_s']:.1f} s | {g['speedup']:.2f}× | {g['same_answers']} of {g['prompts']} answers |\n"
        f"| {r['sequences']} reward scores (≤ {r['max_length']} tokens) | data order, batches of 16: "
        f"{r['data_order_s']:.1f} s | batched by length: {r['by_length_s']:.1f} s | {r['speedup']:.2f}× | "
        f"max difference {r['max_abs_difference']:.1e} |\n")
    print(out.with_suffix(".md").read_text())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
