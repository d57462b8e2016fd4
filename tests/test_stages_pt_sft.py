"""Stages 02 (PT) and 03 (SFT) under the tiny profile: losses fall, labels mask, packing, merge, runner."""

from __future__ import annotations

import pytest
import torch

from helpers.lm.evaluation import early_late
from helpers.stages.pt import PTStage, group_texts
from helpers.stages.sft import SFTStage


@pytest.fixture(scope="module")
def run_root(tmp_path_factory):
    return tmp_path_factory.mktemp("run")


@pytest.fixture(scope="module")
def pt(run_root, tiny_profile):
    stage = PTStage(root=run_root, profile=tiny_profile, max_steps=40)
    stage.run()
    return stage


@pytest.fixture(scope="module")
def sft(pt, run_root, tiny_profile):
    stage = SFTStage(root=run_root, profile=tiny_profile)
    stage.run()
    return stage


def test_group_texts_packs_full_blocks():
    blocks = group_texts([[1, 2, 3], [4, 5], [6, 7, 8, 9]], block_size=4, eos_id=0)
    assert blocks == [[1, 2, 3, 0], [4, 5, 0, 6], [7, 8, 9, 0]]
    assert group_texts([[1]], block_size=4, eos_id=0) == []


def test_pt_loss_falls_and_perplexity_improves(pt):
    early, late = early_late(pt.log_history)
    assert late < early * 0.9
    assert pt.metrics["ppl_after"] < pt.metrics["ppl_before"]
    assert (pt.output / "model.safetensors").is_file()


def test_pt_trains_embeddings_of_the_extended_vocabulary(pt):
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(pt.output)
    assert merged.get_input_embeddings().weight.shape[0] == len(pt.tok)
    fresh = PTStage(root=pt.root, profile=pt.profile, max_steps=1)
    fresh.load()
    fresh.build_model()
    names = [n for n, p in fresh.model.named_parameters() if p.requires_grad]
    assert any("embed_tokens.modules_to_save" in n for n in names) and any("lm_head.modules_to_save" in n for n in names)


def test_sft_starts_from_pt_and_its_loss_falls(sft, pt):
    assert str(sft.base_source) == str(pt.output)
    early, late = early_late(sft.log_history)
    assert late < early
    assert len(sft.before) == len(sft.after) == sft.settings.n_prompts


def test_sft_reference_answers_are_measured_like_the_models(sft):
    """The reference row of 03's table: the held-out first answers under the same cap. A cap shorter than every
    reference answer leaves none that "end"; a cap longer than all of them, every one; the repetition of a loop is high."""
    from dataclasses import replace

    from helpers.lm.evaluation import repetition_rate

    m = sft.metrics
    assert 0 <= m["eos_rate_reference"] <= 1 and m["repetition_rate_reference"] < 0.5  # prose, not loops
    saved = sft.settings
    try:
        sft.settings = replace(saved, max_new_tokens=2)
        assert sft.reference_answers()["eos_rate"] == 0 and sft.reference_answers()["answer_length"] == 2
        sft.settings = replace(saved, max_new_tokens=100_000)
        assert sft.reference_answers()["eos_rate"] == 1
    finally:
        sft.settings = saved
    assert repetition_rate([1, 2, 3, 4] * 10) > 0.8 > repetition_rate(list(range(40)))


def _expected_label_mask(tok, messages) -> list[bool]:
    """Independent of TRL: a token is learned iff its characters lie inside an assistant reply + '<|im_end|>'."""
    text = tok.apply_chat_template(messages, tokenize=False)
    spans, pos = [], 0
    for m in messages:
        if m["role"] == "assistant":
            start = text.index("<|im_start|>assistant\n", pos) + len("<|im_start|>assistant\n")
            end = text.index("<|im_end|>", start) + len("<|im_end|>")
            spans.append((start, end))
            pos = end
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    return [any(s <= a and b <= e for s, e in spans) for a, b in enc["offset_mapping"]], enc["input_ids"]


