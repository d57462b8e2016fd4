"""Maintainer tool: edit notebooks as percent-format scripts and rebuild them with their checked outputs.

  python tools/nb.py edit notebooks/01_tokenizer.ipynb      -> build/01_tokenizer.py (edit this)
  python tools/nb.py build build/01_tokenizer.py             -> notebooks/01_tokenizer.ipynb, executed under
                                                               the tiny profile in runs/build; only cells marked
                                                               '# NBVAL_CHECK_OUTPUT' keep their outputs.
  python tools/nb.py clean notebooks/01_tokenizer.ipynb     -> the same cleaning, without executing
Build notebooks in order (01 before 02 …): later ones read earlier ones' outputs from runs/build.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
CHECK = "# NBVAL_CHECK_OUTPUT"


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop outputs (except in checked cells, which keep them and a count), execution counts and volatile metadata."""
    count = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            checked = CHECK in cell.source
            count += checked
            cell.execution_count = count if checked else None  # nbval skips checked cells without a count
            # warnings on stderr carry machine paths and vary between library versions: never stored
            cell.outputs = [o for o in cell.outputs if checked and o.get("name") != "stderr"]
            for out in cell.outputs:
                if "execution_count" in out:
                    out["execution_count"] = cell.execution_count
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python"}, "colab": {"provenance": []}, "accelerator": "GPU"}
    return nb


def build(src: Path) -> Path:
    from nbclient import NotebookClient

    nb = jupytext.read(src, fmt="py:percent")
    target = ROOT / "notebooks" / (src.stem + ".ipynb")
    os.environ.update(WORKBOOK_PROFILE="tiny", WORKBOOK_RUN_DIR=str(ROOT / "runs" / "build"), HF_HUB_OFFLINE="1",
                      TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg")
    NotebookClient(nb, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(target.parent)}}).execute()
    nbformat.write(clean(nb), target)
    return target


def main() -> None:
    cmd, path = sys.argv[1], Path(sys.argv[2])
    if cmd == "edit":
        out = ROOT / "build" / (path.stem + ".py")
        out.parent.mkdir(exist_ok=True)
        jupytext.write(nbformat.read(path, as_version=4), out, fmt="py:percent")
        print(out)
    elif cmd == "build":
        print(build(path))
    elif cmd == "clean":  # re-clean a stored notebook without executing it
        nbformat.write(clean(nbformat.read(path, as_version=4)), path)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
