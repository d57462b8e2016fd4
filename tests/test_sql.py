"""helpers.sql: hostile SQL is refused or stopped without touching the database; execution matching; prompts."""

from __future__ import annotations

import functools
import hashlib
import itertools
import random
import sqlite3
import time
import tracemalloc
from collections import Counter

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
    monkeypatch.setattr(sql.readonly, "check_readonly", lambda text: None)  # where execute_readonly looks it up
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
    ("SELECT 1234567890123", "SELECT 1234567890123.0"),  # an integral float is its integer, exactly
    ("SELECT name FROM doctors WHERE years_experience >= 20", "SELECT name FROM doctors WHERE years_experience > = 20"),
    ("SELECT name FROM doctors WHERE years_experience <= 5", "SELECT name FROM doctors WHERE years_experience < = 5"),
    ("SELECT name FROM doctors WHERE department_id != 1", "SELECT name FROM doctors WHERE department_id ! = 1"),
    ("SELECT name FROM patients WHERE patient_id > 100", "SELECT name FROM doctors WHERE doctor_id > 99"),  # both empty
]

DIFFERENT = [
    ("SELECT name FROM medications ORDER BY unit_price DESC", "SELECT name FROM medications ORDER BY unit_price"),
    ("SELECT name FROM doctors WHERE years_experience >= 20", "SELECT name FROM doctors WHERE years_experience > 20"),
    ("SELECT name FROM departments", "SELECT name FROM departments LIMIT 5"),  # a missing row
    ("SELECT name FROM departments", "SELECT name, floor FROM departments"),  # an extra column
    ("SELECT count(*) FROM patients", "SELECT '40'"),  # text is not a number
    ("SELECT name FROM departments", "SELECT name FROM department"),  # execution error
    ("SELECT name FROM departments", "SELECT name FROM departments WHERE"),  # does not parse
    ("SELECT name FROM departments", "DELETE FROM departments"),  # refused
    ("SELECT name FROM departments", "SELECT name FROM departments; SELECT 1"),  # refused
    ("SELECT name FROM departments", ""),
]


# (gold, pred, matches in spider mode, matches in course mode): where the two modes part
MODE_DEPENDENT = [
    ("SELECT DISTINCT city FROM patients", "SELECT city FROM patients", True, False),  # spider drops DISTINCT
    ("SELECT count(DISTINCT city) FROM patients", "SELECT count(city) FROM patients", True, False),
    ("SELECT name FROM (SELECT name, floor FROM departments ORDER BY floor, name)",  # ORDER BY in a subquery:
     "SELECT name FROM departments ORDER BY name", False, True),  # order counts in spider mode only
    ("SELECT 0.3", "SELECT 0.1 + 0.2", False, True),  # course rounds floats to 12 significant digits
    ("SELECT 1234567890123.5", "SELECT 1234567890124.5", False, True),  # ...so it cannot tell these apart
    ("SELECT name FROM doctors WHERE department_id <> 1", "SELECT name FROM doctors WHERE department_id < > 1",
     False, True),  # the reference's postprocess does not join '< >': a syntax error for SQLite
]


@pytest.mark.parametrize("mode", sql.MODES)
@pytest.mark.parametrize("gold, pred", SAME)
def test_equivalent_queries_match(hospital, gold, pred, mode):
    assert sql.execution_match(hospital, pred, gold, mode=mode)
    assert sql.classify(hospital, pred, gold, mode=mode) == "match"


@pytest.mark.parametrize("mode", sql.MODES)
@pytest.mark.parametrize("gold, pred", DIFFERENT)
def test_different_or_broken_predictions_do_not_match(hospital, gold, pred, mode):
    assert sql.execution_match(hospital, pred, gold, mode=mode) is False


