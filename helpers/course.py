"""`make course`: execute every notebook headless, in order, in one run directory, and print a summary table."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .profiles import get_profile
from .runs import load_metrics, run_dir


def stage_of(notebook: Path) -> str:
    """'notebooks/03_sft.ipynb' -> 'sft'."""
    return notebook.stem.split("_", 1)[1]


# What each stage measured on held-out data, the same way before and after: (label, before key, after key, better,
# baseline key). better: "up" or "down". A baseline is the trivial judge the metric must beat.
HEADLINES: dict[str, list[tuple[str, str | None, str, str, str | None]]] = {
    "tokenizer": [("held-out domain text, % fewer tokens", None, "domain_length_reduction_pct", "up", None)],
    "pt": [("held-out perplexity", "ppl_before", "ppl_after", "down", None)],
    "sft": [("held-out assistant-token perplexity", "heldout_ppl_before", "heldout_ppl_after", "down", None)],
    "rm": [("held-out pairwise accuracy", "accuracy_before", "accuracy", "up", "length_baseline")],
    "ppo": [("held-out reward (scored as in training)", "reward_before", "reward_after", "up", None),
            ("held-out answers that end (EOS)", "eos_fraction_before", "eos_fraction_after", "up", None)],
    "dpo": [("held-out preference accuracy", "heldout_accuracy_before", "heldout_accuracy_after", "up", None),
            ("RM win rate against SFT", None, "win_rate_vs_sft", "up", None)],
    "text2sql": [("execution accuracy (Spider mode)", "execution_accuracy_before", "execution_accuracy_after", "up",
                  None),
                 ("predictions that run (right or wrong rows)", "executable_rate_before", "executable_rate_after",
                  "up", None),
                 ("predictions that parse", "parse_rate_before", "parse_rate_after", "up", None)],
}
BASELINE_NAMES = {"length_baseline": "length-only judge"}
EFFECTS = Path(__file__).resolve().parent.parent / "benchmarks" / "tiny_effects.json"


def quoted_effect(stage: str, key: str) -> str:
    """The measured spread of one held-out metric over seeds under tiny (benchmarks/tiny_effects.json), as a sentence a
    notebook prints next to its own run's number — so a claimed effect is a measured one, with its noise."""
    effects = json.loads(EFFECTS.read_text()) if EFFECTS.is_file() else {}
    e = effects.get(stage, {}).get(key)
    if not e:
        return f"(no seed-spread measurement of {stage}/{key}: run tools/tiny_effects.py)"
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    verdict = "beyond seed noise" if e["moves_right_way"] else "NOT beyond seed noise"
    return (f"tiny profile, seeds {', '.join(map(str, effects['seeds']))} (benchmarks/tiny_effects.json): {e['label']} "
            f"{mean(e['before']):.4g} → {mean(e['after']):.4g} on average, change {e['mean_change']:+.3g} ± "
            f"{e['std_change']:.2g} ({verdict})")


def headline_rows(stage: str, root: Path, effects: dict | None = None) -> list[str]:
    """One line per headline metric of `stage`: before → after, the baseline, and the 3-seed spread of the change
    measured under tiny (benchmarks/tiny_effects.json) when there is one."""
    m = load_metrics(stage, root)
    lines = []
    for label, before, after, better, baseline in HEADLINES.get(stage, []):
        if after not in m:
            lines.append(f"{label}: (not measured)")
            continue
        text = f"{label}: " + (f"{m[before]:.4g} → " if before and before in m else "") + f"{m[after]:.4g}"
        if before and before in m:
            moved = m[after] - m[before]
            text += " ✓" if (moved > 0 if better == "up" else moved < 0) else " ✗ (wrong way)"
        if baseline and baseline in m:
            text += f" (vs {BASELINE_NAMES.get(baseline, baseline)} {m[baseline]:.3g})"
        spread = (effects or {}).get(stage, {}).get(after)
        if spread:
            text += f" [tiny, {spread['seeds']} seeds: change {spread['mean_change']:+.3g} ± {spread['std_change']:.2g}]"
        lines.append(text)
    return lines or ["(no metrics written)"]


def execute(notebook: Path, out_dir: Path, timeout: int) -> float:
    """Run `notebook` top to bottom with its folder as working directory; save the executed copy; return seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(notebook.parent)}}).execute()
    finally:
        nbformat.write(nb, out_dir / notebook.name)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    os.environ.setdefault("WORKBOOK_RUN_DIR", str(run_dir("course")))
    root = Path(os.environ["WORKBOOK_RUN_DIR"])
    out_dir = root / "executed"
    out_dir.mkdir(parents=True, exist_ok=True)
    effects = json.loads(EFFECTS.read_text()) if EFFECTS.is_file() and get_profile().name == "tiny" else None
    rows, failed = [], None
    for nb in args.notebooks:
        print(f"▶ {nb.name}", flush=True)
        try:
            seconds = execute(nb.resolve(), out_dir, args.timeout)
        except Exception as exc:  # report which notebook broke, keep the executed copy for reading
            failed = f"{nb.name} failed: {type(exc).__name__}: {str(exc)[-2000:]}"
            rows.append((stage_of(nb), float("nan"), ["FAILED"]))
            break
        rows.append((stage_of(nb), seconds, headline_rows(stage_of(nb), root, effects)))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'stage':<{width}}  {'seconds':>8}  held-out metric, before → after")
    for stage, seconds, lines in rows:
        print(f"{stage:<{width}}  {seconds:>8.1f}  {lines[0]}")
        for line in lines[1:]:
            print(f"{'':<{width}}  {'':>8}  {line}")
    print(f"total {sum(r[1] for r in rows if r[1] == r[1]):.1f} s; executed notebooks in {out_dir}")
    if failed:
        print(failed, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
