"""`make course`: execute every notebook headless, in order, in one run directory, and print a summary table."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from ..env.profiles import get_profile
from ..env.runs import load_metrics, run_dir


def stage_of(notebook: Path) -> str:
    """'notebooks/03_sft.ipynb' -> 'sft'."""
    return notebook.stem.split("_", 1)[1]


# What each stage measured on held-out data, the same way before and after: (label, before key, after key, better,
# baseline key). better: "up" or "down". A baseline is the trivial judge the metric must beat (RM), or where the
# training data itself stands (SFT: its reference answers).
HEADLINES: dict[str, list[tuple[str, str | None, str, str | None, str | None]]] = {
    "tokenizer": [("held-out domain text, % fewer tokens", None, "domain_length_reduction_pct", "up", None)],
    "pt": [("held-out perplexity", "ppl_before", "ppl_after", "down", None),
           ("  Chinese text only", "ppl_zh_before", "ppl_zh_after", "down", None),
           ("  English text only", "ppl_en_before", "ppl_en_after", "down", None),
           ("general (non-medical) text: forgetting if it rises", "ppl_general_before", "ppl_general_after", None,
            None)],
    "sft": [("held-out assistant-token perplexity", "heldout_ppl_before", "heldout_ppl_after", "down", None),
            ("held-out answers that end (EOS)", "eos_rate_before", "eos_rate_after", "up", "eos_rate_reference"),
            ("4-gram repetition in held-out answers", "repetition_rate_before", "repetition_rate_after", "down",
             "repetition_rate_reference")],
    "rm": [("held-out pairwise accuracy", "accuracy_before", "accuracy", "up", "length_baseline"),
           ("complete answers outscore their own cut beginning", "cut_accuracy_before", "cut_accuracy", "up", None)],
    "ppo": [("held-out reward (scored as in training)", "reward_before", "reward_after", "up", None),
            ("  reward model's score alone", "rm_score_before", "rm_score_after", "up", None),
            ("  answers that end (EOS)", "eos_fraction_before", "eos_fraction_after", "up", None),
            ("  RM score, like for like (prompts whose answer ended both times)", "rm_score_ended_before",
             "rm_score_ended_after", "up", None),
            ("KL to the SFT model, nats per answer", None, "kl_after", None, None)],
    "dpo": [("held-out preference accuracy", "heldout_accuracy_before", "heldout_accuracy_after", "up", None),
            ("win rate against SFT (training reward: RM − cut-off penalty)", None, "win_rate_vs_sft", "up", None),
            ("win rate against SFT (reward model's score alone)", None, "rm_win_rate_vs_sft", "up", None),
            ("reward model's score alone, SFT → DPO", "raw_score_sft", "raw_score_dpo", "up", None)],
    "text2sql": [("execution accuracy (Spider mode)", "execution_accuracy_before", "execution_accuracy_after", "up",
                  None),
                 ("predictions that run (right or wrong rows)", "executable_rate_before", "executable_rate_after",
                  "up", None),
                 ("predictions that parse", "parse_rate_before", "parse_rate_after", "up", None)],
}
BASELINE_NAMES = {"length_baseline": "length-only judge", "eos_rate_reference": "the reference answers",
                  "repetition_rate_reference": "the reference answers"}
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def effects_file(profile: str) -> Path:
    """benchmarks/<profile>_effects.json: the 3-seed spread of every headline metric on that profile
    (tools/tiny_effects.py --profile NAME)."""
    return BENCHMARKS / f"{profile}_effects.json"


def _spread_sentence(profile: str, source: str, e: dict, seeds: int) -> str:
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    verdict = {True: "beyond seed noise", False: "NOT beyond seed noise",
               None: "one seed only: no spread measured"}[e["moves_right_way"]]
    return (f"{profile} profile, {seeds} seed(s) ({source}): {e['label']} {mean(e['before']):.4g} → "
            f"{mean(e['after']):.4g} on average, change {e['mean_change']:+.3g} ± {e['std_change']:.2g} ({verdict})")


def quoted_effect(stage: str, key: str, profile: str | None = None) -> str:
    """The measured spread of one held-out metric over seeds on the running profile (benchmarks/<profile>_effects.json),
    as a sentence a notebook prints next to its own run's number — so a claimed effect is a measured one, with its
    noise, on the profile that ran."""
    profile = profile or get_profile_name()
    path = effects_file(profile)
    effects = json.loads(path.read_text()) if path.is_file() else {}
    e = effects.get(stage, {}).get(key)
    if not e:
        return (f"(no seed-spread measurement of {stage}/{key} on the {profile} profile: run "
                f"tools/tiny_effects.py --profile {profile})")
    return _spread_sentence(profile, f"benchmarks/{path.name}", e, e["seeds"])


def quoted_heldout(key: str, profile: str | None = None) -> str | None:
    """The same seeds' 05/06 change measured again on more held-out prompts (tools/rl_heldout.py, key as there:
    reward, rm_score, eos_fraction, win_rate_vs_sft, ...), as a sentence; None where that was not measured."""
    profile = profile or get_profile_name()
    path = BENCHMARKS / f"{profile}_rl_heldout.json"
    report = json.loads(path.read_text()) if path.is_file() else {}
    e = report.get("effects", {}).get(key)
    if not e:
        return None
    return _spread_sentence(profile, f"{report['prompts']} held-out prompts, benchmarks/{path.name}", e,
                            len(e["after"]))


def quoted_rm_cut(profile: str | None = None) -> str:
    """04's reward models trained without and with the cut pairs, the same seeds measured alike (tools/rm_cut.py,
    benchmarks/<profile>_rm_cut.json), as a sentence; says so where that was not measured on this profile."""
    profile = profile or get_profile_name()
    path = BENCHMARKS / f"{profile}_rm_cut.json"
    if not path.is_file():
        return f"(reward models with and without cut pairs not compared on the {profile} profile: tools/rm_cut.py)"
    r = json.loads(path.read_text())
    show = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    return (f"{profile} profile, seeds {', '.join(map(str, r['seeds']))} (benchmarks/{path.name}), on {r['pairs']} "
            f"held-out answers: trained without cut pairs, the reward model ranks a complete answer above its own cut "
            f"beginning on {show(r['without']['cut_accuracy'])} of them (pairwise accuracy "
            f"{show(r['without']['accuracy'])}, rank correlation of score and length "
            f"{show(r['without']['length_correlation'])}); with them {show(r['with']['cut_accuracy'])} (pairwise "
            f"accuracy {show(r['with']['accuracy'])}, correlation with length {show(r['with']['length_correlation'])}).")


def get_profile_name() -> str:
    """The running profile's name without building anything (WORKBOOK_PROFILE, else detected)."""
    import os

    from ..env.profiles import detect

    return (os.environ.get("WORKBOOK_PROFILE") or detect()).strip().lower()