@pytest.mark.parametrize("gold, pred, spider, course", MODE_DEPENDENT)
def test_modes_differ_where_documented(hospital, gold, pred, spider, course):
    assert sql.execution_match(hospital, pred, gold, mode="spider") is spider
    assert sql.execution_match(hospital, pred, gold, mode="course") is course
    assert sql.execution_match(hospital, pred, gold) is spider  # spider is the default


def test_modes_are_named_and_checked(hospital):
    assert sql.MODES == ("spider", "course") and sql.DEFAULT_MODE == "spider"
    with pytest.raises(ValueError):
        sql.classify(hospital, "SELECT 1", "SELECT 1", mode="strict")


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
    assert sql.classify(hospital, "SELECT zeroblob(999999) FROM doctors, patients", gold) == "execution error"
    assert set(sql.KINDS) == {"match", "wrong result", "execution error", "timeout", "refused", "does not parse"}
    with pytest.raises(ValueError):  # a broken gold query is a data bug and raises
        sql.classify(hospital, gold, "DELETE FROM departments")


@pytest.mark.parametrize("mode", sql.MODES)
def test_results_equal_permutes_columns_soundly(mode):
    results_equal = functools.partial(sql.results_equal, mode=mode)
    assert results_equal([(1, 2), (3, 4)], [(2, 1), (4, 3)], order_matters=False)
    assert not results_equal([(1, 2), (3, 4)], [(1, 4), (3, 2)], order_matters=False)  # columns alone agree
    assert results_equal([(1, 1, 2)], [(1, 2, 1)], order_matters=True)
    assert results_equal([(1, "a"), (2, "b")], [("b", 2), ("a", 1)], order_matters=False)
    assert not results_equal([(1, "a"), (2, "b")], [("b", 2), ("a", 1)], order_matters=True)
    assert results_equal([(None, 1)], [(1, None)], order_matters=False)
    assert not results_equal([(1,), (1,), (2,)], [(1,), (2,), (2,)], order_matters=False)
    assert results_equal([], [], order_matters=True)
    many = 12  # twelve NULL columns against eleven: refused at once, not after 11! dead ends
    assert not results_equal([(None,) * many + (1,)], [(None,) * (many - 1) + (1, 2)], order_matters=False)
    assert results_equal([(None,) * many + (1,)], [(1,) + (None,) * many], order_matters=True)
    assert not results_equal([(1,)], [], order_matters=False)


def test_spider_mode_drops_distinct_unless_keep_distinct(hospital):
    """test-suite-sql-eval's default (no --keep_distinct): DISTINCT is removed from both queries before they run."""
    with_distinct, without = "SELECT DISTINCT city FROM patients", "SELECT city FROM patients"
    assert len(sql.execute_readonly(hospital, with_distinct)) < len(sql.execute_readonly(hospital, without))
    for gold, pred in [(without, with_distinct), (with_distinct, without)]:
        assert sql.classify(hospital, pred, gold) == "match"  # spider mode is the default
        assert sql.execution_match(hospital, pred, gold, mode="spider")
        assert sql.classify(hospital, pred, gold, keep_distinct=True) == "wrong result"
        assert sql.classify(hospital, pred, gold, mode="course") == "wrong result"
    assert sql.remove_distinct("SELECT DISTINCT a, count(distinct b) FROM t WHERE c = 'distinct' -- DISTINCT\n") \
        == "SELECT  a, count( b) FROM t WHERE c = 'distinct' -- DISTINCT\n"
    assert sql.remove_distinct('SELECT "distinct", [distinct], `distinct` FROM t /* distinct */; SELECT DISTINCT 1') \
        == 'SELECT "distinct", [distinct], `distinct` FROM t /* distinct */; SELECT  1'
    assert sql.classify(hospital, "SELECT DISTINCT city FROM patients; DROP TABLE patients", without) == "refused"


