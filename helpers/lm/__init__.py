"""Language-model building blocks (layer 2, on top of helpers.env): the chat template (`templates`), tokenizers
(`tokenizer`), model loading, LoRA and merging (`models`), packed sequences (`packing`), the LM head (`lm_head`),
decoding (`generation`), held-out measures (`evaluation`), checkpoints that survive a disconnect (`checkpoints`) and
reward-model scoring (`rewards`).

The names below are the ones notebooks and tests use, importable from here (loaded on first use, so importing this
package costs nothing); each lives in the submodule named in `_EXPORTS`.
"""

from __future__ import annotations

from .. import lazy_exports

_EXPORTS = {
    "MANIFEST": "checkpoints", "PublishCallback": "checkpoints", "check_output_dir": "checkpoints",
    "checkpoint_mismatch": "checkpoints", "is_complete": "checkpoints", "latest_complete": "checkpoints",
    "problem": "checkpoints", "publish": "checkpoints", "resume_from": "checkpoints", "step_of": "checkpoints",
    "early_late": "evaluation", "generate_answers": "evaluation", "perplexity": "evaluation",
    "NEUTRAL": "generation", "NEUTRAL_SAMPLING": "generation", "continue_text": "generation",
    "generate_plain": "generation",
    "full_logits_head": "lm_head", "per_token": "lm_head",
    "autocast_for": "models", "build_tiny_causal_lm": "models", "embedding_training": "models",
    "fp32_trainable": "models", "half_dtype": "models", "init_new_token_rows": "models",
    "load_reward_model": "models", "lora_config": "models", "merge_and_save": "models", "prepare_4bit_base": "models",
    "quantization_config": "models", "ties_embeddings": "models", "tiny_config": "models", "with_lora": "models",
    "VARLEN": "packing", "use_varlen_attention": "packing", "varlen_mask": "packing",
    "build_tiny_reward_model": "rewards", "measure_table": "rewards", "reward_gain_sentence": "rewards",
    "reward_parts": "rewards", "reward_scores": "rewards",
    "BOS": "templates", "CHAT_TEMPLATE": "templates", "EOS": "templates", "SYSTEM_PROMPT": "templates",
    "KINDS": "tokenizer", "UNK": "tokenizer", "build_pipeline": "tokenizer", "byte_level_bpe": "tokenizer",
    "course_tokenizer": "tokenizer", "domain_tokens": "tokenizer", "exact_round_trip": "tokenizer",
    "extend": "tokenizer", "length_reduction": "tokenizer", "normalized": "tokenizer", "pipeline_steps": "tokenizer",
    "same_text": "tokenizer", "stats": "tokenizer", "to_transformers": "tokenizer", "tokens_per_char": "tokenizer",
    "train": "tokenizer",
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
