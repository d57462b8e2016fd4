"""Assets of the `rehearsal` profile, built by an explicit step: Qwen2.5-shaped stand-in models and a local hub mirror.

The mirror holds shibing624/medical's files under their real names, with the hub's columns (pretrain `text`;
finetune `instruction` / `input` / `output`; reward `question` / `response_chosen` / `response_rejected`), written
from this course's own shipped samples: a few hundred rows per file, so the hub code path runs offline.

    python -m helpers.maintainer.rehearsal [FOLDER]      # build (or check) the assets; prints where they are

`make rehearsal` runs it before the notebooks; helpers.env.profiles.rehearsal_assets says where they live, so looking
up the profile builds nothing.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from ..env.profiles import rehearsal_assets
from ..env.sources import MEDICAL, SHIPPED, has_cjk, shipped_path

_MIRROR_FORMAT = 1


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def medical_mirror_rows() -> dict[str, list[dict]]:
    """{file name in shibing624/medical: rows} built from the shipped samples, with the hub's columns."""
    from ..env.data import load_records

    pt = {split: list(load_records(shipped_path("pt", split), "pt")["text"]) for split in ("train", "valid")}
    half = len(pt["valid"]) // 2
    files: dict[str, list[dict]] = {
        "pretrain/train_encyclopedia.json": [{"text": t} for t in pt["train"]],
        "pretrain/medical_book_zh.json": [{"text": t} for t in pt["train"] if has_cjk(t)][::2],
        "pretrain/valid_encyclopedia.json": [{"text": t} for t in pt["valid"][:half]],
        "pretrain/test_encyclopedia.json": [{"text": t} for t in pt["valid"][half:]],
    }
    for split, hub_split in (("train", "train"), ("valid", "valid")):
        pairs = []  # every (user turn, assistant answer) of a conversation as one instruction row
        for messages in load_records(shipped_path("sft", split), "sft")["messages"]:
            for user, answer in zip(messages, messages[1:]):
                if user["role"] == "user" and answer["role"] == "assistant":
                    pairs.append({"instruction": user["content"], "input": "", "output": answer["content"]})
        files[f"finetune/{hub_split}_zh_0.json"] = [p for p in pairs if has_cjk(p["instruction"])]
        files[f"finetune/{hub_split}_en_1.json"] = [p for p in pairs if not has_cjk(p["instruction"])]
        prefs = load_records(shipped_path("preference", split), "preference")
        files[f"reward/{hub_split}.json"] = [
            {"question": r["prompt"][-1]["content"], "response_chosen": r["chosen"][0]["content"],
             "response_rejected": r["rejected"][0]["content"]} for r in prefs]
    files["finetune/test_zh_0.json"] = files["finetune/valid_zh_0.json"][::2]
    files["finetune/test_en_1.json"] = files["finetune/valid_en_1.json"][::2]
    files["reward/test.json"] = files["reward/valid.json"][::2]
    expected = {f for names in MEDICAL.files.values() for f in names}
    assert set(files) == expected, f"mirror files differ from the hub layout: {set(files) ^ expected}"
    return files


def _sources_digest() -> str:
    digest = hashlib.sha256(str(_MIRROR_FORMAT).encode())
    for key in sorted(SHIPPED):
        digest.update(shipped_path(*key).read_bytes())
    return digest.hexdigest()


def build_mirror(folder: Path) -> Path:
    """<folder>/shibing624/medical/<file> for every file of the hub layout; rebuilt when the shipped samples change."""
    stamp, digest = folder / "STAMP", _sources_digest()
    if stamp.is_file() and stamp.read_text() == digest:
        return folder
    for name, rows in medical_mirror_rows().items():
        _write_jsonl(folder / MEDICAL.repo / name, rows)
    stamp.write_text(digest)
    return folder


def ensure_assets(folder: Path | None = None) -> dict[str, Path]:
    """The rehearsal's base model, SQL model and hub mirror, built if missing: {"base", "sql", "mirror"} (in `folder`,
    else where the profile looks: runs/rehearsal-assets)."""
    from .standin import build_qwen_standin

    where = rehearsal_assets(folder)
    return {"base": build_qwen_standin(where["base"]), "sql": build_qwen_standin(where["sql"], instruct=True),
            "mirror": build_mirror(where["mirror"])}


if __name__ == "__main__":
    for role, path in ensure_assets(Path(sys.argv[1]) if len(sys.argv) > 1 else None).items():
        print(f"{role}: {path}")
