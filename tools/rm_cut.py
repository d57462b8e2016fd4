"""Does 04's reward model pay for unfinished answers? Saved reward models with and without the cut pairs, side by side.

    python tools/rm_cut.py --without runs/effects_now --with runs/effects6 [--seeds 42 1 2] [--profile cpu]

PPO (05) cuts an answer off at `max_new_tokens` and hands it to 04's reward model mid-sentence. 04 trains on pairs of
complete answers, plus (`RMSettings.cut_share`) pairs of a complete chosen answer over its own unended beginning
(helpers.lm.rewards.cut_pairs). This tool loads each seed's saved reward model (`<root>/seed-N/rm/model`) from a run
trained without those pairs and one trained with them, and measures both on the profile's held-out pairs with 04's own
measures (helpers.stages.rm.RMStage): the pairwise accuracy, and the cut accuracy — the share of held-out chosen answers
that outscore their own cut beginning (below 0.5 the model pays for unfinished answers) — and the rank correlation
of its scores with the answers' length over the held-out answers (does it now prefer short ones?). It trains nothing. Writes
benchmarks/<profile>_rm_cut.json, which 04 quotes (helpers.learner.course.quoted_rm_cut).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from toolkit import REPO


def measure(root: Path, seed: int, profile) -> dict:
    """04's held-out measures of the reward model saved in `root`/seed-N/rm/model."""
    from helpers.lm.models import load_reward_model
    from helpers.stages.rm import RMStage

    stage = RMStage(root=root / f"seed-{seed}", profile=profile, seed=seed)
    stage.load()
    stage.model = load_reward_model(stage.output, profile, stage.tok).eval()
    scores, lengths = stage.scores("valid"), stage.length_scores("valid")
    both = lambda d: d["chosen"] + d["rejected"]  # noqa: E731
    return dict(accuracy=stage.accuracy(scores), cut_accuracy=stage.cut_accuracy(scores), pairs=len(scores["chosen"]),
                length_correlation=rank_correlation(both(scores), both(lengths)))


def rank_correlation(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation (no ties expected in reward scores; lengths' ties ranked by order)."""
    rank = lambda v: {i: r for r, i in enumerate(sorted(range(len(v)), key=v.__getitem__))}  # noqa: E731
    rx, ry = rank(x), rank(y)
    n = len(x)
    return 1 - 6 * sum((rx[i] - ry[i]) ** 2 for i in range(n)) / (n * (n * n - 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--without", type=Path, required=True, help="run root of reward models trained without cut pairs")
    parser.add_argument("--with", dest="with_", type=Path, required=True, help="run root of ones trained with them")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                      WORKBOOK_PROFILE=args.profile)
    from helpers.env.profiles import get_profile

    profile, started = get_profile(args.profile), time.perf_counter()
    report: dict = dict(profile=args.profile, seeds=args.seeds, machine=f"{platform.machine()}, {os.cpu_count()} CPUs")
    for name, root in (("without", args.without), ("with", args.with_)):
        rows = [measure(root, seed, profile) for seed in args.seeds]
        report[name] = {k: [r[k] for r in rows] for k in ("accuracy", "cut_accuracy", "length_correlation")}
        report["pairs"] = rows[0]["pairs"]
        print(name, report[name], flush=True)
    report["seconds"] = round(time.perf_counter() - started)
    out = args.out or REPO / "benchmarks" / f"{args.profile}_rm_cut.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
