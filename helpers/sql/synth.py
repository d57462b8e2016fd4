"""Question/SQL pairs synthesised from a database: templates over its schema (Spider's tables.json entry, natural
names included) with values read from its rows, the kind of data augmentation text-to-SQL work uses when labelled
pairs are few (a small model cannot learn the grammar and the schema's names from 166 examples).

Every query is written in the gold queries' style (lowercase `count(*)`, `T1`/`T2` aliases for joins) and is run
read-only before it is kept: only queries that execute and return rows are returned. Synthesise over *training*
databases only; under Spider's cross-database split the dev databases must stay unseen.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any, Callable

from .readonly import execute_readonly

Pair = dict[str, str]
__all__ = ["AGGREGATES", "TEMPLATES", "query_key", "synthesize"]  # re-exported by helpers.sql

AGGREGATES = (("average", "avg"), ("maximum", "max"), ("minimum", "min"), ("total", "sum"))


class _Schema:
    """One tables.json entry with the questions' words: natural table/column names and column types."""

    def __init__(self, entry: dict[str, Any], db_path: Path | str):
        self.db_id, self.db_path = entry["db_id"], db_path
        self.tables = [_ident(t) for t in entry["table_names_original"]]  # as written in queries
        self.table_words = entry.get("table_names") or [t.replace("_", " ") for t in entry["table_names_original"]]
        names = entry["column_names_original"]
        words = entry.get("column_names") or [[t, n.replace("_", " ")] for t, n in names]
        types = entry["column_types"]
        keys = {k for key in entry["primary_keys"] for k in (key if isinstance(key, list) else [key])}
        keys |= {a for a, _ in entry["foreign_keys"]} | {b for _, b in entry["foreign_keys"]}
        self.columns = [dict(table=t, name=_ident(n), words=w[1], type=types[i], key=i in keys)
                        for i, ((t, n), w) in enumerate(zip(names, words)) if t >= 0]
        self.foreign_keys = [((names[a][0], _ident(names[a][1])), (names[b][0], _ident(names[b][1])))
                             for a, b in entry["foreign_keys"]]
        self._values: dict[tuple[int, str], list] = {}

    def cols(self, table: int, kind: str | None = None, keys: bool = False) -> list[dict]:
        """Columns of `table` ("text" or "number" only when `kind` says), key columns left out unless `keys`."""
        return [c for c in self.columns if c["table"] == table and (keys or not c["key"])
                and (kind is None or c["type"] == kind)]

    def values(self, table: int, column: str) -> list:
        """Distinct non-NULL values of one column (as written in queries; read-only, at most 50)."""
        if (table, column) not in self._values:
            rows = execute_readonly(self.db_path, f"SELECT DISTINCT {column} FROM {self.tables[table]} "
                                                  f"WHERE {column} IS NOT NULL LIMIT 50")
            self._values[(table, column)] = [r[0] for r in rows]
        return self._values[(table, column)]


def query_key(query: str) -> str:
    """A query's text with case and spacing folded: how `synthesize` recognises a held-out query it must not write."""
    return " ".join(query.lower().replace("(", " ( ").replace(")", " ) ").replace(",", " , ").split())


def _ident(name: str) -> str:
    """A table or column name as SQL: bare when it is a plain identifier (the gold style), else double-quoted."""
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    return str(value) if isinstance(value, (int, float)) else "'" + str(value).replace("'", "''") + "'"


def _column_and_another(s: _Schema, t: int, kind: str, rng: random.Random) -> tuple[dict, dict] | None:
    """A column of `kind` in table `t` and another (non-key) column to show, or None when the table lacks them."""
    candidates, shown = s.cols(t, kind), s.cols(t)
    if not candidates or len(shown) < 2:
        return None
    c = rng.choice(candidates)
    return c, rng.choice([x for x in shown if x is not c])


# Each template: (schema, table, rng) -> (question, query) or None when the table lacks what it needs.
def _count_all(s: _Schema, t: int, rng: random.Random):
    return f"How many {s.table_words[t]} are there?", f"SELECT count(*) FROM {s.tables[t]}"


def _list_column(s: _Schema, t: int, rng: random.Random):
    c = rng.choice(s.cols(t) or [None])
    return c and (f"List the {c['words']} of all {s.table_words[t]}.", f"SELECT {c['name']} FROM {s.tables[t]}")


def _filter_text(s: _Schema, t: int, rng: random.Random):
    if not (picked := _column_and_another(s, t, "text", rng)):
        return None
    c, show = picked
    v = rng.choice(s.values(t, c["name"]) or [None])
    return v is not None and (f"What is the {show['words']} of the {s.table_words[t]} whose {c['words']} is {v}?",
                              f"SELECT {show['name']} FROM {s.tables[t]} WHERE {c['name']} = {_literal(v)}")


