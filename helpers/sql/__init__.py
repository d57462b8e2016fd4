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

from .prompts import build_prompt, extract_sql, schema_compact, schema_ddl, schema_sentences
from .readonly import (DEFAULT_TIMEOUT_S, DENIED_FUNCTIONS, MAX_RESULT_BYTES, MAX_ROWS, MAX_VALUE_BYTES, QueryTimeout,
                       ResultTooLarge, UnparsableSQLError, UnsafeSQLError, check_readonly, execute_readonly,
                       normalize_operators)
from .scoring import (DEFAULT_MODE, KINDS, MODES, classify, execution_match, has_top_level_order_by, remove_distinct,
                      replace_cur_year, results_equal, row_order_matters, spider_postprocess)
from .spider import DATA_DIR, build_databases, load_examples, load_tables, main, spider_tables, write_tables_json

# Layer 3, in modules by idea: spider (the data, `python -m helpers.sql`), prompts (schema text, prompt, extract_sql),
# readonly (safe execution), scoring (execution accuracy); helpers.sql.synth (the template questions) sits beside them.
__all__ = ["DATA_DIR", "MAX_ROWS", "MAX_RESULT_BYTES", "MAX_VALUE_BYTES", "DEFAULT_TIMEOUT_S", "MODES",
           "DEFAULT_MODE", "KINDS", "DENIED_FUNCTIONS", "UnsafeSQLError", "UnparsableSQLError", "ResultTooLarge",
           "QueryTimeout", "build_databases", "spider_tables", "write_tables_json", "load_tables", "load_examples",
           "schema_sentences", "schema_compact", "schema_ddl", "build_prompt", "extract_sql", "normalize_operators",
           "check_readonly", "execute_readonly", "spider_postprocess", "remove_distinct", "replace_cur_year",
           "results_equal", "has_top_level_order_by", "row_order_matters", "classify", "execution_match", "main"]