def test_order_by_anywhere_in_gold_makes_order_count(hospital):
    """Spider mode: order counts when 'order by' is anywhere in the gold text, a subquery or CTE included."""
    by_name = "SELECT name FROM departments ORDER BY name"
    by_floor = "SELECT name FROM departments ORDER BY floor, name"
    nested = ["SELECT name FROM (SELECT name, floor FROM departments ORDER BY floor, name)",
              "WITH d AS (SELECT name, floor FROM departments ORDER BY floor, name) SELECT name FROM d"]
    for gold in nested:
        assert not sql.has_top_level_order_by(gold)
        assert sql.row_order_matters(gold, "spider") and not sql.row_order_matters(gold, "course")
        assert sql.execute_readonly(hospital, gold) == sql.execute_readonly(hospital, by_floor)
        assert sql.classify(hospital, by_name, gold) == "wrong result"  # same rows, another order
        assert sql.classify(hospital, by_floor, gold) == "match"
        assert sql.classify(hospital, by_name, gold, mode="course") == "match"
    assert not sql.row_order_matters("SELECT a FROM t ORDER  BY a", "spider")  # the reference's literal test


def test_big_numbers_compare_with_python_equality(hospital):
    """Spider mode compares values with == : no rounding to 12 significant digits, int and float alike."""
    big = 1234567890123
    assert sql.results_equal([(big,)], [(float(big),)], order_matters=True)
    assert sql.results_equal([(big, "a")], [("a", float(big))], order_matters=False)
    assert sql.classify(hospital, "SELECT 1234567890123.0", "SELECT 1234567890123") == "match"
    assert sql.classify(hospital, "SELECT 1234567890123.0", "SELECT 1234567890123", mode="course") == "match"
    near = [(1234567890123.0, 1234567890124.0), (1234567890123, 1234567890124.0), (0.1 + 0.2, 0.3),
            (1234567890123.5, 1234567890124.5)]  # equal to 12 significant digits, not equal
    for a, b in near:
        assert f"{a:.12g}" == f"{b:.12g}" and a != b
        assert not sql.results_equal([(a,)], [(b,)], order_matters=False)
        assert not sql.results_equal([(a,)], [(b,)], order_matters=False, mode="spider")
    assert sql.classify(hospital, "SELECT 1234567890124.0", "SELECT 1234567890123") == "wrong result"
    assert sql.classify(hospital, "SELECT 1234567890123.5", "SELECT 1234567890124.5") == "wrong result"


def _reference_result_eq(result1, result2, order_matters):
    """test-suite-sql-eval's result_eq with every permutation tried (its sampling only prunes, soundly)."""
    if not result1 and not result2:
        return True
    if len(result1) != len(result2) or len(result2[0]) != len(result1[0]):
        return False
    key = lambda x: str(x) + str(type(x))  # noqa: E731
    s1, s2 = [tuple(sorted(r, key=key)) for r in result1], [tuple(sorted(r, key=key)) for r in result2]
    if not (s1 == s2 if order_matters else set(s1) == set(s2)):
        return False
    for perm in itertools.permutations(range(len(result1[0]))):
        moved = [tuple(r[i] for i in perm) for r in result2]
        if order_matters and result1 == moved:
            return True
        if not order_matters and set(result1) == set(moved) and Counter(result1) == Counter(moved):
            return True
    return False


def test_column_search_has_no_permutation_cap():
    """Nine identical columns and one more with the same values: the right order of pred's columns comes after
    9! = 362,880 wrong ones in lexicographic order, far past the old cap of 1000 permutations; found at once."""
    a, b = (1, 2, 2), (2, 1, 2)  # two columns with equal value multisets, different as columns
    gold_cols, pred_cols = [a] * 9 + [b], [b] + [a] * 9
    gold, pred = list(zip(*gold_cols)), list(zip(*pred_cols))
    start = time.monotonic()
    for mode in sql.MODES:
        assert sql.results_equal(gold, pred, order_matters=False, mode=mode)
        assert sql.results_equal(gold, pred, order_matters=True, mode=mode)
        assert not sql.results_equal(gold, [(9,) + r[1:] for r in pred], order_matters=False, mode=mode)
    distinct = list(zip(*[tuple(random.Random(s).sample([1, 2, 3, 4, 5, 6], 6)) for s in range(9)]))
    assert sql.results_equal(distinct, [r[::-1] for r in distinct[::-1]], order_matters=False)  # 9 columns reversed
    assert time.monotonic() - start < 1.0


