"""Schema text (sentences, compact, DDL), the prompt, and the SQL cut out of a model's completion."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .readonly import execute_readonly


def schema_sentences(entry: dict[str, Any]) -> str:
    """DB-GPT-Hub style: 'The database contains tables such as X, Y. Table X has columns such as a, b. a is the
    primary key.' and 'The b of X is the foreign key of c of Y.'"""
    tables, cols = entry["table_names_original"], entry["column_names_original"]
    lines = [f"The database contains tables such as {', '.join(tables)}."]
    for t, table in enumerate(tables):
        names = [n for ti, n in cols if ti == t]
        line = f"Table {table} has columns such as {', '.join(names)}."
        keys = [cols[i][1] for i in entry["primary_keys"] if cols[i][0] == t]
        if keys:
            line += f" {', '.join(keys)} is the primary key."
        lines.append(line)
    for a, b in entry["foreign_keys"]:
        (ta, ca), (tb, cb) = cols[a], cols[b]
        lines.append(f"The {ca} of {tables[ta]} is the foreign key of {cb} of {tables[tb]}.")
    return "\n".join(lines)


def schema_compact(entry: dict[str, Any]) -> str:
    """One line per table, 'patients(patient_id*, name, city)' with * on primary-key columns, then one line per foreign
    key, 'appointments.patient_id = patients.patient_id': the same facts as schema_sentences in about half the tokens
    (0.47-0.59 of them with Qwen2.5's tokenizer on the shipped databases; the serialisation of many text-to-SQL papers)."""
    tables, cols = entry["table_names_original"], entry["column_names_original"]
    keys = set(entry["primary_keys"])
    lines = [f"{table}({', '.join(n + '*' * (i in keys) for i, (ti, n) in enumerate(cols) if ti == t)})"
             for t, table in enumerate(tables)]
    for a, b in entry["foreign_keys"]:
        (ta, ca), (tb, cb) = cols[a], cols[b]
        lines.append(f"{tables[ta]}.{ca} = {tables[tb]}.{cb}")
    return "\n".join(lines)


def schema_ddl(db_path: Path | str) -> str:
    """The CREATE TABLE statements of a database, as stored in it, one per paragraph."""
    rows = execute_readonly(db_path, "SELECT sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL "
                                     "AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
    return "\n\n".join(r[0].strip() + ";" for r in rows)


def build_prompt(question: str, schema_text: str) -> str:
    """The prompt for training and inference; the target completion is ' ' + query (the model continues 'SQL:')."""
    return ("### Instruction:\nWrite one SQLite query that answers the question about the database below. "
            "Reply with the SQL only.\n\n"
            f"### Database schema:\n{schema_text.strip()}\n\n"
            f"### Question:\n{question.strip()}\n\nSQL:")


def _split_outside_quotes(text: str, sep: str = ";") -> list[str]:
    """Split text at `sep` where it is not inside '...', "...", `...` or [...]."""
    parts, buf, quote = [], [], None
    closing = {"'": "'", '"': '"', "`": "`", "[": "]"}
    for ch in text:
        if quote:
            if ch == closing[quote]:
                quote = None
        elif ch in closing:
            quote = ch
        elif ch == sep:
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    parts.append("".join(buf))
    return parts


def extract_sql(completion: str) -> str:
    """The first SQL statement of a model's completion: inside the first ``` fence if any (its language tag, such as
    sql, SQL or sqlite, dropped), up to the first ';' (outside quotes) and the first blank line or '###' line; a
    leading 'SQL:' is dropped."""
    text = completion
    fence = re.search(r"```(.*?)(?:```|$)", text, flags=re.S)
    if fence:
        text = fence.group(1)
        tag, newline, rest = text.partition("\n")
        if newline and re.fullmatch(r"\s*(?!(?:select|with)\s*$)[\w.+-]*\s*", tag, flags=re.I):
            text = rest  # '```sqlite\n...', '``` sql\n...', '```\n...'
        else:  # everything on one line: '```sql SELECT 1```'
            text = re.sub(r"^\s*sql(?:ite3?)?(?=\s)", "", text, flags=re.I)
    text = re.sub(r"^\s*SQL\s*:", "", text, flags=re.I)
    first = _split_outside_quotes(text)[0]
    return re.split(r"\n\s*\n|\n\s*###", first.strip(), maxsplit=1)[0].strip()
