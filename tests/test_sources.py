"""Hub data through the hub code path, offline: shibing624/medical's JSON Lines files served from a local mirror."""

from __future__ import annotations

from dataclasses import replace

import datasets
import pytest

from helpers.env import profiles, sources
from helpers.maintainer.rehearsal import build_mirror, medical_mirror_rows


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    return build_mirror(tmp_path_factory.mktemp("hub"))


@pytest.fixture()
def no_scripts(monkeypatch):
    """datasets >= 4 refuses loading-script datasets such as shibing624/medical: only the generic "json" builder runs."""
    real = datasets.load_dataset
    calls = []

    def load_dataset(path, *args, **kwargs):
        calls.append((path, kwargs.get("streaming", False)))
        if path != "json":
            raise RuntimeError("Dataset scripts are no longer supported, but found medical.py")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def test_hub_urls_pin_the_revision():
    urls = sources.hub_urls(sources.MEDICAL, "sft", "train")
    assert urls == [f"hf://datasets/shibing624/medical@{sources.MEDICAL.revision}/finetune/train_zh_0.json",
                    f"hf://datasets/shibing624/medical@{sources.MEDICAL.revision}/finetune/train_en_1.json"]
    assert len(sources.MEDICAL.revision) == 40


def test_mirror_has_the_hub_files_and_columns(mirror):
    root = mirror / "shibing624" / "medical"
    columns = {"pretrain": {"text"}, "finetune": {"instruction", "input", "output"},
               "reward": {"question", "response_chosen", "response_rejected"}}
    for name, rows in medical_mirror_rows().items():
        assert (root / name).is_file() and rows, name
        assert all(set(r) == columns[name.split("/")[0]] for r in rows), name


@pytest.mark.parametrize("name, kind_key", [("pt", "text"), ("sft", "messages"), ("preference", "chosen")])
def test_hub_profile_loads_json_files_streamed_with_a_limit(mirror, no_scripts, name, kind_key):
    profile = replace(profiles.AMPERE, hub_mirror=str(mirror))
    ds = sources.course_records(profile, name, "train", limit=5)
    assert len(ds) == 5 and kind_key in ds.column_names
    assert no_scripts and all(path == "json" and streaming for path, streaming in no_scripts)


def test_zh_and_en_files_alternate(mirror):
    profile = replace(profiles.AMPERE, hub_mirror=str(mirror))
    users = [m[0]["content"] for m in sources.course_records(profile, "sft", "valid", limit=4)["messages"]]
    cjk = [any("\u4e00" <= ch <= "\u9fff" for ch in u) for u in users]
    assert cjk == [True, False, True, False]


def test_offline_without_mirror_uses_the_shipped_samples(monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("WORKBOOK_HUB_MIRROR", raising=False)
    ds = sources.course_records(profiles.AMPERE, "preference", "valid", limit=3)
    assert len(ds) == 3 and "shipped samples" in capsys.readouterr().out


def test_unknown_split_is_a_clear_error():
    with pytest.raises(ValueError, match="no files for"):
        sources.hub_urls(sources.MEDICAL, "sft", "dev")
