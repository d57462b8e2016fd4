"""Models: the tiny random-init model for CPU, hub loading for Colab, LoRA configs and merging."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import torch
from transformers import (AutoModelForCausalLM, AutoModelForSequenceClassification, PreTrainedModel,
                          PreTrainedTokenizerBase, Qwen2Config)

from ..env.profiles import Profile
from .unpadded import unpadded_backbone

# Every linear layer of the decoder blocks, by the names the common families give them (PEFT takes the ones a model
# has): Llama / Qwen / Mistral / Gemma, GPT-NeoX / Pythia, GPT-2 / GPT-J / Falcon, Phi. Output and score heads are
# never among them.
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",  # Llama, Qwen, Mistral
                "query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h",  # GPT-NeoX, Falcon
                "c_attn", "c_proj", "c_fc",  # GPT-2
                "fc_in", "fc_out", "fc1", "fc2"]  # GPT-J, Phi


def tiny_config(profile: Profile, tokenizer: PreTrainedTokenizerBase, **overrides) -> Qwen2Config:
    """A Qwen2-architecture config a few hundred KB in size, sized to `tokenizer`."""
    kw = dict(profile.tiny_model or dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512))
    kw.update(overrides)
    return Qwen2Config(vocab_size=len(tokenizer), tie_word_embeddings=False, pad_token_id=tokenizer.pad_token_id,
                       eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id, **kw)


def torch_dtype(profile: Profile) -> torch.dtype:
    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[profile.dtype]


def quantization_config(profile: Profile):
    """4-bit NF4 (QLoRA) where the profile asks for it, else None."""
    if not profile.load_in_4bit:
        return None
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch_dtype(profile))


def build_tiny_causal_lm(profile: Profile, tokenizer: PreTrainedTokenizerBase, seed: int = 0) -> PreTrainedModel:
    """A random-init causal LM (the CI stand-in for a hub base model)."""
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(tiny_config(profile, tokenizer))


def _device_index() -> int | str:
    """This process's GPU (torchrun sets LOCAL_RANK: one GPU per process), or "cpu" without one."""
    return torch.cuda.current_device() if torch.cuda.is_available() else "cpu"


def load_causal_lm(source: str | Path, profile: Profile, quantize: bool = False) -> PreTrainedModel:
    """A causal LM from a local folder or a hub id, in the profile's dtype (4-bit when `quantize`)."""
    kwargs: dict = dict(dtype=torch_dtype(profile), trust_remote_code=False)
    if quantize and profile.load_in_4bit:
        kwargs["quantization_config"] = quantization_config(profile)
        kwargs["device_map"] = {"": _device_index()}  # bitsandbytes has a CPU backend too
    elif torch.cuda.is_available():
        kwargs["device_map"] = {"": _device_index()}
    model = AutoModelForCausalLM.from_pretrained(str(source), **kwargs)
    unpadded_backbone(model)  # on a CPU: padded batches row by row, without their padding (helpers.lm.unpadded)
    return model


def load_reward_model(source: str | Path, profile: Profile, tokenizer: PreTrainedTokenizerBase):
    """A one-label sequence classifier (reward model) from a causal-LM or reward-model folder."""
    kwargs: dict = dict(num_labels=1, dtype=torch_dtype(profile), trust_remote_code=False)
    if torch.cuda.is_available():
        kwargs["device_map"] = {"": _device_index()}
    import logging

    # transformers' load report (an ANSI table on stderr, logged by modeling_utils) would list the two heads below.
    # A filter, not a level: a level of WARNING or above on modeling_utils' logger makes transformers check its
    # tensor-parallel plan and warn "The following layers were not sharded".
    no_report = logging.Filter()
    no_report.filter = lambda record: "LOAD REPORT" not in record.getMessage()
    reports = [logging.getLogger(name) for name in ("transformers.modeling_utils", "transformers.utils.loading_report")]
    for report in reports:
        report.addFilter(no_report)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(str(source), **kwargs)
    finally:
        for report in reports:
            report.removeFilter(no_report)
    if not any(a.endswith("ForSequenceClassification") for a in (model.config.architectures or [])):
        print("Loaded a causal LM as a reward model: its language-model head is dropped and the one-output `score` "
              "head is new (random init) — both expected.")
    model.config.pad_token_id = tokenizer.pad_token_id
    unpadded_backbone(model)
    return model


def lora_config(profile: Profile, task_type: str = "CAUSAL_LM", modules_to_save: list[str] | None = None,
                trainable_token_indices: list[int] | dict[str, list[int]] | None = None):
    """LoRA on every linear layer of the blocks (the QLoRA recipe); optionally whole modules or single embedding rows
    trained too (see embedding_training)."""
    from peft import LoraConfig

    return LoraConfig(r=profile.lora_r, lora_alpha=profile.lora_alpha, lora_dropout=0.0, target_modules=LORA_TARGETS,
                      task_type=task_type, modules_to_save=modules_to_save,
                      trainable_token_indices=trainable_token_indices)


def half_dtype(model) -> torch.dtype | None:
    """float16 or bfloat16 when the model holds weights in that dtype, else None."""
    return next((p.dtype for p in model.parameters() if p.dtype in (torch.float16, torch.bfloat16)), None)


