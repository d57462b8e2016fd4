"""The course's chat template (ChatML, as Qwen uses) with {% generation %} markers for assistant-only loss."""

from __future__ import annotations

SYSTEM_PROMPT = "You are a careful medical assistant. 你是一名严谨的医疗助手。"
BOS, EOS, PAD = "<|im_start|>", "<|im_end|>", "<|endoftext|>"
SPECIAL_TOKENS = [PAD, BOS, EOS]

# Each assistant turn, including its end-of-turn token, sits inside {% generation %}: those are the
# tokens TRL's assistant_only_loss learns; everything else is context.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def apply_course_template(tokenizer) -> None:
    """Give `tokenizer` the course's special tokens (if missing) and chat template, in place."""
    missing = [t for t in SPECIAL_TOKENS if t not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing})
    tokenizer.pad_token = PAD
    tokenizer.eos_token = EOS
    tokenizer.chat_template = CHAT_TEMPLATE
