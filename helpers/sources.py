"""Where each stage's data comes from: the samples shipped in data/ (tiny, CI) or hub datasets (Colab)."""

from __future__ import annotations

import os
from pathlib import Path

from .profiles import Profile

# The shipped samples; WORKBOOK_DATA_DIR points the course at your own files laid out the same way.
DATA_DIR = Path(os.environ.get("WORKBOOK_DATA_DIR") or Path(__file__).resolve().parent.parent / "data")
SHIPPED = {
    ("pt", "train"): "pt/train.txt", ("pt", "valid"): "pt/valid.txt",
    ("general", "train"): "general/train.txt", ("general", "valid"): "general/valid.txt",
    ("sft", "train"): "sft/train.jsonl", ("sft", "valid"): "sft/valid.jsonl",
    ("preference", "train"): "preference/train.jsonl", ("preference", "valid"): "preference/valid.jsonl",
}
_KIND = {"pt": "pt", "general": "pt", "sft": "sft", "preference": "preference"}


def shipped_path(name: str, split: str) -> Path:
    """The shipped file of dataset `name` ('pt', 'general', 'sft', 'preference') and `split` ('train'|'valid')."""
    if (name, split) not in SHIPPED:
        raise ValueError(f"no shipped dataset {name!r}/{split!r}; known: {sorted(SHIPPED)}")
    return DATA_DIR / SHIPPED[name, split]


def course_records(profile: Profile, name: str, split: str, limit: int | None = None):
    """A validated `datasets.Dataset` for `name`/`split`: shipped under tiny, the profile's hub dataset otherwise.

    The general-text sample is always the shipped one (it only serves as a reference corpus).
    """
    from .data import load_records, normalise_records

    hub = profile.hub_datasets.get(name) if profile.data_source == "hub" else None
    if hub is None:
        ds = load_records(shipped_path(name, split), _KIND[name])
    else:
        from datasets import load_dataset

        repo, _, config = hub.partition(":")
        hub_split = "train" if split == "train" else "validation"
        raw = load_dataset(repo, config or None, split=hub_split if limit is None else f"{hub_split}[:{limit}]")
        ds = normalise_records(raw, _KIND[name], source=f"{hub} ({hub_split})")
    return ds if limit is None else ds.select(range(min(limit, len(ds))))


def course_texts(profile: Profile, name: str, split: str, limit: int | None = None) -> list[str]:
    """Plain documents of a text dataset ('pt' or 'general') as a list of strings."""
    return list(course_records(profile, name, split, limit)["text"])
