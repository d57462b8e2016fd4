"""Profiles (hardware -> settings) and the run directory (Drive on Colab, ./runs locally, safe fallback)."""

import os
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest

from helpers.env import profiles, runs


def test_env_selects_profile(monkeypatch):
    monkeypatch.setenv("WORKBOOK_PROFILE", "t4")
    p = profiles.get_profile()
    assert p.name == "t4" and p.fp16 and p.load_in_4bit and p.base_model


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("WORKBOOK_PROFILE", "a100x8")
    with pytest.raises(ValueError, match="cpu, tiny, t4, ampere"):
        profiles.get_profile()


@pytest.mark.parametrize("cuda, capability, expected", [(False, None, "cpu"), (True, (7, 5), "t4"), (True, (8, 0), "ampere"),
                                                          (True, (9, 0), "ampere")])
def test_detect_from_hardware(monkeypatch, cuda, capability, expected):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i=0: capability)
    monkeypatch.delenv("WORKBOOK_PROFILE", raising=False)
    assert profiles.detect() == expected
    assert profiles.get_profile().name == expected


def test_every_profile_builds_every_stage_settings():
    """A profile holds only overrides: each must name a knob of its stage's settings class (a typo fails here)."""
    from helpers.stages import settings_for

    for p in (profiles.CPU, profiles.TINY, profiles.T4, profiles.AMPERE, profiles.REHEARSAL):
        for stage in profiles.STAGES[1:]:
            assert settings_for(p, stage).max_steps > 0
    assert profiles.AMPERE.bf16 and not profiles.AMPERE.load_in_4bit
    assert profiles.TINY.base_model is None and profiles.TINY.data_source == "shipped"
    with pytest.raises(KeyError, match="no stage"):
        profiles.TINY.overrides("nope")
    bad = replace(profiles.TINY, stages={"ppo": {"max_length": 32}})  # PPO's cap is max_new_tokens
    with pytest.raises(TypeError, match="no knob max_length"):
        settings_for(bad, "ppo")


def test_each_knob_has_one_default_and_help():
    """Every settings class documents every knob; a profile's value wins, WORKBOOK_SMOKE cuts, keywords win last."""
    from helpers.stages import settings_for, stage_class

    for name in profiles.STAGES[1:]:
        cls = stage_class(name).settings_class
        assert all(cls.help().values()), cls
    t4, ppo = settings_for(profiles.T4, "ppo"), settings_for(profiles.CPU, "ppo")
    assert t4.changed() == {} and ppo.changed()["missing_eos_penalty"] == 1.0
    smoked = stage_class("ppo").settings_class.from_profile(profiles.smoke(profiles.CPU), "ppo", max_steps=1)
    assert (smoked.max_new_tokens, smoked.eval_limit, smoked.max_steps) == (16, 4, 1)


def test_environment_variables_are_listed_in_one_place():
    """Every WORKBOOK_* variable the package reads is in helpers.env.settings.ENVIRONMENT, with a line of help."""
    import re

    from helpers.env.settings import ENVIRONMENT

    root = Path(__file__).resolve().parent.parent / "helpers"
    used = {m for path in root.rglob("*.py") for m in re.findall(r"WORKBOOK_[A-Z_]+", path.read_text())}
    assert used <= set(ENVIRONMENT), used - set(ENVIRONMENT)


def test_tiny_stays_tiny():
    """The whole CI suite runs on 2 CPU cores: the tiny model must stay a few hundred thousand parameters."""
    t = profiles.TINY
    assert t.tiny_model["hidden_size"] <= 128 and t.tiny_model["num_hidden_layers"] <= 2
    assert all(s["max_steps"] <= 150 for name, s in t.stages.items() if name != "text2sql")
    # 07's random-init SQL model learns SQL from nothing: 800 steps of a 128-wide model, 164-203 s on 2 cores
    # (benchmarks/tiny_effects.json: seconds_text2sql for 3 seeds); the bound keeps `make course` near its budget.
    from helpers.stages import settings_for

    sql = settings_for(t, "text2sql")
    assert sql.max_steps <= 800 and sql.tiny_model_overrides["hidden_size"] <= 128


def test_summary_prints_the_stage(tiny_profile):
    text = tiny_profile.summary("sft")
    assert "profile: tiny" in text and "stage sft" in text and "stage pt" not in text


def test_run_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBOOK_RUN_DIR", str(tmp_path / "r"))
    assert runs.run_dir() == (tmp_path / "r").resolve()
    assert runs.stage_dir("sft").is_dir()
    assert runs.find_output("sft") is None
    (runs.stage_output("sft") / "config.json").parent.mkdir(parents=True)
    (runs.stage_output("sft") / "config.json").write_text("{}")
    assert runs.find_output("sft") == runs.stage_output("sft")


def test_unwritable_run_dir_falls_back_with_a_message(monkeypatch, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.access(locked, os.W_OK):  # root ignores permissions: make the target a file instead
        locked.chmod(0o700)
        locked = tmp_path / "a-file"
        locked.write_text("")
    monkeypatch.setenv("WORKBOOK_RUN_DIR", str(locked / "run"))
    monkeypatch.setattr(runs, "REPO_ROOT", tmp_path / "repo")
    path = runs.run_dir("x")
    assert path == (tmp_path / "repo" / "runs" / "x").resolve() and path.is_dir()
    assert "not writable" in capsys.readouterr().out


def test_drive_mount_failure_is_a_message_not_a_traceback(monkeypatch, capsys):
    def refuse(_path):
        raise RuntimeError("mount failed: user refused")

    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=refuse)
    google = types.ModuleType("google")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    assert runs.in_colab()
    assert runs.mount_drive() is False
    assert "could not be mounted" in capsys.readouterr().out


