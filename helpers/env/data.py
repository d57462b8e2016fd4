"""Training data: load and validate pt / sft / preference records into the datasets TRL expects.

Normalised shapes (one `datasets.Dataset` per file):

- pt:         {"text": str}
- sft:        {"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]}
- preference: {"prompt": [...messages ending with a user turn...],
               "chosen": [{"role": "assistant", "content": str}], "rejected": [same]}

Accepted inputs:

- pt:   .txt, one document per line (an empty or blank line is an error; only the final newline is allowed),
        or .jsonl {"text": ...}.
- sft:  .jsonl of ShareGPT {"conversations": [{"from": "system"|"human"|"gpt", "value": ...}]},
        OpenAI {"messages": [{"role": "system"|"user"|"assistant", "content": ...}]}
        or alpaca {"instruction", "input" (optional), "output"}.
- preference: .jsonl of {"conversations" | "messages": [...prompt turns...], "chosen": str, "rejected": str},
        or the hub's {"question", "response_chosen", "response_rejected"}.

Other fields are ignored. Nothing is dropped silently: by default (strict) the first bad record raises a
ValueError naming the file and its 1-based line; with strict=False bad records are skipped and a summary of
what was skipped, and why, is printed and raised as a warning.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from datasets import Dataset

KINDS = ("pt", "sft", "preference")
SUFFIXES = {"pt": (".txt", ".jsonl"), "sft": (".jsonl",), "preference": (".jsonl",)}
SHAREGPT_ROLES = {"system": "system", "human": "user", "gpt": "assistant"}
OPENAI_ROLES = {"system": "system", "user": "user", "assistant": "assistant"}


class RecordError(ValueError):
    """One bad record; `reason` is a short category (used by the lenient-mode summary)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


# ---------------------------------------------------------------- fields and conversations


