"""Descriptive statistics of the rows of one commit, computed by DuckDB over Arrow.

Per column: count, nulls, approximate distinct count, min and max; for numeric columns also
mean, standard deviation and a 10-bin equal-width histogram. Values are JSON-ready (times as
ISO strings, no NaN/Infinity) so they can live in the catalog and in a Delta commit's metadata.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from ..shared.jsonsafe import plain
from .checks import connect
from ..shared.quoting import quote_ident
from .columns import HIDDEN_PREFIX

BINS = 10
_TABLE = "incoming"


def _is_numeric(typ: pa.DataType) -> bool:
    return pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)


def _orderable(typ: pa.DataType) -> bool:
    return (_is_numeric(typ) or pa.types.is_string(typ) or pa.types.is_temporal(typ)
            or pa.types.is_boolean(typ) or pa.types.is_large_string(typ))


def compute_statistics(table: pa.Table, schema: pa.Schema | None = None) -> dict[str, Any]:
    """Statistics of ``table`` (hidden ``_lb_`` columns left out). ``schema``: the types the
    data is stored as, when ``table`` still has the incoming ones (naive times that are UTC,
    categoricals…)."""
    fields = [f for f in table.schema if not f.name.startswith(HIDDEN_PREFIX)]
    stats: dict[str, Any] = {"rows": table.num_rows, "columns": {}}
    if not fields:
        return stats
    con = connect()
    con.register(_TABLE, table)
    exprs: list[str] = []
    layout: list[tuple[str, list[str]]] = []
    for f in fields:
        q = quote_ident(f.name)
        names = ["count", "distinct"]
        exprs += [f"count({q})", f"approx_count_distinct({q})"]
        if _orderable(f.type):
            names += ["min", "max"]
            exprs += [f"min({q})", f"max({q})"]
        if _is_numeric(f.type):
            names += ["mean", "stddev"]
            exprs += [f"avg({q}::DOUBLE)", f"stddev_samp({q}::DOUBLE)"]
        layout.append((f.name, names))
    row = con.execute(f"SELECT {', '.join(exprs)} FROM {_TABLE}").fetchall()[0]
    values = iter(row)
    numeric_ranges: dict[str, tuple[float, float]] = {}
    for f, (name, names) in zip(fields, layout):
        stored = schema.field(name).type if schema is not None and name in schema.names \
            else f.type
        col = {"type": str(stored)}
        for key in names:
            value = next(values)
            if isinstance(value, datetime) and pa.types.is_timestamp(stored) and stored.tz:
                value = (value.replace(tzinfo=timezone.utc) if value.tzinfo is None
                         else value.astimezone(timezone.utc))
            col[key] = plain(value)
        col["nulls"] = table.num_rows - (col["count"] or 0)
        stats["columns"][name] = col
        if _is_numeric(f.type) and col.get("min") is not None and col.get("max") is not None:
            numeric_ranges[name] = (float(col["min"]), float(col["max"]))
    hist_exprs, hist_meta = [], []
    for name, (lo, hi) in numeric_ranges.items():
        if hi > lo:
            width = (hi - lo) / BINS
            edges = [lo + width * i for i in range(BINS + 1)]
            edges[-1] = hi
        else:
            edges = [lo, hi]
        bounds = ", ".join(repr(e) for e in edges[1:])
        hist_exprs.append(f"histogram({quote_ident(name)}::DOUBLE, [{bounds}]::DOUBLE[])")
        hist_meta.append((name, edges))
    if hist_exprs:
        row = con.execute(f"SELECT {', '.join(hist_exprs)} FROM {_TABLE}").fetchall()[0]
        for (name, edges), counts in zip(hist_meta, row):
            counts = counts or {}
            stats["columns"][name]["histogram"] = {
                "edges": [plain(e) for e in edges],
                "counts": [int(counts.get(b, 0)) for b in edges[1:]]}
    con.close()
    return stats