def test_metrics_merge(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBOOK_RUN_DIR", str(tmp_path))
    runs.save_metrics("pt", {"a": 1})
    runs.save_metrics("pt", {"b": 2.5})
    assert runs.load_metrics("pt") == {"a": 1, "b": 2.5}


def test_env_overrides_base_model_and_data_source(monkeypatch):
    monkeypatch.setenv("WORKBOOK_PROFILE", "t4")
    monkeypatch.setenv("WORKBOOK_BASE_MODEL", "some/local-model")
    monkeypatch.setenv("WORKBOOK_DATA_SOURCE", "shipped")
    p = profiles.get_profile()
    assert (p.base_model, p.data_source, p.dtype) == ("some/local-model", "shipped", "float16")
    monkeypatch.setenv("WORKBOOK_DATA_SOURCE", "internet")
    with pytest.raises(ValueError, match="shipped"):
        profiles.get_profile()


def _files(folder):
    return sorted(p for p in folder.rglob("*")) if folder.exists() else []


def test_rehearsal_lookup_builds_nothing(monkeypatch, tmp_path):
    """Profiles are data: the rehearsal profile names its assets' folders; `python -m helpers.maintainer.rehearsal`
    builds them. Looked up before that, it says which command to run (and writes nothing)."""
    for var in ("WORKBOOK_BASE_MODEL", "WORKBOOK_SQL_MODEL", "WORKBOOK_DATA_SOURCE", "WORKBOOK_SMOKE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(runs, "REPO_ROOT", tmp_path / "repo")
    with pytest.raises(FileNotFoundError, match="python -m helpers.maintainer.rehearsal"):
        profiles.get_profile("rehearsal")
    assert _files(tmp_path) == []
    assets = profiles.rehearsal_assets()
    for folder in assets.values():
        folder.mkdir(parents=True)
    before = _files(tmp_path)
    p = profiles.get_profile("rehearsal")
    assert (p.base_model, p.sql_model, p.hub_mirror) == tuple(str(assets[k]) for k in ("base", "sql", "mirror"))
    assert _files(tmp_path) == before and not profiles.unbuilt_assets(p)


def test_rehearsal_with_its_models_and_data_overridden_needs_no_assets(monkeypatch, tmp_path):
    monkeypatch.setattr(runs, "REPO_ROOT", tmp_path / "repo")
    monkeypatch.setenv("WORKBOOK_BASE_MODEL", "some/base")
    monkeypatch.setenv("WORKBOOK_SQL_MODEL", "some/sql")
    monkeypatch.setenv("WORKBOOK_DATA_SOURCE", "shipped")
    p = profiles.get_profile("rehearsal")
    assert (p.base_model, p.sql_model, p.data_source) == ("some/base", "some/sql", "shipped")
    monkeypatch.delenv("WORKBOOK_DATA_SOURCE")
    with pytest.raises(FileNotFoundError, match="hub"):  # the mirror is still needed for hub data
        profiles.get_profile("rehearsal")


def test_shown_paths_name_no_machine(tmp_path, monkeypatch):
    """Paths printed by notebooks: `<run>/…` in the run directory, `<cache>/…` in the course's cache (the cpu model's
    folder), relative inside the repository; never this machine's absolute path for those three."""
    from helpers.env.quiet import MACHINE_PATH
    from helpers.env.runs import REPO_ROOT, shown

    run, cache = tmp_path / "run", tmp_path / "cache"
    for folder in (run / "pt" / "model", cache / "models" / "m"):
        folder.mkdir(parents=True)
    monkeypatch.setenv("WORKBOOK_RUN_DIR", str(run))
    monkeypatch.setenv("WORKBOOK_CACHE", str(cache))
    assert shown(run / "pt" / "model") == "<run>/pt/model"
    assert shown(cache / "models" / "m") == "<cache>/models/m"
    assert shown(REPO_ROOT / "data") == "./data"
    assert not any(MACHINE_PATH.search(shown(p)) for p in (run / "pt", cache / "models", REPO_ROOT / "data"))


def test_a_step_called_out_of_order_names_the_step_to_run_first(tmp_path, tiny_profile):
    from helpers.stages import PPOStage, SFTStage

    sft = SFTStage(root=tmp_path, profile=tiny_profile)
    with pytest.raises(AttributeError, match=r"run stage\.build_trainer\(\) first"):
        sft.train()
    with pytest.raises(AttributeError, match=r"stage\.value_model .*run stage\.build_models\(\) first"):
        PPOStage(root=tmp_path, profile=tiny_profile).evaluate()
    assert getattr(sft, "before", None) is None  # hasattr/getattr with a default still work
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        sft.nonsense
    with pytest.raises(AttributeError, match=r"packing is a setting"):  # would be ignored: the settings decide
        sft.packing = False
