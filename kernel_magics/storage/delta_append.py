"""One Delta append, written by pyarrow's Parquet writer and committed by deltalake.

For a batch of a million predictions, deltalake's own writer spent ~0.16 s where pyarrow's
C++ writer (dictionary encoding only on the columns where it pays) plus a deltalake commit of
the file took ~0.10 s: the difference between meeting and missing issue 5's "under 2x bare
``model.predict`` + ``write_deltalake``". The fast path only runs where it is plainly the
same thing as ``write_deltalake(mode="append")``: the table exists, is unpartitioned, uses no
table features beyond reader 1 / writer 2, and the rows have exactly its schema. Anything else
(a new table, a new column to merge, a type to reconcile) goes through ``write_deltalake``.

The file's layout differs from deltalake's where it saves time (see :func:`_layout`).
The file's statistics (row count, per-column min/max/null count) are taken from the Parquet
footer and written into the ``add`` action like deltalake does, so readers still skip files
by event time; timestamps are rounded outwards to milliseconds (Delta's stats precision).
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

#: Delta truncates string statistics; longer values are left out of min/max
_MAX_STAT_STRING = 32


def append(where: Any, table: pa.Table, dictionary: list[str], metadata: dict[str, Any],
           fallback_writer_properties: Any = None) -> None:
    """Append ``table`` to the Delta table at ``where`` (a Location or a local path) as one
    commit whose commitInfo carries ``metadata``; Parquet dictionary encoding for the
    ``dictionary`` columns only. On an object store it is ``write_deltalake`` through the
    storage (the fast path writes local files)."""
    from deltalake import CommitProperties, DeltaTable, Schema, write_deltalake
    from .delta import locate, write
    commit = CommitProperties(custom_metadata=metadata)
    table = _us_timestamps(table)
    loc = locate(where)
    if not loc.storage.is_local:
        write(loc, table, mode="append", schema_mode="merge",
              writer_properties=fallback_writer_properties, commit_properties=commit)
        return
    path = Path(loc.uri)
    if (path / "_delta_log").exists():
        target = DeltaTable(str(path))
        if _plain(target) and _same_schema(target, table, Schema):
            add = _write_file(path, table, dictionary)
            try:
                target.create_write_transaction([add], mode="append", schema=target.schema(),
                                                commit_properties=commit)
            except Exception:
                (path / add.path).unlink(missing_ok=True)  # not committed: not in the table
                raise
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_deltalake(str(path), table, mode="append", schema_mode="merge",
                    writer_properties=fallback_writer_properties, commit_properties=commit)


def _us_timestamps(table: pa.Table) -> pa.Table:
    """Delta stores microseconds: nanosecond columns are cast (as ``write_deltalake`` does)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type) and f.type.unit == "ns":
            table = table.set_column(i, pa.field(f.name, pa.timestamp("us", f.type.tz)),
                                     table.column(i).cast(pa.timestamp("us", f.type.tz),
                                                          safe=False))
    return table


def _plain(target: Any) -> bool:
    protocol = target.protocol()
    return (protocol.min_reader_version == 1 and protocol.min_writer_version <= 2
            and not protocol.reader_features and not protocol.writer_features
            and not target.metadata().partition_columns)


def _same_schema(target: Any, table: pa.Table, schema_cls: Any) -> bool:
    if any(pa.types.is_nested(f.type) for f in table.schema):
        return False
    try:
        return target.schema() == schema_cls.from_arrow(table.schema)
    except Exception:  # a type Delta has no name for: let write_deltalake decide
        return False


def _write_file(path: Path, table: pa.Table, dictionary: list[str]):
    import pyarrow.parquet as pq
    from deltalake.transaction import AddAction
    name = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
    full = path / name
    writer = pq.ParquetWriter(str(full), table.schema, write_statistics=True,
                              use_dictionary=dictionary or False,
                              **_layout(table.schema, set(dictionary)))
    try:
        writer.write_table(table)
    finally:
        writer.close()
    stats = _stats(table, full)
    return AddAction(name, os.path.getsize(full), {}, int(time.time() * 1000), True, stats)


def _layout(schema: pa.Schema, dictionary: set[str]) -> dict[str, Any]:
    """Snappy where it pays (text, dictionary pages); numbers written plain are left
    uncompressed (snappy saved a sixth of their size for a fifth of the write time) and
    timestamps delta-encoded (event times are near-sorted: smaller than snappy, as fast)."""
    compression: dict[str, str] = {}
    encoding: dict[str, str] = {}
    for f in schema:
        numeric = pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or \
            pa.types.is_timestamp(f.type)
        plain = numeric and f.name not in dictionary
        compression[f.name] = "none" if plain else "snappy"
        if plain and pa.types.is_timestamp(f.type):
            encoding[f.name] = "DELTA_BINARY_PACKED"
    return {"compression": compression, "column_encoding": encoding or None}


def _stats(table: pa.Table, full: Path) -> str:
    import pyarrow.parquet as pq
    meta = pq.read_metadata(str(full))
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    for j, field in enumerate(table.schema):
        lo = hi = None
        count = 0
        usable = True
        for rg in range(meta.num_row_groups):
            st = meta.row_group(rg).column(j).statistics
            if st is None:
                usable = False
                break
            count += st.null_count
            if not st.has_min_max:
                continue
            lo = st.min if lo is None else min(lo, st.min)
            hi = st.max if hi is None else max(hi, st.max)
        if not usable:
            continue
        nulls[field.name] = int(count)
        if lo is None:
            continue
        low, high = _stat_value(field.type, lo, False), _stat_value(field.type, hi, True)
        if low is not None and high is not None:
            mins[field.name], maxs[field.name] = low, high
    return json.dumps({"numRecords": table.num_rows, "minValues": mins, "maxValues": maxs,
                       "nullCount": nulls})


def _stat_value(typ: pa.DataType, value: Any, upper: bool) -> Any:
    """A Parquet statistic as Delta writes it (None: leave the column out of min/max)."""
    if pa.types.is_integer(typ):
        return int(value)
    if pa.types.is_floating(typ):
        return float(value) if math.isfinite(value) else None
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return value if len(value) <= _MAX_STAT_STRING else None
    if pa.types.is_date(typ):
        return value.isoformat()
    if pa.types.is_timestamp(typ) and isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        ms = value.replace(microsecond=value.microsecond // 1000 * 1000)
        if upper and ms != value:
            ms += dt.timedelta(milliseconds=1)
        text = ms.isoformat(timespec="milliseconds")
        return text + "Z" if typ.tz is not None else text
    return None


__all__ = ["append"]