def autocast_for(model):
    """Autocast in the model's half dtype when it holds fp16/bf16 weights (its trained parts may be float32: LoRA,
    a score head, new embedding rows), as the Trainer does during training; else a context that does nothing."""
    dtype = half_dtype(model)
    if dtype is None:
        return nullcontext()
    return torch.autocast(next(model.parameters()).device.type, dtype=dtype)


def ties_embeddings(model) -> bool:
    """True when the output layer shares its weight with the input embedding (Qwen2.5-0.5B does)."""
    out = model.get_output_embeddings()
    return out is not None and out.weight is model.get_input_embeddings().weight


def init_new_token_rows(model, tokenizer: PreTrainedTokenizerBase, base_tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Give every token the base tokenizer lacks (ids from len(base_tokenizer) on) a trained starting point: the mean of
    the rows of the base pieces its text splits into, in the input embedding and (when not tied) the output layer.
    Grows the embedding first if the tokenizer is longer than it. Returns the new token ids.

    Qwen2.5 has 151,936 embedding rows for 151,665 tokens: the first 271 added tokens land on rows that exist but were
    never trained, so "resize only when too small" is not enough — every added row is set here."""
    first, n = len(base_tokenizer), len(tokenizer)
    if n <= first:
        return []
    if model.get_input_embeddings().weight.shape[0] < n:
        model.resize_token_embeddings(n, mean_resizing=False)
    layers = [model.get_input_embeddings().weight]
    if model.get_output_embeddings() is not None and not ties_embeddings(model):
        layers.append(model.get_output_embeddings().weight)
    new_ids = list(range(first, n))
    with torch.no_grad():
        for weight in layers:
            fallback = weight[:first].float().mean(0)
            for i in new_ids:
                pieces = [p for p in base_tokenizer.encode(tokenizer.decode([i]), add_special_tokens=False) if p < first]
                row = weight[pieces].float().mean(0) if pieces else fallback
                weight[i] = row.to(weight.dtype)
    return new_ids


def embedding_training(model, new_ids: list[int]) -> dict:
    """LoraConfig keywords that train the embedding rows of `new_ids` — only those rows, and only their update is
    saved (PEFT trainable tokens): a checkpoint holds len(new_ids) rows instead of two full vocabulary matrices.
    A tied output layer follows the input rows; an untied one gets its own trainable rows."""
    if not new_ids:
        return {}
    if ties_embeddings(model) or model.get_output_embeddings() is None:
        return {"trainable_token_indices": list(new_ids)}
    names = {id(m): n.rsplit(".", 1)[-1] for n, m in model.named_modules()}  # embed_tokens / embed_in / wte ...
    inp, out = names[id(model.get_input_embeddings())], names[id(model.get_output_embeddings())]
    return {"trainable_token_indices": {inp: list(new_ids), out: list(new_ids)}}


def fp32_trainable(model) -> None:
    """Keep trainable weights in float32: fp16 mixed precision (T4) needs fp32 master weights, and its gradient
    scaler refuses half-precision gradients. (TRL's trainers cast QLoRA adapters to bf16, which a T4 lacks.)"""
    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.float()


def prepare_4bit_base(model: PreTrainedModel, checkpointing: bool = True) -> PreTrainedModel:
    """Ready a 4-bit base for LoRA: frozen, activation checkpointing on (non-reentrant, inputs requiring grad).

    What PEFT's prepare_model_for_kbit_training does, less its upcasts: it also turns every norm and the (tied,
    151,936 × 896 on Qwen2.5) embedding to float32, which doubles their memory and, under fp16 autocast, adds a cast
    at every use (22 % of a t4 SFT micro-batch's operators, benchmarks/t4_sft_step_analysis.md). The LoRA weights are
    made float32 by with_lora (fp32_trainable), as fp16's gradient scaler needs."""
    for param in model.parameters():
        param.requires_grad_(False)
    if checkpointing:
        model.activation_checkpointing_enable()  # use_reentrant=False; enables input grads
    return model


def with_lora(base: PreTrainedModel, config) -> PreTrainedModel:
    """`base` wrapped with the LoRA `config`, trainable weights in float32."""
    from peft import get_peft_model

    model = get_peft_model(base, config)
    fp32_trainable(model)
    return model


def merge_and_save(model, tokenizer: PreTrainedTokenizerBase, out_dir: str | Path, profile: Profile | None = None,
                   base_source: str | Path | None = None) -> Path:
    """Merge a PEFT adapter into its base and save model + tokenizer (safetensors) to `out_dir`.

    A 4-bit (QLoRA) base cannot take the merge exactly: the adapter is then saved, the base reloaded in the
    profile's 16-bit dtype and the adapter merged into that.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "merge_and_unload"):
        if getattr(model, "is_loaded_in_4bit", False) or getattr(model.base_model.model, "is_loaded_in_4bit", False):
            from peft import PeftModel

            if profile is None or base_source is None:
                raise ValueError("merging a 4-bit model needs the profile and the base model it was loaded from")
            adapter = out.parent / "adapter"
            rows = model.get_input_embeddings().weight.shape[0]  # the trained size (may exceed len(tokenizer))
            model.save_pretrained(adapter)
            base = load_causal_lm(base_source, profile, quantize=False)
            if base.get_input_embeddings().weight.shape[0] != rows:
                base.resize_token_embeddings(rows)
            model = PeftModel.from_pretrained(base, adapter)
        model = model.merge_and_unload()
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out
