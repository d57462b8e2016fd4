"""Text-to-SQL: build the SQLite databases, serialise schemas, prompt, run queries read-only, score by execution.

Data lives in data/text2sql in Spider's layout: database/<db_id>/schema.sql (DDL) and data.sql (INSERTs),
tables.json, train.json and dev.json. The .sqlite files are built on demand (`python -m helpers.sql build-dbs`).

Safety of execute_readonly, in layers: sqlglot must parse the text as exactly one SELECT / set operation
(WITH ... SELECT included) with no write, DDL, PRAGMA or ATTACH anywhere inside; the file is opened through a
`mode=ro&immutable=1` URI (SQLite neither writes it nor creates -journal/-wal/-shm files next to it); an
authorizer allows only SELECT, READ, RECURSIVE and FUNCTION (minus a deny-list such as load_extension);
extension loading is off, ATTACH is limited to 0 databases, strings and blobs to MAX_VALUE_BYTES; a progress
handler aborts the query past its time limit; and at most MAX_ROWS rows and MAX_RESULT_BYTES bytes are fetched
(more raises ResultTooLarge, a ValueError), in chunks, so a huge result never sits in memory.

Scoring (classify, execution_match, results_equal) has two modes, MODES = ("spider", "course"):

- "spider" (the default): the defaults of test-suite-sql-eval (github.com/taoyds/test-suite-sql-eval,
  exec_eval.eval_exec_match), the scorer behind published Spider execution accuracy. Both queries get its
  postprocess ('> =', '< =', '! =' joined) and remove_distinct (every DISTINCT word dropped, even inside count())
  unless keep_distinct=True; row order counts when the text of the gold query contains 'order by' anywhere
  (subqueries and CTEs too); values compare with Python == (1 == 1.0, no rounding), after its unordered-row quick
  check; text is decoded ignoring bad UTF-8. Column order is free and every column
  permutation is considered. Not copied: evaluate()'s prediction.replace("value", "1") (a placeholder hack that
  would break any column named value), its plug_value option, its test-suite of extra databases (one database
  per db_id here, as in Spider's own database/ folder), and remove_distinct's dropping of every statement after the
  first (a second statement is refused here; extract_sql keeps only the first anyway).
- "course": DISTINCT is kept (duplicates count), only a top-level ORDER BY makes order count, floats are compared
  to 12 significant digits (so 0.1 + 0.2 matches 0.3) and a float with an integral value compares as that integer.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import sqlglot
from sqlglot import exp

# Layer 3 (helpers.sql.synth, the template questions, sits beside it); `python -m helpers.sql` runs main().
__all__ = ["DATA_DIR", "MAX_ROWS", "MAX_RESULT_BYTES", "MAX_VALUE_BYTES", "DEFAULT_TIMEOUT_S", "MODES",
           "DEFAULT_MODE", "KINDS", "DENIED_FUNCTIONS", "UnsafeSQLError", "UnparsableSQLError", "ResultTooLarge",
           "QueryTimeout", "build_databases", "spider_tables", "write_tables_json", "load_tables", "load_examples",
           "schema_sentences", "schema_compact", "schema_ddl", "build_prompt", "extract_sql", "normalize_operators",
           "check_readonly", "execute_readonly", "spider_postprocess", "remove_distinct", "replace_cur_year",
           "results_equal", "has_top_level_order_by", "row_order_matters", "classify", "execution_match", "main"]
DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "text2sql"
MAX_ROWS = 10_000  # rows fetched at most; a larger result raises ResultTooLarge
MAX_RESULT_BYTES = 16 * 2**20  # bytes fetched at most (text and blob lengths, 8 per number or NULL): ResultTooLarge
MAX_VALUE_BYTES = 1_000_000  # SQLITE_LIMIT_LENGTH: the longest string or blob a query may build
DEFAULT_TIMEOUT_S = 5.0
MODES = ("spider", "course")  # how classify / execution_match / results_equal score; see the module docstring
DEFAULT_MODE = "spider"  # what the chapter reports: comparable with published Spider execution accuracy
KINDS = ("match", "wrong result", "execution error", "timeout", "refused", "does not parse")
DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "zipfile",
                              "sqlar_compress", "sqlar_uncompress", "shell_add_schema", "sqlite_dbpage"})
_ALLOWED_TOP = (exp.Select, exp.Union, exp.Intersect, exp.Except)
_FORBIDDEN_NODES = tuple(getattr(exp, n) for n in (
    "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Pragma", "Command", "Attach", "Detach",
    "Transaction", "Commit", "Rollback", "Into", "Analyze", "Set", "Use", "LoadData", "Copy") if hasattr(exp, n))
_ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                    getattr(sqlite3, "SQLITE_RECURSIVE", 33)}
_DENIED_MESSAGES = ("not authorized", "authorization denied", "one statement at a time")
_TYPE_WORDS = (("int", "number"), ("real", "number"), ("floa", "number"), ("doub", "number"), ("num", "number"),
               ("dec", "number"), ("date", "time"), ("time", "time"), ("bool", "boolean"), ("char", "text"),
               ("text", "text"), ("clob", "text"))


class UnsafeSQLError(ValueError):
    """The text is not exactly one read-only query, so it was refused before running."""


class UnparsableSQLError(UnsafeSQLError):
    """The text is empty or does not parse as SQL."""


class ResultTooLarge(ValueError):
    """The query returned more than max_rows rows or more than max_bytes bytes (MAX_ROWS, MAX_RESULT_BYTES)."""


class QueryTimeout(TimeoutError):
    """The query ran past its time limit and was stopped."""


# --- building the databases -------------------------------------------------------------------------------

def build_databases(src_dir: Path | str, out_dir: Path | str) -> dict[str, Path]:
    """Build out_dir/<db_id>/<db_id>.sqlite from src_dir/database/<db_id>/{schema,data}.sql; returns {db_id: path}."""
    src, out = Path(src_dir) / "database", Path(out_dir)
    paths = {}
    for folder in sorted(p for p in src.iterdir() if (p / "schema.sql").is_file()):
        target = out / folder.name / f"{folder.name}.sqlite"
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=target.parent)  # build aside, then swap in atomically
        os.close(fd)
        try:
            conn = sqlite3.connect(tmp)
            try:
                conn.executescript((folder / "schema.sql").read_text(encoding="utf-8"))
                data = folder / "data.sql"
                if data.is_file():
                    conn.executescript("BEGIN;\n" + data.read_text(encoding="utf-8") + "\nCOMMIT;")
            finally:
                conn.close()
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        paths[folder.name] = target
    return paths


def spider_tables(db_id: str, db_path: Path | str) -> dict[str, Any]:
    """The Spider tables.json entry of one built database (tables, columns, types, keys, in DDL order)."""
    conn = sqlite3.connect(Path(db_path).resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        columns: list[list[Any]] = [[-1, "*"]]
        types, pks, fk_names = ["text"], [], []
        for t, table in enumerate(tables):
            for _cid, name, ctype, _nn, _default, pk in conn.execute(f'PRAGMA table_info("{table}")'):
                if pk:
                    pks.append(len(columns))
                columns.append([t, name])
                types.append(next((k for w, k in _TYPE_WORDS if w in ctype.lower()), "others"))
            for row in conn.execute(f'PRAGMA foreign_key_list("{table}")'):
                fk_names.append((table, row[3], row[2], row[4]))
    finally:
        conn.close()
    index = {(tables[t], name): i for i, (t, name) in enumerate(columns) if t >= 0}
    first_pk = {tables[columns[i][0]]: columns[i][1] for i in reversed(pks)}  # for 'REFERENCES t' without a column
    fk_names = [(t, c, rt, rc or first_pk[rt]) for t, c, rt, rc in fk_names]
    return {
        "db_id": db_id,
        "table_names_original": tables,
        "table_names": [t.replace("_", " ") for t in tables],
        "column_names_original": columns,
        "column_names": [[t, n if t < 0 else n.replace("_", " ")] for t, n in columns],
        "column_types": types,
        "primary_keys": pks,
        "foreign_keys": sorted([index[(t, c)], index[(rt, rc)]] for t, c, rt, rc in fk_names),
    }


def write_tables_json(db_paths: dict[str, Path], path: Path | str) -> list[dict[str, Any]]:
    """Write the Spider tables.json for the built databases to `path` and return it."""
    entries = [spider_tables(db_id, p) for db_id, p in sorted(db_paths.items())]
    blocks = ("{" + ",\n ".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in e.items()) + "}"
              for e in entries)  # one key per line: readable diffs
    Path(path).write_text("[\n" + ",\n".join(blocks) + "\n]\n", encoding="utf-8")
    return entries


def load_tables(path: Path | str = DATA_DIR / "tables.json") -> dict[str, dict[str, Any]]:
    """tables.json as {db_id: entry}."""
    return {e["db_id"]: e for e in json.loads(Path(path).read_text(encoding="utf-8"))}


def load_examples(split: str, data_dir: Path | str = DATA_DIR) -> list[dict[str, str]]:
    """train.json or dev.json: a list of {"db_id", "question", "query"}."""
    return json.loads((Path(data_dir) / f"{split}.json").read_text(encoding="utf-8"))


# --- schema text and prompts ------------------------------------------------------------------------------

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


# --- safe execution ---------------------------------------------------------------------------------------

def normalize_operators(sql: str) -> str:
    """Join spaced comparison operators ('> =', '< =', '! =', '< >', any spacing) outside quotes; a superset of
    test-suite-sql-eval's postprocess (spider_postprocess), which joins only '> =', '< =' and '! =', quotes included."""
    pieces = re.split(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")""", sql)  # odd pieces are quoted strings
    for i in range(0, len(pieces), 2):
        pieces[i] = re.sub(r"<\s+>", "<>", re.sub(r"([<>!])\s+=", r"\1=", pieces[i]))
    return "".join(pieces)


