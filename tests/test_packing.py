"""helpers.lm.packing: a packed batch equals its examples run alone (both kernels), with one set of boundaries per batch
and no device-to-host sync in attention; tools/toolkit.py's counter counts what a GPU would wait for."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import helpers.lm.packing as packing

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from toolkit import counting  # noqa: E402

LENGTHS = (7, 5, 9)


@pytest.fixture()
def kernel(request):
    """Set helpers.lm.packing.PACKED_KERNEL for one test; back to "auto" after it."""
    packing.PACKED_KERNEL = request.param
    yield request.param
    packing.PACKED_KERNEL = "auto"


def packed_batch(tokenizer, examples):
    """TRL's padding-free batch of `examples` (one packed row; boundaries in cu_seq_lens_q)."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    collate = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id, padding_free=True)
    batch = collate([{"input_ids": sum(examples, []), "seq_lengths": [len(x) for x in examples]}])
    return {k: v for k, v in batch.items() if k not in ("labels", "seq_idx")}


def tiny(tiny_profile, tiny_tokenizer, layers: int = 2, checkpointing: bool = False):
    from transformers import AutoModelForCausalLM

    from helpers.lm.models import tiny_config

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(tiny_config(tiny_profile, tiny_tokenizer, num_hidden_layers=layers))
    if checkpointing:
        model.activation_checkpointing_enable()
    return model.train() if checkpointing else model.eval()


@pytest.mark.parametrize("kernel", ["padded", "loop"], indirect=True)
def test_packed_equals_separate_logits_and_gradients(tiny_profile, tiny_tokenizer, kernel):
    """Logits and every weight's gradient of a packed row equal those of its examples run one by one (GQA model)."""
    torch.manual_seed(1)
    examples = [torch.randint(5, 300, (n,)).tolist() for n in LENGTHS]
    weights = torch.randn(sum(LENGTHS), len(tiny_tokenizer))
    model = tiny(tiny_profile, tiny_tokenizer)
    assert model.config.num_key_value_heads < model.config.num_attention_heads
    alone, start = [], 0
    for x in examples:
        logits = model(input_ids=torch.tensor([x])).logits[0]
        (logits * weights[start:start + len(x)]).sum().backward()
        alone.append(logits.detach())
        start += len(x)
    expected = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    assert packing.use_varlen_attention(model) and model.config._attn_implementation == packing.VARLEN
    packed = model(**packed_batch(tiny_tokenizer, examples), use_cache=False).logits[0]
    (packed * weights).sum().backward()
    assert (packed.detach() - torch.cat(alone)).abs().max() < 1e-5
    for name, param in model.named_parameters():  # equal up to float32 summation order
        assert (param.grad - expected[name]).abs().max() <= 1e-6 * expected[name].abs().max().clamp(min=1), name


@pytest.mark.parametrize("kernel", ["padded"], indirect=True)
def test_padded_attention_never_waits_for_the_host(tiny_profile, tiny_tokenizer, kernel):
    """Forward + checkpointed backward: the one sync is transformers' packed-sequence check, whatever the depth."""
    batch = packed_batch(tiny_tokenizer, [list(range(5, 5 + n)) for n in LENGTHS])
    found = []
    for layers in (1, 4):
        model = tiny(tiny_profile, tiny_tokenizer, layers=layers, checkpointing=True)
        packing.use_varlen_attention(model)
        with counting() as counter:
            model(**batch, use_cache=False).logits.float().pow(2).mean().backward()
        found.append(dict(counter.syncs))
    assert found[0] == found[1] == {"aten::_local_scalar_dense": 1}


@pytest.mark.parametrize("kernel", ["padded", "loop"], indirect=True)
def test_boundaries_computed_once_per_batch(tiny_profile, tiny_tokenizer, kernel, monkeypatch):
    """Every layer and the checkpoint recompute reuse the first layer's boundaries; a new batch gets new ones."""
    calls = []
    real = packing.padded_bounds
    monkeypatch.setattr(packing, "padded_bounds", lambda *a: calls.append(1) or real(*a))
    model = tiny(tiny_profile, tiny_tokenizer, layers=3, checkpointing=True)
    packing.use_varlen_attention(model)
    for _ in range(2):
        batch = packed_batch(tiny_tokenizer, [list(range(5, 5 + n)) for n in LENGTHS])
        with counting() as counter:
            model(**batch, use_cache=False).logits.float().pow(2).mean().backward()
        if kernel == "loop":  # the loop reads the lengths to the host: once per batch
            assert counter.syncs.get("Tensor.tolist") == 1
    assert len(calls) == (2 if kernel == "padded" else 0)


def test_auto_kernel_is_the_loop_on_a_cpu_and_padded_elsewhere():
    assert packing.kernel_for(torch.device("cpu")) == "loop"
    assert packing.kernel_for(torch.device("cuda")) == "padded"


def test_sync_counter_sees_what_makes_a_gpu_wait():
    x = torch.arange(6.0)
    with counting() as counter:
        x.sum().item()
        x[x > 2].sum()
        x.tolist()
        torch.repeat_interleave(torch.tensor([1, 2]))
        x.view(2, 3).t().contiguous().add(1)
    assert counter.syncs == {"aten::_local_scalar_dense": 1, "aten::index": 1, "Tensor.tolist": 1,
                             "aten::repeat_interleave": 1}
    assert counter.ops["aten::add"] == 1 and "aten::view" not in counter.ops
