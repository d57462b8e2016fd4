"""helpers.env.data: every accepted format normalises to TRL's shapes; every malformed record names file and line.
The shipped data: it loads, its splits share nothing, its preference pairs cannot be judged by length, and
data/build_chat_data.py regenerates it byte for byte."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from helpers.env.data import load_records, normalise_records

DATA = Path(__file__).resolve().parent.parent / "data"


def _write(path: Path, lines: list) -> Path:
    """Write str (utf-8) / bytes / dict (JSON) lines, each ending in a newline."""
    raw = b"".join((ln if isinstance(ln, bytes) else
                    (json.dumps(ln, ensure_ascii=False) if isinstance(ln, dict) else ln).encode()) + b"\n"
                   for ln in lines)
    path.write_bytes(raw)
    return path


def sg(*turns: tuple[str, str]) -> list[dict]:
    """ShareGPT turns from (from, value) pairs."""
    return [{"from": f, "value": v} for f, v in turns]


GOOD = {
    "pt": {"text": "Fever is a symptom, not a disease."},
    "sft": {"conversations": sg(("human", "Hi"), ("gpt", "Hello"))},
    "preference": {"conversations": sg(("human", "Is water good?")), "chosen": "Yes, drink enough.", "rejected": "No."},
}


# ---------------------------------------------------------------- accepted formats


def test_pt_txt_one_document_per_line(tmp_path):
    path = tmp_path / "pt.txt"
    path.write_bytes("第一行 text\r\nsecond line\n".encode())
    ds = load_records(path, "pt")
    assert ds.column_names == ["text"]
    assert ds["text"] == ["第一行 text", "second line"]


def test_pt_txt_without_final_newline(tmp_path):
    path = tmp_path / "pt.txt"
    path.write_text("a\nb")
    assert load_records(path, "pt")["text"] == ["a", "b"]


def test_pt_jsonl_drops_extra_fields(tmp_path):
    path = _write(tmp_path / "pt.jsonl", [{"text": "one", "source": "x"}, {"text": "two"}])
    ds = load_records(path, "pt")
    assert ds.column_names == ["text"]
    assert ds["text"] == ["one", "two"]


def test_sft_sharegpt_with_system(tmp_path):
    conv = sg(("system", "Be careful."), ("human", "Q1"), ("gpt", "A1"), ("human", "Q2"), ("gpt", "A2"))
    ds = load_records(_write(tmp_path / "sft.jsonl", [{"conversations": conv, "id": 7}]), "sft")
    assert ds.column_names == ["messages"]
    assert ds[0]["messages"] == [
        {"role": "system", "content": "Be careful."}, {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"},
        {"role": "assistant", "content": "A2"}]


def test_sft_openai_messages(tmp_path):
    msgs = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]
    ds = load_records(_write(tmp_path / "sft.jsonl", [{"messages": msgs}]), "sft")
    assert ds[0]["messages"] == msgs


def test_sft_alpaca_with_and_without_input(tmp_path):
    rows = [{"instruction": "Explain.", "input": "Fever.", "output": "A symptom."},
            {"instruction": "Define hypertension.", "input": "", "output": "High blood pressure."},
            {"instruction": "Say hi.", "output": "Hi."}]
    ds = load_records(_write(tmp_path / "sft.jsonl", rows), "sft")
    assert [m[0]["content"] for m in ds["messages"]] == ["Explain.\n\nFever.", "Define hypertension.", "Say hi."]
    assert ds[0]["messages"][1] == {"role": "assistant", "content": "A symptom."}
    assert all([m["role"] for m in msgs] == ["user", "assistant"] for msgs in ds["messages"])


def test_preference_sharegpt_and_messages(tmp_path):
    rows = [{"conversations": sg(("system", "S"), ("human", "Q1"), ("gpt", "A1"), ("human", "Q2")),
             "chosen": "good", "rejected": "bad", "kind": "safety"},
            {"messages": [{"role": "user", "content": "Q"}], "chosen": "good", "rejected": "bad"}]
    ds = load_records(_write(tmp_path / "pref.jsonl", rows), "preference")
    assert sorted(ds.column_names) == ["chosen", "prompt", "rejected"]
    assert ds[0]["prompt"] == [{"role": "system", "content": "S"}, {"role": "user", "content": "Q1"},
                               {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}]
    assert ds[0]["chosen"] == [{"role": "assistant", "content": "good"}]
    assert ds[0]["rejected"] == [{"role": "assistant", "content": "bad"}]
    assert ds[1]["prompt"] == [{"role": "user", "content": "Q"}]


def test_normalised_records_render_with_the_course_template(tmp_path, tiny_tokenizer):
    sft = load_records(_write(tmp_path / "sft.jsonl", [GOOD["sft"]]), "sft")
    text = tiny_tokenizer.apply_chat_template(sft[0]["messages"], tokenize=False)
    assert text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n"
    pref = load_records(_write(tmp_path / "pref.jsonl", [GOOD["preference"]]), "preference")[0]
    full = tiny_tokenizer.apply_chat_template(pref["prompt"] + pref["chosen"], tokenize=False)
    assert full.endswith("<|im_start|>assistant\nYes, drink enough.<|im_end|>\n")


def test_normalise_records_in_memory_and_hub_reward_format():
    ds = normalise_records([{"question": "Q", "response_chosen": "good", "response_rejected": "bad"}],
                           "preference", source="shibing624/medical:reward")
    assert ds[0]["prompt"] == [{"role": "user", "content": "Q"}]
    with pytest.raises(ValueError, match=r"^shibing624/medical:finetune, record 2: missing field"):
        normalise_records([{"instruction": "a", "output": "b"}, {"instruction": "a"}], "sft",
                          source="shibing624/medical:finetune")


# ---------------------------------------------------------------- malformed records

BAD = [  # (kind, suffix, bad line, what the message must say)
    ("pt", ".txt", b"caf\xe9 latin-1", "invalid UTF-8"),
    ("pt", ".txt", "", "empty line"),
    ("pt", ".txt", "   ", "empty line"),
    ("pt", ".jsonl", '{"text": "unterminated', "invalid JSON"),
    ("pt", ".jsonl", b'{"text": "\xff\xfe"}', "invalid UTF-8"),
    ("pt", ".jsonl", "", "empty line"),
    ("pt", ".jsonl", '["a list"]', "not an object"),
    ("pt", ".jsonl", '"just a string"', "not an object"),
    ("pt", ".jsonl", {"content": "wrong key"}, "missing field"),
    ("pt", ".jsonl", {"text": "  "}, "empty field"),
    ("pt", ".jsonl", {"text": 42}, "non-string field"),
    ("sft", ".jsonl", "{'single': 'quotes'}", "invalid JSON"),
    ("sft", ".jsonl", {"dialog": []}, "missing field"),
    ("sft", ".jsonl", {"conversations": []}, "empty conversation"),
    ("sft", ".jsonl", {"conversations": "Hi"}, "not a list"),
    ("sft", ".jsonl", {"conversations": ["Hi"]}, "turn not an object"),
    ("sft", ".jsonl", {"conversations": [{"from": "human"}, {"from": "gpt", "value": "A"}]}, "missing field"),
    ("sft", ".jsonl", {"conversations": sg(("human", ""), ("gpt", "A"))}, "empty field"),
    ("sft", ".jsonl", {"conversations": [{"from": "human", "value": ["Q"]}, {"from": "gpt", "value": "A"}]},
     "non-string field"),
    ("sft", ".jsonl", {"conversations": sg(("human", "Q"), ("bot", "A"))}, "unknown role"),
    ("sft", ".jsonl", {"messages": [{"role": "user", "content": "Q"}, {"role": "doctor", "content": "A"}]},
     "unknown role"),
    ("sft", ".jsonl", {"conversations": sg(("human", "Q"))}, "no assistant turn"),
    ("sft", ".jsonl", {"conversations": sg(("system", "S"), ("human", "Q"))}, "no assistant turn"),
    ("sft", ".jsonl", {"conversations": sg(("gpt", "A"), ("human", "Q"), ("gpt", "A"))},
     "not starting with a user turn"),
    ("sft", ".jsonl", {"conversations": sg(("system", "S"), ("gpt", "A"))}, "not starting with a user turn"),
    ("sft", ".jsonl", {"conversations": sg(("human", "Q"), ("human", "Q"), ("gpt", "A"))}, "turns not alternating"),
    ("sft", ".jsonl", {"conversations": sg(("human", "Q"), ("gpt", "A"), ("system", "S"), ("gpt", "A"))},
     "turns not alternating"),
    ("sft", ".jsonl", {"conversations": sg(("human", "Q"), ("gpt", "A"), ("human", "Q2"))},
     "not ending with an assistant turn"),
    ("sft", ".jsonl", {"instruction": "Q", "input": "x", "output": ""}, "empty field"),
    ("sft", ".jsonl", {"instruction": "Q", "input": 3, "output": "A"}, "non-string field"),
    ("preference", ".jsonl", {"conversations": sg(("human", "Q")), "chosen": "same", "rejected": "same"},
     "chosen equals rejected"),
    ("preference", ".jsonl", {"conversations": sg(("human", "Q")), "chosen": "good"}, "missing field"),
    ("preference", ".jsonl", {"conversations": sg(("human", "Q")), "chosen": "", "rejected": "b"}, "empty field"),
    ("preference", ".jsonl", {"chosen": "a", "rejected": "b"}, "missing field"),
    ("preference", ".jsonl", {"conversations": sg(("human", "Q"), ("gpt", "A")), "chosen": "a", "rejected": "b"},
     "not ending with a user turn"),
    ("preference", ".jsonl", {"conversations": sg(("narrator", "Q")), "chosen": "a", "rejected": "b"},
     "unknown role"),
    ("preference", ".jsonl", {"conversations": sg(("human", "Q"), ("human", "Q")), "chosen": "a", "rejected": "b"},
     "turns not alternating"),
]


@pytest.mark.parametrize("kind,suffix,bad,reason", BAD, ids=[f"{k}{s}-{r}-{i}" for i, (k, s, _, r) in enumerate(BAD)])
def test_bad_record_names_file_line_and_reason(tmp_path, kind, suffix, bad, reason):
    good = GOOD[kind]["text"] if suffix == ".txt" else GOOD[kind]
    path = _write(tmp_path / f"mydata{suffix}", [good, good, bad, good])
    with pytest.raises(ValueError) as err:
        load_records(path, kind)
    message = str(err.value)
    assert message.startswith(f"{path}, line 3: "), message
    assert reason in message


def test_line_numbers_count_from_one(tmp_path):
    path = _write(tmp_path / "sft.jsonl", ["not json", GOOD["sft"]])
    with pytest.raises(ValueError, match=r"sft\.jsonl, line 1: invalid JSON"):
        load_records(path, "sft")


def test_only_the_final_newline_is_allowed(tmp_path):
    path = tmp_path / "pt.txt"
    path.write_text("a\nb\n\n")
    with pytest.raises(ValueError, match=r"pt\.txt, line 3: empty line"):
        load_records(path, "pt")


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    with pytest.raises(ValueError, match="no valid sft records"):
        load_records(path, "sft")


def test_missing_file_unknown_kind_and_wrong_suffix(tmp_path):
    with pytest.raises(FileNotFoundError, match="sft data file not found: .*nope.jsonl"):
        load_records(tmp_path / "nope.jsonl", "sft")
    path = _write(tmp_path / "x.jsonl", [GOOD["sft"]])
    with pytest.raises(ValueError, match="unknown data kind 'rm'"):
        load_records(path, "rm")
    with pytest.raises(ValueError, match="unknown data kind"):
        normalise_records([GOOD["sft"]], "dpo")
    txt = _write(tmp_path / "x.txt", ["hello"])
    with pytest.raises(ValueError, match=r"x\.txt: a sft file must end in \.jsonl"):
        load_records(txt, "sft")


def test_lenient_mode_skips_and_reports(tmp_path, capsys):
    same = {"conversations": sg(("human", "Q")), "chosen": "x", "rejected": "x"}
    path = _write(tmp_path / "pref.jsonl", [GOOD["preference"], "{broken", same, GOOD["preference"], same])
    with pytest.warns(UserWarning, match="skipped 3 of 5 preference records") as record:
        ds = load_records(path, "preference", strict=False)
    assert len(ds) == 2
    message = str(record[0].message)
    assert "2 chosen equals rejected (line 3, 5)" in message
    assert "1 invalid JSON (line 2)" in message
    assert "skipped 3 of 5" in capsys.readouterr().out


def test_lenient_mode_with_nothing_valid_still_fails(tmp_path):
    path = _write(tmp_path / "pt.jsonl", ["{}", "[]"])
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no valid pt records"):
        load_records(path, "pt", strict=False)


# ---------------------------------------------------------------- the shipped data

SHIPPED = {"pt": ("pt", ".txt", 0), "general": ("pt", ".txt", 0), "sft": ("sft", ".jsonl", 200),
           "preference": ("preference", ".jsonl", 200)}


def _shipped(name: str, split: str):
    kind, suffix, _ = SHIPPED[name]
    return load_records(DATA / name / f"{split}{suffix}", kind)


def _keys(name: str, ds) -> set[str]:
    """What must not repeat across splits: the line (pt), first user turn (sft) or last prompt turn (preference)."""
    kind = SHIPPED[name][0]
    if kind == "pt":
        return {t.strip() for t in ds["text"]}
    if kind == "sft":
        return {next(m["content"] for m in msgs if m["role"] == "user").strip() for msgs in ds["messages"]}
    return {prompt[-1]["content"].strip() for prompt in ds["prompt"]}


@pytest.mark.parametrize("name", sorted(SHIPPED))
@pytest.mark.parametrize("split", ["train", "valid"])
def test_shipped_file_loads(name, split):
    ds = _shipped(name, split)
    assert len(ds) > 0
    if split == "train":
        assert len(ds) >= SHIPPED[name][2], f"{name}/train has {len(ds)} records, needs {SHIPPED[name][2]}"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_splits_do_not_overlap(name):
    train, valid = _keys(name, _shipped(name, "train")), _keys(name, _shipped(name, "valid"))
    overlap = train & valid
    assert not overlap, f"{len(overlap)} {name} items are in both train and valid, e.g. {sorted(overlap)[:3]}"


# ---------------------------------------------------------------- the shipped preference pairs: no length shortcut

PREFERENCE_KINDS = {"unhelpful", "dishonest", "harmful", "off_topic"}


def _pairs(split: str) -> list[dict]:
    lines = (DATA / "preference" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _judge(rows: list[dict], score) -> float:
    """Accuracy of a trivial judge that prefers the answer with the higher `score(text)`; a tie counts half."""
    points = [1.0 if c > r else 0.5 if c == r else 0.0
              for c, r in ((score(row["chosen"]), score(row["rejected"])) for row in rows)]
    return sum(points) / len(points)


@pytest.mark.parametrize("split", ["train", "valid"])
def test_length_does_not_separate_chosen_from_rejected(split):
    """A reward model must not be able to score well by preferring the longer answer (the shortcut the first
    version of these pairs had: chosen longer in every pair)."""
    rows = _pairs(split)
    chosen, rejected = [len(r["chosen"]) for r in rows], [len(r["rejected"]) for r in rows]
    share = sum(c > r for c, r in zip(chosen, rejected)) / len(rows)
    assert 0.4 <= share <= 0.6, f"chosen is the longer answer in {share:.0%} of {split} pairs"
    mean_c, mean_r = sum(chosen) / len(rows), sum(rejected) / len(rows)
    assert abs(mean_c - mean_r) <= 0.15 * max(mean_c, mean_r), (mean_c, mean_r)
    for kind in PREFERENCE_KINDS:  # nor within one failure kind
        of_kind = [c > r for c, r, row in zip(chosen, rejected, rows) if row["kind"] == kind]
        assert 0.3 <= sum(of_kind) / len(of_kind) <= 0.7, (kind, sum(of_kind), len(of_kind))


def test_length_only_judge_is_at_chance_on_valid():
    assert 0.4 <= _judge(_pairs("valid"), len) <= 0.6


@pytest.mark.parametrize("split", ["train", "valid"])
def test_sentence_counts_do_not_separate_chosen_from_rejected(split):
    """Nor does style: preferring fewer, or longer, sentences is no better than chance either."""
    def n_sentences(text: str) -> int:
        return max(1, len(re.findall(r"[.!?](?=\s|$)|[。！？]", text)))

    rows = _pairs(split)
    assert 0.35 <= _judge(rows, lambda t: -n_sentences(t)) <= 0.65
    assert 0.35 <= _judge(rows, lambda t: len(t) / n_sentences(t)) <= 0.65


def test_every_failure_kind_is_in_both_splits():
    for split in ("train", "valid"):
        kinds = Counter(row["kind"] for row in _pairs(split))
        assert set(kinds) == PREFERENCE_KINDS, (split, kinds)
        assert min(kinds.values()) >= len(_pairs(split)) // 8, (split, kinds)  # roughly balanced


def test_preference_prompts_do_not_overlap():
    """Whole conditions are held out: neither the first nor the last user turn of a valid prompt is in train."""
    def turns(split: str, which: int) -> set[str]:
        return {[t["value"] for t in row["conversations"] if t["from"] == "human"][which].strip()
                for row in _pairs(split)}

    for which in (0, -1):
        assert not turns("train", which) & turns("valid", which)


def test_chat_data_regenerates_byte_for_byte(tmp_path):
    """data/build_chat_data.py reproduces the committed SFT and preference files and their card."""
    spec = importlib.util.spec_from_file_location("build_chat_data", DATA / "build_chat_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--out", str(tmp_path)])
    for rel in ("sft/train.jsonl", "sft/valid.jsonl", "preference/train.jsonl", "preference/valid.jsonl",
                "sft/CARD.md"):
        assert (tmp_path / rel).read_bytes() == (DATA / rel).read_bytes(), \
            f"data/{rel} differs from what data/build_chat_data.py writes: re-run it"
