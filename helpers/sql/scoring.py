"""Execution accuracy: run the gold and the predicted query, compare their results in "spider" or "course" mode
(see helpers.sql), and name what happened (KINDS)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from .readonly import (DEFAULT_TIMEOUT_S, QueryTimeout, UnparsableSQLError, UnsafeSQLError, check_readonly,
                       execute_readonly, normalize_operators)

MODES = ("spider", "course")  # how classify / execution_match / results_equal score; see helpers.sql's docstring
DEFAULT_MODE = "spider"  # what the chapter reports: comparable with published Spider execution accuracy
KINDS = ("match", "wrong result", "execution error", "timeout", "refused", "does not parse")

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
