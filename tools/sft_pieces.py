"""One t4 SFT micro-batch taken apart (`python tools/gpu_check.py --sft-pieces [--tiny-dims] [--four-bit yes]`).

    python tools/sft_pieces.py [--tiny-dims] [--four-bit yes] [--cpu-dry-run] [--out FILE]   # the same, directly

Forward + backward of 4 packed rows of 1024 tokens (the shipped SFT conversations, Qwen2.5's tokenizer, TRL's
padding-free layout), Qwen2.5-0.5B's 24 layers, LoRA r=16 on every linear layer, on whatever device there is. Per
variant (one change at a time from the stage as it runs now): operators (each one at least a kernel launch on a GPU),
device-to-host syncs (tools/toolkit.py's counter) and seconds; then the LM head and one layer's attention alone, and a
torch.profiler table. `--tiny-dims` keeps layers, modules, heads and tokens but shrinks the widths: what is left is the
host-side cost that a fast GPU cannot hide. `--four-bit yes` loads the base in 4-bit NF4 (bitsandbytes; its CPU
backend on a CPU) or stops with an error; it never measures a 16-bit base in its place.

A CPU run counts what a T4 would launch: the attention kernel is the GPU's (helpers.lm.packing's `padded`), TRL's head
compacts the labelled positions as on a Triton device, the 4-bit compute dtype is the autocast dtype (bf16 on a CPU,
fp16 on a T4: no cast between them) and PEFT's 4-bit LoRA layers see autocast as on CUDA (cuda_like_autocast). The
variants "PEFT's CPU branch" and "per-example SDPA loop" show what the CPU itself runs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from toolkit import GIB, QWEN05_SHAPE, REPO, gpu_slug, kernels, measure, pieces_options

GOALS = {"operators": 9000, "syncs": 1}  # issue 21, per t4 micro-batch (24 layers, 4 × 1024 tokens)
LEGACY = "sdpa_varlen_legacy"


def packed_rows(tok, rows: int, length: int) -> list[list[int]]:
    """Example lengths of the shipped SFT conversations (Qwen2.5's tokenizer and chat template), packed best-fit
    decreasing into `rows` rows of at most `length` tokens (longer examples cut), as TRL's "bfd" packing does."""
    from helpers.env.data import load_records
    from helpers.env.sources import shipped_path

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


def legacy_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None, **kwargs):
    """helpers.lm.packing before issue 21: SDPA per example, boundaries read to the host (a sync) in every layer."""
    import torch
    import torch.nn.functional as F
    from transformers.integrations.sdpa_attention import repeat_kv

    groups = getattr(module, "num_key_value_groups", 1)
    key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    edges = kwargs["cu_seq_lens_q"].tolist()
    outs = [F.scaled_dot_product_attention(query[:, :, s:e], key[:, :, s:e], value[:, :, s:e], is_causal=True,
                                           scale=scaling) for s, e in zip(edges[:-1], edges[1:])]
    return torch.cat(outs, dim=2).transpose(1, 2).contiguous(), None


def register_legacy() -> None:
    """Make LEGACY an attention implementation (with helpers.lm.packing's mask function)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    from helpers.lm.packing import varlen_mask

    AttentionInterface.register(LEGACY, legacy_attention)
    AttentionMaskInterface.register(LEGACY, varlen_mask)


def set_attention(model, kind: str) -> None:
    """padded / loop: helpers.lm.packing with that kernel; legacy: the old loop; sdpa: transformers' dense packed mask."""
    import helpers.lm.packing as packing

    packing.PACKED_KERNEL = kind if kind in ("padded", "loop") else "auto"
    name = packing.VARLEN if kind in ("padded", "loop") else kind
    for sub in model.modules():
        config = getattr(sub, "config", None)
        if config is not None and hasattr(config, "_attn_implementation"):
            config._attn_implementation = name


@contextmanager
def cuda_like_autocast(off: bool):
    """On a CPU, answer `torch.is_autocast_enabled()` (no argument: it asks about CUDA) with the CPU's autocast state.
    PEFT's 4-bit LoRA layer branches on it: False makes it cast every input to float32 and every output back, 4 casts
    per module that a T4 under fp16 autocast never runs. Does nothing when `off` (a GPU; or to count the CPU's path)."""
    import torch

    if off:
        yield
        return
    original = torch.is_autocast_enabled
    torch.is_autocast_enabled = lambda device_type=None: original(device_type or "cpu")
    try:
        yield
    finally:
        torch.is_autocast_enabled = original


