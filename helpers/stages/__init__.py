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


def settings_for(profile, name: str):
    """Stage `name`'s settings on `profile`: its settings class's defaults with the profile's overrides (and
    WORKBOOK_SMOKE's cut), e.g. settings_for(PROFILE, "ppo").missing_eos_penalty."""
    return stage_class(name).settings_class.from_profile(profile, name)


# Layer 4 (on top of helpers.env, helpers.lm, helpers.rl and helpers.sql). The names notebooks and tests use, loaded on
# first use: the stage classes (from REGISTRY) and the algorithms a chapter computes by hand next to the library.
_EXPORTS = {**{spec.split(":")[1]: spec.split(":")[0] for spec in REGISTRY.values()},
            "Stage": "helpers.stages.base", "TrainerSettings": "helpers.stages.base",
            **{f"{cls}Settings": f"helpers.stages.{mod}" for mod, cls in (("pt", "PT"), ("sft", "SFT"), ("rm", "RM"),
                                                                           ("ppo", "PPO"), ("dpo", "DPO"),
                                                                           ("text2sql", "Text2SQL"))},
            "group_texts": "helpers.stages.pt", "pairwise_loss": "helpers.stages.rm",
            "completion_logps": "helpers.stages.dpo", "dpo_loss": "helpers.stages.dpo",
            "score": "helpers.stages.text2sql", "fit_prompt": "helpers.stages.text2sql"}
__all__ = ["REGISTRY", "settings_for", "stage_class", *sorted(_EXPORTS)]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