def test_sft_labels_cover_exactly_the_assistant_turns(tiny_profile, run_root, pt):
    stage = SFTStage(root=run_root, profile=tiny_profile, max_steps=1, packing=False)
    stage.load()
    stage.build_model()
    stage.build_trainer()
    multi = [i for i, m in enumerate(stage.data["train"]["messages"]) if sum(t["role"] == "assistant" for t in m) >= 2]
    assert multi, "the shipped SFT data has multi-turn conversations"
    for i in multi[:5]:
        messages = stage.data["train"][i]["messages"]
        expected, ids = _expected_label_mask(stage.tok, messages)
        row = stage.trainer.train_dataset[i]
        assert row["input_ids"] == ids[: len(row["input_ids"])]
        batch = stage.trainer.data_collator([row])
        learned = (batch["labels"][0] != -100).tolist()
        n = len(learned)
        assert learned == expected[:n]
        eot = stage.tok.convert_tokens_to_ids("<|im_end|>")
        assert any(l and t == eot for l, t in zip(learned, ids)), "the end-of-turn token is learned"


def test_packed_sequences_do_not_attend_across_examples(tiny_model, tiny_tokenizer):
    """TRL's padding-free batch (one row + cu_seq_lens) with per-example SDPA equals running each example alone."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from helpers.lm.packing import VARLEN, use_varlen_attention

    torch.manual_seed(0)
    a, b = torch.randint(5, 300, (7,)).tolist(), torch.randint(5, 300, (5,)).tolist()
    tiny_model.eval()
    with torch.no_grad():
        alone = [tiny_model(input_ids=torch.tensor([x])).logits for x in (a, b)]
        collate = DataCollatorForLanguageModeling(pad_token_id=tiny_tokenizer.pad_token_id, padding_free=True)
        batch = collate([{"input_ids": a + b, "seq_lengths": [7, 5]}])
        naive = tiny_model(input_ids=batch["input_ids"]).logits  # one causal sequence: b sees a
        assert use_varlen_attention(tiny_model) and tiny_model.config._attn_implementation == VARLEN
        packed = tiny_model(**{k: v for k, v in batch.items() if k != "labels"}, use_cache=False).logits
        generated = tiny_model.generate(torch.tensor([a]), max_new_tokens=3, do_sample=False)  # still works unpacked
    assert batch["input_ids"].shape == (1, 12) and batch["cu_seq_lens_q"].tolist() == [0, 7, 12]
    assert torch.allclose(packed[:, :7], alone[0], atol=1e-5)
    assert torch.allclose(packed[:, 7:], alone[1], atol=1e-5)
    assert not torch.allclose(naive[:, 7:], alone[1], atol=1e-3), "without the boundaries b attends to a"
    assert generated.shape == (1, 10)


def test_merged_logits_equal_base_plus_adapter(tiny_model, tiny_profile, tiny_tokenizer, tmp_path):
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from helpers.lm.models import lora_config, merge_and_save

    peft_model = get_peft_model(tiny_model, lora_config(tiny_profile, modules_to_save=["lm_head"]))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                p.add_(0.05 * torch.randn_like(p))  # a non-trivial adapter
    ids = torch.randint(5, len(tiny_tokenizer), (2, 12))
    peft_model.eval()
    with torch.no_grad():
        expected = peft_model(input_ids=ids).logits
        with peft_model.disable_adapter():
            base_logits = peft_model(input_ids=ids).logits
    assert not torch.allclose(expected, base_logits, atol=1e-4), "the adapter changes the output"
    merge_and_save(peft_model, tiny_tokenizer, tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged").eval()
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=ids).logits, expected, atol=1e-5)


def test_headless_runner(tmp_path, capsys):
    from helpers.stages.__main__ import main

    assert main(["pt", "--run-dir", str(tmp_path), "--max-steps", "2", "--profile", "tiny"]) == 0
    assert (tmp_path / "pt" / "model" / "config.json").is_file()
    assert (tmp_path / "pt" / "checkpoints").is_dir()
    assert '"ppl_after"' in capsys.readouterr().out