def has_4bit(model) -> bool:
    """True when `model` holds bitsandbytes 4-bit weights."""
    return any(type(p).__name__ == "Params4bit" for p in model.parameters())


def want_4bit(choice: str) -> bool:
    """--four-bit: yes (bitsandbytes must import, else an error), no, or auto (when it imports)."""
    try:
        import bitsandbytes  # noqa: F401

        has_bnb, why = True, ""
    except Exception as exc:  # noqa: BLE001
        has_bnb, why = False, f"{type(exc).__name__}: {exc}"
    if choice == "yes" and not has_bnb:
        raise SystemExit(f"--four-bit yes: bitsandbytes does not import ({why}); `make setup` installs it "
                         "(pyproject's dev extra). Refusing to measure a 16-bit base instead.")
    return {"yes": True, "no": False}.get(choice, has_bnb)


class Pieces:
    """The model, batch and helpers of one micro-batch measurement."""

    def __init__(self, args):
        import torch

        from helpers.maintainer.standin import qwen_tokenizer, standin_config

        self.args = args
        self.cuda = torch.cuda.is_available() and not args.cpu_dry_run
        self.device = torch.device("cuda" if self.cuda else "cpu")
        self.dtype = torch.float16 if self.cuda else torch.bfloat16  # t4 trains in fp16; CPU autocast runs bf16
        layers = args.layers or (24 if self.cuda else 2)
        self.shape = dict(QWEN05_SHAPE, num_hidden_layers=layers)
        if args.tiny_dims:  # same modules, heads, layers and tokens; (almost) no arithmetic: the host-side cost
            self.shape.update(hidden_size=14 * 8, intermediate_size=128, vocab_size=2048)
        self.config = standin_config(**self.shape)
        self.four_bit = want_4bit(args.four_bit)
        self.lengths = [n for r in packed_rows(qwen_tokenizer(), args.rows or (4 if self.cuda else 1), args.length)
                        for n in r]
        self.batch, self.labels = self.make_batch()
        from helpers.lm.lm_head import label_rows

        self.rows = label_rows(self.labels.cpu()).to(self.device)  # as the stage's collator lists them, on the host
        register_legacy()

    def make_batch(self):
        """TRL's padding-free batch of the packed lengths: one row, position ids, cu_seq_lens, max_length."""
        import torch

        from helpers.maintainer.standin import BPE_SIZE, VOCAB_ROWS

        total, vocab = sum(self.lengths), self.shape.get("vocab_size", VOCAB_ROWS)
        position_ids = torch.cat([torch.arange(n) for n in self.lengths])[None].to(self.device)
        cu = torch.tensor([0] + list(itertools.accumulate(self.lengths)), dtype=torch.int32, device=self.device)
        input_ids = torch.randint(0, min(vocab, BPE_SIZE), (1, total), device=self.device)
        labels = input_ids.clone()
        labels[position_ids == 0] = -100
        batch = dict(input_ids=input_ids, position_ids=position_ids, cu_seq_lens_q=cu, cu_seq_lens_k=cu,
                     max_length_q=max(self.lengths), max_length_k=max(self.lengths))
        return batch, labels

    def build(self, quantized: bool, prepare: str = "ours"):
        """The t4 stage's model: base (4-bit NF4 or 16-bit), prepared by helpers.lm.models.prepare_4bit_base ("ours") or
        PEFT's prepare_model_for_kbit_training ("peft", before issue 21), LoRA r=16, trainable weights fp32."""
        import torch
        from transformers import AutoModelForCausalLM

        from helpers.lm.models import lora_config, prepare_4bit_base, quantization_config, with_lora
        from helpers.env.profiles import get_profile

        torch.manual_seed(0)
        base = AutoModelForCausalLM.from_config(self.config, dtype=torch.float32)
        if quantized:
            with tempfile.TemporaryDirectory() as tmp:
                base.to(self.dtype).save_pretrained(tmp)
                base = AutoModelForCausalLM.from_pretrained(
                    tmp, dtype=self.dtype, device_map={"": 0 if self.cuda else "cpu"},
                    quantization_config=quantization_config(self.t4()))
            if not has_4bit(base):
                raise SystemExit("--four-bit: bitsandbytes imported but the base did not load in 4 bits; "
                                 "refusing to measure a 16-bit base instead.")
            if prepare == "peft":
                from peft import prepare_model_for_kbit_training

                base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=True)
            else:
                base = prepare_4bit_base(base)
        else:
            base = base.to(self.device, self.dtype)
        model = with_lora(base, lora_config(get_profile("t4")))
        model.train()
        return model, base

    def t4(self):
        """The t4 profile, its compute dtype this run's (a CPU autocasts to bf16: fp16 would add a cast per matmul
        that a T4, fp16 throughout, never makes)."""
        from dataclasses import replace

        from helpers.env.profiles import get_profile

        return replace(get_profile("t4"), dtype=str(self.dtype).removeprefix("torch."))

    def head_loss(self, base, hidden, head: str):
        """TRL's fused head as on a T4 ("fused"; "log_probs" only; "fused-all": every position, no boolean index) or
        full logits + fp32 log-softmax ("logits", helpers.lm.lm_head)."""
        from trl.kernels import ChunkedLogProbFunction
        from trl.trainer.utils import _CHUNKED_LOGPROB_CHUNK_SIZE

        from helpers.lm.lm_head import per_token

        weight = base.get_output_embeddings().weight
        h, y = hidden[:, :-1], self.labels[:, 1:]
        mask = y != -100
        if head == "host-index":  # helpers.lm.lm_head.host_indexed_head: the collator's rows, index_select, no sync
            from helpers.lm.lm_head import indexed_output

            return indexed_output(base, h, y, self.rows, ("log_probs", "entropy", "is_top1")).loss
        if head == "logits":  # compact on a CPU (a boolean index would sync a GPU), as helpers.lm.lm_head does
            compact = not self.cuda
            rows = h[mask] if compact else h.reshape(-1, h.size(-1))
            ys = y[mask] if compact else y.clamp(min=0).reshape(-1)
            logp = per_token(base.get_output_embeddings()(rows), ys)["log_probs"]
            return -(logp if compact else logp.view(mask.shape) * mask).sum() / mask.sum()
        outputs = ("log_probs",) if head == "log_probs" else ("log_probs", "entropy", "is_top1")
        compact = head != "fused-all"  # TRL on a T4 (Triton): only labelled positions, by a boolean index
        hs = h[mask] if compact else h.reshape(-1, h.size(-1))
        ys = y[mask] if compact else y.clamp(min=0).reshape(-1)
        logp = ChunkedLogProbFunction.apply(hs, weight, None, ys, 1.0, _CHUNKED_LOGPROB_CHUNK_SIZE, None, 1.0,
                                            outputs)[0]
        logp = logp.new_zeros(mask.shape).masked_scatter(mask, logp) if compact else \
            logp.view(mask.shape).masked_fill(~mask, 0)
        return -logp.sum() / mask.sum().clamp(min=1)

    def micro_batch(self, model, base, head: str = "host-index", attention: str = "padded", checkpointing: bool = True,
                    cpu_branch: bool = False):
        """Forward + backward of the packed batch with these settings (`cpu_branch`: see cuda_like_autocast)."""
        import torch

        set_attention(model, attention)
        if checkpointing:
            base.activation_checkpointing_enable()
        else:
            base.activation_checkpointing_disable()
        with cuda_like_autocast(self.cuda or cpu_branch), torch.autocast(self.device.type, dtype=self.dtype):
            hidden = base.model(**self.batch, use_cache=False).last_hidden_state
            loss = self.head_loss(base, hidden, head) if head != "none" else hidden.float().pow(2).mean()
        loss.backward()
        model.zero_grad(set_to_none=True)

    def sync(self) -> None:
        import torch

        if self.cuda:
            torch.cuda.synchronize()