def headline_rows(stage: str, root: Path, effects: dict | None = None) -> list[str]:
    """One line per headline metric of `stage`: before → after, the baseline, and the 3-seed spread of the change
    measured on the running profile (benchmarks/<profile>_effects.json) when there is one."""
    m = load_metrics(stage, root)
    lines = []
    for label, before, after, better, baseline in HEADLINES.get(stage, []):
        if after not in m:
            lines.append(f"{label}: (not measured)")
            continue
        text = f"{label}: " + (f"{m[before]:.4g} → " if before and before in m else "") + f"{m[after]:.4g}"
        if before and before in m:
            moved = m[after] - m[before]
            if better:
                text += " ✓" if (moved > 0 if better == "up" else moved < 0) else " ✗ (wrong way)"
        if baseline and baseline in m:
            text += f" (vs {BASELINE_NAMES.get(baseline, baseline)} {m[baseline]:.3g})"
        spread = (effects or {}).get(stage, {}).get(after)
        if spread:
            text += (f" [{(effects or {}).get('profile', 'tiny')}, {spread['seeds']} seed(s): change "
                     f"{spread['mean_change']:+.3g} ± {spread['std_change']:.2g}]")
        lines.append(text)
    return lines or ["(no metrics written)"]


def kernel_config():
    """Kernels that talk over encrypted ZeroMQ sockets (CurveZMQ, when the kernel spec declares it, as ipykernel's
    does): a kernel on plain TCP prints "[IPKernelApp] WARNING | Kernel is running over TCP without encryption" to the
    terminal, once per notebook. (Configured, not passed as `km`: the client then owns the kernel and shuts it down.)"""
    from jupyter_client.manager import KernelManager
    from traitlets.config import Config

    if "transport_encryption" in KernelManager.class_trait_names():  # jupyter_client >= 8.7
        return Config({"KernelManager": {"transport_encryption": "auto"}})
    return Config()


def kernel_log(notebook: Path, out_dir: Path) -> Path:
    """Where the kernel process's own stderr goes: not the cells' output (that reaches the notebook), but the kernel's
    start-up and shutdown messages and a crash report (e.g. ZeroMQ's "Assertion failed … signaler.cpp" when a socket
    closes under a busy machine) — kept out of the terminal, kept for reading when it is not empty."""
    return out_dir / f"{notebook.stem}.kernel.log"


