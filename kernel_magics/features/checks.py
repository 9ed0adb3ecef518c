"""Data checks: SQL predicates run by DuckDB over the incoming Arrow table before a commit.

A check is a boolean SQL expression over the group's columns, such as ``amount >= 0``. A row
fails a check when the predicate is false (SQL ``CHECK`` semantics: a null result passes;
write ``amount IS NOT NULL AND amount >= 0`` to refuse nulls). Null keys and null event times
always fail. Checks run on :func:`~kernel_magics.shared.sql_sandbox.sandboxed_connection` (no file
or network access, configuration locked), so a check can read only the data.
"""
from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from ..shared.errors import CheckFailed, InvalidInput
from ..shared.sql_sandbox import sandboxed_connection
from ..shared.jsonsafe import plain
from ..shared.quoting import quote_ident

SAMPLE_ROWS = 3
_TABLE = "incoming"


def connect() -> duckdb.DuckDBPyConnection:
    """The sandboxed DuckDB connection checks (user SQL) and statistics run on."""
    return sandboxed_connection()


def validate_checks(checks: Any, group: str) -> list[str]:
    """The checks as a list of predicates; one that does not parse is refused now (at create
    time), with DuckDB's parser message."""
    if checks is None:
        return []
    if isinstance(checks, str):
        checks = [checks]
    out: list[str] = []
    for check in checks:
        if not isinstance(check, str) or not check.strip():
            raise InvalidInput(f"Check {check!r} of feature group {group!r} is not a SQL "
                               "predicate.", 'Give checks as strings such as "amount >= 0".')
        sql = f"SELECT * FROM {_TABLE} WHERE ({check})"
        try:
            statements = duckdb.extract_statements(sql)
        except duckdb.Error as exc:
            raise InvalidInput(f"Check {check!r} of feature group {group!r} is not valid SQL: "
                               f"{_first_line(exc)}",
                               'A check is one boolean SQL expression, e.g. "amount >= 0 AND '
                               "currency IN ('EUR', 'USD')\".") from None
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise InvalidInput(f"Check {check!r} of feature group {group!r} is not a single "
                               "SQL expression.", "Remove the ';' and write one predicate.")
        out.append(check.strip())
    return out


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def _sample(con: duckdb.DuckDBPyConnection, where: str) -> list[dict[str, Any]]:
    rows = con.sql(f"SELECT * FROM {_TABLE} WHERE {where} LIMIT {SAMPLE_ROWS}").to_arrow_table()
    return _jsonable(rows)


def _jsonable(table: Any) -> list[dict[str, Any]]:
    if isinstance(table, pa.RecordBatchReader):
        table = table.read_all()
    return plain(table.to_pylist())


def _raise(group: str, failures: list[dict[str, Any]], total: int) -> None:
    lines = []
    for f in failures:
        lines.append(f"  {f['check']}: {f['failed']} of {total} rows fail; e.g. "
                     + "; ".join(str(r) for r in f["sample"]))
    exc = CheckFailed(f"Nothing was written to feature group {group!r}: "
                      f"{len(failures)} check(s) failed.\n" + "\n".join(lines),
                      "Fix or filter the failing rows and insert again.")
    exc.failures = failures  # type: ignore[attr-defined]
    raise exc


def run_checks(table: pa.Table, checks: list[str], keys: list[str], event_time: str,
               group: str) -> list[str]:
    """Run null-key/event-time checks (when ``keys`` or ``event_time`` are given) and the
    user's ``checks`` over ``table``; return the checks that passed or raise
    :class:`CheckFailed` with every failure."""
    failures: list[dict[str, Any]] = []
    total = table.num_rows
    required = [*keys, event_time] if event_time else list(keys)
    nulls = {c: table.column(c).null_count for c in required}
    con = None
    if any(nulls.values()) or checks:
        con = connect()
        con.register(_TABLE, table)
    for column, count in nulls.items():
        if count:
            what = "event time" if column == event_time else "key"
            failures.append({"check": f"{column} IS NOT NULL ({what})", "failed": count,
                             "sample": _sample(con, f"{quote_ident(column)} IS NULL")})
    passed = [f"{c} IS NOT NULL" for c in required if not nulls[c]]
    if checks:
        counts = ", ".join(f"count(*) FILTER (WHERE NOT ({c}))" for c in checks)
        try:
            row = con.execute(f"SELECT {counts} FROM {_TABLE}").fetchall()[0]
        except duckdb.Error:
            row = None
        if row is None:  # find which check is at fault, one at a time
            for check in checks:
                try:
                    con.execute(f"SELECT count(*) FROM {_TABLE} WHERE NOT ({check})").fetchall()[0]
                except duckdb.Error as exc:
                    raise InvalidInput(
                        f"Check {check!r} of feature group {group!r} cannot run on this data: "
                        f"{_first_line(exc)}. Nothing was written.",
                        f"Columns are: {', '.join(table.column_names)}. Fix the check or the "
                        "data.") from None
        for check, failed in zip(checks, row or ()):
            if failed:
                failures.append({"check": check, "failed": int(failed),
                                 "sample": _sample(con, f"NOT ({check})")})
            else:
                passed.append(check)
    if con is not None:
        con.close()
    if failures:
        _raise(group, failures, total)
    return passed


def duplicate_rows(table: pa.Table, keys: list[str], event_time: str, group: str) -> None:
    """Refuse an upsert whose data has two rows for one key at one event time (which one
    should win would be a guess)."""
    cols = ", ".join(quote_ident(c) for c in [*keys, event_time])
    con = connect()
    con.register(_TABLE, table)
    row = con.execute(f"SELECT count(*), sum(n) FROM (SELECT count(*) AS n FROM {_TABLE} "
                      f"GROUP BY {cols} HAVING count(*) > 1)").fetchall()[0]
    if row and row[0]:
        sample = _jsonable(con.sql(
            f"SELECT {cols}, count(*) AS rows FROM {_TABLE} GROUP BY {cols} HAVING count(*) > 1 "
            f"LIMIT {SAMPLE_ROWS}").to_arrow_table())
        con.close()
        exc = CheckFailed(
            f"Nothing was written to feature group {group!r}: the upsert has {row[0]} key and "
            f"event-time pair(s) that appear more than once ({int(row[1])} rows), e.g. "
            + "; ".join(map(str, sample)) + ".",
            "Keep one row per key and event time (df.drop_duplicates(subset=[...], "
            "keep='last')), or insert with mode='append'.")
        exc.failures = [{"check": "unique (keys, event time)", "failed": int(row[1]),  # type: ignore[attr-defined]
                         "sample": sample}]
        raise exc
    con.close()
