"""Export to GGUF with llama.cpp's own converter, and an Ollama Modelfile matching the course's ChatML template."""

from __future__ import annotations

import json
import re

import pytest
from safetensors.numpy import load_file

from helpers.learner import export
from helpers.lm.templates import BOS, CHAT_TEMPLATE, EOS, SYSTEM_PROMPT

CONVERSATION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "头痛怎么办？"},
                {"role": "assistant", "content": "Rest and drink water."}, {"role": "user", "content": "And fever?"}]


def render_ollama(template: str, messages: list[dict]) -> str:
    """Ollama's Go template of the course (a range over .Messages, then a tail) rendered for `messages`."""
    m = re.fullmatch(r"\{\{- range \.Messages \}\}(.*?)\{\{ end \}\}(.*)", template, re.S)
    assert m, template
    body, tail = m.groups()
    return "".join(body.replace("{{ .Role }}", x["role"]).replace("{{ .Content }}", x["content"])
                   for x in messages) + tail


def test_ollama_template_renders_as_the_chat_template(tiny_tokenizer):
    expected = tiny_tokenizer.apply_chat_template(CONVERSATION, add_generation_prompt=True, tokenize=False)
    assert render_ollama(export.OLLAMA_TEMPLATE, CONVERSATION) == expected


def test_modelfile():
    text = export.modelfile("./model.gguf", "Be careful.", {"temperature": 0.7})
    assert text.splitlines()[0] == "FROM ./model.gguf"
    assert f'TEMPLATE """{export.OLLAMA_TEMPLATE}"""' in text
    assert 'SYSTEM """Be careful."""' in text
    assert f'PARAMETER stop "{EOS}"' in text and f'PARAMETER stop "{BOS}"' in text
    assert "PARAMETER temperature 0.7" in text
    assert "SYSTEM" not in export.modelfile("m.gguf", None)
    with pytest.raises(ValueError):
        export.modelfile("m.gguf", 'say """')