def _count_filter(s: _Schema, t: int, rng: random.Random):
    c = rng.choice(s.cols(t, "text") or [None])
    v = c and rng.choice(s.values(t, c["name"]) or [None])
    return v is not None and c and (f"How many {s.table_words[t]} have {c['words']} {v}?",
                                    f"SELECT count(*) FROM {s.tables[t]} WHERE {c['name']} = {_literal(v)}")


def _aggregate(s: _Schema, t: int, rng: random.Random):
    c = rng.choice(s.cols(t, "number") or [None])
    word, fn = rng.choice(AGGREGATES)
    return c and (f"What is the {word} {c['words']} of all {s.table_words[t]}?",
                  f"SELECT {fn}({c['name']}) FROM {s.tables[t]}")


def _compare(s: _Schema, t: int, rng: random.Random):
    if not (picked := _column_and_another(s, t, "number", rng)):
        return None
    c, show = picked
    v = rng.choice(s.values(t, c["name"]) or [None])
    word, op = rng.choice((("greater than", ">"), ("less than", "<"), ("at least", ">=")))
    return v is not None and (f"Show the {show['words']} of {s.table_words[t]} whose {c['words']} is {word} {v}.",
                              f"SELECT {show['name']} FROM {s.tables[t]} WHERE {c['name']} {op} {v}")


def _group_count(s: _Schema, t: int, rng: random.Random):
    c = rng.choice(s.cols(t, "text") or [None])
    return c and (f"How many {s.table_words[t]} are there for each {c['words']}?",
                  f"SELECT {c['name']}, count(*) FROM {s.tables[t]} GROUP BY {c['name']}")


def _group_having(s: _Schema, t: int, rng: random.Random):
    c = rng.choice(s.cols(t, "text") or [None])
    k = rng.choice((1, 2, 3, 5))
    return c and (f"Which {c['words']} values have more than {k} {s.table_words[t]}?",
                  f"SELECT {c['name']} FROM {s.tables[t]} GROUP BY {c['name']} HAVING count(*) > {k}")


def _top(s: _Schema, t: int, rng: random.Random):
    if not (picked := _column_and_another(s, t, "number", rng)):
        return None
    c, show = picked
    word, order = rng.choice((("highest", "DESC"), ("lowest", "ASC")))
    return (f"Among the {s.table_words[t]}, which one has the {word} {c['words']}? Give its {show['words']}.",
            f"SELECT {show['name']} FROM {s.tables[t]} ORDER BY {c['name']} {order} LIMIT 1")


def _join(s: _Schema, t: int, rng: random.Random):
    links = [(a, b) for a, b in s.foreign_keys if a[0] == t]
    if not links:
        return None
    (ta, fk), (tb, pk) = rng.choice(links)
    shown, texts = s.cols(ta), s.cols(tb, "text")
    if not shown or not texts:
        return None
    show, c = rng.choice(shown), rng.choice(texts)
    v = rng.choice(s.values(tb, c["name"]) or [None])
    return v is not None and (
        f"List the {show['words']} of the {s.table_words[ta]} linked to {s.table_words[tb]} with {c['words']} {v}.",
        f"SELECT T1.{show['name']} FROM {s.tables[ta]} AS T1 JOIN {s.tables[tb]} AS T2 ON T1.{fk} = T2.{pk} "
        f"WHERE T2.{c['name']} = {_literal(v)}")


TEMPLATES: tuple[Callable, ...] = (_count_all, _list_column, _filter_text, _count_filter, _aggregate, _compare,
                                    _group_count, _group_having, _top, _join)


def synthesize(entry: dict[str, Any], db_path: Path | str, n: int, seed: int = 0,
               exclude: set[str] | frozenset[str] = frozenset()) -> list[Pair]:
    """Up to `n` distinct {"db_id", "question", "query"} pairs over one database, each query checked to run read-only
    and return at least one row; none whose query is in `exclude` (held-out gold queries, compared by `query_key`
    keys). Seeded: the same call gives the same pairs."""
    rng, schema = random.Random(seed), _Schema(entry, db_path)
    out: dict[str, Pair] = {}
    for _attempt in range(20 * n):
        if len(out) >= n or not schema.tables:
            break
        made = rng.choice(TEMPLATES)(schema, rng.randrange(len(schema.tables)), rng)
        if not made or made[1] in out or query_key(made[1]) in exclude:
            continue
        question, query = made
        try:
            if not execute_readonly(db_path, query, timeout_s=1.0):
                continue
        except Exception:  # noqa: BLE001 - a template that does not fit this database is skipped
            continue
        out[query] = dict(db_id=schema.db_id, question=question, query=query)
    return list(out.values())