def variants(pieces: Pieces, only: list[str] | None = None) -> dict:
    """name -> zero-argument function running one micro-batch with one change from the stage as it runs now (those
    whose name starts with one of `only`, when given); each model is built on first use."""
    p, built = pieces, {}

    def on(kind: str, **kw):
        def run():
            if kind not in built:
                built[kind] = {"stage": lambda: p.build(p.four_bit), "peft": lambda: p.build(True, prepare="peft"),
                               "16-bit": lambda: p.build(False)}[kind]()
            p.micro_batch(*built[kind], **kw)
        return run

    runs = {f"stage now: {'4-bit' if p.four_bit else '16-bit'} base, prepare_4bit_base, padded SDPA, "
            "checkpointing, TRL's fused kernel over the collator's rows (helpers.lm.lm_head, as on a T4)":
            on("stage"),
            "TRL's compact fused head (a boolean index: hidden[mask], as TRL does on a T4)": on("stage", head="fused")}
    if not p.four_bit:
        runs["before issue 21: per-example SDPA + sync per layer (16-bit base)"] = on("stage", attention=LEGACY,
                                                                                  head="fused")
    else:
        runs["before issue 21: prepare_model_for_kbit_training, per-example SDPA + sync per layer"] = \
            on("peft", attention=LEGACY, head="fused")
        runs["prepare_model_for_kbit_training (fp32 norms + embedding), padded SDPA"] = on("peft")
        runs["16-bit base instead of 4-bit"] = on("16-bit")
    runs.update({
        "per-example SDPA loop, boundaries once per batch (the CPU's kernel)": on("stage", attention="loop"),
        "one SDPA call, transformers' dense block-diagonal mask": on("stage", attention="sdpa"),
        "fused head, log_probs only (no entropy / accuracy)": on("stage", head="log_probs"),
        "fused head over every position (no boolean index)": on("stage", head="fused-all"),
        "full logits + fp32 log-softmax (helpers.lm.lm_head, the CPU's head)": on("stage", head="logits"),
        "no activation checkpointing": on("stage", checkpointing=False),
        "PEFT's CPU branch (no autocast seen: inputs cast to float32 and back)": on("stage", cpu_branch=True),
        "body only (no LM head)": on("stage", head="none"),
    })
    return {k: v for k, v in runs.items() if not only or any(k.startswith(o) for o in only)}


