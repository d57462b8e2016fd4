"""The Colab setup cell (install retried until it succeeds, torch kept, restart asked for only when needed) and
the maintainer commands that keep every notebook's shared cells and badge in step (tools/nb.py)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

import helpers.env.colab
from helpers.env import pins

ROOT = Path(__file__).resolve().parent.parent
SETUP_CELL = ROOT / "colab" / "setup_cell.py"


class FakeShell:
    """Stands in for subprocess.run: records every command; `git clone` creates its target folder (git refuses a
    non-empty one), `pip install` does nothing. A step named in `fail` fails (a failed clone leaves its half folder)."""

    def __init__(self):
        self.calls: list[list[str]] = []
        self.fail: set[str] = set()

    def __call__(self, cmd, check=False, **kwargs):
        cmd = [str(c) for c in cmd]
        self.calls.append(cmd)
        rc = 0
        if cmd[:2] == ["git", "clone"]:
            target = Path(cmd[-1])
            if target.exists() and any(target.iterdir()):
                rc = 128  # fatal: destination path already exists and is not an empty directory
            else:
                (target / ".git").mkdir(parents=True)
                (target / "pyproject.toml").write_text("")
                rc = 128 if "clone" in self.fail else 0
        elif "pip" in cmd:
            rc = 1 if "pip" in self.fail else 0
        if rc and check:
            raise subprocess.CalledProcessError(rc, cmd)
        return subprocess.CompletedProcess(cmd, rc)

    def clones(self):
        return [c for c in self.calls if c[:2] == ["git", "clone"]]

    def pips(self):
        return [c for c in self.calls if "pip" in c]


@pytest.fixture()
def colab(tmp_path, monkeypatch):
    """A fake Colab: google.colab imported, an empty /content (tmp_path) as the working directory, a FakeShell for
    subprocess.run. Returns (shell, run_cell) where run_cell() executes colab/setup_cell.py as the notebook would."""
    colab_module = types.ModuleType("google.colab")
    monkeypatch.setitem(sys.modules, "google.colab", colab_module)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv("WORKBOOK_REPO", raising=False)
    shell = FakeShell()
    monkeypatch.setattr(subprocess, "run", shell)
    reports = []
    monkeypatch.setattr(helpers.env.colab, "report_environment", lambda: reports.append(1))
    source = SETUP_CELL.read_text()

    def run_cell():
        exec(compile(source, "setup_cell.py", "exec"), {"__name__": "__main__"})

    run_cell.reports = reports
    return shell, run_cell


def test_setup_cell_retries_the_install_after_pip_failed(colab, tmp_path):
    shell, run_cell = colab
    shell.fail = {"pip"}
    with pytest.raises(subprocess.CalledProcessError):
        run_cell()
    assert len(shell.clones()) == 1 and len(shell.pips()) == 1
    assert not (tmp_path / "llm-workbook" / ".installed").exists()
    shell.fail = set()
    run_cell()  # the learner runs the cell again: the clone is kept, pip runs again
    assert len(shell.clones()) == 1 and len(shell.pips()) == 2
    assert (tmp_path / "llm-workbook" / ".installed").exists()
    assert run_cell.reports == [1]


def test_setup_cell_never_reinstalls_once_installed(colab, tmp_path):
    shell, run_cell = colab
    run_cell()
    assert len(shell.calls) == 2
    run_cell()
    run_cell()
    assert len(shell.calls) == 2, "a successful install is not repeated"
    assert tmp_path / "llm-workbook" in map(Path, sys.path)


def test_setup_cell_retries_a_failed_clone(colab, tmp_path):
    shell, run_cell = colab
    shell.fail = {"clone"}
    with pytest.raises(subprocess.CalledProcessError):
        run_cell()
    assert not (tmp_path / "llm-workbook").exists(), "a failed clone must not leave a folder that blocks a retry"
    assert shell.pips() == []
    shell.fail = set()
    run_cell()
    assert len(shell.clones()) == 2 and len(shell.pips()) == 1
    assert (tmp_path / "llm-workbook" / ".git").is_dir() and (tmp_path / "llm-workbook" / ".installed").exists()


def test_setup_cell_keeps_colabs_torch(colab):
    shell, run_cell = colab
    run_cell()
    [pip] = shell.pips()
    assert pip[pip.index("install") + 1:].count("-e") == 1 and any(a.endswith("[colab]") for a in pip)
    assert f"torch=={metadata.version('torch')}" in pip, "pip must keep the torch that is installed"
    assert not {"-U", "--upgrade", "--force-reinstall", "--no-deps"} & set(pip)
    assert not any(re.fullmatch(r"torch([<>~!]=?.*)?", a) for a in pip)


def test_setup_cell_clones_the_workbook_repo_override(colab, monkeypatch):
    shell, run_cell = colab
    monkeypatch.setenv("WORKBOOK_REPO", "https://example.org/fork.git")
    run_cell()
    [clone] = shell.clones()
    assert "https://example.org/fork.git" in clone


def test_setup_cell_does_nothing_outside_colab(colab, monkeypatch):
    shell, run_cell = colab
    monkeypatch.delitem(sys.modules, "google.colab")
    run_cell()
    assert shell.calls == [] and run_cell.reports == [1]


def test_ensure_installed_marks_success_only(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    shell = FakeShell()
    shell.fail = {"pip"}
    with pytest.raises(subprocess.CalledProcessError):
        helpers.env.colab.ensure_installed(tmp_path, run=shell)
    assert not (tmp_path / ".installed").exists()
    shell.fail = set()
    assert helpers.env.colab.ensure_installed(tmp_path, run=shell) is True
    assert (tmp_path / ".installed").exists()
    assert helpers.env.colab.ensure_installed(tmp_path, run=shell) is False
    assert len(shell.pips()) == 2


def test_ensure_installed_checks_the_return_code_of_any_runner(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    with pytest.raises(subprocess.CalledProcessError):
        helpers.env.colab.ensure_installed(tmp_path, run=lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1))
    assert not (tmp_path / ".installed").exists()


# -- pins as the setup cell reports them ------------------------------------------------------------------------


def _fake_installed(monkeypatch, **versions):
    """Make importlib.metadata report other installed versions for some distributions."""
    real = metadata.version
    monkeypatch.setattr(pins.metadata, "version", lambda name: versions.get(name, None) or real(name))


def test_dev_pins_are_not_reported(monkeypatch):
    # Colab ships ipykernel 6.17; the course pins 7.x for local development only: no warning that never clears
    _fake_installed(monkeypatch, ipykernel="6.17.1")
    monkeypatch.setitem(sys.modules, "ipykernel", types.SimpleNamespace(__version__="6.17.1"))
    assert "ipykernel" in pins.mismatches(), "the fake is in place"
    assert "ipykernel" not in pins.mismatches(helpers.env.colab.COLAB_EXTRAS)
    assert not any("ipykernel" in line for line in helpers.env.colab.pin_warnings())


def test_a_module_imported_at_an_old_version_asks_for_a_restart(monkeypatch):
    # imported before the setup cell upgraded it: what runs is 0.0.1, what is installed is the pin
    monkeypatch.setitem(sys.modules, "sqlglot", types.SimpleNamespace(__version__="0.0.1"))
    assert helpers.env.colab.stale_imports() == {"sqlglot": ("0.0.1", metadata.version("sqlglot"))}
    warnings = helpers.env.colab.pin_warnings()
    assert any("restart" in line.lower() and "sqlglot 0.0.1" in line for line in warnings), warnings


def test_fresh_imports_need_no_restart():
    import safetensors  # noqa: F401
    import sqlglot  # noqa: F401
    import tokenizers  # noqa: F401
    import tqdm  # noqa: F401

    assert helpers.env.colab.stale_imports() == {}
    assert not any("restart" in line.lower() for line in helpers.env.colab.pin_warnings())


def test_report_environment_prints_the_restart_warning(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(__version__="0.0.1"))
    helpers.env.colab.report_environment()
    out = capsys.readouterr().out
    assert "python " in out and "GPU" in out
    assert "Restart" in out and "tqdm 0.0.1" in out


# -- tools/nb.py sync-cells and set-repo, on a copy of the repository -------------------------------------------


def _nb_tool():
    spec = importlib.util.spec_from_file_location("nb_tool", ROOT / "tools" / "nb.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def repo_copy(tmp_path):
    root = tmp_path / "repo"
    (root / "tools").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "colab", root / "colab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return root


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


BADGE_REPO = re.compile(r"https://colab\.research\.google\.com/github/([^/\s)]+/[^/\s)]+)/blob/main/notebooks/([^)\s]+)")


def _check_shared_cells(root: Path, repo: str):
    setup = (root / "colab" / "setup_cell.py").read_text().strip()
    run = (root / "colab" / "run_cell.py").read_text().strip()
    notebooks = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert notebooks
    for nb in notebooks:
        cs = _cells(nb)
        assert "".join(cs[1]["source"]).strip() == setup
        assert "".join(cs[2]["source"]).strip() == f'STAGE = "{nb.stem.split("_", 1)[1]}"\n{run}'
        assert BADGE_REPO.findall("".join(cs[0]["source"])) == [(repo, nb.name)]


def test_sync_cells_rewrites_the_shared_cells_and_badges(repo_copy):
    nb_tool = _nb_tool()
    before = {p.name: _cells(p) for p in (repo_copy / "notebooks").glob("*.ipynb")}
    setup = repo_copy / "colab" / "setup_cell.py"
    setup.write_text(setup.read_text() + "print('changed')\n")
    first = repo_copy / "notebooks" / "02_pt.ipynb"
    first.write_text(first.read_text(encoding="utf-8").replace("github/llm-workbook/llm-workbook/", "github/old/name/"),
                     encoding="utf-8")

    changed = nb_tool.sync_cells(repo_copy)
    assert {p.name for p in changed} == set(before)
    _check_shared_cells(repo_copy, pins.pyproject(repo_copy)["tool"]["workbook"]["repository"])
    for name, cells_before in before.items():
        after = _cells(repo_copy / "notebooks" / name)
        assert after[3:] == cells_before[3:], "only the badge and the two shared cells change"
        assert [c["id"] for c in after] == [c["id"] for c in cells_before]
        assert after[1]["outputs"] == [] and after[1]["execution_count"] is None
    snapshot = {p: p.read_bytes() for p in (repo_copy / "notebooks").glob("*.ipynb")}
    assert nb_tool.sync_cells(repo_copy) == [], "a second sync changes nothing"
    assert snapshot == {p: p.read_bytes() for p in (repo_copy / "notebooks").glob("*.ipynb")}


def test_set_repo_changes_every_copy(repo_copy, monkeypatch, capsys):
    nb_tool = _nb_tool()
    monkeypatch.setattr(nb_tool, "ROOT", repo_copy)
    monkeypatch.setattr(sys, "argv", ["tools/nb.py", "set-repo", "some-one/fork.course"])
    nb_tool.main()
    from tests.test_repo import repository_copies

    copies = repository_copies(repo_copy)
    assert copies and set(copies.values()) == {"some-one/fork.course"}, copies
    _check_shared_cells(repo_copy, "some-one/fork.course")
    assert 'WORKBOOK_REPO", "https://github.com/some-one/fork.course"' in (repo_copy / "colab" / "setup_cell.py").read_text()
    for bad in ("not a repo", "owner/name/extra", "https://github.com/a/b", ""):
        with pytest.raises((SystemExit, ValueError)):
            nb_tool.set_repo(bad, repo_copy)
