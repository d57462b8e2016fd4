"""helpers/ is layered (helpers.LAYERS, lowest first): every import inside it, at module level or inside a function,
relative or absolute, points to its own subpackage or to a layer below, and no chain of imports comes back to where
it started. The checker is tested on small synthetic graphs first, so a pass means something."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import helpers

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "helpers"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path) -> dict[str, Path]:
    """{dotted name: file} of every module in <root>/helpers/."""
    return {module_name(p, root): p for p in sorted((root / "helpers").rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The helpers modules that module `name` imports anywhere in its file (each `from X import y` counts as X.y
    when that is a module, else as X)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known and m != name}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """{module: the helpers modules it imports} for every module in <root>/helpers/."""
    found = modules(root)
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def layer_of(module: str, layers) -> tuple[int, str] | None:
    """(rank, subpackage) of a module; None for the package root (data only, below every layer)."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    for rank, peers in enumerate(layers):
        if parts[1] in peers:
            return rank, parts[1]
    raise AssertionError(f"{module} is in no layer of helpers.LAYERS: add its subpackage there")


def upward_imports(graph: dict[str, set[str]], layers) -> list[str]:
    """Imports that point to a higher layer or to a peer subpackage of the same layer."""
    bad = []
    for src, targets in graph.items():
        for dst in sorted(targets):
            a, b = layer_of(src, layers), layer_of(dst, layers)
            if a is None or b is None or a[1] == b[1]:
                if a is None and b is not None:
                    bad.append(f"{src} -> {dst} (the package root imports no layer)")
                continue
            if b[0] > a[0]:
                bad.append(f"{src} -> {dst} (upward: {a[1]} is below {b[1]})")
            elif b[0] == a[0]:
                bad.append(f"{src} -> {dst} ({a[1]} and {b[1]} share a layer and stay apart)")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# -- the checker itself, on synthetic graphs --------------------------------------------------------------------

LAYERS = (("env",), ("lm",), ("rl", "sql"), ("stages",))


def test_checker_finds_an_upward_import_and_a_peer_import():
    graph = {"helpers.env.profiles": {"helpers.lm.models"},  # upward
             "helpers.rl.ppo": {"helpers.sql", "helpers.lm.models"},  # peer, then downward
             "helpers.stages.pt": {"helpers.stages.base", "helpers.env.runs"},  # own subpackage, downward
             "helpers.lm.models": set(), "helpers.sql": set(), "helpers.stages.base": set(), "helpers.env.runs": set()}
    assert upward_imports(graph, LAYERS) == [
        "helpers.env.profiles -> helpers.lm.models (upward: env is below lm)",
        "helpers.rl.ppo -> helpers.sql (rl and sql share a layer and stay apart)"]


def test_checker_finds_a_cycle_and_a_module_outside_the_layers():
    graph = {"helpers.env.profiles": {"helpers.env.sources"}, "helpers.env.sources": {"helpers.env.data"},
             "helpers.env.data": {"helpers.env.profiles"}, "helpers.lm.models": {"helpers.env.profiles"}}
    assert cycles(graph) == [["helpers.env.data", "helpers.env.profiles", "helpers.env.sources"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    with pytest.raises(AssertionError, match="in no layer"):
        upward_imports({"helpers.misc.thing": {"helpers.env.runs"}}, LAYERS)


def test_checker_reads_relative_and_function_level_imports(tmp_path):
    pkg = tmp_path / "helpers"
    (pkg / "env").mkdir(parents=True)
    (pkg / "lm").mkdir()
    for init in (pkg, pkg / "env", pkg / "lm"):
        (init / "__init__.py").write_text("")
    (pkg / "lm" / "models.py").write_text("")
    (pkg / "env" / "runs.py").write_text("")
    (pkg / "env" / "profiles.py").write_text(
        "from . import runs\n\ndef f():\n    from ..lm.models import x\n    import helpers.lm\n")
    graph = import_graph(tmp_path)
    assert graph["helpers.env.profiles"] == {"helpers.env.runs", "helpers.lm.models", "helpers.lm"}
    assert upward_imports(graph, LAYERS) == ["helpers.env.profiles -> helpers.lm (upward: env is below lm)",
                                             "helpers.env.profiles -> helpers.lm.models (upward: env is below lm)"]


# -- helpers/ as it is ------------------------------------------------------------------------------------------

def test_every_subpackage_is_in_a_layer():
    declared = {name for peers in helpers.LAYERS for name in peers}
    present = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert present == declared


def test_no_import_points_upward():
    assert upward_imports(import_graph(), helpers.LAYERS) == []


def test_no_import_cycle():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("sub", [name for peers in helpers.LAYERS for name in peers])
def test_each_subpackage_lists_its_public_names(sub):
    """`__all__` names what notebooks and tests import from the subpackage; each resolves to the object in the
    submodule that defines it."""
    import importlib

    package = importlib.import_module(f"helpers.{sub}")
    assert package.__all__ and len(set(package.__all__)) == len(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None, f"helpers.{sub}.{name}"


def test_notebooks_import_only_public_names():
    """What a chapter imports from helpers is in its subpackage's `__all__` or in that module's own `__all__` (add it
    there when a notebook needs more)."""
    import importlib
    import json

    missing = []
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            lines = "".join(cell["source"]).splitlines()
            source = "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.ImportFrom) and re.fullmatch(r"helpers\.\w+\.\w+", node.module or ""):
                    _, sub, module = node.module.split(".")
                    public = [*importlib.import_module(f"helpers.{sub}").__all__,
                              *getattr(importlib.import_module(node.module), "__all__", [])]
                    missing += [f"{notebook.name}: {node.module}.{a.name}" for a in node.names
                                if a.name not in public and a.name != module]
    assert missing == []
