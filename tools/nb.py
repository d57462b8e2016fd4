"""Maintainer tool: edit notebooks as percent-format scripts and rebuild them with their checked outputs.

  python tools/nb.py edit notebooks/01_tokenizer.ipynb      -> build/01_tokenizer.py (edit this)
  python tools/nb.py build build/01_tokenizer.py             -> notebooks/01_tokenizer.ipynb, executed under
                                                               the tiny profile in runs/build; only cells marked
                                                               '# NBVAL_CHECK_OUTPUT' keep their outputs.
  python tools/nb.py clean notebooks/01_tokenizer.ipynb     -> the same cleaning, without executing
  python tools/nb.py sync-cells                             -> every notebook's shared cells and Colab badge
                                                               rewritten from colab/*.py and pyproject, without
                                                               executing anything (run it after editing colab/)
  python tools/nb.py set-repo OWNER/NAME                    -> the course's GitHub repository changed in
                                                               pyproject ([tool.workbook].repository, the one
                                                               source), colab/setup_cell.py, README badges, and
                                                               then sync-cells
Build notebooks in order (01 before 02 …): later ones read earlier ones' outputs from runs/build.
"""

from __future__ import annotations

import os
import re
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


# The repository part of a Colab badge's URL (README and each notebook's first cell).
BADGE_URL = re.compile(r"(https://colab\.research\.google\.com/github/)[^/\s)]+/[^/\s)]+(/blob/main/notebooks/)")
SETUP_REPO = re.compile(r'("WORKBOOK_REPO", "https://github\.com/)[^"]*(")')
REPO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")


if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))  # helpers, also without the editable install
from helpers.env.colab import colab_badge  # noqa: E402
from helpers.env.pins import pyproject  # noqa: E402


def _repository(root: Path) -> str:
    return pyproject(root)["tool"]["workbook"]["repository"]


def sync_cells(root: Path | None = None) -> list[Path]:
    """Rewrite every notebook's first code cell to colab/setup_cell.py, its second to `STAGE = "<stage>"` +
    colab/run_cell.py, and the Colab badge of its first (markdown) cell to [tool.workbook].repository. Nothing is
    executed: the shared cells are unchecked, so they are stored without outputs. Returns the notebooks changed."""
    root = root or ROOT
    repo = _repository(root)
    setup = (root / "colab" / "setup_cell.py").read_text().strip()
    run = (root / "colab" / "run_cell.py").read_text().strip()
    changed = []
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        kinds = [c.cell_type for c in nb.cells[:3]]
        if kinds != ["markdown", "code", "code"]:
            sys.exit(f"{path}: expected a markdown cell then the two shared code cells, found {kinds}")
        first = nb.cells[0]
        if BADGE_URL.search(first.source):
            first.source = BADGE_URL.sub(lambda m: f"{m[1]}{repo}{m[2]}", first.source)
        else:
            first.source = colab_badge(path.name, repo) + "\n\n" + first.source
        nb.cells[1].source = setup
        nb.cells[2].source = f'STAGE = "{path.stem.split("_", 1)[1]}"\n{run}'
        text = nbformat.writes(clean(nb))
        text += "" if text.endswith("\n") else "\n"
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def set_repo(repo: str, root: Path | None = None) -> list[Path]:
    """Make OWNER/NAME the course's repository everywhere: pyproject ([tool.workbook].repository and
    [project.urls]), the setup cell's clone URL, the README badges, then every notebook (sync_cells)."""
    root = root or ROOT
    if not REPO_NAME.fullmatch(repo):
        raise ValueError(f"expected OWNER/NAME as on GitHub, got {repo!r}")
    edits = {
        "pyproject.toml": [(re.compile(r'(?m)^(repository = ")[^"]*(")'), 1),
                           (re.compile(r'(?m)^((?:Homepage|Repository) = "https://github\.com/)[^"]*(")'), 2)],
        "colab/setup_cell.py": [(SETUP_REPO, 1)],
        "README.md": [(BADGE_URL, 1)],
    }
    texts = {}
    for name, patterns in edits.items():  # all checked before anything is written
        text = (root / name).read_text(encoding="utf-8")
        for pattern, at_least in patterns:
            text, n = pattern.subn(lambda m: f"{m[1]}{repo}{m[2]}", text)
            if n < at_least:
                sys.exit(f"{root / name}: {pattern.pattern!r} matched {n} times, expected at least {at_least}")
        texts[root / name] = text
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
    assert _repository(root) == repo
    return list(texts) + sync_cells(root)


def main() -> None:
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "sync-cells":
        for path in sync_cells():
            print(path)
        return
    if cmd == "set-repo" and len(sys.argv) == 3:
        try:
            for path in set_repo(sys.argv[2]):
                print(path)
        except ValueError as err:
            sys.exit(str(err))
        return
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path = Path(sys.argv[2])
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
