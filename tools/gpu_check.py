"""GPU check of the t4 and ampere profiles on all seven stages, without the hub: a Qwen2.5-0.5B-shaped random model
(Qwen2.5's real tokenizer, 151,936 tied rows, bf16 safetensors) and the data shipped in data/.

    python tools/gpu_check.py [--profiles t4 ampere] [--stages tokenizer pt sft rm ppo dpo text2sql] [--steps 10]
                              [--out benchmarks/gpu_<gpu>.json] [--limit-gib 13] [--trim-eval]
    python tools/gpu_check.py --cpu-dry-run --out /tmp/dry.json [--stages tokenizer pt]   # the tool itself, on a CPU
    python tools/gpu_check.py --sft-pieces [--layers 24] [--rows 4] [--length 1024]       # what an SFT step costs

For each profile it builds 01's tokenizer (helpers.tokenizer.course_tokenizer: the profile's 2000 domain tokens) and
runs stages 02-07 in course order, each in its own process, with the profile's batch size, gradient accumulation and
max_length and `--steps` optimizer steps. Per stage it records: peak GPU memory (torch.cuda.max_memory_allocated and
max_memory_reserved, reset per stage and per step of the stage), seconds per optimizer step (median, the first step
left out: warm-up), training tokens per second (the real tokens of the micro-batches trained on:
attention-mask ones, every token of a padding-free packed row, GRPO's prompt + completion masks, PPO's query +
response tokens), whether the base was loaded in 4 bits,
and the error if any. It prints PASS/FAIL per t4 stage against `--limit-gib` (a free Colab T4 has 15 GB; 13 GiB
leaves room for the CUDA context and fragmentation) and writes benchmarks/gpu_<gpu-name>.json.

`--cpu-dry-run` runs the same driver with no CUDA call at all: the stand-in's tiny body (hidden 64, 2 layers, the real
vocabulary), the ampere profile (t4 needs CUDA: 4-bit, fp16), one or two steps, short sequences and trimmed
evaluations. tests/test_tools.py runs it.

`--sft-pieces` takes one t4 SFT micro-batch apart (forward + backward of 4 packed rows of 1024 tokens, LoRA r=16,
4-bit NF4 base when bitsandbytes imports) on whatever device there is: time and operator count (each operator is at
least one kernel launch on a GPU) of the stage's own setup against one change at a time (the fused LM head without its
entropy / accuracy outputs, the full-logits loss, one SDPA call instead of per-example attention, no activation
checkpointing, a 16-bit base, no prepare_model_for_kbit_training), the LM head and one layer's attention alone, and a
torch.profiler table. `--tiny-dims` keeps layers, modules and tokens but shrinks the widths: what is left is the
host-side cost, the part a fast GPU cannot hide. See benchmarks/t4_sft_step_analysis.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "tools"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from drive_budget import EVAL_TRIM, LENGTHS, QWEN05_SHAPE, build_models, course_env, trim_loaded  # noqa: E402

COURSE = ("tokenizer", "pt", "sft", "rm", "ppo", "dpo", "text2sql")
GIB = 2**30
# --cpu-dry-run: per-stage max_length (PPO: new tokens) and batch size, as in drive_budget
DRY_LENGTHS = LENGTHS
DRY_BATCH = {"ppo": 4}  # GRPO needs a batch divisible by its 4 generations per prompt


def gpu_slug(name: str) -> str:
    """'NVIDIA H200' -> 'h200', 'Tesla T4' -> 't4', 'NVIDIA A100-SXM4-80GB' -> 'a100-sxm4-80gb'."""
    name = re.sub(r"^(nvidia|tesla)\s+", "", name.strip(), flags=re.I)
    name = re.sub(r"^(geforce|quadro)\s+", "", name, flags=re.I)
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "gpu"


# ---------------------------------------------------------------- inside a stage's process

def batch_tokens(inputs: dict) -> int:
    """Real (non-pad) tokens of one training micro-batch: the attention mask's ones when there is one (padded
    batches: RM, DPO, 07), GRPO's prompt + completion masks, else every input id (02's full blocks and 03's
    padding-free packed row have no padding; counting `!= pad_token_id` would drop Qwen's EOS, which is its pad)."""
    if "attention_mask" in inputs:
        return int(inputs["attention_mask"].sum())
    if "prompt_mask" in inputs and "completion_mask" in inputs:
        return int(inputs["prompt_mask"].sum()) + int(inputs["completion_mask"].sum())
    if "input_ids" in inputs:
        return int(inputs["input_ids"].numel())
    return 0


