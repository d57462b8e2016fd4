"""helpers.sql.synth: template pairs that run, stay off the held-out queries, and work on a database never seen."""

from __future__ import annotations

import sqlite3

import pytest

from helpers import sql
from helpers.sql.synth import TEMPLATES, query_key, synthesize


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    return sql.build_databases(sql.DATA_DIR, tmp_path_factory.mktemp("db"))


def test_every_pair_runs_returns_rows_and_names_the_schema(dbs):
    tables = sql.load_tables()
    for db_id, path in dbs.items():
        pairs = synthesize(tables[db_id], path, 60, seed=0)
        assert len(pairs) == 60 and len({p["query"] for p in pairs}) == 60
        names = set(tables[db_id]["table_names_original"])
        for p in pairs:
            assert p["db_id"] == db_id and p["question"].strip() and sql.execute_readonly(path, p["query"])
            assert any(f" {t}" in p["query"] for t in names), p
    kinds = {p["query"].split(" FROM ")[0] for p in synthesize(tables["hospital"], dbs["hospital"], 100)}
    assert {"SELECT count(*)"} < kinds and any(k.startswith("SELECT T1.") for k in kinds), "joins and counts appear"


def test_seeded_and_held_out_queries_never_written(dbs):
    tables = sql.load_tables()
    a = synthesize(tables["shop"], dbs["shop"], 40, seed=3)
    assert a == synthesize(tables["shop"], dbs["shop"], 40, seed=3) != synthesize(tables["shop"], dbs["shop"], 40, seed=4)
    held = {query_key(p["query"]) for p in a[:10]} | {query_key("select COUNT(*)  from customers")}
    b = synthesize(tables["shop"], dbs["shop"], 40, seed=3, exclude=held)
    assert not {query_key(p["query"]) for p in b} & held and len(b) == 40


def test_an_unseen_database_with_awkward_names(tmp_path):
    """Any Spider-layout database: identifiers that need quoting, a foreign key, numbers and text."""
    path = tmp_path / "zoo.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE "animal keeper" (keeper_id INTEGER PRIMARY KEY, "full name" TEXT, shift TEXT);
            CREATE TABLE animals (animal_id INTEGER PRIMARY KEY, species TEXT, weight_kg REAL,
                                  keeper_id INTEGER REFERENCES "animal keeper"(keeper_id));
            INSERT INTO "animal keeper" VALUES (1, 'Ana O''Neil', 'day'), (2, 'Bo Li', 'night');
            INSERT INTO animals VALUES (1, 'lion', 190.5, 1), (2, 'okapi', 230.0, 2), (3, 'lion', 170.0, 2);
        """)
    pairs = synthesize(sql.spider_tables("zoo", path), path, 30, seed=1)
    assert len(pairs) >= 15
    assert all(sql.execute_readonly(path, p["query"]) for p in pairs)
    assert any('"animal keeper"' in p["query"] for p in pairs) and any("JOIN" in p["query"] for p in pairs)
    assert len(TEMPLATES) >= 8


def test_stage_synthesises_over_training_databases_only(tmp_path, tiny_profile):
    from helpers.stages.text2sql import Text2SQLStage

    st = Text2SQLStage(root=tmp_path, profile=tiny_profile, synthetic_per_db=20)
    st.db_paths = sql.build_databases(sql.DATA_DIR, tmp_path / "db")
    st.tables = sql.load_tables()
    st.examples = {"train": [e for e in sql.load_examples("train") if e["db_id"] != "shop"],
                   "dev": sql.load_examples("dev")}
    pairs = st.synthesize()
    assert {p["db_id"] for p in pairs} == {"hospital", "library", "school"}, "no pair over a dev-only database"
    dev = {query_key(e["query"]) for e in st.examples["dev"]}
    assert len(pairs) == 60 and not {query_key(p["query"]) for p in pairs} & dev
