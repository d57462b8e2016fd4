"""helpers.sql: hostile SQL is refused or stopped without touching the database; execution matching; prompts."""

from __future__ import annotations

import hashlib
import sqlite3
import time

import pytest

from helpers import sql

TIMEOUT = 0.5  # seconds given to runaway queries
MARGIN = 1.5  # slack for a slow shared CPU


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    return sql.build_databases(sql.DATA_DIR, tmp_path_factory.mktemp("text2sql_db"))


@pytest.fixture(scope="module")
def hospital(dbs):
    return dbs["hospital"]


def _snapshot(path):
    """Hash of the database file and the listing of its folder."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(p.name for p in path.parent.iterdir())


HOSTILE = [
    "INSERT INTO patients VALUES (99, 'Mallory', '2000-01-01', 'F', 'Nowhere', 'O+')",
    "INSERT OR REPLACE INTO patients VALUES (1, 'Mallory', NULL, NULL, NULL, NULL)",
    "REPLACE INTO patients VALUES (1, 'Mallory', NULL, NULL, NULL, NULL)",
    "UPDATE patients SET name = 'Mallory'",
    "DELETE FROM patients",
    "delete from patients where 1",
    "/* comment */ DELETE FROM patients",
    "CREATE TABLE evil (x INTEGER)",
    "CREATE TEMP TABLE evil AS SELECT * FROM patients",
    "CREATE VIEW evil AS SELECT 1",
    "CREATE INDEX evil ON patients(name)",
    "CREATE TRIGGER evil AFTER INSERT ON patients BEGIN DELETE FROM patients; END",
    "DROP TABLE patients",
    "DROP TABLE IF EXISTS patients",
    "ALTER TABLE patients ADD COLUMN evil TEXT",
    "ALTER TABLE patients RENAME TO evil",
    "PRAGMA writable_schema = 1",
    "PRAGMA writable_schema = ON",
    "PRAGMA journal_mode = WAL",
    "PRAGMA table_info(patients)",
    "ATTACH 'x.db' AS x",
    "ATTACH DATABASE ':memory:' AS m",
    "DETACH x",
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT load_extension('evil', 'entry')",
    "SELECT LOAD_EXTENSION('evil')",
    "SELECT \"load_extension\"('evil')",
    "SELECT name FROM patients WHERE name = load_extension('evil')",
    "SELECT readfile('/etc/passwd')",
    "SELECT writefile('evil.txt', 'x')",
    "SELECT 1; DROP TABLE patients",
    "SELECT 1; SELECT 2",
    "SELECT 1 -- comment\n; DELETE FROM patients",
    "WITH t AS (SELECT 1) DELETE FROM patients",
    "WITH t AS (SELECT 1) INSERT INTO patients SELECT * FROM patients",
    "WITH t AS (SELECT 1) UPDATE patients SET name = 'x'",
    "VACUUM",
    "VACUUM INTO 'copy.db'",
    "BEGIN",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT a",
    "RELEASE a",
    "REINDEX",
    "ANALYZE",
    "EXPLAIN SELECT 1",
    "VALUES (1)",
    "",
    "   ",
    ";",
    "-- only a comment",
    "SELEC name FORM patients",
    "hello world",
    "SELECT * FROM",
]


@pytest.mark.parametrize("statement", HOSTILE)
def test_hostile_statements_are_refused(hospital, statement):
    before = _snapshot(hospital)
    with pytest.raises(ValueError):
        sql.execute_readonly(hospital, statement, timeout_s=TIMEOUT)
    assert _snapshot(hospital) == before


def test_vacuum_into_next_to_the_database_creates_nothing(hospital):
    before = _snapshot(hospital)
    with pytest.raises(sql.UnsafeSQLError):
        sql.execute_readonly(hospital, f"VACUUM INTO '{hospital.parent / 'copy.db'}'")
    assert _snapshot(hospital) == before


RUNAWAY = [
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
    "SELECT count(*) FROM patients AS a, patients AS b, patients AS c, patients AS d, patients AS e, patients AS f",
    "SELECT count(*) FROM lab_results AS a CROSS JOIN lab_results AS b CROSS JOIN lab_results AS c "
    "CROSS JOIN lab_results AS d CROSS JOIN lab_results AS e",
]


@pytest.mark.parametrize("statement", RUNAWAY)
def test_runaway_queries_stop_at_the_time_limit(hospital, statement):
    before = _snapshot(hospital)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        sql.execute_readonly(hospital, statement, timeout_s=TIMEOUT)
    assert time.monotonic() - start < TIMEOUT + MARGIN
    assert _snapshot(hospital) == before


def test_huge_results_and_values_are_capped(hospital):
    before = _snapshot(hospital)
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"
    with pytest.raises(sql.ResultTooLarge):
        sql.execute_readonly(hospital, endless, timeout_s=5, max_rows=100)
    with pytest.raises(sqlite3.Error):  # SQLITE_LIMIT_LENGTH: string or blob too big
        sql.execute_readonly(hospital, "SELECT zeroblob(2000000000)")
    assert _snapshot(hospital) == before


@pytest.mark.parametrize("statement", [
    "DELETE FROM patients", "UPDATE patients SET name = 'x'", "DROP TABLE patients", "PRAGMA writable_schema = 1",
    "ATTACH ':memory:' AS m", "SELECT load_extension('evil')", "CREATE TABLE evil (x)", "SELECT 1; DROP TABLE patients",
])
def test_sqlite_layers_hold_without_the_parser_check(hospital, monkeypatch, statement):
    """Defence in depth: with the sqlglot check switched off, the authorizer and the read-only open still refuse."""
    monkeypatch.setattr(sql, "check_readonly", lambda text: None)
    before = _snapshot(hospital)
    with pytest.raises((ValueError, sqlite3.Error)):
        sql.execute_readonly(hospital, statement)
    assert _snapshot(hospital) == before


def test_reads_work_and_leave_no_trace(hospital):
    before = _snapshot(hospital)
    assert sql.execute_readonly(hospital, "SELECT count(*) FROM patients;") == [(40,)]
    assert sql.execute_readonly(hospital, "WITH d AS (SELECT * FROM doctors) SELECT count(*) FROM d") == [(13,)]
    assert sql.execute_readonly(hospital, "SELECT 1 UNION SELECT 2 ORDER BY 1") == [(1,), (2,)]
    assert _snapshot(hospital) == before
    with pytest.raises(sqlite3.OperationalError):
        sql.execute_readonly(hospital, "SELECT * FROM no_such_table")
    with pytest.raises(FileNotFoundError):
        sql.execute_readonly(hospital.parent / "missing.sqlite", "SELECT 1")
    assert not (hospital.parent / "missing.sqlite").exists()


# --- execution_match ----------------------------------------------------------------------------------------

SAME = [
    ("SELECT name FROM departments", "SELECT name FROM departments ORDER BY name DESC"),  # order free without ORDER BY
    ("SELECT name FROM (SELECT name FROM departments ORDER BY floor)", "SELECT name FROM departments ORDER BY name"),
    ("SELECT name FROM medications ORDER BY unit_price DESC", "SELECT name FROM medications ORDER BY -unit_price"),
    ("SELECT name, floor FROM departments", "SELECT floor, name FROM departments"),  # column order
    ("SELECT name, specialty, years_experience FROM doctors", "SELECT years_experience, name, specialty FROM doctors"),
    ("SELECT T1.name FROM doctors AS T1 JOIN departments AS T2 ON T1.department_id = T2.department_id "
     "WHERE T2.name = 'Cardiology'",
     "SELECT name FROM doctors WHERE department_id IN "
     "(SELECT department_id FROM departments WHERE name = 'Cardiology')"),
    ("SELECT count(*) FROM doctors", "SELECT count(doctor_id) FROM doctors"),
    ("SELECT 360", "SELECT 360.0"),
    ("SELECT count(*) FROM patients", "SELECT 40.0"),
    ("SELECT 0.3", "SELECT 0.1 + 0.2"),
    ("SELECT name FROM doctors WHERE years_experience >= 20", "SELECT name FROM doctors WHERE years_experience > = 20"),
    ("SELECT name FROM doctors WHERE years_experience <= 5", "SELECT name FROM doctors WHERE years_experience < = 5"),
    ("SELECT name FROM doctors WHERE department_id != 1", "SELECT name FROM doctors WHERE department_id ! = 1"),
    ("SELECT name FROM doctors WHERE department_id <> 1", "SELECT name FROM doctors WHERE department_id < > 1"),
    ("SELECT name FROM patients WHERE patient_id > 100", "SELECT name FROM doctors WHERE doctor_id > 99"),  # both empty
]

DIFFERENT = [
    ("SELECT name FROM medications ORDER BY unit_price DESC", "SELECT name FROM medications ORDER BY unit_price"),
    ("SELECT name FROM doctors WHERE years_experience >= 20", "SELECT name FROM doctors WHERE years_experience > 20"),
    ("SELECT name FROM departments", "SELECT name FROM departments LIMIT 5"),  # a missing row
    ("SELECT name FROM departments", "SELECT name, floor FROM departments"),  # an extra column
    ("SELECT DISTINCT city FROM patients", "SELECT city FROM patients"),  # duplicates count
    ("SELECT count(*) FROM patients", "SELECT '40'"),  # text is not a number
    ("SELECT name FROM departments", "SELECT name FROM department"),  # execution error
    ("SELECT name FROM departments", "SELECT name FROM departments WHERE"),  # does not parse
    ("SELECT name FROM departments", "DELETE FROM departments"),  # refused
    ("SELECT name FROM departments", "SELECT name FROM departments; SELECT 1"),  # refused
    ("SELECT name FROM departments", ""),
]


@pytest.mark.parametrize("gold, pred", SAME)
def test_equivalent_queries_match(hospital, gold, pred):
    assert sql.execution_match(hospital, pred, gold)
    assert sql.classify(hospital, pred, gold) == "match"


@pytest.mark.parametrize("gold, pred", DIFFERENT)
def test_different_or_broken_predictions_do_not_match(hospital, gold, pred):
    assert sql.execution_match(hospital, pred, gold) is False


def test_classify_kinds(hospital):
    gold = "SELECT name FROM departments"
    runaway = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    assert sql.classify(hospital, "SELECT name FROM departments WHERE", gold) == "does not parse"
    assert sql.classify(hospital, "I don't know", gold) == "does not parse"
    assert sql.classify(hospital, "hello world", gold) == "does not parse"
    assert sql.classify(hospital, "SELECT name FROM departments WHERE floor >", gold) == "does not parse"
    assert sql.classify(hospital, "DROP TABLE departments", gold) == "refused"
    assert sql.classify(hospital, runaway, gold, timeout_s=TIMEOUT) == "timeout"
    assert sql.classify(hospital, "SELECT nme FROM departments", gold) == "execution error"
    assert sql.classify(hospital, "SELECT name FROM doctors", gold) == "wrong result"
    assert sql.classify(hospital, "SELECT name FROM departments", gold) == "match"
    assert set(sql.KINDS) == {"match", "wrong result", "execution error", "timeout", "refused", "does not parse"}
    with pytest.raises(ValueError):  # a broken gold query is a data bug and raises
        sql.classify(hospital, gold, "DELETE FROM departments")


def test_results_equal_permutes_columns_soundly():
    assert sql.results_equal([(1, 2), (3, 4)], [(2, 1), (4, 3)], order_matters=False)
    assert not sql.results_equal([(1, 2), (3, 4)], [(1, 4), (3, 2)], order_matters=False)  # columns alone agree
    assert sql.results_equal([(1, 1, 2)], [(1, 2, 1)], order_matters=True)
    assert sql.results_equal([(1, "a"), (2, "b")], [("b", 2), ("a", 1)], order_matters=False)
    assert not sql.results_equal([(1, "a"), (2, "b")], [("b", 2), ("a", 1)], order_matters=True)
    assert sql.results_equal([(None, 1)], [(1, None)], order_matters=False)
    assert not sql.results_equal([(1,), (1,), (2,)], [(1,), (2,), (2,)], order_matters=False)
    assert sql.results_equal([], [], order_matters=True)
    many = 12  # twelve NULL columns against eleven: refused at once, not after 11! dead ends
    assert not sql.results_equal([(None,) * many + (1,)], [(None,) * (many - 1) + (1, 2)], order_matters=False)
    assert sql.results_equal([(None,) * many + (1,)], [(1,) + (None,) * many], order_matters=True)
    assert not sql.results_equal([(1,)], [], order_matters=False)


def test_normalize_operators_leaves_strings_alone():
    spaced = "a > = 1 AND b < = 2 AND c ! = 3 AND d < > 4"
    assert sql.normalize_operators(spaced) == "a >= 1 AND b <= 2 AND c != 3 AND d <> 4"
    assert sql.normalize_operators("SELECT '> =' WHERE x > = 1") == "SELECT '> =' WHERE x >= 1"


def test_order_by_detection_is_top_level_only():
    assert sql.has_top_level_order_by("SELECT a FROM t ORDER BY a")
    assert sql.has_top_level_order_by("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1")
    assert not sql.has_top_level_order_by("SELECT a FROM (SELECT a FROM t ORDER BY a)")
    assert not sql.has_top_level_order_by("SELECT a FROM t WHERE a IN (SELECT a FROM t ORDER BY a LIMIT 3)")


# --- schema text, prompts, SQL extraction -------------------------------------------------------------------

def test_schema_sentences_and_ddl(hospital):
    text = sql.schema_sentences(sql.load_tables()["hospital"])
    assert text.startswith("The database contains tables such as departments, doctors, patients")
    assert "Table patients has columns such as patient_id, name, birth_date, sex, city, blood_type." in text
    assert "patient_id is the primary key." in text
    assert "The patient_id of appointments is the foreign key of patient_id of patients." in text
    ddl = sql.schema_ddl(hospital)
    assert ddl.count("CREATE TABLE") == 7 and "CREATE TABLE patients" in ddl


def test_build_prompt():
    prompt = sql.build_prompt("How many patients are there?", "Table patients has columns such as patient_id.")
    assert "Table patients has columns such as patient_id." in prompt
    assert "How many patients are there?" in prompt
    assert prompt.endswith("SQL:") and prompt.index("patient_id.") < prompt.index("How many")


@pytest.mark.parametrize("completion, expected", [
    (" SELECT count(*) FROM patients", "SELECT count(*) FROM patients"),
    (" SELECT count(*) FROM patients;\nSELECT 2;", "SELECT count(*) FROM patients"),
    ("```sql\nSELECT name\nFROM doctors\n```\nThis lists the doctors.", "SELECT name\nFROM doctors"),
    ("Here you go:\n```\nSELECT 1;\n```", "SELECT 1"),
    ("SQL: SELECT 'a;b' FROM t; junk", "SELECT 'a;b' FROM t"),
    ("SELECT name FROM doctors\n\nExplanation: it selects names.", "SELECT name FROM doctors"),
    ("", ""),
])
def test_extract_sql(completion, expected):
    assert sql.extract_sql(completion) == expected
