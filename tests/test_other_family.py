"""Nothing assumes Qwen or Llama: the stages run on a base model of another family (GPT-NeoX, as Pythia), with its own
vocabulary size, special tokens and native chat template; and every stage runs alone in a fresh run directory (its
predecessors' outputs missing), falling back as it says it will — including PPO and DPO, whose stand-in reward model
must grow to the vocabulary 01 extended."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from helpers.env.profiles import get_profile, smoke
from helpers.env.runs import find_output, load_metrics
from helpers.stages import stage_class

NATIVE_TEMPLATE = "{% for m in messages %}<s>[{{ m['role'] }}] {{ m['content'] }}</s>{% endfor %}"


@pytest.fixture(scope="module")
def neox_base(tmp_path_factory):
    """A random-init GPT-NeoX base with a byte-level BPE of its own: <s>, </s>, <pad>, no ChatML tokens, 64-row
    padding past the tokenizer (as Pythia pads), untied output layer, its own chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, PreTrainedTokenizerFast

    from helpers.env.sources import course_texts

    folder = tmp_path_factory.mktemp("neox")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(course_texts(get_profile("tiny"), "general", "train"),
                            trainers.BpeTrainer(vocab_size=700, special_tokens=["<pad>", "<s>", "</s>"],
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                show_progress=False))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tok.chat_template = NATIVE_TEMPLATE
    rows = (len(tok) + 63) // 64 * 64
    config = GPTNeoXConfig(vocab_size=rows, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=4, max_position_embeddings=2048, tie_word_embeddings=False,
                           bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    GPTNeoXForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def profile_for(base) -> object:
    """tiny's settings, cut to a few steps, on `base` (as WORKBOOK_BASE_MODEL would set it)."""
    return smoke(replace(get_profile("tiny"), base_model=str(base), sql_model=str(base)))


@pytest.mark.slow
def test_course_runs_on_another_family(neox_base, tmp_path):
    profile = profile_for(neox_base)
    for name in ("pt", "sft", "rm", "ppo", "dpo"):
        stage_class(name)(root=tmp_path, profile=profile).run()
        assert find_output(name, tmp_path) is not None, name
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(find_output("dpo", tmp_path))
    assert len(tok) > 700 and "<|im_start|>" in tok.get_vocab()  # 01's extension and the course template
    assert load_metrics("ppo", tmp_path)["rm_score_after"] == load_metrics("ppo", tmp_path)["rm_score_after"]  # not nan


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ppo", "dpo"])
def test_stage_alone_in_a_fresh_run_falls_back(name, neox_base, tmp_path, capsys):
    """05 or 06 opened first: no 01 tokenizer (built now, with new tokens past the base's rows), no 03 model, no 04
    reward model — the base stands in for both, fitted to the extended vocabulary, and says so."""
    profile = profile_for(neox_base)
    stage_class(name)(root=tmp_path, profile=profile).run()
    out = capsys.readouterr().out
    assert "No output of 04_rm in this run" in out and "stands in" in out
    assert "No output of sft in this run" in out
    assert find_output(name, tmp_path) is not None