def test_pre_tokenizer_name(tmp_path, tiny_tokenizer):
    tiny_tokenizer.save_pretrained(tmp_path / "course")
    assert export.pre_tokenizer_name(tmp_path / "course") == "gpt-2"  # ByteLevel with GPT-2's regex
    qwen = {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": export.QWEN2_REGEX}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}}
    (tmp_path / "qwen").mkdir()
    (tmp_path / "qwen" / "tokenizer.json").write_text(json.dumps(qwen))
    assert export.pre_tokenizer_name(tmp_path / "qwen") == "qwen2"
    qwen["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = r"\s+"
    (tmp_path / "qwen" / "tokenizer.json").write_text(json.dumps(qwen))
    assert export.pre_tokenizer_name(tmp_path / "qwen") is None
    assert export.pre_tokenizer_name(tmp_path) is None  # no tokenizer.json


def test_converter_dir_from_llama_cpp_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LLAMA_CPP_DIR", str(tmp_path))
    with pytest.raises(export.ExportError, match="no convert_hf_to_gguf.py"):
        export.converter_dir()
    (tmp_path / "conversion").mkdir()
    (tmp_path / "conversion" / "__init__.py").write_text("")
    (tmp_path / "convert_hf_to_gguf.py").write_text("")
    assert export.converter_dir() == tmp_path


@pytest.fixture(scope="module")
def converter():
    try:
        return export.converter_dir()  # cached after the first download
    except export.ExportError as exc:
        pytest.skip(f"llama.cpp's converter is unavailable: {exc}")


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, tiny_profile, tiny_tokenizer):
    """The tiny Qwen2 model saved as a stage saves it, its tokenizer with two added (non-special) domain tokens."""
    from safetensors import safe_open

    from helpers.lm.models import build_tiny_causal_lm
    from helpers.lm.tokenizer import extend

    tok = extend(tiny_tokenizer, ["高血压", " hypertension"])
    path = tmp_path_factory.mktemp("export") / "model"
    build_tiny_causal_lm(tiny_profile, tok, seed=0).save_pretrained(path)
    tok.save_pretrained(path)
    with safe_open(str(path / "model.safetensors"), "pt") as f:
        n_tensors = len(list(f.keys()))
    return path, tok, n_tensors


@pytest.mark.slow
def test_to_gguf_reads_back(converter, tiny_model_dir, tmp_path):
    from gguf import GGUFReader

    path, tok, n_tensors = tiny_model_dir
    out = export.to_gguf(path, tmp_path / "course.gguf", outtype="f16")
    assert out == tmp_path / "course.gguf" and not list(tmp_path.glob("*.partial"))
    reader = GGUFReader(str(out))

    def value(key):
        return reader.get_field(key).contents()

    assert value("general.architecture") == "qwen2"
    assert len(reader.tensors) == n_tensors  # one GGUF tensor per safetensors tensor (untied: output.weight too)
    assert value("general.name") == f"llm-workbook-{path.parent.name}"  # <run>/<stage>/model: the stage
    tokens = value("tokenizer.ggml.tokens")
    assert len(tokens) == len(tok)
    assert tokens == tok.convert_ids_to_tokens(list(range(len(tok))))
    assert value("tokenizer.ggml.model") == "gpt2" and value("tokenizer.ggml.pre") == "gpt-2"
    assert value("tokenizer.chat_template") == CHAT_TEMPLATE
    assert value("tokenizer.ggml.eos_token_id") == tok.convert_tokens_to_ids(EOS)
    types = value("tokenizer.ggml.token_type")
    assert types[tok.convert_tokens_to_ids(EOS)] == 3  # CONTROL: a special token
    assert types[tok.convert_tokens_to_ids("高血压")] == 4  # USER_DEFINED: an added domain token
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    assert embd.tensor_type.name == "F16" and list(embd.shape) == [64, len(tok)]
    hf = load_file(str(path / "model.safetensors"))["model.embed_tokens.weight"]
    assert (embd.data == hf.astype("float16")).all()  # the weights themselves, rows in token order


@pytest.mark.slow
def test_write_ollama(converter, tiny_model_dir, tmp_path):
    from gguf import GGUFReader

    path, tok, n_tensors = tiny_model_dir
    modelfile = export.write_ollama(path, tmp_path / "ollama")
    assert modelfile == tmp_path / "ollama" / "Modelfile"
    assert modelfile.read_text().startswith("FROM ./model.gguf\n")
    assert f'SYSTEM """{SYSTEM_PROMPT}"""' in modelfile.read_text()
    reader = GGUFReader(str(tmp_path / "ollama" / "model.gguf"))
    assert len(reader.tensors) == n_tensors
    kinds = {t.name: t.tensor_type.name for t in reader.tensors}
    assert kinds["blk.0.attn_q.weight"] == kinds["blk.1.ffn_up.weight"] == kinds["token_embd.weight"] == "Q8_0"
    assert kinds["blk.0.attn_norm.weight"] == "F32"  # norms and biases stay float32
    from gguf.quants import dequantize

    q = next(t for t in reader.tensors if t.name == "blk.0.attn_q.weight")
    hf = load_file(str(path / "model.safetensors"))["model.layers.0.self_attn.q_proj.weight"]
    # Q8_0: blocks of 32 weights share one scale (max |w| / 127): the error is at most half a step
    assert abs(dequantize(q.data, q.tensor_type) - hf).max() <= abs(hf).max() / 127 / 2 * 1.01
    assert export.describe(tmp_path / "ollama" / "model.gguf")["vocab_size"] == len(tok)


def test_refusals(tmp_path):
    with pytest.raises(ValueError):
        export.to_gguf(tmp_path, tmp_path / "x.gguf", outtype="q4_k")
    with pytest.raises(export.ExportError, match="not a saved model"):
        export.to_gguf(tmp_path, tmp_path / "x.gguf")
