"""The embedded online store: one SQLite file (``<home>/online.db``) in WAL mode.

Each online table is a SQLite table ``(k TEXT PRIMARY KEY, t INTEGER, v TEXT) WITHOUT ROWID``:
the key tuple's canonical text, the event time in microseconds and the row as JSON. An upsert
is one ``INSERT … ON CONFLICT DO UPDATE … WHERE excluded.t >= t`` per key, so "the newer event
time wins" holds atomically under any number of writing processes. The tables' Arrow schemas
live in ``_lakebook_tables``.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa

from ...shared.quoting import quote_ident
from .base import Encoded, OnlineStore, batches, encode_key, merge_schema

_META = "_lakebook_tables"


class SQLiteOnlineStore(OnlineStore):
    """Online tables in one SQLite file; connections are per thread and per process."""

    backend = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._decoders: dict[tuple[str, bytes], object] = {}

    # -- connection ------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                               check_same_thread=False, cached_statements=256)
        conn.execute("PRAGMA busy_timeout = 30000")
        # 16 KB pages (for a new file; must precede WAL): bulk upserts ~1.4x faster than with
        # 4 KB pages, single-key lookups unchanged
        conn.execute("PRAGMA page_size = 16384")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        # 64 MB page cache (allocated only as used): a 100k-key upsert stays in memory
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {_META} (name TEXT PRIMARY KEY, "
                     "keys TEXT NOT NULL, event_time TEXT NOT NULL, schema BLOB NOT NULL)")
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- interface -------------------------------------------------------------------------
    def write(self, table: str, keys: list[str], event_time: str, rows: Encoded) -> int:
        if not len(rows):
            return 0
        conn = self._conn()
        name = quote_ident(table)
        changed = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {name} (k TEXT PRIMARY KEY, "
                         "t INTEGER NOT NULL, v TEXT NOT NULL) WITHOUT ROWID")
            stored = self._schema(conn, table)
            merged = merge_schema(stored, rows.schema)
            if stored is None or merged != stored:
                conn.execute(f"INSERT OR REPLACE INTO {_META}(name, keys, event_time, schema) "
                             "VALUES (?,?,?,?)",
                             (table, ",".join(keys), event_time,
                              merged.serialize().to_pybytes()))
            before = conn.total_changes
            conn.executemany(
                f"INSERT INTO {name}(k, t, v) VALUES (?,?,?) ON CONFLICT(k) DO UPDATE "
                f"SET t = excluded.t, v = excluded.v WHERE excluded.t >= {name}.t",
                rows.rows())
            changed = conn.total_changes - before
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return changed

    def get(self, table: str, keys: list[str], key_values: list[tuple]) -> list[dict | None]:
        conn = self._conn()
        decode = self._decoder(conn, table)
        if decode is None:
            return [None] * len(key_values)
        name = quote_ident(table)
        texts = [encode_key(kv) for kv in key_values]
        if len(texts) == 1:
            row = conn.execute(f"SELECT v FROM {name} WHERE k = ?", (texts[0],)).fetchone()
            return [None if row is None else decode(row[0])]
        found: dict[str, str] = {}
        for chunk in batches(sorted(set(texts)), 500):
            marks = ",".join("?" * len(chunk))
            found.update(conn.execute(f"SELECT k, v FROM {name} WHERE k IN ({marks})", chunk))
        return [None if t not in found else decode(found[t]) for t in texts]

    def reset_keys(self, table: str, keys: list[str], event_time: str, key_texts: list[str],
                   rows: Encoded | None) -> int:
        conn = self._conn()
        if self._schema(conn, table) is None:
            if rows is not None and len(rows):  # nothing stored yet: nothing to remove
                self.write(table, keys, event_time, rows)
            return 0
        name = quote_ident(table)
        kept = set(rows.keys) if rows is not None else set()
        removed = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            for chunk in batches([k for k in key_texts if k not in kept], 500):
                before = conn.total_changes
                conn.execute(f"DELETE FROM {name} WHERE k IN ({','.join('?' * len(chunk))})",
                             chunk)
                removed += conn.total_changes - before
            if rows is not None and len(rows):
                conn.executemany(f"INSERT OR REPLACE INTO {name}(k, t, v) VALUES (?,?,?)",
                                 rows.rows())
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return removed

    def drop(self, table: str) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
            conn.execute(f"DELETE FROM {_META} WHERE name = ?", (table,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._forget_decoders(table)

    def schema(self, table: str) -> pa.Schema | None:
        return self._schema(self._conn(), table)

    def count(self, table: str) -> int:
        conn = self._conn()
        if self._schema(conn, table) is None:
            return 0
        return conn.execute(f"SELECT COUNT(*) FROM {quote_ident(table)}").fetchone()[0]

    # -- internals -------------------------------------------------------------------------
    @staticmethod
    def _schema_bytes(conn: sqlite3.Connection, table: str) -> bytes | None:
        row = conn.execute(f"SELECT schema FROM {_META} WHERE name = ?", (table,)).fetchone()
        return None if row is None else bytes(row[0])

    def _schema(self, conn: sqlite3.Connection, table: str) -> pa.Schema | None:
        raw = self._schema_bytes(conn, table)
        return None if raw is None else pa.ipc.read_schema(pa.py_buffer(raw))

    def _decoder(self, conn: sqlite3.Connection, table: str):
        # the schema row is tiny; reading it keeps another process's schema change visible
        raw = self._schema_bytes(conn, table)
        if raw is None:
            return None
        return self._decoder_for(table, raw)


def open_store(lh: Any) -> SQLiteOnlineStore:
    """The SQLite backend of ``lh`` (``<home>/online.db``)."""
    from .backends import ONLINE_DB
    return SQLiteOnlineStore(lh.home / ONLINE_DB)
