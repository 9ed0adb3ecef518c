"""SQLite access shared by every process that opens one lakehouse.

WAL mode lets readers run beside one writer; writes take ``BEGIN IMMEDIATE`` so a writer
waits (busy timeout) instead of failing on a lock upgrade, and a short retry loop absorbs the
rare ``database is locked`` that still escapes under heavy contention.
"""
from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..shared import jsonsafe
from ..shared.errors import CatalogError, InvalidInput
from ..shared.times import now_utc
from .migrations import MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 30_000
LOCK_RETRIES = 50


def to_json(value: Any) -> str:
    return json.dumps(value, default=jsonsafe.default, sort_keys=True)


def from_json(text: str | None, default: Any = None) -> Any:
    return default if text in (None, "") else json.loads(text)


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


#: SQLite's result codes for a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB
_DAMAGED = {11, 26}


def is_damaged(exc: BaseException) -> bool:
    """Whether a SQLite error says the catalog file is damaged (not a lock or a bad query)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _DAMAGED
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def recover_hint(path: Path) -> str:
    """What to do about a catalog that cannot be used: rebuild it from the tables."""
    return (f"Rebuild the catalog from the lakehouse's own tables with `lakebook recover "
            f"--home {Path(path).parent}` (a damaged catalog file is moved aside, never "
            "deleted), or point LAKEBOOK_HOME at another lakehouse.")


class Duplicate(Exception):
    """A write would repeat a unique key (another process wrote it first): the catalog's own
    error, whatever the database behind it, so the areas never catch a driver's exception."""


