"""Copy a whole catalog into another database (``lakebook migrate``), row for row.

Generic over the catalog's tables (read from the source database's own schema, in the order
foreign keys need): each area's rows move as they are, with their ids, so every reference
(commits to groups, runs to schedules, results to alerts) still holds. The check afterwards
compares every row of every table.
"""
from __future__ import annotations

from typing import Any, Iterator

import sqlalchemy as sa

from .db import Catalog
from .migrator import VERSION_TABLE

#: bookkeeping tables each catalog keeps for itself (the target migrates its own)
_OWN = {VERSION_TABLE.name, "meta", "sqlite_sequence"}
_BATCH = 1000


def _tables(engine: sa.Engine) -> list[sa.Table]:
    metadata = sa.MetaData()
    metadata.reflect(engine)
    return [t for t in metadata.sorted_tables if t.name not in _OWN]


def holds_data(catalog: Catalog) -> list[str]:
    """The catalog tables that hold rows (empty for a new catalog)."""
    engine = catalog._engine()
    with engine.connect() as conn:
        return [t.name for t in _tables(engine)
                if conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()]


def _rows(conn: sa.Connection, table: sa.Table) -> Iterator[dict[str, Any]]:
    order = list(table.primary_key.columns) or list(table.columns)
    result = conn.execution_options(yield_per=_BATCH).execute(
        sa.select(table).order_by(*order))
    for row in result:
        yield dict(row._mapping)


def copy_rows(source: Catalog, target: Catalog) -> dict[str, int]:
    """Copy every row of ``source`` into ``target`` (migrated, empty) in one transaction;
    returns the rows copied per table."""
    src_engine, dst_engine = source._engine(), target._engine()
    src_tables = _tables(src_engine)
    dst_meta = sa.MetaData()
    dst_meta.reflect(dst_engine)
    copied: dict[str, int] = {}
    with src_engine.connect() as src, target._writer().begin() as dst:
        for table in src_tables:
            into = dst_meta.tables[table.name]
            columns = [c.name for c in table.columns if c.name in into.columns]
            batch: list[dict[str, Any]] = []
            count = 0
            for row in _rows(src, table):
                batch.append({c: row[c] for c in columns})
                if len(batch) >= _BATCH:
                    dst.execute(into.insert(), batch)
                    count += len(batch)
                    batch = []
            if batch:
                dst.execute(into.insert(), batch)
                count += len(batch)
            copied[table.name] = count
            _advance_ids(dst, into)
    return copied


def _advance_ids(conn: sa.Connection, table: sa.Table) -> None:
    """After rows came with their ids, the next id PostgreSQL gives must follow them
    (SQLite takes MAX(id) + 1 by itself)."""
    if conn.dialect.name != "postgresql" or "id" not in table.columns:
        return
    if not isinstance(table.c.id.type, sa.Integer):
        return
    conn.execute(sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), "
                         "COALESCE((SELECT MAX(id) FROM " + conn.dialect.identifier_preparer
                         .quote(table.name) + "), 0) + 1, false)"), {"t": table.name})


def differences(source: Catalog, target: Catalog) -> list[str]:
    """Every table compared row by row (values as the source holds them); the tables and
    first rows that differ, empty when the copy is exact."""
    src_engine, dst_engine = source._engine(), target._engine()
    dst_meta = sa.MetaData()
    dst_meta.reflect(dst_engine)
    found = []
    with src_engine.connect() as src, dst_engine.connect() as dst:
        for table in _tables(src_engine):
            into = dst_meta.tables.get(table.name)
            if into is None:
                found.append(f"{table.name}: missing in the target")
                continue
            columns = [c.name for c in table.columns]
            keys = [c.name for c in table.primary_key.columns] or columns
            # matched by key in Python: the two databases may sort text differently
            theirs = {tuple(r[k] for k in keys): r for r in _rows(dst, into)}
            mine_count = 0
            for mine in _rows(src, table):
                mine_count += 1
                other = theirs.get(tuple(mine[k] for k in keys))
                if other is None or not all(_same(mine[c], other.get(c)) for c in columns):
                    found.append(f"{table.name}: the row {_key(table, mine)} differs")
                    break
            if len(theirs) != mine_count and not found:
                found.append(f"{table.name}: {mine_count} rows here, {len(theirs)} there")
    return found


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) <= 1e-9 * max(
            1.0, abs(float(a)))
    return a == b


def _key(table: sa.Table, row: dict[str, Any]) -> str:
    keys = [c.name for c in table.primary_key.columns] or list(row)[:1]
    return ", ".join(f"{k}={row[k]!r}" for k in keys)
