"""`make course`: execute every notebook headless, in order, in one run directory, and print a summary table."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .runs import load_metrics, run_dir


def stage_of(notebook: Path) -> str:
    """'notebooks/03_sft.ipynb' -> 'sft'."""
    return notebook.stem.split("_", 1)[1]


def key_metric(stage: str, root: Path) -> str:
    """The metric a stage marked as its headline in metrics.json, formatted for the table."""
    m = load_metrics(stage, root)
    name = m.get("key_metric")
    if not name or name not in m:
        return "(no metrics written)"
    value = m[name]
    return f"{name} = {value:.4g}" if isinstance(value, (int, float)) else f"{name} = {value}"


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
    rows, failed = [], None
    for nb in args.notebooks:
        print(f"▶ {nb.name}", flush=True)
        try:
            seconds = execute(nb.resolve(), out_dir, args.timeout)
        except Exception as exc:  # report which notebook broke, keep the executed copy for reading
            failed = f"{nb.name} failed: {type(exc).__name__}: {str(exc)[-2000:]}"
            rows.append((stage_of(nb), float("nan"), "FAILED"))
            break
        rows.append((stage_of(nb), seconds, key_metric(stage_of(nb), root)))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'stage':<{width}}  {'seconds':>8}  key metric")
    for stage, seconds, metric in rows:
        print(f"{stage:<{width}}  {seconds:>8.1f}  {metric}")
    print(f"total {sum(r[1] for r in rows if r[1] == r[1]):.1f} s; executed notebooks in {out_dir}")
    if failed:
        print(failed, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