class StepTimer:
    """TrainerCallback: wall seconds and real input tokens of every optimizer step (CUDA synchronised at both ends);
    `add` is called with each micro-batch's tokens (see instrument_trainers)."""

    def __init__(self, cuda: bool):
        self.cuda = cuda
        self.seconds: list[float] = []
        self.tokens: list[int] = []
        self._t0 = 0.0
        self._pending = 0

    def _sync(self):
        if self.cuda:
            import torch

            torch.cuda.synchronize()

    def add(self, n: int) -> None:
        self._pending += n

    def on_step_begin(self, args, state, control, **kwargs):
        self._sync()
        self._t0 = time.perf_counter()
        self._pending = 0

    def on_step_end(self, args, state, control, **kwargs):
        self._sync()
        self.seconds.append(time.perf_counter() - self._t0)
        self.tokens.append(self._pending)

    def __getattr__(self, name):  # every other callback event: nothing to do
        if name.startswith("on_"):
            return lambda *a, **k: None
        raise AttributeError(name)


def instrument_trainers(cuda: bool) -> list:
    """Make every Trainer.train in this process time its optimizer steps and count the real tokens of the
    micro-batches it trains on; returns the list that collects (trainer class name, StepTimer, trainer)."""
    from transformers import Trainer

    timers: list = []
    original = Trainer.train

    def train(self, *args, **kwargs):
        timer = StepTimer(cuda)
        self.add_callback(timer)
        timers.append((type(self).__name__, timer, self))
        step = self.training_step

        def training_step(model, inputs, *a, **k):
            timer.add(batch_tokens(inputs))
            return step(model, inputs, *a, **k)

        self.training_step = training_step
        return original(self, *args, **kwargs)

    Trainer.train = train
    return timers


def count_4bit(*models) -> bool:
    """True when one of `models` holds bitsandbytes 4-bit weights."""
    for model in models:
        if model is None or not hasattr(model, "parameters"):
            continue
        if any(type(p).__name__ == "Params4bit" for p in model.parameters()):
            return True
    return False


def timing_summary(seconds: list[float], tokens: list[int]) -> dict:
    """Median seconds per step and tokens per second, the first step (warm-up) left out when there are 3 or more."""
    if not seconds:
        return {}
    skip = 1 if len(seconds) >= 3 else 0
    s, t = seconds[skip:], tokens[skip:]
    out = {"steps_timed": len(seconds), "first_step_seconds": round(seconds[0], 3),
           "seconds_per_step": round(statistics.median(s), 3)}
    if t and sum(t) > 0:
        out["tokens_per_step"] = round(sum(t) / len(t), 1)
        out["tokens_per_second"] = round(sum(t) / sum(s), 1)
    return out


def log_tokens(history: list[dict]) -> list[int]:
    """Per-log-entry token increments from a cumulative `num_tokens` in a Trainer log (SFT, GRPO)."""
    cumulative = [h["num_tokens"] for h in history if "num_tokens" in h and "train_runtime" not in h]
    return [b - a for a, b in zip([0] + cumulative[:-1], cumulative)]


