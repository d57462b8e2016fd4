"""Where each stage's data comes from: the samples shipped in data/ (tiny, CI) or hub datasets (Colab).

Hub data is read as JSON Lines files at a pinned revision (`hf://datasets/<repo>@<revision>/<file>`), streamed, so
that a limit of N rows downloads and parses only the beginning of each file. `shibing624/medical` is a
loading-script dataset, which `datasets` >= 4 refuses to run: we never call `load_dataset("shibing624/medical")`.
WORKBOOK_HUB_MIRROR=<folder> serves the same files from <folder>/<repo>/<file> (offline rehearsal, tests).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .profiles import Profile

# The shipped samples; WORKBOOK_DATA_DIR points the course at your own files laid out the same way.
DATA_DIR = Path(os.environ.get("WORKBOOK_DATA_DIR") or Path(__file__).resolve().parents[2] / "data")
SHIPPED = {
    ("pt", "train"): "pt/train.txt", ("pt", "valid"): "pt/valid.txt",
    ("general", "train"): "general/train.txt", ("general", "valid"): "general/valid.txt",
    ("sft", "train"): "sft/train.jsonl", ("sft", "valid"): "sft/valid.jsonl",
    ("preference", "train"): "preference/train.jsonl", ("preference", "valid"): "preference/valid.jsonl",
}
_KIND = {"pt": "pt", "general": "pt", "sft": "sft", "preference": "preference"}


@dataclass(frozen=True)
class HubFiles:
    """The JSON Lines files of one hub dataset repository, per (course dataset, split), at a pinned revision.
    Several files for one split are read in turn, one row from each (Chinese and English alternate)."""

    repo: str
    revision: str
    files: dict[tuple[str, str], tuple[str, ...]]


# shibing624/medical, as its dataset card lists it (main on 2026-08-11). Columns: pretrain `text`; finetune
# `instruction` / `input` / `output`; reward `question` / `response_chosen` / `response_rejected`.
MEDICAL = HubFiles(
    repo="shibing624/medical",
    revision="6e219f1a14856833ee436063d3b73c5f1ab9cfb9",
    files={
        ("pt", "train"): ("pretrain/train_encyclopedia.json", "pretrain/medical_book_zh.json"),  # 591 MB + 40 MB
        ("pt", "valid"): ("pretrain/valid_encyclopedia.json",),
        ("pt", "test"): ("pretrain/test_encyclopedia.json",),
        ("sft", "train"): ("finetune/train_zh_0.json", "finetune/train_en_1.json"),  # 1.3 GB + 139 MB
        ("sft", "valid"): ("finetune/valid_zh_0.json", "finetune/valid_en_1.json"),
        ("sft", "test"): ("finetune/test_zh_0.json", "finetune/test_en_1.json"),
        ("preference", "train"): ("reward/train.json",),
        ("preference", "valid"): ("reward/valid.json",),
        ("preference", "test"): ("reward/test.json",),
    },
)
HUB = {MEDICAL.repo: MEDICAL}


def shipped_path(name: str, split: str) -> Path:
    """The shipped file of dataset `name` ('pt', 'general', 'sft', 'preference') and `split` ('train'|'valid')."""
    if (name, split) not in SHIPPED:
        raise ValueError(f"no shipped dataset {name!r}/{split!r}; known: {sorted(SHIPPED)}")
    return DATA_DIR / SHIPPED[name, split]


def hub_mirror(profile: Profile | None = None) -> Path | None:
    """A local folder laid out like the hub (<mirror>/<repo>/<file>): the profile's, else WORKBOOK_HUB_MIRROR; or None."""
    mirror = (profile.hub_mirror if profile else None) or os.environ.get("WORKBOOK_HUB_MIRROR")
    return Path(mirror).expanduser() if mirror else None


def hub_urls(hub: HubFiles, name: str, split: str, mirror: Path | None = None) -> list[str]:
    """Where the files of `name`/`split` are read from: the pinned hub revision, or `mirror` when given."""
    if (name, split) not in hub.files:
        raise ValueError(f"{hub.repo} has no files for {name!r}/{split!r}; known: {sorted(hub.files)}")
    return [str(mirror / hub.repo / f) if mirror else f"hf://datasets/{hub.repo}@{hub.revision}/{f}"
            for f in hub.files[name, split]]


def _round_robin(iterables: Iterable[Iterable[dict]]) -> Iterator[dict]:
    """One row from each source in turn; a finished source drops out."""
    iterators = [iter(it) for it in iterables]
    while iterators:
        alive = []
        for it in iterators:
            row = next(it, None)
            if row is not None:
                alive.append(it)
                yield row
        iterators = alive


def hub_rows(hub: HubFiles, name: str, split: str, limit: int | None, mirror: Path | None = None) -> list[dict]:
    """The first `limit` rows (all when None) of `name`/`split`, streamed: nothing past them is downloaded."""
    from datasets import load_dataset

    streams = [load_dataset("json", data_files=url, split="train", streaming=True)
               for url in hub_urls(hub, name, split, mirror)]
    return list(itertools.islice(_round_robin(streams), limit))


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def course_records(profile: Profile, name: str, split: str, limit: int | None = None):
    """A validated `datasets.Dataset` for `name`/`split`: shipped under tiny, the profile's hub dataset otherwise.

    The general-text sample is always the shipped one (it only serves as a reference corpus). With HF_HUB_OFFLINE
    set and no WORKBOOK_HUB_MIRROR, a hub profile uses the shipped samples and says so.
    """
    from .data import load_records, normalise_records

    repo = profile.hub_datasets.get(name) if profile.data_source == "hub" else None
    mirror = hub_mirror(profile)
    if repo is not None and mirror is None and _offline():
        print(f"HF_HUB_OFFLINE is set and WORKBOOK_HUB_MIRROR is not: {name}/{split} comes from the shipped samples "
              f"instead of {repo}.")
        repo = None
    if repo is None:
        ds = load_records(shipped_path(name, split), _KIND[name])
        return ds if limit is None else ds.select(range(min(limit, len(ds))))
    if repo not in HUB:
        raise ValueError(f"no file layout known for hub dataset {repo!r}; known: {sorted(HUB)}")
    hub = HUB[repo]
    where = f"{repo}@{hub.revision[:7]} {'/'.join(hub.files[name, split])}"
    rows = hub_rows(hub, name, split, limit, mirror)
    return normalise_records(rows, _KIND[name], source=f"{where} (mirror {mirror})" if mirror else where)


def course_texts(profile: Profile, name: str, split: str, limit: int | None = None) -> list[str]:
    """Plain documents of a text dataset ('pt' or 'general') as a list of strings."""
    return list(course_records(profile, name, split, limit)["text"])


def has_cjk(text: str) -> bool:
    """True when `text` holds a Chinese character (CJK Unified Ideographs)."""
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