def test_column_search_agrees_with_the_reference_on_random_results():
    rng = random.Random(0)
    values = [1, 1.0, 2, "1", "a", None, 2.5]
    for _ in range(3000):
        rows, cols = rng.randint(1, 4), rng.randint(1, 4)
        gold = [tuple(rng.choice(values[:rng.randint(2, 7)]) for _ in range(cols)) for _ in range(rows)]
        pred = [tuple(rng.sample(r, len(r))) if rng.random() < 0.5 else r for r in gold]  # shuffled values in rows
        if rng.random() < 0.7:
            perm = rng.sample(range(cols), cols)
            pred = [tuple(r[i] for i in perm) for r in gold]
            pred = rng.sample(pred, rows) if rng.random() < 0.5 else pred
            if rng.random() < 0.3:
                pred[rng.randrange(rows)] = tuple(rng.choice(values) for _ in range(cols))
        if rng.random() < 0.3:  # 1 for 1.0 and back: equal, but sorted apart by the reference's quick check
            pred = [tuple(rng.choice([1, 1.0]) if v == 1 else v for v in r) for r in pred]
        for order in (False, True):
            assert sql.results_equal(gold, pred, order, mode="spider") == _reference_result_eq(gold, pred, order), \
                (gold, pred, order)


def test_result_bytes_are_capped(hospital):
    """10,000 rows of almost 1 MB each (10 GB) are refused after about MAX_RESULT_BYTES, fast and in little memory."""
    query = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 10000) "
             "SELECT zeroblob(999999) FROM c")
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(sql.ResultTooLarge):
            sql.execute_readonly(hospital, query, timeout_s=60)
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 0.5 + MARGIN
    assert peak < 2 * sql.MAX_RESULT_BYTES
    with pytest.raises(sql.ResultTooLarge):
        sql.execute_readonly(hospital, "SELECT name, city FROM patients", max_bytes=200)
    assert len(sql.execute_readonly(hospital, "SELECT name, city FROM patients", max_bytes=2000)) == 40
    assert sql.classify(hospital, query, "SELECT 1") == "execution error"


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


def test_schema_compact_states_the_same_facts_in_fewer_characters():
    entry = sql.load_tables()["hospital"]
    text = sql.schema_compact(entry)
    lines = text.splitlines()
    assert lines[2] == "patients(patient_id*, name, birth_date, sex, city, blood_type)"
    assert "appointments.patient_id = patients.patient_id" in lines
    assert len(lines) == len(entry["table_names_original"]) + len(entry["foreign_keys"])
    assert len(text) < 0.6 * len(sql.schema_sentences(entry))


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


@pytest.mark.parametrize("completion", [
    "```sqlite\nSELECT 1\n```",
    "```SQL\nSELECT 1\n```",
    "``` sql\nSELECT 1\n```",
    "```sql \nSELECT 1;\n```",
    "```\nSELECT 1\n```",
    "Sure! Here is the query:\n\n```sqlite3\nSELECT 1\n```\nIt returns one.",
    "The answer:\n```\nSELECT 1\n```",
    "```sql SELECT 1```",
    "```SELECT 1```",
    "```sqlite\nSELECT 1",  # never closed
])
def test_extract_sql_drops_the_fence_language_tag(completion):
    assert sql.extract_sql(completion) == "SELECT 1"
    assert sql.extract_sql("```\nSELECT\n  name FROM t\n```") == "SELECT\n  name FROM t"