def measure_variants(pieces: Pieces, runs: dict) -> dict:
    """Operators, syncs, peak memory (GPU) and the fastest of --reps interleaved timed runs, per variant."""
    import torch

    rows: dict[str, dict] = {}
    for name, run in runs.items():
        try:
            if pieces.cuda:
                torch.cuda.reset_peak_memory_stats()
            run()  # warm-up (and the first batch's cached boundaries, as in training)
            pieces.sync()
            rows[name] = measure(run)
            print(f"{name}: {rows[name]['operators']} operators, {rows[name]['syncs']} syncs", flush=True)
            if pieces.cuda:
                rows[name]["peak_gib"] = round(torch.cuda.max_memory_allocated() / GIB, 2)
        except Exception as exc:  # noqa: BLE001 - the report says which variant broke
            rows[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(pieces.args.reps):  # interleaved: a burst of other load hits every variant alike
        for name, run in runs.items():
            if "error" not in rows[name]:
                t0 = time.perf_counter()
                run()
                pieces.sync()
                times[name].append(time.perf_counter() - t0)
    for name, row in rows.items():
        if times[name]:
            row["seconds"] = round(min(times[name]), 4)
        print(f"{name:>96}: {json.dumps({k: v for k, v in row.items() if k != 'most_frequent'})}", flush=True)
    return rows


def layer_and_head(pieces: Pieces) -> dict:
    """At the micro-batch's shape: one layer's attention (every kernel of toolkit.kernels) and the LM head (TRL's fused
    head vs full logits), forward + backward, fastest of --reps in wall seconds (the device synchronised)."""
    import torch
    from trl.kernels import ChunkedLogProbFunction
    from trl.trainer.utils import _CHUNKED_LOGPROB_CHUNK_SIZE

    import helpers.lm.packing as packing
    from helpers.lm.lm_head import per_token

    p, c = pieces, pieces.config
    total, dev = sum(p.lengths), p.device
    shape = (c.num_attention_heads, c.num_key_value_heads, c.hidden_size // c.num_attention_heads)
    attention, _ = kernels(p.lengths, p.dtype, shape, dev)
    fns = {f"attention, 1 layer: {name}": (lambda fn=fn: fn().float().sum().backward())
           for name, fn in attention.items()}
    hidden = torch.randn(total - 1, c.hidden_size, device=dev, dtype=p.dtype, requires_grad=True)
    targets = torch.randint(0, c.vocab_size, (total - 1,), device=dev)
    weight = torch.randn(c.vocab_size, c.hidden_size, device=dev, dtype=p.dtype) * 0.02
    fns["head: TRL fused log_probs + entropy + is_top1"] = lambda: ChunkedLogProbFunction.apply(
        hidden, weight, None, targets, 1.0, _CHUNKED_LOGPROB_CHUNK_SIZE, None, 1.0,
        ("log_probs", "entropy", "is_top1"))[0].sum().backward()

    def logits():
        with torch.autocast(dev.type, dtype=p.dtype):
            out = per_token(hidden @ weight.t(), targets)
        out["log_probs"].sum().backward()

    fns["head: full logits + fp32 log-softmax (helpers.lm.lm_head)"] = logits
    out: dict = {}
    for name, fn in fns.items():
        try:
            fn()
            p.sync()
        except Exception as exc:  # noqa: BLE001 - e.g. no backend for nested tensors on this device
            out[name] = f"{type(exc).__name__}: {exc}"[:160]
            continue
        best = float("inf")
        for _ in range(p.args.reps):
            t0 = time.perf_counter()
            fn()
            p.sync()
            best = min(best, time.perf_counter() - t0)
        out[name] = round(best, 4)
        print(f"{name:>72}: {out[name]}", flush=True)
    packing.PACKED_KERNEL = "auto"
    return out


def run(args) -> int:
    """Measure, print and write benchmarks/sft_pieces_<device>[_tiny-dims].json; 1 if the stage misses a goal."""
    import torch

    pieces = Pieces(args)
    report: dict = {"device": torch.cuda.get_device_name(0) if pieces.cuda else "cpu", "dtype": str(pieces.dtype),
                    "shape": pieces.shape, "tiny_dims": args.tiny_dims, "row_length": args.length,
                    "examples": len(pieces.lengths), "tokens": sum(pieces.lengths), "reps": args.reps,
                    "torch": torch.__version__, "threads": torch.get_num_threads(), "loaded_in_4bit": pieces.four_bit,
                    "example_lengths": pieces.lengths}
    print(json.dumps({k: v for k, v in report.items() if k != "example_lengths"}), flush=True)
    runs = variants(pieces, args.only)
    report["micro_batch"] = measure_variants(pieces, runs)
    stage_name = next((k for k in runs if k.startswith("stage now")), None)
    report["profile_table"] = profiler_table(pieces, runs[stage_name]) if stage_name and args.reps else ""
    runs.clear()
    report["isolated"] = layer_and_head(pieces) if args.reps else {}
    report["goals"] = goals(report["micro_batch"][stage_name], pieces) if stage_name else {}
    print(report["profile_table"], flush=True)
    print(json.dumps(report["goals"]), flush=True)
    slug = gpu_slug(report["device"]) if pieces.cuda else "cpu"
    out = args.out or (REPO / "benchmarks" / f"sft_pieces_{slug}{'_tiny-dims' if args.tiny_dims else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {out}")
    return 0 if report["goals"].get("met", True) else 1


def profiler_table(pieces: Pieces, run_once) -> str:
    """torch.profiler's top-20 operators (by self time on the device) of one micro-batch."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if pieces.cuda else [])) as prof:
        run_once()
        pieces.sync()
    key = "self_cuda_time_total" if pieces.cuda else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=20, max_name_column_width=60)


def goals(stage: dict, pieces: Pieces) -> dict:
    """Issue 21's goals for the stage's micro-batch (they apply to 24 layers × 4 rows × 1024 tokens): operators and
    every sync. Those of a boolean index (TRL's compact head: hidden[mask], labels[mask], the index backward) are also
    shown apart."""
    full = pieces.shape["num_hidden_layers"] == 24 and sum(pieces.lengths) > 3 * pieces.args.length
    head = sum(n for k, n in stage.get("sync_kinds", {}).items() if k in ("aten::index", "aten::index_put"))
    out = {"operators": stage.get("operators"), "operators_goal": GOALS["operators"], "syncs": stage.get("syncs"),
           "syncs_in_head": head, "syncs_outside_head": (stage.get("syncs") or 0) - head,
           "syncs_goal": GOALS["syncs"], "applies": full}
    if full and "error" not in stage:
        out["met"] = stage["operators"] <= GOALS["operators"] and stage["syncs"] <= GOALS["syncs"]
    return out


def main(argv: list[str] | None = None) -> int:
    """The command line: gpu_check.py --sft-pieces's options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="default: benchmarks/sft_pieces_<device>[_tiny-dims].json")
    parser.add_argument("--cpu-dry-run", action="store_true", help="run on the CPU even when there is a GPU")
    pieces_options(parser, prefix="")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
