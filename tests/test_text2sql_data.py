"""data/text2sql: the databases build, tables.json matches the DDL, every gold query runs, the splits are clean."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
import sqlglot
from sqlglot import exp

from helpers import sql

SPLITS = ("train", "dev")
MINIMUM = {"train": 150, "dev": 50}


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    return sql.build_databases(sql.DATA_DIR, tmp_path_factory.mktemp("text2sql_db"))


@pytest.fixture(scope="module")
def examples():
    return {split: sql.load_examples(split) for split in SPLITS}


def _question_key(question: str) -> str:
    return re.sub(r"\s+", " ", question).strip().lower()


def test_databases_build_deterministically(dbs, tmp_path):
    assert set(dbs) == {"hospital", "library", "school", "shop"}
    again = sql.build_databases(sql.DATA_DIR, tmp_path)
    for db_id, path in dbs.items():
        assert path.name == f"{db_id}.sqlite" and path.parent.name == db_id
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp files left behind
        dumps = [list(sqlite3.connect(p).iterdump()) for p in (path, again[db_id])]
        assert dumps[0] == dumps[1]
    assert sql.build_databases(sql.DATA_DIR, tmp_path).keys() == again.keys()  # rebuilding over old files works


def test_command_line_builds_the_databases(tmp_path, capsys):
    sql.main(["build-dbs", "--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hospital", "library", "school", "shop"]
    assert "hospital.sqlite" in capsys.readouterr().out


def test_tables_json_matches_the_ddl(dbs, tmp_path):
    committed = json.loads((sql.DATA_DIR / "tables.json").read_text(encoding="utf-8"))
    regenerated = sql.write_tables_json(dbs, tmp_path / "tables.json")
    assert committed == regenerated  # run `python -m helpers.sql tables` after changing a schema.sql
    for entry in committed:
        ddl = (sql.DATA_DIR / "database" / entry["db_id"] / "schema.sql").read_text(encoding="utf-8")
        creates = [t for t in sqlglot.parse(ddl, read="sqlite") if isinstance(t, exp.Create)]
        assert [c.this.this.name for c in creates] == entry["table_names_original"]
        columns, pks, fks = [[-1, "*"]], [], []
        for t, create in enumerate(creates):
            for col in create.this.expressions:
                if isinstance(col, exp.ColumnDef):
                    if col.find(exp.PrimaryKeyColumnConstraint):
                        pks.append(len(columns))
                    ref = col.find(exp.Reference)
                    if ref:
                        fks.append((len(columns), ref.this.this.name, ref.this.expressions[0].name))
                    columns.append([t, col.name])
        assert columns == entry["column_names_original"]
        assert len(entry["column_names"]) == len(entry["column_types"]) == len(columns)
        assert pks == entry["primary_keys"]
        index = {(entry["table_names_original"][t], n): i for i, (t, n) in enumerate(columns) if t >= 0}
        assert sorted([c, index[(rt, rc)]] for c, rt, rc in fks) == sorted(entry["foreign_keys"])


def test_counts_and_format(examples, dbs):
    for split in SPLITS:
        data = examples[split]
        assert len(data) >= MINIMUM[split]
        for ex in data:
            assert set(ex) == {"db_id", "question", "query"} and ex["db_id"] in dbs
            assert ex["question"].strip() and ex["query"].strip()
    card = (sql.DATA_DIR / "CARD.md").read_text(encoding="utf-8")
    assert f"{len(examples['train'])} train" in card and f"{len(examples['dev'])} dev" in card


def test_no_question_is_repeated(examples):
    seen = {split: [_question_key(ex["question"]) for ex in examples[split]] for split in SPLITS}
    for split in SPLITS:
        assert len(seen[split]) == len(set(seen[split])), f"duplicate question in {split}"
    assert not set(seen["train"]) & set(seen["dev"])


def test_every_gold_query_executes(examples, dbs):
    empty, total = [], 0
    for split in SPLITS:
        for ex in examples[split]:
            rows = sql.execute_readonly(dbs[ex["db_id"]], ex["query"], timeout_s=5)
            total += 1
            if not rows:
                empty.append(ex["query"])
    assert len(empty) <= 0.05 * total, empty


def test_gold_queries_cover_the_sql_constructs(examples):
    patterns = {
        "join": r"\bJOIN\b", "group by": r"\bGROUP BY\b", "having": r"\bHAVING\b", "order by": r"\bORDER BY\b",
        "limit": r"\bLIMIT\b", "not in": r"\bNOT IN \(SELECT\b", "in": r"(?<!NOT )\bIN \(SELECT\b",
        "scalar subquery": r"[=<>] \(SELECT\b", "union": r"\bUNION\b", "intersect": r"\bINTERSECT\b",
        "except": r"\bEXCEPT\b", "aggregate": r"\b(count|sum|avg|min|max)\(",
    }
    for split in SPLITS:
        queries = [ex["query"] for ex in examples[split]]
        for name, pattern in patterns.items():
            assert any(re.search(pattern, q, flags=re.I) for q in queries), f"{split} has no {name}"