def check_readonly(sql: str) -> exp.Expression:
    """Parse `sql` with sqlglot and return its tree if it is exactly one read-only query; else raise UnsafeSQLError."""
    if not sql or not sql.strip().strip(";").strip():
        raise UnparsableSQLError("empty SQL")
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)  # sqlglot warns when it falls back to a Command; that is refused anyway
    try:
        trees = [t for t in sqlglot.parse(sql, read="sqlite") if t is not None]
    except sqlglot.errors.SqlglotError as e:
        raise UnparsableSQLError(f"does not parse: {str(e).splitlines()[0]}") from None
    finally:
        logger.setLevel(level)
    if not trees:
        raise UnparsableSQLError("no statement (empty or only comments)")
    if len(trees) != 1:
        raise UnsafeSQLError(f"expected exactly one statement, got {len(trees)}")
    tree = trees[0]
    if not isinstance(tree, _ALLOWED_TOP):
        if isinstance(tree, _FORBIDDEN_NODES + (exp.Query,)):
            raise UnsafeSQLError(f"only SELECT queries are allowed, not {type(tree).__name__}")
        raise UnparsableSQLError(f"not a SQL statement (parsed as {type(tree).__name__})")
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise UnsafeSQLError(f"{type(node).__name__} is not allowed in a read-only query")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in DENIED_FUNCTIONS:
                raise UnsafeSQLError(f"function {name}() is not allowed")
    return tree


