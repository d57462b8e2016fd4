"""The training stages. Each notebook calls its stage's steps one by one; `python -m helpers.stages NAME`
runs the same steps headless (`Stage.run`), so no training logic is written twice."""

from __future__ import annotations

import importlib

REGISTRY = {
    "pt": "helpers.stages.pt:PTStage",
    "sft": "helpers.stages.sft:SFTStage",
    "rm": "helpers.stages.rm:RMStage",
    "ppo": "helpers.stages.ppo:PPOStage",
    "dpo": "helpers.stages.dpo:DPOStage",
    "text2sql": "helpers.stages.text2sql:Text2SQLStage",
}


def stage_class(name: str):
    """The Stage subclass registered under `name`."""
    if name not in REGISTRY:
        raise ValueError(f"unknown stage {name!r}; known: {', '.join(REGISTRY)}")
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)
