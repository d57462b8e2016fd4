"""Text-to-SQL: build the SQLite databases, serialise schemas, prompt, run queries read-only, score by execution.

Data lives in data/text2sql in Spider's layout: database/<db_id>/schema.sql (DDL) and data.sql (INSERTs),
tables.json, train.json and dev.json. The .sqlite files are built on demand (`python -m helpers.sql build-dbs`).

Safety of execute_readonly, in layers: sqlglot must parse the text as exactly one SELECT / set operation
(WITH ... SELECT included) with no write, DDL, PRAGMA or ATTACH anywhere inside; the file is opened through a
`mode=ro&immutable=1` URI (SQLite neither writes it nor creates -journal/-wal/-shm files next to it); an
authorizer allows only SELECT, READ, RECURSIVE and FUNCTION (minus a deny-list such as load_extension);
extension loading is off, ATTACH is limited to 0 databases, strings and blobs to MAX_VALUE_BYTES; a progress
handler aborts the query past its time limit; and at most MAX_ROWS rows are fetched (more raises ValueError).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import re
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator, Sequence

import sqlglot
from sqlglot import exp

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "text2sql"
MAX_ROWS = 10_000  # rows fetched at most; a larger result raises ResultTooLarge (keeps memory bounded)
MAX_VALUE_BYTES = 1_000_000  # SQLITE_LIMIT_LENGTH: the longest string or blob a query may build
MAX_PERMUTATIONS = 1_000  # column permutations tried at most (past it, no match: never a false positive)
DEFAULT_TIMEOUT_S = 5.0
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
    """The query returned more than MAX_ROWS rows."""


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
    """The first SQL statement of a model's completion: inside the first ``` fence if any, up to the first ';'
    (outside quotes) and the first blank line or '###' line; a leading 'SQL:' is dropped."""
    text = completion
    fence = re.search(r"```[ \t]*(?:sql|sqlite)?[ \t]*\n?(.*?)(?:```|$)", text, flags=re.S | re.I)
    if fence:
        text = fence.group(1)
    text = re.sub(r"^\s*SQL\s*:", "", text, flags=re.I)
    first = _split_outside_quotes(text)[0]
    return re.split(r"\n\s*\n|\n\s*###", first.strip(), maxsplit=1)[0].strip()


# --- safe execution ---------------------------------------------------------------------------------------

def normalize_operators(sql: str) -> str:
    """Join spaced comparison operators ('> =', '< =', '! =', '< >') as the Spider evaluator does; quotes untouched."""
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


def execute_readonly(db_path: Path | str, sql: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                     max_rows: int = MAX_ROWS) -> list[tuple[Any, ...]]:
    """Run one read-only query on a SQLite file without ever changing it; returns its rows.

    Raises UnsafeSQLError (a ValueError; UnparsableSQLError when it does not parse) for anything but one query,
    QueryTimeout (a TimeoutError) past timeout_s, ResultTooLarge (a ValueError) past max_rows rows,
    sqlite3.Error when SQLite itself rejects it, FileNotFoundError when there is no database."""
    sql = normalize_operators(sql).strip().rstrip(";").strip()
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
        conn.set_authorizer(_authorizer)
        deadline = time.monotonic() + timeout_s
        timed_out = False

        def progress() -> int:
            nonlocal timed_out
            timed_out = time.monotonic() > deadline
            return int(timed_out)

        conn.set_progress_handler(progress, 1000)
        try:
            cursor = conn.execute(sql)
            rows = cursor.fetchmany(max_rows + 1)
        except sqlite3.DatabaseError as e:
            if timed_out:
                raise QueryTimeout(f"query stopped after {timeout_s} s") from None
            if any(m in str(e) for m in _DENIED_MESSAGES):
                raise UnsafeSQLError(f"refused by SQLite: {e}") from None
            raise
        if len(rows) > max_rows:
            raise ResultTooLarge(f"more than {max_rows} rows")
        return rows
    finally:
        conn.close()


# --- execution accuracy -----------------------------------------------------------------------------------

def _norm(value: Any) -> Any:
    """A value as compared: floats rounded to 12 significant digits (so 360 == 360.0 and float noise is ignored)."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    return value


def _frozen(counter: Counter) -> frozenset:
    """A hashable copy of a Counter."""
    return frozenset(counter.items())


def _permutations(gold: list[tuple], pred: list[tuple]) -> Iterator[tuple[int, ...]]:
    """Column orders of `pred` (perm[i] = pred column for gold column i) with equal per-column value multisets."""
    n = len(gold[0])
    gold_cols = [Counter(r[i] for r in gold) for i in range(n)]
    pred_cols = [Counter(r[j] for r in pred) for j in range(n)]
    if Counter(map(_frozen, gold_cols)) != Counter(map(_frozen, pred_cols)):  # also no dead ends in the search
        return
    options = [[j for j in range(n) if pred_cols[j] == gold_cols[i]] for i in range(n)]

    def extend(prefix: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
        if len(prefix) == n:
            yield prefix
            return
        for j in options[len(prefix)]:
            if j not in prefix:
                yield from extend(prefix + (j,))

    yield from extend(())


def results_equal(gold: Sequence[tuple], pred: Sequence[tuple], order_matters: bool) -> bool:
    """Spider test-suite comparison: same rows as multisets (as lists when order matters), columns in any order."""
    gold = [tuple(_norm(v) for v in r) for r in gold]
    pred = [tuple(_norm(v) for v in r) for r in pred]
    if not gold and not pred:
        return True
    if len(gold) != len(pred) or len(gold[0]) != len(pred[0]):
        return False
    for perm in itertools.islice(_permutations(gold, pred), MAX_PERMUTATIONS):
        moved = [tuple(r[j] for j in perm) for r in pred]
        if (moved == gold) if order_matters else (Counter(moved) == Counter(gold)):
            return True
    return False


def has_top_level_order_by(sql: str) -> bool:
    """True when the outermost query has ORDER BY (then row order counts)."""
    tree = check_readonly(normalize_operators(sql).strip().rstrip(";"))
    return tree.args.get("order") is not None


def classify(db_path: Path | str, pred_sql: str, gold_sql: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """One of KINDS for a prediction: 'match', 'wrong result', 'execution error', 'timeout', 'refused', 'does not
    parse'. A broken gold query raises."""
    gold = execute_readonly(db_path, gold_sql, timeout_s=max(timeout_s, DEFAULT_TIMEOUT_S))
    try:
        pred = execute_readonly(db_path, pred_sql, timeout_s=timeout_s)
    except UnparsableSQLError:
        return "does not parse"
    except UnsafeSQLError:
        return "refused"
    except QueryTimeout:
        return "timeout"
    except Exception as e:  # a bad prediction never raises: sqlite errors, too many rows, overflow...
        return "does not parse" if "syntax error" in str(e) or "incomplete input" in str(e) else "execution error"
    return "match" if results_equal(gold, pred, has_top_level_order_by(gold_sql)) else "wrong result"


def execution_match(db_path: Path | str, pred_sql: str, gold_sql: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> bool:
    """True when the prediction returns the gold result (Spider test-suite semantics); False for any failure."""
    return classify(db_path, pred_sql, gold_sql, timeout_s) == "match"


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
        from helpers.runs import stage_dir

        args.out = str(stage_dir("text2sql") / "database")
    for db_id, path in build_databases(args.src, args.out).items():
        print(f"{db_id}: {path}")


if __name__ == "__main__":
    main()
