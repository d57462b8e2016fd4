"""The data in Spider's layout: build the SQLite databases, write tables.json, load the examples; the command line
(`python -m helpers.sql build-dbs | tables`)."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from ..env.runs import stage_dir

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "text2sql"
_TYPE_WORDS = (("int", "number"), ("real", "number"), ("floa", "number"), ("doub", "number"), ("num", "number"),
               ("dec", "number"), ("date", "time"), ("time", "time"), ("bool", "boolean"), ("char", "text"),
               ("text", "text"), ("clob", "text"))


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
        args.out = str(stage_dir("text2sql") / "database")
    for db_id, path in build_databases(args.src, args.out).items():
        print(f"{db_id}: {path}")