def _string(record: dict, key: str, *, allow_empty: bool = False) -> str:
    """record[key] as a string, or a RecordError for a missing, non-string or empty value."""
    if key not in record:
        raise RecordError("missing field", f"no {key!r} field (fields present: {sorted(record)})")
    value = record[key]
    if not isinstance(value, str):
        raise RecordError("non-string field", f"{key!r} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise RecordError("empty field", f"{key!r} is empty")
    return value


def _turns(record: dict, key: str) -> list[dict[str, str]]:
    """The turns of a ShareGPT ("conversations") or OpenAI ("messages") list, as role/content dicts."""
    roles, role_key, text_key = ((SHAREGPT_ROLES, "from", "value") if key == "conversations"
                                 else (OPENAI_ROLES, "role", "content"))
    turns = record[key]
    if not isinstance(turns, list):
        raise RecordError("not a list", f"{key!r} must be a list of turns, got {type(turns).__name__}")
    if not turns:
        raise RecordError("empty conversation", f"{key!r} has no turns")
    out = []
    for i, turn in enumerate(turns, 1):
        if not isinstance(turn, dict):
            raise RecordError("turn not an object", f"turn {i} of {key!r} is a {type(turn).__name__}")
        try:
            role = _string(turn, role_key)
            content = _string(turn, text_key)
        except RecordError as exc:
            raise RecordError(exc.reason, f"turn {i} of {key!r}: {exc.detail}") from None
        if role not in roles:
            raise RecordError("unknown role", f"turn {i} of {key!r} has {role_key}={role!r}; "
                                              f"expected one of {sorted(roles)}")
        out.append({"role": roles[role], "content": content})
    return out


def _check_order(messages: list[dict[str, str]], last: str) -> None:
    """Optional system turn first, then user/assistant alternating from a user turn, ending with `last`."""
    body = messages[1:] if messages[0]["role"] == "system" else messages
    if not body:
        raise RecordError("no user turn", "the conversation has only a system turn")
    for i, msg in enumerate(body):
        expected = "user" if i % 2 == 0 else "assistant"
        if msg["role"] != expected:
            offset = len(messages) - len(body) + i + 1
            if i == 0:
                raise RecordError("not starting with a user turn",
                                  f"turn {offset} is {msg['role']!r}; after an optional system turn the "
                                  "conversation must start with a user/human turn")
            raise RecordError("turns not alternating", f"turn {offset} is a {msg['role']} turn, expected {expected} "
                                                       "(user/human and assistant/gpt turns must alternate)")
    if last == "assistant" and not any(m["role"] == "assistant" for m in body):
        raise RecordError("no assistant turn", "the conversation has no assistant/gpt turn")
    if body[-1]["role"] != last:
        raise RecordError(f"not ending with {'an' if last == 'assistant' else 'a'} {last} turn",
                          f"the last turn is {body[-1]['role']!r}, expected {last!r}")


def _prompt_turns(record: dict) -> list[dict[str, str]]:
    """The conversation of a record, from "conversations" (ShareGPT) or "messages" (OpenAI)."""
    for key in ("conversations", "messages"):
        if key in record:
            return _turns(record, key)
    raise RecordError("missing field", f"no 'conversations' or 'messages' field (fields present: {sorted(record)})")


# ---------------------------------------------------------------- one record per kind


def _pt(record: dict) -> dict:
    return {"text": _string(record, "text")}


def _sft(record: dict) -> dict:
    if "conversations" in record or "messages" in record:
        messages = _prompt_turns(record)
    elif "instruction" in record:
        instruction, output = _string(record, "instruction"), _string(record, "output")
        extra = _string(record, "input", allow_empty=True) if record.get("input") is not None else ""
        user = instruction + ("\n\n" + extra if extra.strip() else "")
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": output}]
    else:
        raise RecordError("missing field", "expected a 'conversations', 'messages' or 'instruction' field "
                                           f"(fields present: {sorted(record)})")
    _check_order(messages, last="assistant")
    return {"messages": messages}


def _preference(record: dict) -> dict:
    if "question" in record and "conversations" not in record and "messages" not in record:
        prompt = [{"role": "user", "content": _string(record, "question")}]
        chosen, rejected = _string(record, "response_chosen"), _string(record, "response_rejected")
    else:
        prompt = _prompt_turns(record)
        chosen, rejected = _string(record, "chosen"), _string(record, "rejected")
    _check_order(prompt, last="user")
    if chosen.strip() == rejected.strip():
        raise RecordError("chosen equals rejected", "the chosen and rejected answers are the same text")
    return {"prompt": prompt, "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


_NORMALISE = {"pt": _pt, "sft": _sft, "preference": _preference}


# ---------------------------------------------------------------- sources


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown data kind {kind!r}; expected one of {', '.join(KINDS)}")


def _lines(path: Path) -> Iterator[tuple[int, str | RecordError]]:
    """(1-based line number, decoded line without its newline) per line; a final newline adds no line."""
    raw = path.read_bytes().split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    for number, line in enumerate(raw, 1):
        line = line.removesuffix(b"\r")
        try:
            yield number, line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, RecordError("invalid UTF-8", f"byte {exc.start + 1} of the line is not valid UTF-8")


def _parse(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, record or RecordError) per line of a .txt (pt documents) or .jsonl file."""
    for number, line in _lines(path):
        if isinstance(line, RecordError):
            yield number, line
        elif not line.strip():
            yield number, RecordError("empty line", "blank lines are not allowed (only a final newline is)")
        elif path.suffix == ".txt":
            yield number, {"text": line}
        else:
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RecordError("invalid JSON", f"{exc.msg} at column {exc.colno}")


def _collect(items: Iterable[tuple[int, Any]], kind: str, source: str, unit: str, strict: bool) -> Dataset:
    """Normalise (position, record) pairs into a Dataset; raise on the first bad one or skip and report."""
    normalise = _NORMALISE[kind]
    rows: list[dict] = []
    skipped: Counter[str] = Counter()
    where: dict[str, list[int]] = {}
    for number, record in items:
        try:
            if isinstance(record, RecordError):
                raise record
            if not isinstance(record, dict):
                raise RecordError("not an object", f"expected a JSON object, got {type(record).__name__}")
            rows.append(normalise(record))
        except RecordError as exc:
            if strict:
                raise ValueError(f"{source}, {unit} {number}: {exc}") from None
            skipped[exc.reason] += 1
            where.setdefault(exc.reason, []).append(number)
    if skipped:
        total = len(rows) + sum(skipped.values())
        parts = [f"{n} {reason} ({unit} {', '.join(map(str, where[reason][:5]))}"
                 f"{', ...' if len(where[reason]) > 5 else ''})" for reason, n in skipped.most_common()]
        message = f"{source}: skipped {sum(skipped.values())} of {total} {kind} records: " + "; ".join(parts)
        print(message)
        warnings.warn(message, stacklevel=3)
    if not rows:
        raise ValueError(f"{source}: no valid {kind} records" + (" (all were skipped)" if skipped else ""))
    return Dataset.from_list(rows)


def normalise_records(records: Iterable[dict], kind: str, source: str = "<records>", strict: bool = True) -> Dataset:
    """Validate in-memory records (e.g. a hub dataset) like load_records; errors name `source` and the record."""
    _check_kind(kind)
    return _collect(enumerate(records, 1), kind, source, "record", strict)


def load_records(path: str | Path, kind: str, strict: bool = True) -> Dataset:
    """Load a pt (.txt/.jsonl), sft (.jsonl) or preference (.jsonl) file as the Dataset TRL expects."""
    _check_kind(kind)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{kind} data file not found: {path}" + (" (it is a directory)" if path.is_dir() else ""))
    if path.suffix not in SUFFIXES[kind]:
        raise ValueError(f"{path}: a {kind} file must end in {' or '.join(SUFFIXES[kind])}")
    return _collect(_parse(path), kind, str(path), "line", strict)