def child_main(args) -> None:
    """Run one stage of one profile in this process and write its row (JSON) to args.row."""
    from dataclasses import replace

    import torch

    cuda = not args.cpu_dry_run and torch.cuda.is_available()
    row: dict = {"stage": args.child, "profile": args.profile, "steps": {}}
    timers = instrument_trainers(cuda)
    ppo_tokens: list[int] = []
    stage = None
    step = "construct"
    loaded_4bit = False
    try:
        from helpers.profiles import get_profile
        from helpers.stages import stage_class

        profile = get_profile(args.profile)
        kw = dict(max_steps=args.steps)
        if args.cpu_dry_run:
            kw.update(batch_size=DRY_BATCH.get(args.child, 1), max_length=DRY_LENGTHS[args.child])
        stage = stage_class(args.child)(root=Path(args.run), profile=profile, seed=42, **kw)
        if args.cpu_dry_run:
            stage.settings = replace(stage.settings, grad_accum=1, save_steps=0)
        if args.trim_eval:
            for attr, value in EVAL_TRIM.items():
                if hasattr(stage, attr):
                    setattr(stage, attr, value)
        row["settings"] = {k: getattr(stage.settings, k) for k in ("max_steps", "batch_size", "grad_accum",
                                                                   "max_length", "save_steps")}
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        for step in stage.steps:
            if step == "train" and hasattr(stage, "ppo"):  # PPO: count the rollout's query + response tokens
                rollout = stage.ppo.rollout

                def counted(*a, _rollout=rollout, **k):
                    batch = _rollout(*a, **k)
                    ppo_tokens.append(int(batch["query_mask"].sum()) + int(batch["mask"].sum()))
                    return batch

                stage.ppo.rollout = counted
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()  # per step; the stage's peak is the largest step peak
            print(f"── {args.profile} {args.child}: {step}", flush=True)
            start = time.perf_counter()
            getattr(stage, step)()
            entry: dict = {"seconds": round(time.perf_counter() - start, 2)}
            if cuda:
                torch.cuda.synchronize()
                entry["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / GIB, 3)
                entry["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved() / GIB, 3)
            row["steps"][step] = entry
            if step == "load" and args.trim_eval:
                trim_loaded(stage)
            loaded_4bit = loaded_4bit or count_4bit(*(getattr(stage, a, None) for a in
                                                      ("model", "policy", "base", "value_model")))
    except BaseException as exc:  # noqa: BLE001 - the report says what broke
        row["error"] = f"{type(exc).__name__}: {exc}"[:3000]
        row["failed_step"] = step
        row["traceback"] = traceback.format_exc()[-8000:]
        print(row["traceback"], file=sys.stderr, flush=True)
    if cuda:
        try:
            torch.cuda.synchronize()  # the failing step's peak too: the counters were reset before it
        except Exception as exc:  # noqa: BLE001 - a broken CUDA context: the counters still answer
            row["cuda_error_after"] = f"{type(exc).__name__}: {exc}"[:500]
        peaks = [e.get("peak_allocated_gib", 0) for e in row["steps"].values()]
        reserved = [e.get("peak_reserved_gib", 0) for e in row["steps"].values()]
        row["peak_allocated_gib"] = round(max(peaks + [torch.cuda.max_memory_allocated() / GIB]), 3)
        row["peak_reserved_gib"] = round(max(reserved + [torch.cuda.max_memory_reserved() / GIB]), 3)
        row["peak_step"] = max(row["steps"], key=lambda k: row["steps"][k].get("peak_allocated_gib", 0),
                               default=None)
        for train_step in ("train", "grpo"):
            if train_step in row["steps"]:
                row[f"{train_step}_peak_allocated_gib"] = row["steps"][train_step].get("peak_allocated_gib")
    else:
        import resource

        row["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)
    row["loaded_in_4bit"] = loaded_4bit
    row["training"] = {}
    for name, timer, trainer in timers:
        summary = timing_summary(timer.seconds, timer.tokens)
        if not summary.get("tokens_per_second"):  # no input_ids in the batch (GRPO): the trainer's own count
            increments = log_tokens(trainer.state.log_history)
            if increments and len(increments) == len(timer.seconds):
                summary = timing_summary(timer.seconds, increments)
        row["training"][name] = summary
    if stage is not None and hasattr(stage, "log_history") and stage.name == "ppo":
        seconds = [h["step_seconds"] for h in stage.log_history if "step_seconds" in h]
        row["training"]["PPOTrainer (helpers.ppo)"] = timing_summary(seconds, ppo_tokens[-len(seconds):]
                                                                     if seconds else [])
    main_name = {"ppo": "PPOTrainer (helpers.ppo)"}.get(args.child)
    main = row["training"].get(main_name) if main_name else next(iter(row["training"].values()), None)
    if main:
        row.update({k: main.get(k) for k in ("seconds_per_step", "tokens_per_second", "tokens_per_step")})
    if stage is not None:
        row["metrics"] = {k: v for k, v in stage.metrics.items() if isinstance(v, (int, float, str, bool))}
    Path(args.row).write_text(json.dumps(row, indent=1, default=str))


# ---------------------------------------------------------------- --sft-pieces: what one SFT micro-batch costs

def packed_rows(tok, rows: int, length: int) -> list[list[int]]:
    """Example lengths of the shipped SFT conversations (Qwen2.5's tokenizer and chat template), packed best-fit
    decreasing into `rows` rows of at most `length` tokens (longer examples cut), as TRL's "bfd" packing does."""
    from helpers.sources import shipped_path
    from helpers.data import load_records

    lengths = []
    for messages in load_records(shipped_path("sft", "train"), "sft")["messages"]:
        text = tok.apply_chat_template(messages, tokenize=False)
        lengths.append(min(length, len(tok(text, add_special_tokens=False)["input_ids"])))
    bins: list[list[int]] = []
    for n in sorted(lengths, reverse=True):
        fits = [b for b in bins if sum(b) + n <= length]
        if fits:
            min(fits, key=lambda b: length - sum(b) - n).append(n)
        else:
            bins.append([n])
    bins.sort(key=sum, reverse=True)
    return bins[:rows]


METADATA_OPS = frozenset({  # leaf aten ops that launch no kernel (shape/stride bookkeeping, allocation)
    "aten::empty", "aten::empty_strided", "aten::empty_like", "aten::view", "aten::as_strided", "aten::_reshape_alias",
    "aten::reshape", "aten::t", "aten::transpose", "aten::expand", "aten::slice", "aten::select", "aten::unsqueeze",
    "aten::squeeze", "aten::detach", "aten::alias", "aten::resolve_conj", "aten::resolve_neg", "aten::permute",
    "aten::unbind", "aten::split", "aten::narrow", "aten::lift_fresh", "aten::_unsafe_view", "aten::set_",
    "aten::result_type", "aten::_has_compatible_shallow_copy_type", "aten::is_same_size", "aten::numpy_T",
    "aten::split_with_sizes", "aten::chunk", "aten::view_as", "aten::expand_as", "aten::flatten", "aten::contiguous"})


def sft_pieces(args) -> int:
    """Time the pieces of one t4 SFT micro-batch (forward + backward) on this machine's device."""
    import itertools

    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM

    from helpers.models import lora_config, quantization_config, with_lora
    from helpers.packing import sdpa_varlen_attention, use_varlen_attention
    from helpers.profiles import get_profile
    from helpers.standin import qwen_tokenizer, standin_config
    from trl.kernels import ChunkedLogProbFunction
    from trl.kernels.chunked_logprob import _use_triton
    from trl.trainer.utils import _CHUNKED_LOGPROB_CHUNK_SIZE

    cuda = torch.cuda.is_available() and not args.cpu_dry_run
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.float16 if cuda else torch.bfloat16  # t4 trains in fp16; CPU autocast runs bf16
    layers = args.layers or (24 if cuda else 2)
    rows_n = args.rows or (4 if cuda else 1)
    try:
        import bitsandbytes  # noqa: F401

        has_bnb = True
    except Exception:  # noqa: BLE001
        has_bnb = False
    four_bit = {"yes": True, "no": False}.get(args.four_bit, has_bnb)
    shape = dict(QWEN05_SHAPE, num_hidden_layers=layers)
    if args.tiny_dims:  # same modules, heads, layers and tokens; (almost) no arithmetic: the host-side cost
        shape.update(hidden_size=14 * 8, intermediate_size=128, vocab_size=2048)
    torch.manual_seed(0)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def timed(fn, n=args.reps) -> float:
        """The fastest of `n` runs after a warm-up (Triton compiles, allocator): the least disturbed by other load."""
        fn()
        sync()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t0)
        return round(min(times), 4)

    tok = qwen_tokenizer()
    rows = packed_rows(tok, rows_n, args.length)
    lengths = [n for r in rows for n in r]
    total = sum(lengths)
    vocab = shape.get("vocab_size", 151_936)
    position_ids = torch.cat([torch.arange(n) for n in lengths])[None].to(device)
    cu = torch.tensor([0] + list(itertools.accumulate(lengths)), dtype=torch.int32, device=device)
    input_ids = torch.randint(0, min(vocab, 151_643), (1, total), device=device)
    labels = input_ids.clone()
    labels[position_ids == 0] = -100
    batch = dict(input_ids=input_ids, position_ids=position_ids, cu_seq_lens_q=cu, cu_seq_lens_k=cu,
                 max_length_q=max(lengths), max_length_k=max(lengths))
    report: dict = {"device": torch.cuda.get_device_name(0) if cuda else "cpu", "dtype": str(dtype),
                    "shape": shape, "tiny_dims": args.tiny_dims, "rows": len(rows), "row_length": args.length,
                    "examples": len(lengths), "tokens": total, "example_lengths": lengths, "reps": args.reps,
                    "torch": torch.__version__, "threads": torch.get_num_threads(), "loaded_in_4bit": four_bit,
                    "triton_head": _use_triton(device)}
    print(json.dumps({k: v for k, v in report.items() if k != "example_lengths"}), flush=True)
    config = standin_config(**shape)

    def build(quantized: bool, prepare: bool = True):
        """The t4 stage's model: base (4-bit NF4 + prepare_model_for_kbit_training, or 16-bit), LoRA r=16 on every
        linear layer, trainable weights in fp32 (helpers.models.with_lora). `prepare=False` skips PEFT's
        prepare_model_for_kbit_training (which upcasts every norm and the embedding to fp32) and only makes the
        inputs require grad, as checkpointing needs."""
        base = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        if quantized:
            from peft import prepare_model_for_kbit_training

            with tempfile.TemporaryDirectory() as tmp:
                base.to(dtype).save_pretrained(tmp)
                base = AutoModelForCausalLM.from_pretrained(
                    tmp, dtype=dtype, device_map={"": 0 if cuda else "cpu"},
                    quantization_config=quantization_config(get_profile("t4")))
            if prepare:
                base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=True)
            else:
                base.enable_input_require_grads()
        else:
            base = base.to(device, dtype)
        model = with_lora(base, lora_config(get_profile("t4")))
        model.train()
        return model, base

    model, base = build(four_bit)
    report["lm_head_dtype"] = str(base.get_output_embeddings().weight.dtype)
    mask = labels[:, 1:] != -100
    compact = _use_triton(device)

    def set_attention(m, kind: str):
        if kind == "varlen":
            use_varlen_attention(m)
        else:
            for sub in m.modules():
                c = getattr(sub, "config", None)
                if c is not None and hasattr(c, "_attn_implementation"):
                    c._attn_implementation = kind

    def set_checkpointing(b, on: bool):
        if on:
            b.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        else:
            b.gradient_checkpointing_disable()

    def head_loss(b, hidden, outputs):
        head = b.get_output_embeddings()
        h, y = hidden[:, :-1], labels[:, 1:]
        if outputs == "logits":  # the path before the fused head: full logits, upcast to fp32, cross-entropy
            logits = head(h).float()
            return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), ignore_index=-100)
        hs = h[mask] if compact else h.reshape(-1, h.size(-1))
        ys = y[mask] if compact else y.clamp(min=0).reshape(-1)
        logp = ChunkedLogProbFunction.apply(hs, head.weight, None, ys, 1.0, _CHUNKED_LOGPROB_CHUNK_SIZE, None, 1.0,
                                            outputs)[0]
        logp = logp if compact else logp.view(mask.shape)[mask]
        return -logp.sum() / mask.sum()

    def micro_batch(m=None, b=None, outputs=("log_probs", "entropy", "is_top1"), head=True):
        m, b = m or model, b or base
        with torch.autocast(device.type, dtype=dtype):
            hidden = b.model(**batch, use_cache=False).last_hidden_state
            loss = head_loss(b, hidden, outputs) if head else hidden.float().pow(2).mean()
        loss.backward()
        m.zero_grad(set_to_none=True)

    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])

    def operators(fn) -> tuple[int, dict]:
        """Aten operators one call of `fn` dispatches to a backend (forward, checkpoint recompute and backward),
        metadata-only ones (views, empty) left out: on a GPU each is at least one kernel launch. Deterministic, so it
        ranks the variants even on a busy CPU."""
        from torch.utils._python_dispatch import TorchDispatchMode

        counts: dict[str, int] = {}

        class Count(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                name = f"{func.namespace}::{func.overloadpacket.__name__}"
                if name not in METADATA_OPS:
                    counts[name] = counts.get(name, 0) + 1
                return func(*args, **(kwargs or {}))

        with Count():
            fn()
        return sum(counts.values()), dict(sorted(counts.items(), key=lambda kv: -kv[1])[:15])

    variants: dict[str, dict] = {}
    runs: dict[str, object] = {}

    def variant(name, attention="varlen", checkpointing=True, m=None, b=None, **kw):
        m, b = m or model, b or base

        def run():
            set_attention(m, attention)
            set_checkpointing(b, checkpointing)
            micro_batch(m, b, **kw)
        runs[name] = run

    base_name = f"baseline: t4 SFT as the stage runs it ({'4-bit' if four_bit else '16-bit'} base)"
    variant(base_name)
    variant("fused head, log_probs only (no entropy / accuracy)", outputs=("log_probs",))
    variant("full logits + fp32 cross-entropy (no fused head)", outputs="logits")
    variant("one SDPA call, transformers' packed mask (no per-example loop)", attention="sdpa")
    variant("no activation checkpointing", checkpointing=False)
    variant("body only (no LM head)", head=False)
    if four_bit:
        other, other_base = build(False)
        variant("16-bit base instead of 4-bit (LoRA, same settings)", m=other, b=other_base)
        lean, lean_base = build(True, prepare=False)
        variant("4-bit without prepare_model_for_kbit_training (no fp32 norms)", m=lean, b=lean_base)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for name, run in runs.items():  # warm-up, peak memory and operator count, one variant at a time
        try:
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            run()
            sync()
            row = {"operators": operators(run)[0]}
            if cuda:
                row["peak_gib"] = round(torch.cuda.max_memory_allocated() / GIB, 2)
        except Exception as exc:  # noqa: BLE001
            row = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        variants[name] = row
    for _ in range(args.reps):  # timed rounds over all variants: a burst of other load hits them alike
        for name, run in runs.items():
            if "error" not in variants[name]:
                t0 = time.perf_counter()
                run()
                sync()
                times[name].append(time.perf_counter() - t0)
    for name, row in variants.items():
        if times[name]:
            row["seconds"] = round(min(times[name]), 4)
            row["seconds_all"] = [round(t, 3) for t in times[name]]
        print(f"{name:>64}: {row}", flush=True)
    runs.clear()
    if four_bit:
        del other, other_base, lean, lean_base
    report["micro_batch"] = variants

    # isolated: the LM head over the batch's tokens, and one layer's attention
    pieces: dict[str, float] = {}
    hidden = torch.randn(int(mask.sum()) if compact else total - 1, config.hidden_size, device=device, dtype=dtype,
                         requires_grad=True)
    targets = torch.randint(0, vocab, (hidden.shape[0],), device=device)
    weight = base.get_output_embeddings().weight.detach()
    for label, outputs in (("head: log_probs + entropy + is_top1 (TRL SFT)", ("log_probs", "entropy", "is_top1")),
                           ("head: log_probs only", ("log_probs",))):
        def run_head(outputs=outputs):
            with torch.autocast(device.type, dtype=dtype):
                out = ChunkedLogProbFunction.apply(hidden, weight, None, targets, 1.0, _CHUNKED_LOGPROB_CHUNK_SIZE,
                                                   None, 1.0, outputs)
            out[0].sum().backward()
        pieces[label] = timed(run_head)

    def run_logits():
        with torch.autocast(device.type, dtype=dtype):
            logits = hidden @ weight.to(dtype).t()
        F.cross_entropy(logits.float(), targets).backward()
    pieces["head: full logits + fp32 cross-entropy"] = timed(run_logits)

    heads, kv = config.num_attention_heads, config.num_key_value_heads
    dim = config.hidden_size // heads
    q = torch.randn(1, heads, total, dim, device=device, dtype=dtype, requires_grad=True)
    k = torch.randn(1, kv, total, dim, device=device, dtype=dtype, requires_grad=True)
    v = torch.randn(1, kv, total, dim, device=device, dtype=dtype, requires_grad=True)

    class Attention(torch.nn.Module):
        num_key_value_groups = heads // kv

    module = Attention().train()

    def varlen():
        out, _ = sdpa_varlen_attention(module, q, k, v, None, scaling=dim**-0.5, cu_seq_lens_q=cu)
        out.float().sum().backward()

    def one_call(block_mask=None):
        kk, vv = k.repeat_interleave(heads // kv, 1), v.repeat_interleave(heads // kv, 1)
        out = F.scaled_dot_product_attention(q, kk, vv, attn_mask=block_mask, is_causal=block_mask is None)
        out.float().sum().backward()

    seq = torch.repeat_interleave(torch.arange(len(lengths), device=device), torch.tensor(lengths, device=device))
    dense = (seq[:, None] == seq[None, :]) & torch.ones(total, total, dtype=torch.bool, device=device).tril()
    pieces["attention, 1 layer: per-example SDPA loop (helpers.packing)"] = timed(varlen)
    pieces["attention, 1 layer: one causal SDPA call (no packing; reference)"] = timed(one_call)
    pieces["attention, 1 layer: one SDPA call, dense block-diagonal mask"] = timed(lambda: one_call(dense))
    report["isolated"] = pieces
    for name, value in pieces.items():
        print(f"{name:>66}: {value}", flush=True)

    # where the baseline's time goes, and how many operators (each one at least a kernel launch on a GPU) it runs
    set_attention(model, "varlen")
    set_checkpointing(base, True)
    with profile(activities=activities) as prof:
        micro_batch()
        sync()
    key = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    report["profile_table"] = prof.key_averages().table(sort_by=key, row_limit=20, max_name_column_width=60)
    total_ops, top = operators(micro_batch)
    report["operators_per_micro_batch"] = {
        "total": total_ops, "most_frequent": top,
        "bitsandbytes_calls": sum(1 for e in prof.events() if e.name.startswith("bitsandbytes::")),
        "note": "leaf aten operators of one micro-batch (forward, checkpoint recompute, backward), metadata-only ops "
                "left out; on a GPU each is at least one kernel launch, so a small model becomes host-bound"}
    print(report["profile_table"], flush=True)
    print(json.dumps(report["operators_per_micro_batch"]), flush=True)

    base_s, body_s = variants[base_name].get("seconds"), variants["body only (no LM head)"].get("seconds")
    if base_s and body_s:
        report["estimate"] = {"micro_batch_seconds": base_s, "per_layer_seconds": round(body_s / layers, 4),
                              "head_seconds": round(max(base_s - body_s, 0.0), 4),
                              "micro_batch_24_layers_seconds": round(24 * body_s / layers + max(base_s - body_s, 0), 3),
                              "note": "per layer = body-only time / layers; head = baseline - body only; a t4 "
                                      "optimizer step is 4 micro-batches (grad_accum 4)"}
        print(json.dumps(report["estimate"]), flush=True)
    slug = gpu_slug(report["device"]) if cuda else "cpu"
    out = args.out or (REPO / "benchmarks" / f"sft_pieces_{slug}{'_tiny-dims' if args.tiny_dims else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {out}")
    return 0


# ---------------------------------------------------------------- the driver

def tokenizer_stage(run: Path) -> dict:
    """01, headless: the profile's base tokenizer extended with its domain tokens, saved where 02 looks."""
    from helpers.profiles import get_profile
    from helpers.runs import stage_output
    from helpers.tokenizer import course_tokenizer

    start = time.perf_counter()
    try:
        tok = course_tokenizer(get_profile())
        tok.save_pretrained(stage_output("tokenizer", run))
        return {"stage": "tokenizer", "seconds": round(time.perf_counter() - start, 2), "tokens": len(tok),
                "domain_tokens_added": len(tok) - 151_665}
    except Exception as exc:  # noqa: BLE001
        return {"stage": "tokenizer", "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-4000:]}


def probe_gpu() -> dict:
    """{"name", "memory_gib", "capability", "cuda"} of GPU 0, asked in a child process so that this one never holds a
    CUDA context (its few hundred MB would count against a T4's 15 GB); {} without a GPU."""
    code = ("import json, torch\n"
            "if torch.cuda.is_available():\n"
            "    p = torch.cuda.get_device_properties(0)\n"
            "    print(json.dumps({'name': p.name, 'memory_gib': round(p.total_memory / 2**30, 1),\n"
            "                      'capability': f'{p.major}.{p.minor}', 'cuda': torch.version.cuda}))\n"
            "else:\n"
            "    print('{}')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {}


def verdict(profile: str, row: dict, limit_gib: float) -> str:
    if row.get("error"):
        return "FAIL (error)"
    peak = row.get("peak_allocated_gib")
    if peak is None:
        return "n/a"
    if profile != "t4":
        return "info"
    return "PASS" if peak <= limit_gib else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="default: benchmarks/gpu_<gpu-name>.json")
    parser.add_argument("--profiles", nargs="+", default=None, choices=("t4", "ampere"))
    parser.add_argument("--stages", nargs="+", default=list(COURSE), choices=COURSE)
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps per stage (default 10; dry run 2)")
    parser.add_argument("--limit-gib", type=float, default=13.0, help="t4 stages must peak at or below this")
    parser.add_argument("--trim-eval", action="store_true", help="evaluation steps on a few examples only")
    parser.add_argument("--cpu-dry-run", action="store_true", help="no CUDA: tiny body, ampere, few steps")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary folder, deleted after)")
    parser.add_argument("--keep-work", action="store_true")
    parser.add_argument("--sft-pieces", action="store_true", help="time the pieces of one SFT micro-batch instead")
    parser.add_argument("--layers", type=int, help="--sft-pieces: decoder layers (default 24 on a GPU, 2 on a CPU)")
    parser.add_argument("--rows", type=int, default=None, help="--sft-pieces: packed rows per micro-batch")
    parser.add_argument("--length", type=int, default=1024, help="--sft-pieces: tokens per packed row")
    parser.add_argument("--reps", type=int, default=3, help="--sft-pieces: timed repetitions per variant")
    parser.add_argument("--four-bit", choices=("auto", "yes", "no"), default="auto",
                        help="--sft-pieces: 4-bit NF4 base (auto: when bitsandbytes imports)")
    parser.add_argument("--tiny-dims", action="store_true",
                        help="--sft-pieces: same layers, modules and tokens, tiny widths: the host-side cost")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--row", help=argparse.SUPPRESS)
    parser.add_argument("--profile", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.steps is None:
        args.steps = 2 if args.cpu_dry_run else 10
    if args.child:
        child_main(args)
        return 0
    if args.sft_pieces:
        return sft_pieces(args)

    import torch
    import transformers

    device = {} if args.cpu_dry_run else probe_gpu()
    cuda = bool(device)
    if not args.cpu_dry_run and not cuda:
        parser.error("no CUDA device: run on a GPU machine, or pass --cpu-dry-run to check the tool on a CPU")
    profiles = args.profiles or ["t4", "ampere"]  # a dry run records t4 as skipped (it needs CUDA)
    gpu = device.get("name", "cpu (dry run)")
    out = args.out or (REPO / "benchmarks" / f"gpu_{gpu_slug(gpu) if cuda else 'cpu-dry-run'}.json")
    work = (args.work or Path(tempfile.mkdtemp(prefix="gpu-check-"))).resolve()
    started = time.perf_counter()
    report: dict = {
        "what": "t4/ampere profiles on a Qwen2.5-0.5B-shaped random model, shipped data; per profile and stage",
        "gpu": gpu, "cpu_dry_run": args.cpu_dry_run, "limit_gib": args.limit_gib, "steps": args.steps,
        "trim_eval": args.trim_eval, "machine": {"platform": platform.platform(), "cores": os.cpu_count(),
                                                 "python": platform.python_version()},
        "torch": torch.__version__, "transformers": transformers.__version__, "cuda": torch.version.cuda,
        "model_shape": "stand-in body (hidden 64, 2 layers), real vocabulary" if args.cpu_dry_run else QWEN05_SHAPE,
    }
    from importlib.metadata import PackageNotFoundError, version

    for pkg in ("trl", "peft", "accelerate", "bitsandbytes"):  # versions without importing (no CUDA context here)
        try:
            report[pkg] = version(pkg)
        except PackageNotFoundError:
            report[pkg] = None
    if cuda:
        report["gpu_memory_gib"] = device["memory_gib"]
        report["compute_capability"] = device["capability"]
    verdicts: list[tuple[str, str, str, dict]] = []
    try:
        models = build_models(work / "models", {} if args.cpu_dry_run else QWEN05_SHAPE)
        for profile in profiles:
            report[profile] = {}
            if args.cpu_dry_run and profile == "t4":
                report[profile] = {"skipped": "t4 needs CUDA (4-bit NF4, fp16)"}
                continue
            env = dict(os.environ, **course_env(models, profile))
            if args.cpu_dry_run:
                env["CUDA_VISIBLE_DEVICES"] = ""
            run = work / profile
            saved = dict(os.environ)
            os.environ.update(env)
            try:
                for name in args.stages:
                    t0 = time.perf_counter()
                    if name == "tokenizer":
                        row = tokenizer_stage(run)
                    else:
                        row_path = work / f"row-{profile}-{name}.json"
                        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--run", str(run),
                               "--row", str(row_path), "--profile", profile, "--steps", str(args.steps)]
                        cmd += ["--cpu-dry-run"] if args.cpu_dry_run else []
                        cmd += ["--trim-eval"] if (args.trim_eval or args.cpu_dry_run) else []
                        proc = subprocess.run(cmd, cwd=REPO, env=env)
                        row = json.loads(row_path.read_text()) if row_path.is_file() else {
                            "stage": name, "error": f"the stage's process ended with code {proc.returncode} and "
                                                    "wrote no row (killed? out of host memory?)"}
                        row["returncode"] = proc.returncode
                    row["wall_seconds"] = round(time.perf_counter() - t0, 1)
                    row["verdict"] = verdict(profile, row, args.limit_gib)
                    report[profile][name] = row
                    verdicts.append((profile, name, row["verdict"], row))
                    print(f"==== {profile:>6} {name:>9}: {row['verdict']:<12} " + line(row), flush=True)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_text(json.dumps(report, indent=1, default=str))
            finally:
                os.environ.clear()
                os.environ.update(saved)
                if not args.keep_work:
                    shutil.rmtree(run, ignore_errors=True)  # ~10 GB of models and checkpoints per profile
    finally:
        report["seconds"] = round(time.perf_counter() - started, 1)
        report["summary"] = [{"profile": p, "stage": s, "verdict": v, **{k: r.get(k) for k in (
            "peak_allocated_gib", "peak_reserved_gib", "seconds_per_step", "tokens_per_second", "loaded_in_4bit",
            "error")}} for p, s, v, r in verdicts]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1, default=str))
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'profile':>7} {'stage':>9}  verdict       peak GiB (reserved)  s/step   tokens/s  4-bit")
    for p, s, v, r in verdicts:
        print(f"{p:>7} {s:>9}  {v:<12}  " + line(r))
    failed = [f"{p}/{s}" for p, s, v, _ in verdicts if v.startswith("FAIL")]
    print(f"{'FAILED: ' + ', '.join(failed) if failed else 'all stages passed'}; wrote {out} in {report['seconds']} s")
    return 1 if failed else 0


def line(row: dict) -> str:
    if row.get("error"):
        return f"{row.get('failed_step', '')}: {row['error'][:160]}"
    if row.get("stage") == "tokenizer":
        return f"{row.get('tokens')} tokens in {row.get('seconds')} s"
    peak = row.get("peak_allocated_gib")
    mem = f"{peak:6.2f} ({row.get('peak_reserved_gib'):6.2f})" if peak is not None else \
        f"rss {row.get('peak_rss_gib')} GiB"
    return (f"{mem:>19}  {row.get('seconds_per_step') or float('nan'):6.3f}  "
            f"{row.get('tokens_per_second') or float('nan'):9.1f}  {row.get('loaded_in_4bit')}")


if __name__ == "__main__":
    sys.exit(main())