def execute(notebook: Path, out_dir: Path, timeout: int) -> float:
    """Run `notebook` top to bottom with its folder as working directory; save the executed copy, its progress bars
    as they ended (helpers.env.quiet.finish_progress_bars) and the kernel's own stderr (kernel_log); return seconds."""
    import nbformat
    from nbclient import NotebookClient

    from ..env.quiet import finish_progress_bars

    nb = nbformat.read(notebook, as_version=4)
    start = time.perf_counter()
    log = kernel_log(notebook, out_dir)
    try:
        with open(log, "w") as kernel_stderr:
            NotebookClient(nb, config=kernel_config(), timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(notebook.parent)}}).execute(stderr=kernel_stderr)
    finally:
        finish_progress_bars(nb)
        nbformat.write(nb, out_dir / notebook.name)
        if log.is_file() and log.stat().st_size == 0:
            log.unlink()
    return time.perf_counter() - start


def without_ansi(text: str) -> str:
    """`text` without ANSI colour codes (a failed cell's traceback has them)."""
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def from_here(path: Path) -> str:
    """`path` relative to the working directory when it lies inside it (runs/course/executed), else as it is."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def noise_of(executed: Path) -> list[str]:
    """What an executed copy shows besides the lesson (helpers.env.quiet.scan_notebook), one line per cell and reason."""
    import nbformat

    from ..env.quiet import scan_notebook

    return [f"{executed.name} {n}" for n in scan_notebook(nbformat.read(executed, as_version=4))]


def print_scoreboard(root: Path) -> None:
    """Every model the run saved, scored on the same held-out measures (helpers.learner.scoreboard; rows 06 measured are
    reused, the rest measured now)."""
    from contextlib import redirect_stderr
    from io import StringIO

    from .scoreboard import lines, scoreboard

    with redirect_stderr(StringIO()):  # the scoring's progress bars
        board = scoreboard(root, get_profile())
    if board:
        print("\nscoreboard: every saved model on the same held-out measures")
        for line in lines(board):
            print("  " + line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--no-scoreboard", dest="scoreboard", action="store_false",
                        help="skip scoring every saved model on the same held-out measures at the end")
    args = parser.parse_args(argv)
    os.environ.setdefault("WORKBOOK_RUN_DIR", str(run_dir("course")))
    root = Path(os.environ["WORKBOOK_RUN_DIR"])
    out_dir = root / "executed"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = effects_file(get_profile_name())
    effects = json.loads(path.read_text()) if path.is_file() else None
    rows, failed, noise = [], None, []
    for nb in args.notebooks:
        print(f"▶ {nb.name}", flush=True)
        try:
            seconds = execute(nb.resolve(), out_dir, args.timeout)
        except Exception as exc:  # report which notebook broke, keep the executed copy for reading
            failed = f"{nb.name} failed: {type(exc).__name__}: {without_ansi(str(exc))[-2000:]}"
            if kernel_log(nb, out_dir).is_file():
                failed += f"\n(the kernel's own messages: {from_here(kernel_log(nb, out_dir))})"
            rows.append((stage_of(nb), float("nan"), ["FAILED"]))
            break
        noise += noise_of(out_dir / nb.name)
        rows.append((stage_of(nb), seconds, headline_rows(stage_of(nb), root, effects)))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'stage':<{width}}  {'seconds':>8}  held-out metric, before → after")
    for stage, seconds, lines in rows:
        print(f"{stage:<{width}}  {seconds:>8.1f}  {lines[0]}")
        for line in lines[1:]:
            print(f"{'':<{width}}  {'':>8}  {line}")
    print(f"total {sum(r[1] for r in rows if r[1] == r[1]):.1f} s; executed notebooks in {from_here(out_dir)}")
    if not failed and args.scoreboard:
        print_scoreboard(root)
    if noise:  # a chapter prints nothing but its lesson (helpers.env.quiet)
        print(f"\n{len(noise)} noisy outputs (stderr, warnings, ANSI codes, machine paths, log dicts, frozen bars):")
        for line in noise:
            print(f"  {line}"[:300])
    if failed:
        print(failed, file=sys.stderr)
    return 1 if failed else 0  # noise is listed above; nbval's hook (root conftest.py) fails it under tiny


if __name__ == "__main__":
    sys.exit(main())
