"""Shrinking large windows before Evidently sees them, without changing the verdict.

Evidently's default drift tests depend on the reference size. Up to 1,000 reference rows it
uses p-value tests (K-S, chi-square, Z) whose result depends on the sample sizes; above that
it uses *distances* between the two distributions — normed Wasserstein for numeric columns
with more than 5 distinct values, Jensen-Shannon for the others — which do not depend on how
many rows carry the distribution. So for large windows we hand Evidently a compact summary of
each column that has (almost exactly) the same distribution:

- numeric columns: the ``k`` mid-point quantiles ``Q((i + 0.5) / k)`` of the non-null, finite
  values (an exact sort of the Arrow buffer). The Wasserstein distance is the integral of
  ``|Q_ref(p) - Q_cur(p)|`` over ``p``, so the summaries' distance is that integral's
  ``k``-point midpoint sum; the std that norms it loses only the outer ``1/(2k)`` tails.
- categorical and low-cardinality columns: exact value counts pre-aggregated in DuckDB
  (``GROUP BY``), expanded to ``k`` rows in proportion (largest remainder), so the shares
  Jensen-Shannon compares are exact to ``1/k``.

The test method of each column is chosen from the *full* data by Evidently's own rule (row
count and number of distinct values, computed in DuckDB) and passed to Evidently explicitly,
so the summary can never make Evidently pick another test. Columns are summarised
independently; the DataDriftPreset tests are univariate, so the lost joint distribution does
not matter. Windows at or under ``SUMMARY_ROWS`` rows, or with a reference of 1,000 rows or
fewer (p-value tests), go to Evidently whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ..shared.quoting import quote_ident

#: windows with more rows than this (either side) are summarised
SUMMARY_ROWS = 100_000
#: rows per column in a summary
SUMMARY_SIZE = 20_000
#: Evidently switches from p-value tests to distances above this many reference rows
EVIDENTLY_SMALL_REFERENCE = 1000


@dataclass
class ColumnStats:
    """What the method choice needs, computed over the full data."""

    reference_rows: int    # non-null, finite values in the reference
    current_rows: int
    distinct: int          # distinct values over both sides


def should_summarize(reference_rows: int, current_rows: int,
                     threshold: int = SUMMARY_ROWS) -> bool:
    return (max(reference_rows, current_rows) > threshold
            and reference_rows > EVIDENTLY_SMALL_REFERENCE)


def column_stats(reference: pa.Table, current: pa.Table, columns: dict[str, str],
                 con: duckdb.DuckDBPyConnection) -> dict[str, ColumnStats]:
    """Per column: non-null counts and distinct values over both sides, in one DuckDB pass
    per side (distinct counts are exact when small, which is where the method rule looks)."""
    con.register("lb_ref", reference)
    con.register("lb_cur", current)
    out: dict[str, ColumnStats] = {}
    counts = {}
    for side in ("lb_ref", "lb_cur"):
        exprs = [f"count({_valid(c, k)})" for c, k in columns.items()]
        counts[side] = con.execute(f"SELECT {', '.join(exprs)} FROM {side}").fetchall()[0]
    for i, (col, kind) in enumerate(columns.items()):
        q = quote_ident(col)
        approx = con.execute(
            f"SELECT approx_count_distinct(v) FROM (SELECT {q} AS v FROM lb_ref UNION ALL "
            f"SELECT {q} FROM lb_cur) WHERE {_valid_pred(col, kind, 'v')}").fetchall()[0][0]
        if approx <= 50:  # make the small counts exact: the rule's cut-off is 5
            approx = con.execute(
                f"SELECT count(DISTINCT v) FROM (SELECT {q} AS v FROM lb_ref UNION ALL "
                f"SELECT {q} FROM lb_cur) WHERE {_valid_pred(col, kind, 'v')}").fetchall()[0][0]
        out[col] = ColumnStats(int(counts["lb_ref"][i]), int(counts["lb_cur"][i]), int(approx))
    con.unregister("lb_ref")
    con.unregister("lb_cur")
    return out


def evidently_method(kind: str, stats: ColumnStats) -> str:
    """Evidently 0.7's default test for a column (``_get_default_stattest``), by name."""
    if stats.reference_rows <= EVIDENTLY_SMALL_REFERENCE:
        if kind == "numerical" and stats.distinct > 5:
            return "ks"
        return "chisquare" if stats.distinct > 2 else "z"
    if kind == "numerical" and stats.distinct > 5:
        return "wasserstein"
    return "jensenshannon"


def summarize(table: pa.Table, columns: dict[str, str], stats: dict[str, ColumnStats],
              con: duckdb.DuckDBPyConnection, size: int = SUMMARY_SIZE) -> pd.DataFrame:
    """A ``size``-row frame per side whose columns carry the same distributions."""
    con.register("lb_side", table)
    data: dict[str, Any] = {}
    for col, kind in columns.items():
        if kind == "numerical" and stats[col].distinct > 50:
            data[col] = _quantiles(table.column(col), size)
        else:
            rows = con.execute(
                f"SELECT {quote_ident(col)} AS v, count(*) AS n FROM lb_side "
                f"WHERE {_valid_pred(col, kind)} GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
            data[col] = _expand(rows, size, kind)
    con.unregister("lb_side")
    return pd.DataFrame(data)


def _quantiles(column: pa.ChunkedArray, size: int) -> np.ndarray:
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_decimal(values.type):
        values = values.cast(pa.float64())
    x = values.drop_null().to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    x = np.sort(x[np.isfinite(x)])
    if len(x) == 0:
        return np.full(size, np.nan)
    index = ((np.arange(size) + 0.5) * len(x) / size).astype(np.int64)
    return x[np.minimum(index, len(x) - 1)]


def _expand(rows: list[tuple[Any, int]], size: int, kind: str) -> np.ndarray:
    """Value counts -> ``size`` values in proportion (largest remainder rounding)."""
    if not rows:
        return np.full(size, np.nan if kind == "numerical" else None, dtype=object)
    values = [r[0] for r in rows]
    counts = np.array([r[1] for r in rows], dtype=np.float64)
    share = counts / counts.sum() * size
    whole = np.floor(share).astype(np.int64)
    missing = size - int(whole.sum())
    if missing > 0:
        order = np.argsort(-(share - whole), kind="stable")[:missing]
        whole[order] += 1
    out = np.repeat(np.array(values, dtype=object), whole)
    if kind == "numerical":
        out = out.astype(np.float64)
    return out


def _valid_pred(col: str, kind: str, expr: str | None = None) -> str:
    q = expr or quote_ident(col)
    if kind == "numerical":
        # Evidently drops NaN and infinities before testing; so do we
        return f"{q} IS NOT NULL AND isfinite(CAST({q} AS DOUBLE))"
    return f"{q} IS NOT NULL"


def _valid(col: str, kind: str) -> str:
    return f"CASE WHEN {_valid_pred(col, kind)} THEN 1 END"


def to_arrow(frame: Any) -> pa.Table:
    """pandas / Arrow / anything with ``to_arrow`` -> an Arrow table."""
    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pd.DataFrame):
        return pa.Table.from_pandas(frame, preserve_index=False)
    if hasattr(frame, "to_arrow"):
        return frame.to_arrow()
    if hasattr(frame, "arrow"):
        return frame.arrow()
    raise TypeError(f"cannot read {type(frame).__name__} as a table")


__all__ = ["SUMMARY_ROWS", "SUMMARY_SIZE", "ColumnStats", "should_summarize", "column_stats",
           "evidently_method", "summarize", "to_arrow"]
