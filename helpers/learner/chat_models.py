"""Which chat models a run has (STAGES, in course order) and loading them, with 04's reward model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from transformers import AutoTokenizer

from ..env.profiles import get_profile
from ..env.runs import find_output
from ..lm.models import load_causal_lm, load_reward_model

# The run's chat models in course order: key -> label. "base" is the profile's base model (a hub id or a folder).
STAGES = {"base": "base model", "pt": "02 PT", "sft": "03 SFT", "ppo": "05 PPO", "dpo": "06 DPO",
          "text2sql": "07 text-to-SQL"}
RM_LABEL = "04 RM"


@dataclass
class ChatModel:
    key: str
    label: str
    source: str
    model: object
    tokenizer: object


def available_models(run_dir: str | Path, profile=None, include_base: bool = True) -> dict[str, str]:
    """{key: source} of the run's saved chat models in course order (see STAGES): complete stage outputs, and the
    profile's base model when it has one (a hub id or a folder; the tiny profile has none)."""
    root = Path(run_dir)
    found: dict[str, str] = {}
    if include_base:
        if profile is None:
            profile = get_profile()
        if profile.base_model:
            found["base"] = str(profile.base_model)
    for stage in STAGES:
        if stage != "base":
            path = find_output(stage, root)
            if path is not None:
                found[stage] = str(path)
    return found


def reward_model_path(run_dir: str | Path) -> Path | None:
    """04's saved reward model in this run, or None."""
    return find_output("rm", Path(run_dir))


def _profile(profile):
    if profile is None:
        return get_profile()
    return profile


def load_chat_model(key: str, source: str | Path, profile=None) -> ChatModel:
    """A causal LM and its own tokenizer (each stage saved the tokenizer it trained with), in the profile's dtype."""
    profile = _profile(profile)
    tokenizer = AutoTokenizer.from_pretrained(str(source), trust_remote_code=False)
    model = load_causal_lm(source, profile).eval()
    return ChatModel(key, STAGES.get(key, key), str(source), model, tokenizer)


def load_chat_models(sources: dict[str, str | Path], profile=None) -> dict[str, ChatModel]:
    """load_chat_model for each {key: source} (e.g. available_models(run_dir)), in order."""
    return {key: load_chat_model(key, source, profile) for key, source in sources.items()}


def load_rm(run_dir: str | Path, profile=None) -> ChatModel | None:
    """04's reward model with its tokenizer (helpers.lm.models.load_reward_model), or None when the run has none."""
    path = reward_model_path(run_dir)
    if path is None:
        return None
    tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
    model = load_reward_model(path, _profile(profile), tokenizer).eval()
    return ChatModel("rm", RM_LABEL, str(path), model, tokenizer)
