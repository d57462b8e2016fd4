"""The notebooks' hand-computed cells on the GPU profiles' terms: inputs on the model's device, a half-precision base
with float32 trained parts. There is no GPU here, so "another device" is simulated: a tensor the *cell* makes without
an explicit device lands on `meta`, not where the model is, exactly as a CPU tensor next to a model on cuda:0."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch.overrides import TorchFunctionMode

from helpers.env.runs import stage_output
from helpers.lm.tokenizer import extend

from .test_vocab import NEW, pretrained_like

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def cell_source(notebook: str, marker: str) -> str:
    """The source of the first code cell of `notebook` that contains `marker`."""
    cells = json.loads((NOTEBOOKS / notebook).read_text(encoding="utf-8"))["cells"]
    return next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and marker in "".join(c["source"]))


class CellTensorsElsewhere(TorchFunctionMode):
    """Tensors created by the cell's own code without a device go to `meta` (library code is left alone)."""

    MAKERS = (torch.tensor, torch.as_tensor, torch.zeros, torch.ones, torch.arange, torch.full)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in self.MAKERS and kwargs.get("device") is None and sys._getframe(1).f_code.co_filename == "<cell>":
            kwargs["device"] = "meta"
        return func(*args, **kwargs)


def run_elsewhere(source: str, namespace: dict) -> None:
    """Execute a notebook cell whose device-less tensors do not land where the model is (see the module docstring)."""
    with CellTensorsElsewhere():
        exec(compile(source, "<cell>", "exec"), namespace)


@pytest.fixture()
def bf16_run(tmp_path, tiny_profile, tiny_tokenizer):
    """A run directory with 01's tokenizer and a profile whose base is a small pretrained-like bf16 model."""
    base_dir = tmp_path / "base"
    pretrained_like(tiny_tokenizer, tied=True).to(torch.bfloat16).save_pretrained(base_dir)
    tiny_tokenizer.save_pretrained(base_dir)
    extend(tiny_tokenizer, NEW).save_pretrained(stage_output("tokenizer", tmp_path / "run"))
    return tmp_path / "run", replace(tiny_profile, base_model=str(base_dir), dtype="bfloat16")


def test_pt_loss_by_hand_cell(bf16_run):
    from helpers.stages.pt import PTStage

    root, profile = bf16_run
    stage = PTStage(root=root, profile=profile, max_length=32)
    stage.load()
    stage.build_model()
    namespace = {"stage": stage, "model": stage.model}
    run_elsewhere(cell_source("02_pt.ipynb", "loss by hand"), namespace)
    assert torch.allclose(namespace["by_hand"], namespace["out"].loss.float(), atol=1e-4)


def test_rm_loss_by_hand_cell(bf16_run):
    from helpers.stages.rm import RMStage

    root, profile = bf16_run
    stage = RMStage(root=root, profile=profile)
    stage.load()
    stage.build_model()
    stage.build_trainer()
    assert any(p.dtype == torch.float32 and p.requires_grad for p in stage.model.parameters())  # the score head copy
    namespace = {"stage": stage, "model": stage.model, "trainer": stage.trainer, "torch": torch}
    run_elsewhere(cell_source("04_rm.ipynb", "loss by hand"), namespace)
    assert torch.isfinite(namespace["by_hand"])


def test_sft_packing_cells(bf16_run):
    """03's packed-row checks on a bf16 base: one conversation's logits packed and alone, and the masked loss by hand
    equal to SFTTrainer.compute_loss on the same packed batch."""
    from helpers.stages.sft import SFTStage

    root, profile = bf16_run
    stage = SFTStage(root=root, profile=profile, max_length=128, batch_size=2)
    stage.load()
    stage.build_model()
    stage.build_trainer()
    namespace = {"stage": stage}
    for marker in ("padding-free collator", "max |packed − alone|", "SFTTrainer.compute_loss"):
        run_elsewhere(cell_source("03_sft.ipynb", marker), namespace)
    assert len(namespace["bounds"]) > 2  # the row holds more than one conversation
    assert torch.allclose(namespace["by_hand"], namespace["trainer_loss"].float(), atol=1e-2)
