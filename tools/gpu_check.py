"""GPU check of the t4 and ampere profiles without the hub: a Qwen2.5-0.5B-shaped random model, shipped data.

    python tools/gpu_check.py --out gpu.json [--stages pt sft] [--steps 20] [--profiles t4 ampere]

For each profile it runs the stages for a few steps and records peak GPU memory, seconds per step, whether the
base was loaded in 4 bits, and whether the merged output loads back. (Maintainers run it on a GPU machine; CI
has none.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch


def qwen_shaped_base(tokenizer, path: Path) -> Path:
    """Qwen2.5-0.5B's shape (24 layers, hidden 896, tied embeddings, 151,936 rows), random weights, fp16."""
    from transformers import AutoModelForCausalLM, Qwen2Config

    cfg = Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                      num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                      tie_word_embeddings=True, rope_theta=1_000_000.0, pad_token_id=tokenizer.pad_token_id,
                      eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(cfg).to(torch.float16).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def run_stage(name: str, root: Path, steps: int) -> dict:
    from helpers.profiles import get_profile
    from helpers.stages import stage_class

    torch.cuda.reset_peak_memory_stats()
    stage = stage_class(name)(root=root, profile=get_profile(), max_steps=steps)
    start = time.perf_counter()
    stage.run()
    seconds = time.perf_counter() - start
    base = getattr(getattr(stage, "model", None), "base_model", None)
    row = {"seconds": round(seconds, 1), "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
           "train_seconds_per_step": round(stage.trainer.state.log_history[-1].get("train_runtime", 0) / steps, 3)
           if hasattr(stage, "trainer") else None,
           "metrics": {k: v for k, v in stage.metrics.items() if isinstance(v, (int, float, str))}}
    row["loaded_in_4bit"] = bool(getattr(getattr(base, "model", base), "is_loaded_in_4bit", False))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stages", nargs="+", default=["pt", "sft"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--profiles", nargs="+", default=["t4", "ampere"])
    args = parser.parse_args()
    from helpers.profiles import get_profile
    from helpers.tokenizer import course_tokenizer

    report: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}
    work = Path(tempfile.mkdtemp())
    tok = course_tokenizer(get_profile("tiny"))
    base = qwen_shaped_base(tok, work / "base")
    os.environ.update(WORKBOOK_BASE_MODEL=str(base), WORKBOOK_DATA_SOURCE="shipped")
    for profile in args.profiles:
        os.environ["WORKBOOK_PROFILE"] = profile
        root = work / profile
        tok.save_pretrained(root / "tokenizer" / "tokenizer")
        report[profile] = {}
        for name in args.stages:
            try:
                report[profile][name] = run_stage(name, root, args.steps)
            except Exception as exc:  # keep going: the report says what broke
                import traceback

                report[profile][name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-3000:]}
            print(json.dumps({profile: {name: report[profile][name]}}, indent=1, default=str), flush=True)
            args.out.write_text(json.dumps(report, indent=2, default=str))
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
