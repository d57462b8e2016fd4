"""Repository hygiene: one source of pins, notebooks clean and consistent, keyword arguments still valid."""

import ast
import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

from helpers import pins

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHECK = "# NBVAL_CHECK_OUTPUT"


def cells(nb_path):
    return json.loads(nb_path.read_text(encoding="utf-8"))["cells"]


def code_of(nb_path) -> str:
    """The notebook's code, IPython magics removed, as one parsable Python source."""
    lines = []
    for cell in cells(nb_path):
        if cell["cell_type"] == "code":
            src = "".join(cell["source"])
            lines += [l for l in src.splitlines() if not l.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def test_environment_yml_is_derived_from_pyproject():
    assert (ROOT / "environment.yml").read_text() == pins.environment_yml(), \
        "environment.yml is stale: run `python -m helpers.pins environment > environment.yml`"


def test_installed_versions_match_pins():
    assert pins.mismatches() == {}


def test_makefile_installs_the_pinned_torch_first():
    makefile = (ROOT / "Makefile").read_text()
    assert "torch==$(TORCH_PIN)" in makefile and "helpers.pins torch" in makefile
    assert makefile.index("torch==$(TORCH_PIN)") < makefile.index('-e ".[dev]"')


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "01_tokenizer.ipynb"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_shared_cells(nb):
    cs = cells(nb)
    setup = (ROOT / "colab" / "setup_cell.py").read_text().strip()
    run = (ROOT / "colab" / "run_cell.py").read_text().strip()
    assert "colab.research.google.com" in "".join(cs[0]["source"]) and nb.name in "".join(cs[0]["source"])
    assert "".join(cs[1]["source"]).strip() == setup, "first code cell must be colab/setup_cell.py verbatim"
    stage = nb.stem.split("_", 1)[1]
    assert "".join(cs[2]["source"]).strip() == f'STAGE = "{stage}"\n{run}', "second code cell: STAGE + colab/run_cell.py"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_checks_something(nb):
    cs = [c for c in cells(nb) if c["cell_type"] == "code"]
    checked = [c for c in cs if CHECK in "".join(c["source"])]
    assert checked, "at least one deterministic cell must be compared by nbval"
    for c in cs:
        if CHECK in "".join(c["source"]):
            assert c["outputs"] and c["execution_count"], "a checked cell keeps its output (rebuild with tools/nb.py)"
        else:
            assert not c["outputs"] and c["execution_count"] is None, \
                "unchecked cells are stored without outputs (rebuild with tools/nb.py)"
    stored = json.dumps([c["outputs"] for c in cs])
    assert not re.search(r"/(work|tmp|root|home)/", stored), "a machine-specific path in a stored output"
    assert '"stderr"' not in stored, "stderr (warnings) is not stored: it differs between machines"
    md = "\n".join("".join(c["source"]) for c in cells(nb) if c["cell_type"] == "markdown")
    assert "Objectives" in md and "Summary" in md


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_safe_and_portable(nb):
    src = code_of(nb)
    assert not re.search(r"trust_remote_code\s*=\s*True", src)
    assert not re.search(r"/(work|tmp|root|home)/", src), "machine-specific path"
    assert not re.search(r"pip install[^\n]*\btorch\b", src), "never reinstall torch"


def _library_calls(tree: ast.AST):
    """(class, keyword) for every call of a class imported from transformers / trl / peft."""
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("transformers", "trl", "peft"):
            for alias in node.names:
                imported[alias.asname or alias.name] = (node.module, alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in imported:
            module, name = imported[node.func.id]
            obj = getattr(importlib.import_module(module), name)
            if inspect.isclass(obj):
                for kw in node.keywords:
                    if kw.arg:
                        yield obj, kw.arg


SOURCES = NOTEBOOKS + sorted((ROOT / "helpers").glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_api_drift(path):
    """Every keyword we pass to a transformers/trl/peft class still exists in the pinned versions."""
    src = code_of(path) if path.suffix == ".ipynb" else path.read_text()
    unknown = []
    for cls, kw in _library_calls(ast.parse(src)):
        params = inspect.signature(cls).parameters
        if kw not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            unknown.append(f"{cls.__name__}({kw}=...)")
    assert not unknown, f"keywords not accepted by the pinned libraries: {unknown}"


def test_api_drift_detects_a_bad_keyword():
    bad = "from trl import SFTConfig\nSFTConfig(output_dir='x', no_such_option=1)\n"
    found = [(c.__name__, k) for c, k in _library_calls(ast.parse(bad))]
    assert ("SFTConfig", "no_such_option") in found