@contextmanager
def _catalog_errors(path: Path) -> Iterator[None]:
    """Damaged pages become a CatalogError with its hint; a number SQLite cannot store (more
    than 2**63-1) is the caller's mistake; a repeated unique key is :class:`Duplicate`."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
            raise Duplicate(str(exc)) from exc
        raise
    except OverflowError:
        raise InvalidInput("A number given is too large for the catalog (more than "
                           "2**63-1).", "Use a smaller number.") from None
    except sqlite3.DatabaseError as exc:
        if is_damaged(exc):
            raise CatalogError(f"The catalog {path} is damaged ({exc}).",
                               recover_hint(path)) from exc
        raise


class Catalog:
    """The lakehouse catalog at ``path`` (a SQLite file), opened and migrated on first use.

    Connections are per thread and per process, so one ``Catalog`` may be shared by the
    threads of a Jupyter server and survives a fork.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._migrate_lock = threading.Lock()
        self._migrated = False

    # -- connections -----------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        if not self._migrated:
            self._refuse_unusable()
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"The catalog {self.path} cannot be read ({exc}).",
                               recover_hint(self.path)) from exc
        self._local.conn, self._local.pid = conn, os.getpid()
        if not self._migrated:
            self._migrate(conn)
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @staticmethod
    def _retry(fn):
        for attempt in range(LOCK_RETRIES):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or attempt == LOCK_RETRIES - 1:
                    raise
                time.sleep(min(0.5, 0.01 * (attempt + 1)) * (0.5 + random.random()))

    # -- schema ----------------------------------------------------------------------------
    def _refuse_unusable(self) -> None:
        """Refuse a catalog that is not SQLite or is too new, through a read-only connection
        so that nothing (not even the WAL switch) touches the file."""
        if not self.path.exists():
            return
        try:
            probe = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            try:
                current = probe.execute("PRAGMA user_version").fetchone()[0]
            finally:
                probe.close()
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"The catalog {self.path} cannot be read ({exc}).",
                               recover_hint(self.path)) from exc
        if current > SCHEMA_VERSION:
            raise CatalogError(
                f"The catalog {self.path} was written by a newer Lakebook "
                f"(catalog version {current}; this Lakebook reads up to {SCHEMA_VERSION}).",
                "Upgrade Lakebook (pip install -U lakebook) to open it.")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with self._migrate_lock:
            if self._migrated:
                return
            try:
                current = conn.execute("PRAGMA user_version").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                raise CatalogError(f"The catalog {self.path} cannot be read ({exc}).",
                                   recover_hint(self.path)) from exc
            if current > SCHEMA_VERSION:
                raise CatalogError(
                    f"The catalog {self.path} was written by a newer Lakebook "
                    f"(catalog version {current}; this Lakebook reads up to {SCHEMA_VERSION}).",
                    "Upgrade Lakebook (pip install -U lakebook) to open it.")
            if current < SCHEMA_VERSION:
                def upgrade() -> None:
                    conn.execute("BEGIN EXCLUSIVE")
                    try:
                        # re-read under the lock: another process may have migrated first
                        at = conn.execute("PRAGMA user_version").fetchone()[0]
                        for version, _desc, sql in MIGRATIONS:
                            if version > at:
                                for statement in _split_sql(sql):
                                    conn.execute(statement)
                                conn.execute(f"PRAGMA user_version = {int(version)}")
                        conn.execute(
                            "INSERT OR REPLACE INTO meta(key, value) VALUES ('migrated_at', ?)",
                            (now_utc(),))
                        conn.execute("COMMIT")
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                self._retry(upgrade)
            self._migrated = True

    @property
    def version(self) -> int:
        with _catalog_errors(self.path):
            return self._connection().execute("PRAGMA user_version").fetchone()[0]

    # -- queries ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): all or nothing."""
        with _catalog_errors(self.path):
            conn = self._connection()
            self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                self._retry(lambda: conn.execute("COMMIT"))

    def execute(self, sql: str, params: tuple | dict = ()) -> int:
        """Run one write statement in its own transaction; returns ``lastrowid``."""
        with self.transaction() as conn:
            return conn.execute(sql, params).lastrowid

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        with _catalog_errors(self.path):
            conn = self._connection()
            rows = self._retry(lambda: conn.execute(sql, params).fetchall())
        return [dict(r) for r in rows]

    def query_one(self, sql: str, params: tuple | dict = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def exists(self, sql: str, params: tuple | dict = ()) -> bool:
        """Whether ``sql`` returns a row: the cheap check for hot paths (a feature-vector
        lookup makes one), falling back to the careful path on any SQLite error."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            try:
                return conn.execute(sql, params).fetchone() is not None
            except sqlite3.Error:
                pass
        return self.scalar(sql, params) is not None

    def scalar(self, sql: str, params: tuple | dict = ()) -> Any:
        with _catalog_errors(self.path):
            row = self._retry(lambda: self._connection().execute(sql, params).fetchone())
        return None if row is None else row[0]

    def readable(self) -> bool:
        """Whether the catalog opens, migrates and passes SQLite's ``quick_check``."""
        self.scalar("SELECT COUNT(*) FROM meta")
        return self.scalar("PRAGMA quick_check") == "ok"

    def record_event(self, kind: str, subject: str, payload: dict | None = None) -> int:
        """Append to the audit log (who did what, from which process)."""
        return self.execute(
            "INSERT INTO events(kind, subject, payload, pid, created_at) VALUES (?,?,?,?,?)",
            (kind, subject, to_json(payload or {}), os.getpid(), now_utc()))

    def events(self, kind: str | None = None, limit: int | None = 100,
               subject: str | None = None) -> list[dict[str, Any]]:
        """Audit-log entries, newest first (of one ``kind`` and ``subject`` when given;
        ``limit=None``: all of them)."""
        where, params = [], []
        for column, value in (("kind", kind), ("subject", subject)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM events" + (f" WHERE {' AND '.join(where)}" if where else "")
        sql += " ORDER BY id DESC" + (" LIMIT ?" if limit is not None else "")
        rows = self.query(sql, (*params, *([limit] if limit is not None else [])))
        for row in rows:
            row["payload"] = from_json(row["payload"], {})
        return rows


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script (comments dropped; no string literal holds ``--``
    or a semicolon)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
