"""Does a profile show every stage's effect, beyond seed noise? Run the course headless for several seeds.

    python tools/tiny_effects.py [--profile tiny|cpu] [--seeds 42 1 2] [--out benchmarks/<profile>_effects.json]

For each seed, every stage runs in a fresh run directory (tokenizer → pt → sft → rm → ppo → dpo → text2sql, the same
steps the notebooks call) and its held-out metrics (helpers.learner.course.HEADLINES) are read from metrics.json. The JSON
holds, per metric: the values before and after for every seed, the mean and standard deviation of the change, and
whether it moves the right way by more than seed noise (every seed moves the right way, and the mean change is larger
than one standard deviation of it). `make course` quotes the spread; notebooks quote it where they claim an effect.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from toolkit import REPO, TRAINING_STAGES, seed_verdict


# Metrics with no "before": the value they must beat (a win rate against SFT: a coin flip).
REFERENCE = {"win_rate_vs_sft": 0.5, "rm_win_rate_vs_sft": 0.5}


def run_course(seed: int, root: Path, stages: tuple[str, ...] = TRAINING_STAGES,
               profile_name: str = "tiny") -> dict[str, dict]:
    """The training stages of `profile_name` with `seed`, in course order, in `root`; {stage: metrics}. (A stage whose
    predecessors are not run falls back to the base model, as in the notebooks.)"""
    from helpers.env.profiles import get_profile
    from helpers.env.runs import load_metrics
    from helpers.stages import stage_class

    profile = get_profile(profile_name)
    for name in stages:
        started = time.perf_counter()
        stage_class(name)(root=root, profile=profile, seed=seed).run()
        print(f"seed {seed}: {name} in {time.perf_counter() - started:.0f} s", flush=True)
    return {name: load_metrics(name, root) for name in stages}


def summarise(per_seed: dict[int, dict[str, dict]]) -> dict:
    """Per stage and headline metric: values per seed, mean ± std of the change, and the verdict."""
    from helpers.learner.course import HEADLINES

    out: dict = {}
    for stage, rows in HEADLINES.items():
        for label, before, after, better, baseline in rows:
            runs = [m[stage] for m in per_seed.values() if after in m.get(stage, {})]  # seeds that finished it
            if not runs or not better or not all(after in r and (before in r if before else after in REFERENCE)
                                                 for r in runs):
                continue
            changes = [r[after] - (r[before] if before else REFERENCE[after]) for r in runs]
            entry = dict(label=label, better=better, seeds=len(changes),
                         before=[r[before] if before else REFERENCE[after] for r in runs],
                         after=[r[after] for r in runs], **seed_verdict(changes, better))
            if baseline:
                entry["baseline"] = [r.get(baseline) for r in runs]
            out.setdefault(stage, {})[after] = entry
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    parser.add_argument("--profile", default="tiny", help="tiny | cpu")
    parser.add_argument("--out", type=Path, help="default: benchmarks/<profile>_effects.json")
    parser.add_argument("--stages", nargs="+", default=list(TRAINING_STAGES),
                        help="a subset (its entries replace those in --out)")
    parser.add_argument("--run-root", type=Path, help="keep each seed's run here (default: a temporary folder)")
    parser.add_argument("--summarise-only", action="store_true",
                        help="run nothing: read <run-root>/seed-N of earlier (e.g. parallel) runs")
    parser.add_argument("--note", help="where the runs came from, kept in the report (with --summarise-only)")
    args = parser.parse_args()
    args.out = args.out or REPO / "benchmarks" / f"{args.profile}_effects.json"
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                      WORKBOOK_PROFILE=args.profile)
    started = time.perf_counter()
    per_seed = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            root = (args.run_root or Path(tmp)) / f"seed-{seed}"
            if args.summarise_only:
                from helpers.env.runs import load_metrics

                per_seed[seed] = {name: load_metrics(name, root) for name in args.stages
                                  if (root / name / "metrics.json").is_file()}
            else:
                per_seed[seed] = run_course(seed, root, tuple(args.stages), args.profile)
    subset = set(args.stages) != set(TRAINING_STAGES)
    report = json.loads(args.out.read_text()) if args.out.is_file() and subset else {}
    report.update(profile=args.profile, seeds=args.seeds, machine=f"{platform.machine()}, {os.cpu_count()} CPUs")
    if args.note:
        report["note"] = args.note
    if not args.summarise_only:  # the runs' own time; a summary of earlier runs took none
        report[f"seconds_{'_'.join(args.stages)}"] = round(time.perf_counter() - started)
    report.update(summarise(per_seed))
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    for stage in TRAINING_STAGES:
        for key, e in report.get(stage, {}).items():
            verdict = {True: "ok", False: "NOT BEYOND NOISE", None: "one seed: no spread"}[e["moves_right_way"]]
            print(f"{stage:>9} {e['label']}: change {e['mean_change']:+.4g} ± {e['std_change']:.2g}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
