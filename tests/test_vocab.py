"""01's added tokens on a pretrained base: initialised rows, only those rows trained and saved, tied embeddings kept."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, Qwen2Config

from helpers.lm.checkpoints import latest_complete
from helpers.lm.models import embedding_training, init_new_token_rows, lora_config, ties_embeddings, with_lora
from helpers.lm.tokenizer import extend

NEW = [" hypertension", " insulin", "高血压", "糖尿病"]
SPARE_ROWS = 16  # like Qwen2.5: more embedding rows than tokens (151,936 vs 151,665)


def pretrained_like(tokenizer, tied: bool, seed: int = 0):
    """A small random 'pretrained' base with spare embedding rows, as Qwen2.5 has."""
    torch.manual_seed(seed)
    cfg = Qwen2Config(vocab_size=len(tokenizer) + SPARE_ROWS, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=tied,
                      pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    return AutoModelForCausalLM.from_config(cfg)


@pytest.mark.parametrize("tied", [True, False])
def test_every_added_row_starts_from_its_pieces(tiny_tokenizer, tied):
    ext = extend(tiny_tokenizer, NEW)
    model = pretrained_like(tiny_tokenizer, tied)
    assert model.get_input_embeddings().weight.shape[0] > len(ext)  # no resize needed: the old code did nothing here
    new_ids = init_new_token_rows(model, ext, tiny_tokenizer)
    assert new_ids == list(range(len(tiny_tokenizer), len(ext)))
    for layer in {id(w): w for w in (model.get_input_embeddings().weight, model.get_output_embeddings().weight)}.values():
        for i, text in zip(new_ids, NEW):
            pieces = tiny_tokenizer.encode(text, add_special_tokens=False)
            assert len(pieces) > 1
            assert torch.allclose(layer[i], layer[pieces].mean(0), atol=1e-6)
    assert ties_embeddings(model) == tied


def test_rows_grow_when_the_tokenizer_is_longer(tiny_tokenizer):
    ext = extend(tiny_tokenizer, NEW + [f" term{i}" for i in range(SPARE_ROWS)])
    model = pretrained_like(tiny_tokenizer, tied=True)
    new_ids = init_new_token_rows(model, ext, tiny_tokenizer)
    assert model.get_input_embeddings().weight.shape[0] == len(ext) and len(new_ids) == len(NEW) + SPARE_ROWS
    assert ties_embeddings(model)


@pytest.mark.parametrize("tied", [True, False])
def test_only_new_rows_train_and_the_merge_keeps_the_tie(tiny_profile, tiny_tokenizer, tied):
    ext = extend(tiny_tokenizer, NEW)
    model = pretrained_like(tiny_tokenizer, tied)
    new_ids = init_new_token_rows(model, ext, tiny_tokenizer)
    old_rows = model.get_input_embeddings().weight[: len(tiny_tokenizer)].clone()
    peft_model = with_lora(model, lora_config(tiny_profile, **embedding_training(model, new_ids)))
    trainable = {n: p.numel() for n, p in peft_model.named_parameters() if p.requires_grad}
    embedding_params = sum(v for n, v in trainable.items() if "trainable_tokens" in n)
    assert embedding_params == len(new_ids) * 32 * (1 if tied else 2)  # the new rows only, not the vocabulary
    opt = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=0.05)
    ids = torch.tensor([ext.encode("The patient with hypertension takes insulin. 高血压 糖尿病")] * 2)
    for _ in range(3):
        peft_model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad()
    with torch.no_grad():
        adapter_logits = peft_model(input_ids=ids).logits
    merged = peft_model.merge_and_unload()
    with torch.no_grad():
        merged_logits = merged(input_ids=ids).logits
    assert torch.allclose(adapter_logits, merged_logits, atol=1e-5)
    assert ties_embeddings(merged) == tied and merged.config.tie_word_embeddings == tied
    assert torch.equal(merged.get_input_embeddings().weight[: len(tiny_tokenizer)], old_rows)  # base rows untouched


def test_pt_stage_on_a_pretrained_base_saves_small_checkpoints(tmp_path, tiny_profile, tiny_tokenizer, monkeypatch):
    """After a vocabulary extension, a PT checkpoint holds LoRA + the new rows, not two full embedding matrices."""
    from helpers.lm.checkpoints import checkpoint_mismatch
    from helpers.env.runs import stage_output
    from helpers.stages.pt import PTStage

    base_dir = tmp_path / "base"
    base = pretrained_like(tiny_tokenizer, tied=True)
    base.save_pretrained(base_dir)
    tiny_tokenizer.save_pretrained(base_dir)
    ext = extend(tiny_tokenizer, NEW + [f" term{i}" for i in range(SPARE_ROWS)])  # more than the spare rows: a resize
    ext.save_pretrained(stage_output("tokenizer", tmp_path / "run"))
    profile = replace(tiny_profile, base_model=str(base_dir))
    stage = PTStage(root=tmp_path / "run", profile=profile, max_steps=2, max_length=32)
    for step in ("load", "build_model", "build_trainer", "train"):
        getattr(stage, step)()
    checkpoint = latest_complete(stage.publish_dir)
    assert checkpoint_mismatch(checkpoint, stage.trainer.model) is None, "its own checkpoint must stay resumable"
    stage.save()
    assert stage.new_token_ids == list(range(len(tiny_tokenizer), len(ext)))
    rows = len(tiny_tokenizer)  # a tensor with this many rows or more is a (resized) vocabulary matrix
    saved = load_file(checkpoint / "adapter_model.safetensors")
    optimizer = torch.load(checkpoint / "optimizer.pt", weights_only=False)["state"]
    shapes = [tuple(t.shape) for t in saved.values()]
    shapes += [tuple(t.shape) for state in optimizer.values() for t in state.values() if torch.is_tensor(t)]
    assert not [s for s in shapes if s and s[0] >= rows], f"a vocabulary matrix (≥ {rows} rows) in the checkpoint: {shapes}"
    assert (len(stage.new_token_ids), 32) in shapes  # the new rows are there
    merged = AutoModelForCausalLM.from_pretrained(stage.output)
    assert ties_embeddings(merged) and merged.config.tie_word_embeddings


def test_perplexity_of_a_half_precision_model_with_float32_trained_parts(tiny_profile, tiny_tokenizer):
    """bf16 base, float32 copies of embed_tokens/lm_head (modules_to_save, as fp16/bf16 training keeps them)."""
    from helpers.lm.evaluation import perplexity

    model = pretrained_like(tiny_tokenizer, tied=False).to(torch.bfloat16)
    peft_model = with_lora(model, lora_config(tiny_profile, modules_to_save=["embed_tokens", "lm_head"]))
    assert {p.dtype for p in peft_model.parameters() if p.requires_grad} == {torch.float32}
    ppl = perplexity(peft_model, [tiny_tokenizer.encode("The patient reports a headache and mild fever.")[:8]] * 2)
    assert 1.0 < ppl < 10 * len(tiny_tokenizer)
