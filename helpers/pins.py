"""Version pins: read from pyproject.toml (the one source) and derive environment.yml from them."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 on older Colab images
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
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


def pinned() -> dict[str, str]:
    """name -> exact version for every `==` pin (core and all extras), plus torch from [tool.workbook]."""
    out: dict[str, str] = {}
    proj = pyproject()["project"]
    reqs = list(proj["dependencies"]) + [r for rs in proj["optional-dependencies"].values() for r in rs]
    for req in reqs:
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
        "# Generated from pyproject.toml by `python -m helpers.pins environment`; a test checks it.\n"
        "name: llm-workbook\n"
        "channels:\n  - conda-forge\n"
        "dependencies:\n"
        f"  - python={tool['python']}\n"
        "  - pip\n"
        "  - pip:\n"
        f"{body}\n"
        "      - -e .\n"
    )


def mismatches() -> dict[str, tuple[str, str | None]]:
    """Pinned packages whose installed version differs: name -> (pinned, installed or None)."""
    bad: dict[str, tuple[str, str | None]] = {}
    for name, want in pinned().items():
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
        sys.exit("usage: python -m helpers.pins environment|torch")
