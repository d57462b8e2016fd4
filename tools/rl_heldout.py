"""05's and 06's effects on more held-out prompts: the saved models of several seeds' runs, measured again.

    python tools/rl_heldout.py --run-root runs/effects_now [--seeds 42 1 2] [--prompts 64] [--out ...]

The course measures PPO, GRPO and DPO on the profile's `eval_limit` held-out prompts (16 on `cpu`), one sampled
answer each. On 16 answers the share that end moves by 1/16 per answer and a mean reward-model score by about a quarter
of a point from sampling alone, so a seed's before→after change mixes the training's effect with the measurement's
noise. This tool takes each seed's saved models (`<run-root>/seed-N/{sft,ppo,dpo}/model`, 04's reward model of that
seed) and measures every one with 05's own measure (helpers.stages.ppo.heldout_measure: the same length cap, cut-off
penalty and sampling seed) on the first `--prompts` held-out prompts. It trains nothing. Per seed it reports PPO's
held-out reward, reward-model score alone and share that end (before = 03's model, after = PPO's), the KL of PPO's
policy to 03's per answer, and DPO's win rates against 03's answers; then the mean ± std of every change over the seeds
and whether it moves the right way beyond the spread (every seed the right way, mean change larger than its std).
Writes JSON and a Markdown summary (default benchmarks/<profile>_rl_heldout.{json,md}).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from toolkit import REPO, seed_verdict

# (key, label, better, before row, after row, measure key); "win" rows compare answers prompt by prompt
CHANGES = (("reward", "PPO: held-out reward (scored as in training)", "up", "sft", "ppo", "reward"),
           ("rm_score", "PPO: reward model's score alone", "up", "sft", "ppo", "raw_score"),
           ("eos_fraction", "PPO: share of answers that end (EOS)", "up", "sft", "ppo", "eos_fraction"),
           ("dpo_reward", "DPO: held-out reward", "up", "sft", "dpo", "reward"),
           ("dpo_rm_score", "DPO: reward model's score alone", "up", "sft", "dpo", "raw_score"))
# like for like (helpers.lm.rewards.ended_alike): the RM's score on the prompts whose answer ended before and after
ALIKE = (("rm_score_ended", "PPO: RM score, like for like (prompts whose answer ended both times)", "ppo"),
         ("dpo_rm_score_ended", "DPO: RM score, like for like (prompts whose answer ended both times)", "dpo"))
WINS = (("win_rate_vs_sft", "DPO: win rate against 03 (reward)", "scores"),
        ("rm_win_rate_vs_sft", "DPO: win rate against 03 (reward model's score alone)", "raw_scores"))


def measure_seed(root: Path, seed: int, profile, n_prompts: int) -> dict:
    """Every saved model of one seed's run measured on the first `n_prompts` held-out prompts."""
    import torch

    from helpers.env.sources import course_records
    from helpers.lm.models import load_causal_lm, load_reward_model
    from helpers.rl.ppo import encode_prompts, response_logits
    from helpers.stages import settings_for
    from helpers.stages.dpo import win_rate
    from helpers.stages.ppo import heldout_measure
    from transformers import AutoTokenizer

    ppo = settings_for(profile, "ppo")
    sft_dir = root / "sft" / "model"
    tok = AutoTokenizer.from_pretrained(sft_dir)
    prompts = encode_prompts(tok, course_records(profile, "preference", "valid", n_prompts)["prompt"],
                             ppo.max_prompt_length)
    rm = load_reward_model(root / "rm" / "model", profile, tok).eval()
    reference = load_causal_lm(sft_dir, profile).eval()

    def ref_logits(ids, attn, n):
        return response_logits(reference, ids, attn, n)

    measured = {}
    for row in ("sft", "ppo", "dpo"):
        folder = root / row / "model"
        if not (folder / "config.json").is_file():
            print(f"seed {seed}: no {row} model in {folder}: skipped", flush=True)
            continue
        torch.manual_seed(seed)
        model = reference if row == "sft" else load_causal_lm(folder, profile).eval()
        started = time.perf_counter()
        m = heldout_measure(model, rm, tok, prompts, ppo.max_new_tokens, ppo.missing_eos_penalty, seed=seed,
                            kl=row != "sft", reference=ref_logits)
        print(f"seed {seed}: {row} measured on {len(prompts)} prompts in {time.perf_counter() - started:.0f} s: "
              f"reward {m['reward']:+.3f}, RM score {m['raw_score']:+.3f}, ended {m['eos_fraction']:.3f}", flush=True)
        measured[row] = {k: m[k] for k in ("reward", "raw_score", "eos_fraction", "response_length", "kl", "scores",
                                           "raw_scores", "ended")}
    if "dpo" in measured:
        for key, _, scores in WINS:
            measured[key] = win_rate(measured["dpo"][scores], measured["sft"][scores])
    return measured


