"""Repository hygiene: one source of pins, notebooks clean and consistent, keyword arguments still valid."""

import ast
import importlib
import inspect
import json
import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from helpers.env import pins

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
        "environment.yml is stale: run `python -m helpers.env.pins environment > environment.yml`"


def test_installed_versions_match_pins():
    assert pins.mismatches() == {}


def _floor(spec: SpecifierSet, candidates) -> Version:
    """The lowest of `candidates` that `spec` allows."""
    return min(v for v in map(Version, candidates) if v in spec)


PYTHONS = [f"3.{minor}" for minor in range(8, 16)]


def test_requires_python_covers_every_pinned_library():
    """Our Python floor is one every pinned library accepts (their own Requires-Python, as installed)."""
    project = pins.pyproject()["project"]
    ours = SpecifierSet(project["requires-python"])
    floor = _floor(ours, PYTHONS)
    refusing = {}
    for name in pins.pinned():
        try:
            theirs = metadata.metadata(name).get("Requires-Python")
        except metadata.PackageNotFoundError:
            continue  # e.g. bitsandbytes ([colab] extra) is not installed locally
        if theirs and floor not in SpecifierSet(theirs):
            refusing[name] = theirs
    assert not refusing, f"requires-python {ours} allows Python {floor}, which these pins refuse: {refusing}"
    assert Version(pins.pyproject()["tool"]["workbook"]["python"]) in ours  # environment.yml's Python
    # no requirement left for Pythons below the floor (e.g. the old tomli fallback)
    for req in map(Requirement, pins.requirements(tuple(project["optional-dependencies"]))):
        if req.marker is not None:
            assert any(req.marker.evaluate({"python_version": v, "python_full_version": v + ".0"})
                       for v in PYTHONS if Version(v) >= floor), f"{req} never applies at Python >= {floor}"


def _torch_floors():
    """name -> the lowest torch each installed pinned library accepts (unconditional or its `torch` extra)."""
    floors = {}
    for name in pins.pinned():
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for req in map(Requirement, requires):
            if req.name == "torch" and (req.marker is None or req.marker.evaluate({"extra": "torch"})):
                for spec in req.specifier:
                    if spec.operator in (">=", "==", "~="):
                        floors[name] = max(floors.get(name, Version("0")), Version(spec.version))
    # transformers disables torch below its minimum (a log line, then "PyTorch was not found"): read it from source
    from transformers.utils import import_utils

    source = inspect.getsource(import_utils.is_torch_available)
    found = [Version(v) for v in re.findall(r'version\.parse\("([0-9.]+)"\)', source)]
    assert found, "the torch check of transformers moved: update this test"
    floors["transformers (is_torch_available)"] = max(found)
    return floors


def test_torch_floor_covers_what_the_pins_need():
    deps = [Requirement(r) for r in pins.requirements() if Requirement(r).name == "torch"]
    assert len(deps) == 1
    ours = deps[0].specifier
    floor = min(Version(s.version) for s in ours if s.operator in (">=", "=="))
    floors = _torch_floors()
    assert floors["transformers (is_torch_available)"] >= Version("2.6")
    too_low = {name: str(v) for name, v in floors.items() if v > floor}
    assert not too_low, f"torch floor {ours} is below what these pins need: {too_low}"
    assert Version(pins.pinned()["torch"]) in ours, "[tool.workbook].torch (make setup) must satisfy the range"


BADGE_URL = re.compile(r"https://colab\.research\.google\.com/github/([^/\s)]+/[^/\s)]+)/blob/main/notebooks/")


def repository_copies(root: Path = ROOT) -> dict[str, str]:
    """Every place that spells the GitHub repository, and what it says there (`where` -> OWNER/NAME)."""
    copies = {}
    project = pins.pyproject(root)["project"]
    for key, url in project.get("urls", {}).items():
        copies[f"pyproject [project.urls] {key}"] = url.removeprefix("https://github.com/")
    setup = (root / "colab" / "setup_cell.py").read_text()
    for i, repo in enumerate(re.findall(r'"WORKBOOK_REPO", "https://github\.com/([^"]+)"', setup)):
        copies[f"colab/setup_cell.py #{i}"] = repo
    for i, repo in enumerate(BADGE_URL.findall((root / "README.md").read_text())):
        copies[f"README.md badge #{i}"] = repo
    for nb in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        first = json.loads(nb.read_text(encoding="utf-8"))["cells"][0]
        for i, repo in enumerate(BADGE_URL.findall("".join(first["source"]))):
            copies[f"{nb.name} badge #{i}"] = repo
    return copies


def test_repository_is_one_constant():
    """[tool.workbook].repository is the one source; `python tools/nb.py set-repo OWNER/NAME` rewrites the copies."""
    from helpers.env.colab import colab_badge, repository

    repo = pins.pyproject()["tool"]["workbook"]["repository"]
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+", repo)
    assert repository() == repo and f"/github/{repo}/blob/main/notebooks/02_pt.ipynb" in colab_badge("02_pt.ipynb")
    copies = repository_copies()
    where = set(copies)
    assert {"pyproject [project.urls] Repository", "colab/setup_cell.py #0"} <= where
    assert sum(w.startswith("README.md badge") for w in where) == len(NOTEBOOKS)
    assert all(any(w.startswith(nb.name) for w in where) for nb in NOTEBOOKS)
    wrong = {w: r for w, r in copies.items() if r != repo}
    assert not wrong, f"copies that differ from [tool.workbook].repository = {repo!r}: {wrong}"


def test_makefile_installs_the_pinned_torch_first():
    makefile = (ROOT / "Makefile").read_text()
    assert "torch==$(TORCH_PIN)" in makefile and "helpers.env.pins torch" in makefile
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


SOURCES = NOTEBOOKS + sorted((ROOT / "helpers").rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
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
