"""Run one query on a SQLite file read-only, in layers (see helpers.sql): a sqlglot check, a read-only open, an
authorizer, limits on time, rows and bytes."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

MAX_ROWS = 10_000  # rows fetched at most; a larger result raises ResultTooLarge
MAX_RESULT_BYTES = 16 * 2**20  # bytes fetched at most (text and blob lengths, 8 per number or NULL): ResultTooLarge
MAX_VALUE_BYTES = 1_000_000  # SQLITE_LIMIT_LENGTH: the longest string or blob a query may build
DEFAULT_TIMEOUT_S = 5.0
DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "zipfile",
                              "sqlar_compress", "sqlar_uncompress", "shell_add_schema", "sqlite_dbpage"})
_ALLOWED_TOP = (exp.Select, exp.Union, exp.Intersect, exp.Except)
_FORBIDDEN_NODES = tuple(getattr(exp, n) for n in (
    "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Pragma", "Command", "Attach", "Detach",
    "Transaction", "Commit", "Rollback", "Into", "Analyze", "Set", "Use", "LoadData", "Copy") if hasattr(exp, n))
_ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                    getattr(sqlite3, "SQLITE_RECURSIVE", 33)}
_DENIED_MESSAGES = ("not authorized", "authorization denied", "one statement at a time")


class UnsafeSQLError(ValueError):
    """The text is not exactly one read-only query, so it was refused before running."""


class UnparsableSQLError(UnsafeSQLError):
    """The text is empty or does not parse as SQL."""


class ResultTooLarge(ValueError):
    """The query returned more than max_rows rows or more than max_bytes bytes (MAX_ROWS, MAX_RESULT_BYTES)."""


class QueryTimeout(TimeoutError):
    """The query ran past its time limit and was stopped."""


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


def _fetch_limited(cursor: sqlite3.Cursor, max_rows: int, max_bytes: int) -> list[tuple[Any, ...]]:
    """Every row of `cursor`, fetched in chunks; ResultTooLarge past max_rows rows or max_bytes bytes (_value_bytes)."""
    rows: list[tuple[Any, ...]] = []
    size, biggest = 0, 0  # bytes fetched so far; the biggest row so far (0: none yet)
    while True:  # one row first, then as many rows as the budget left holds at the biggest row's size
        room = (max_bytes - size) // biggest if biggest else 1
        chunk = cursor.fetchmany(max(1, min(256, room, max_rows + 1 - len(rows))))
        if not chunk:
            return rows
        row_bytes = [sum(map(_value_bytes, row)) for row in chunk]
        biggest = max(biggest, 1, *row_bytes)
        size += sum(row_bytes)
        rows += chunk
        if len(rows) > max_rows:
            raise ResultTooLarge(f"more than {max_rows} rows")
        if size > max_bytes:
            raise ResultTooLarge(f"more than {max_bytes} bytes in the first {len(rows)} rows")


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
        try:
            rows = _fetch_limited(conn.execute(sql), max_rows, max_bytes)
        except sqlite3.DatabaseError as e:
            if timed_out:
                raise QueryTimeout(f"query stopped after {timeout_s} s") from None
            if any(m in str(e) for m in _DENIED_MESSAGES):
                raise UnsafeSQLError(f"refused by SQLite: {e}") from None
            raise
        return rows
    finally:
        conn.close()