def summarise(per_seed: dict[int, dict]) -> dict:
    """Per change: values per seed, mean ± std of the change, and the verdict (as tools/tiny_effects.py judges)."""
    from helpers.lm.rewards import ended_alike

    out = {}
    rows = [(k, label, better, (lambda m, b=b, a=a, f=f: (m[b][f], m[a][f])))
            for k, label, better, b, a, f in CHANGES]
    rows += [(k, label, "up", (lambda m, k=k: (0.5, m[k]))) for k, label, _ in WINS]
    rows += [(k, label, "up", (lambda m, row=row: tuple(ended_alike(m["sft"], m[row])[x] for x in ("before", "after"))))
             for k, label, row in ALIKE]
    for key, label, better, pick in rows:
        pairs = [pick(m) for m in per_seed.values() if all(r in m for r in ("sft", "ppo", "dpo"))]
        if not pairs:
            continue
        out[key] = dict(label=label, before=[b for b, _ in pairs], after=[a for _, a in pairs],
                        **seed_verdict([a - b for b, a in pairs], better))
    return out


def markdown(report: dict) -> str:
    lines = [f"# 05/06 effects on {report['prompts']} held-out prompts ({report['profile']}, seeds "
             f"{', '.join(map(str, report['seeds']))})", "",
             "Written by `python tools/rl_heldout.py`: each seed's saved models measured again with 05's held-out "
             "measure on more prompts (no training). Before = 03's model.", "",
             "| change | per seed (before → after) | mean ± std | beyond the spread |", "|---|---|---|---|"]
    for e in report["effects"].values():
        seeds = "; ".join(f"{b:.3f} → {a:.3f}" for b, a in zip(e["before"], e["after"]))
        lines.append(f"| {e['label']} | {seeds} | {e['mean_change']:+.3f} ± {e['std_change']:.3f} | "
                     f"{'yes' if e['moves_right_way'] else 'no'} |")
    kls = [m["ppo"]["kl"] for m in report["per_seed"].values() if "ppo" in m]
    if kls:
        lines += ["", f"KL of PPO's policy to 03's, nats per answer: {', '.join(f'{k:.3f}' for k in kls)}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-root", type=Path, required=True, help="holds seed-N/ run directories")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    parser.add_argument("--prompts", type=int, default=64, help="held-out prompts (the shipped set has 80)")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                      WORKBOOK_PROFILE=args.profile)
    from helpers.env.profiles import get_profile

    profile = get_profile(args.profile)
    out = args.out or REPO / "benchmarks" / f"{args.profile}_rl_heldout.json"
    started = time.perf_counter()
    per_seed = {seed: measure_seed(args.run_root / f"seed-{seed}", seed, profile, args.prompts) for seed in args.seeds}
    report = dict(profile=args.profile, seeds=args.seeds, prompts=args.prompts,
                  machine=f"{platform.machine()}, {os.cpu_count()} CPUs", seconds=round(time.perf_counter() - started),
                  effects=summarise(per_seed),
                  per_seed={s: {r: ({k: v for k, v in m.items() if k not in ("scores", "raw_scores", "ended")}
                                    if isinstance(m, dict) else m) for r, m in ms.items()}
                            for s, ms in per_seed.items()})
    out.write_text(json.dumps(report, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
