"""Version pins: read from pyproject.toml (the one source) and derive environment.yml from them."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$")


def pyproject(root: Path = ROOT) -> dict:
    with open(root / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def requirements(extras: tuple[str, ...] = ()) -> list[str]:
    """The requirement strings of the project (plus the named extras), as written in pyproject."""
    proj = pyproject()["project"]
    reqs = list(proj["dependencies"])
    for extra in extras:
        reqs += proj["optional-dependencies"][extra]
    return reqs


def pinned(extras: tuple[str, ...] | None = None) -> dict[str, str]:
    """name -> exact version for every `==` pin of the core and the named extras (None: all extras),
    plus torch from [tool.workbook]."""
    out: dict[str, str] = {}
    if extras is None:
        extras = tuple(pyproject()["project"]["optional-dependencies"])
    for req in requirements(extras):
        name, spec = _REQ.match(req).groups()  # type: ignore[union-attr]
        if spec.startswith("=="):
            out[name.lower()] = spec[2:].strip()
    out["torch"] = pyproject()["tool"]["workbook"]["torch"]
    return out


def environment_yml() -> str:
    """The conda environment, derived from pyproject (never edit environment.yml by hand)."""
    tool = pyproject()["tool"]["workbook"]
    pip_lines = [f"torch=={tool['torch']}"] + [r for r in requirements(("dev",)) if not r.startswith("torch")]
    body = "\n".join(f"      - {r}" for r in pip_lines)
    return (
        "# Generated from pyproject.toml by `python -m helpers.env.pins environment`; a test checks it.\n"
        "name: llm-workbook\n"
        "channels:\n  - conda-forge\n"
        "dependencies:\n"
        f"  - python={tool['python']}\n"
        "  - pip\n"
        "  - pip:\n"
        f"{body}\n"
        "      - -e .\n"
    )


def mismatches(extras: tuple[str, ...] | None = None) -> dict[str, tuple[str, str | None]]:
    """Installed packages pinned (core + the named extras; None: all) at another version: name -> (pinned, installed).
    torch is never reported: Colab keeps its own."""
    bad: dict[str, tuple[str, str | None]] = {}
    for name, want in pinned(extras).items():
        try:
            have: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = None
        if name == "torch" and have is not None:
            continue  # Colab keeps its own torch on purpose
        if have is not None and have.split("+")[0] != want:
            bad[name] = (want, have)
    return bad


if __name__ == "__main__":
    if sys.argv[1:] == ["environment"]:
        sys.stdout.write(environment_yml())
    elif sys.argv[1:] == ["torch"]:
        print(pinned()["torch"])
    else:
        sys.exit("usage: python -m helpers.env.pins environment|torch")