def _authorizer(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    """sqlite3 authorizer: only reads, selects, recursive CTEs and functions outside the deny-list."""
    if action not in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _value_bytes(value: Any) -> int:
    """What one fetched value counts against max_bytes: the length of a text or blob, 8 for a number or NULL."""
    return len(value) if isinstance(value, (str, bytes)) else 8


def execute_readonly(db_path: Path | str, sql: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                     max_rows: int = MAX_ROWS, *, max_bytes: int = MAX_RESULT_BYTES, normalize: bool = True,
                     decode_errors: str = "strict") -> list[tuple[Any, ...]]:
    """Run one read-only query on a SQLite file without ever changing it; returns its rows.

    normalize joins spaced operators first (normalize_operators); decode_errors is how bad UTF-8 in text is
    decoded ("strict" raises sqlite3.OperationalError, "ignore" drops it as test-suite-sql-eval does).
    Raises UnsafeSQLError (a ValueError; UnparsableSQLError when it does not parse) for anything but one query,
    QueryTimeout (a TimeoutError) past timeout_s, ResultTooLarge (a ValueError) past max_rows rows or max_bytes
    bytes (counted as the rows are fetched, in chunks, so memory stays near max_bytes), sqlite3.Error when SQLite
    itself rejects it, FileNotFoundError when there is no database."""
    if normalize:
        sql = normalize_operators(sql)
    sql = sql.strip().rstrip(";").strip()
    check_readonly(sql)
    path = Path(db_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(path)
    conn = sqlite3.connect(path.as_uri() + "?mode=ro&immutable=1", uri=True, isolation_level=None)
    try:
        if hasattr(conn, "enable_load_extension"):  # absent when Python's sqlite3 was built without it
            conn.enable_load_extension(False)
        if hasattr(conn, "setlimit"):  # Python >= 3.11
            conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        if decode_errors != "strict":
            conn.text_factory = lambda b: b.decode("utf-8", errors=decode_errors)
        conn.set_authorizer(_authorizer)
        deadline = time.monotonic() + timeout_s
        timed_out = False

        def progress() -> int:
            nonlocal timed_out
            timed_out = time.monotonic() > deadline
            return int(timed_out)

        conn.set_progress_handler(progress, 1000)
        rows: list[tuple[Any, ...]] = []
        size, biggest = 0, 0  # bytes fetched so far; the biggest row so far (0: none yet)
        try:
            cursor = conn.execute(sql)
            while True:  # one row first, then as many rows as the budget left holds at the biggest row's size
                room = (max_bytes - size) // biggest if biggest else 1
                chunk = cursor.fetchmany(max(1, min(256, room, max_rows + 1 - len(rows))))
                if not chunk:
                    break
                row_bytes = [sum(map(_value_bytes, row)) for row in chunk]
                biggest = max(biggest, 1, *row_bytes)
                size += sum(row_bytes)
                rows += chunk
                if len(rows) > max_rows:
                    raise ResultTooLarge(f"more than {max_rows} rows")
                if size > max_bytes:
                    raise ResultTooLarge(f"more than {max_bytes} bytes in the first {len(rows)} rows")
        except sqlite3.DatabaseError as e:
            if timed_out:
                raise QueryTimeout(f"query stopped after {timeout_s} s") from None
            if any(m in str(e) for m in _DENIED_MESSAGES):
                raise UnsafeSQLError(f"refused by SQLite: {e}") from None
            raise
        return rows
    finally:
        conn.close()


# --- execution accuracy -----------------------------------------------------------------------------------

# The tokens of sqlparse that remove_distinct keeps whole: quoted strings and names, comments, words, ';'.
_SQLPARSE_TOKENS = re.compile(r"""'(?:''|\\'|[^'])*'?|"(?:""|\\"|[^"])*"?|`[^`]*`?|\[[^\]]*\]?|--[^\n]*\n?"""
                              r"""|/\*.*?(?:\*/|$)|\w[$#\w]*|;|.""", flags=re.S)


def spider_postprocess(sql: str) -> str:
    """test-suite-sql-eval's postprocess: '> =', '< =', '! =' joined (plain text replacement, quotes included)."""
    return sql.replace("> =", ">=").replace("< =", "<=").replace("! =", "!=")


def remove_distinct(sql: str) -> str:
    """test-suite-sql-eval's remove_distinct: the text without any word DISTINCT, wherever it is (SELECT DISTINCT,
    count(DISTINCT x), ...); quoted text and comments are untouched. Unlike the reference (sqlparse.parse(s)[0]),
    statements after the first are kept, so that a second statement is still refused: extract_sql cuts a completion
    at its first ';' anyway, so model output scores the same."""
    return "".join(t for t in _SQLPARSE_TOKENS.findall(sql) if t.lower() != "distinct")


def replace_cur_year(sql: str) -> str:
    """test-suite-sql-eval's replace_cur_year: YEAR(CURDATE()) becomes 2020 before the query runs."""
    return re.sub(r"YEAR\s*\(\s*CURDATE\s*\(\s*\)\s*\)\s*", "2020", sql, flags=re.I)


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")


def _norm(value: Any) -> Any:
    """A value as compared in course mode: a float with an integral value as that int (so 360.0 == 360 and
    1234567890123.0 == 1234567890123 exactly), other floats rounded to 12 significant digits (float noise)."""
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return float(f"{value:.12g}")
    return value


def _unorder_row(row: tuple) -> tuple:
    """test-suite-sql-eval's unorder_row: the values of a row sorted by str(value) + str(type(value))."""
    return tuple(sorted(row, key=lambda x: str(x) + str(type(x))))


def _quick_accept(gold: list[tuple], pred: list[tuple], order_matters: bool) -> bool:
    """test-suite-sql-eval's quick_rej (False: reject): the rows with their values sorted agree, as lists when order
    matters, as sets otherwise. A necessary condition, but for one quirk kept here: values sort by their text, so 1
    and 1.0 may sort apart ('1<class...' vs '1.0<class...') and a row (1, '1.5') is rejected against (1.0, '1.5')."""
    g, p = [_unorder_row(r) for r in gold], [_unorder_row(r) for r in pred]
    return g == p if order_matters else set(g) == set(p)


def _column_permutation_exists(gold: list[tuple], pred: list[tuple], order_matters: bool) -> bool:
    """Whether some order of pred's columns makes its rows equal to gold's (as lists when order matters, as
    multisets otherwise), values compared with ==. Exact: the same answer as trying every permutation, found fast.

    When order matters, each column must equal a gold column whole, so the two bags of columns must agree. Otherwise,
    identical columns are merged first (a set of identical gold columns must go to a set of identical pred columns of
    the same size, and which one goes where changes nothing), then the distinct columns are matched by a depth-first
    search that drops a partial matching as soon as the gold and pred rows, cut to the columns matched so far, differ
    as multisets."""
    n = len(gold[0])
    gold_cols = [tuple(r[i] for r in gold) for i in range(n)]
    pred_cols = [tuple(r[j] for r in pred) for j in range(n)]
    if order_matters:
        return Counter(gold_cols) == Counter(pred_cols)
    gold_kinds, pred_kinds = Counter(gold_cols), Counter(pred_cols)  # distinct columns and how often each comes
    if sorted(gold_kinds.values()) != sorted(pred_kinds.values()):
        return False
    gold_distinct, pred_distinct = list(gold_kinds), list(pred_kinds)
    gold_values, pred_values = [Counter(c) for c in gold_distinct], [Counter(c) for c in pred_distinct]
    options = [[j for j, pc in enumerate(pred_distinct)
                if pred_kinds[pc] == gold_kinds[gc] and pred_values[j] == gold_values[i]]
               for i, gc in enumerate(gold_distinct)]
    order = sorted(range(len(gold_distinct)), key=lambda i: len(options[i]))  # fewest choices first
    used = [False] * len(pred_distinct)

    def search(depth: int, gold_keys: list[tuple], pred_keys: list[tuple]) -> bool:
        if depth == len(order):
            return True  # the rows cut to every (distinct) column agree as multisets: the full rows do too
        i = order[depth]
        for j in options[i]:
            if used[j]:
                continue
            g = [k + (v,) for k, v in zip(gold_keys, gold_distinct[i])]
            p = [k + (v,) for k, v in zip(pred_keys, pred_distinct[j])]
            if Counter(g) == Counter(p):
                used[j] = True
                if search(depth + 1, g, p):
                    return True
                used[j] = False
        return False

    return search(0, [()] * len(gold), [()] * len(pred))


def results_equal(gold: Sequence[tuple], pred: Sequence[tuple], order_matters: bool,
                  mode: str = DEFAULT_MODE) -> bool:
    """Whether pred is the gold result: same rows as multisets (as lists when order matters), columns in any order.
    mode "spider" is test-suite-sql-eval's result_eq (values with ==, its quick check first); "course" compares
    values through _norm (floats to 12 significant digits). Every column permutation is considered in both."""
    _check_mode(mode)
    if mode == "course":
        gold = [tuple(_norm(v) for v in r) for r in gold]
        pred = [tuple(_norm(v) for v in r) for r in pred]
    else:
        gold, pred = [tuple(r) for r in gold], [tuple(r) for r in pred]
    if not gold and not pred:
        return True
    if len(gold) != len(pred) or len(gold[0]) != len(pred[0]):
        return False
    if mode == "spider" and not _quick_accept(gold, pred, order_matters):
        return False
    return _column_permutation_exists(gold, pred, order_matters)


def has_top_level_order_by(sql: str) -> bool:
    """True when the outermost query has ORDER BY (then row order counts in course mode)."""
    tree = check_readonly(normalize_operators(sql).strip().rstrip(";"))
    return tree.args.get("order") is not None


def row_order_matters(gold_sql: str, mode: str = DEFAULT_MODE) -> bool:
    """Whether row order counts for this gold query. spider: 'order by' occurs in its text, lower-cased, anywhere
    (a subquery or CTE too; test-suite-sql-eval's literal test, so 'ORDER  BY' with two spaces does not count);
    course: the outermost query has ORDER BY. (classify applies spider mode to the gold text after
    spider_postprocess and remove_distinct, as the reference does.)"""
    _check_mode(mode)
    return "order by" in gold_sql.lower() if mode == "spider" else has_top_level_order_by(gold_sql)


def classify(db_path: Path | str, pred_sql: str, gold_sql: str, timeout_s: float = DEFAULT_TIMEOUT_S, *,
             mode: str = DEFAULT_MODE, keep_distinct: bool = False) -> str:
    """One of KINDS for a prediction: 'match', 'wrong result', 'execution error' (a too large result included),
    'timeout', 'refused', 'does not parse'. A broken gold query raises.

    mode "spider" (default) scores as test-suite-sql-eval's eval_exec_match with its defaults: both queries through
    spider_postprocess, remove_distinct (unless keep_distinct) and replace_cur_year, order from row_order_matters,
    values by results_equal in spider mode. mode "course" runs the queries as written (operators normalised) and
    compares through results_equal in course mode; keep_distinct does not apply (DISTINCT is always kept)."""
    _check_mode(mode)
    run: dict[str, Any] = {}
    if mode == "spider":
        pred_sql, gold_sql = spider_postprocess(pred_sql), spider_postprocess(gold_sql)
        if not keep_distinct:
            pred_sql, gold_sql = remove_distinct(pred_sql), remove_distinct(gold_sql)
        ordered = row_order_matters(gold_sql, mode)
        pred_sql, gold_sql = replace_cur_year(pred_sql), replace_cur_year(gold_sql)
        run = {"normalize": False, "decode_errors": "ignore"}
    else:
        ordered = row_order_matters(gold_sql, mode)
    gold = execute_readonly(db_path, gold_sql, timeout_s=max(timeout_s, DEFAULT_TIMEOUT_S), **run)
    try:
        pred = execute_readonly(db_path, pred_sql, timeout_s=timeout_s, **run)
    except UnparsableSQLError:
        return "does not parse"
    except UnsafeSQLError:
        return "refused"
    except QueryTimeout:
        return "timeout"
    except Exception as e:  # a bad prediction never raises: sqlite errors, too large a result, overflow...
        return "does not parse" if "syntax error" in str(e) or "incomplete input" in str(e) else "execution error"
    return "match" if results_equal(gold, pred, ordered, mode=mode) else "wrong result"


def execution_match(db_path: Path | str, pred_sql: str, gold_sql: str, timeout_s: float = DEFAULT_TIMEOUT_S, *,
                    mode: str = DEFAULT_MODE, keep_distinct: bool = False) -> bool:
    """True when the prediction returns the gold result (see classify for the modes); False for any failure."""
    return classify(db_path, pred_sql, gold_sql, timeout_s, mode=mode, keep_distinct=keep_distinct) == "match"


# --- command line -----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    """`python -m helpers.sql build-dbs [--out DIR]` or `python -m helpers.sql tables` (rewrite tables.json)."""
    parser = argparse.ArgumentParser(prog="python -m helpers.sql")
    parser.add_argument("command", choices=["build-dbs", "tables"])
    parser.add_argument("--src", default=str(DATA_DIR))
    parser.add_argument("--out", default=None, help="default: <run dir>/text2sql/database")
    args = parser.parse_args(argv)
    if args.command == "tables":
        with tempfile.TemporaryDirectory() as tmp:
            entries = write_tables_json(build_databases(args.src, tmp), Path(args.src) / "tables.json")
        print(f"wrote {Path(args.src) / 'tables.json'} ({len(entries)} databases)")
        return
    if args.out is None:
        from helpers.env.runs import stage_dir

        args.out = str(stage_dir("text2sql") / "database")
    for db_id, path in build_databases(args.src, args.out).items():
        print(f"{db_id}: {path}")

