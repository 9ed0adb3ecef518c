"""The catalog: one code path over SQLite (the laptop default) and PostgreSQL (a team).

SQLAlchemy Core does the dialects and the connection pool. The areas' SQL (each area's
``records.py``) is portable SQL run as :func:`sqlalchemy.text`: ``?`` (positional) or
``:name`` parameters, ``INSERT … ON CONFLICT … DO UPDATE/NOTHING``, ``RETURNING id``; a query
that differs by database (a claim's ``FOR UPDATE SKIP LOCKED``) is built with SQLAlchemy Core.

Writes are transactions (:meth:`Catalog.transaction`): on SQLite ``BEGIN IMMEDIATE`` (WAL lets
readers run beside one writer, and a writer waits instead of failing on a lock upgrade); on
PostgreSQL READ COMMITTED with row locks. A connection the server dropped is replaced
(``pool_pre_ping``) and a read is retried; what still fails is one sentence naming the catalog
and what to do. Every write knows who makes it (:attr:`Catalog.who`).
"""
from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import threading
import time
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence

import sqlalchemy as sa

from ..shared import jsonsafe
from ..shared.errors import CatalogError, InvalidInput
from ..shared.identity import user_name
from ..shared.times import now_utc
from . import migrations as _migrations
from .engines import backend_for, parse_url, safe_url
from .migrator import NewerCatalog, migrate, version_of

MIGRATIONS = _migrations.MIGRATIONS
SCHEMA_VERSION = _migrations.SCHEMA_VERSION
LOCK_RETRIES = 50
#: attempts to reach a catalog server before it is reported unreachable
CONNECT_ATTEMPTS = 3


def to_json(value: Any) -> str:
    return json.dumps(value, default=jsonsafe.default, sort_keys=True)


def from_json(text: str | None, default: Any = None) -> Any:
    return default if text in (None, "") else json.loads(text)


#: SQLite's result codes for a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB
_DAMAGED = {11, 26}


def _driver_error(exc: BaseException) -> BaseException:
    return getattr(exc, "orig", None) or exc


def is_damaged(exc: BaseException) -> bool:
    """Whether a SQLite error says the catalog file is damaged (not a lock or a bad query)."""
    exc = _driver_error(exc)
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _DAMAGED
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def _is_locked(exc: BaseException) -> bool:
    exc = _driver_error(exc)
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def recover_hint(path: Path) -> str:
    """What to do about a catalog that cannot be used: rebuild it from the tables."""
    return (f"Rebuild the catalog from the lakehouse's own tables with `lakebook recover "
            f"--home {Path(path).parent}` (a damaged catalog file is moved aside, never "
            "deleted), or point LAKEBOOK_HOME at another lakehouse.")


class Duplicate(Exception):
    """A write would repeat a unique key (another process wrote it first): the catalog's own
    error, whatever the database behind it, so the areas never catch a driver's exception."""


class Record(dict):
    """A result row: by column name (a dict) and, like a tuple, by position."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return list(self.values())[key]
        return super().__getitem__(key)


def _plain(value: Any) -> Any:
    # PostgreSQL's SUM/AVG answer NUMERIC; the areas expect the numbers SQLite gives
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class Result:
    """What one statement returned (the part of a DB-API cursor the areas use)."""

    def __init__(self, result: sa.CursorResult) -> None:
        self._result = result
        self.rowcount = result.rowcount
        self._rows: list[Record] | None = None
        if result.returns_rows:
            keys = list(result.keys())
            self._rows = [Record(zip(keys, map(_plain, row))) for row in result.fetchall()]

    def fetchall(self) -> list[Record]:
        return list(self._rows or [])

    def fetchone(self) -> Record | None:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        row = self.fetchone()
        return None if row is None else row[0]


_QMARK = re.compile(r"'(?:[^']|'')*'|\?")


@lru_cache(maxsize=2048)
def _compiled(sql: str, positional: bool) -> tuple[sa.TextClause, int]:
    """``sql`` as a text clause: each ``?`` outside string literals becomes ``:_pN``."""
    count = 0
    if positional:
        def bind(match: re.Match) -> str:
            nonlocal count
            if match.group(0) != "?":
                return match.group(0)
            count += 1
            return f":_p{count - 1}"
        sql = _QMARK.sub(bind, sql)
    return sa.text(sql), count


def _bound(sql: str, params: Sequence | dict | None) -> tuple[sa.TextClause, dict[str, Any]]:
    if isinstance(params, dict):
        clause, _ = _compiled(sql, False)
        return clause, {k: _adapt(v) for k, v in params.items()}
    params = tuple(params or ())
    clause, count = _compiled(sql, True)
    if count != len(params):
        raise TypeError(f"{count} placeholders but {len(params)} parameters: {sql}")
    return clause, {f"_p{i}": _adapt(v) for i, v in enumerate(params)}


def _adapt(value: Any) -> Any:
    # flags are INTEGER columns on both databases (PostgreSQL refuses a boolean there)
    return int(value) if isinstance(value, bool) else value


class Connection:
    """One connection inside a transaction: ``execute(sql, params)`` as the areas write it."""

    def __init__(self, conn: sa.Connection, who: str) -> None:
        self._conn = conn
        #: who the writes of this transaction are recorded for
        self.who = who

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._conn.dialect.name

    def execute(self, sql: str | sa.Executable, params: Sequence | dict | None = None
                ) -> Result:
        if isinstance(sql, str):
            clause, bound = _bound(sql, params)
            return Result(self._conn.execute(clause, bound))
        return Result(self._conn.execute(sql, params or {}))


class Catalog:
    """The catalog of one lakehouse: a SQLite file, or a database at a URL
    (``postgresql://user@host/db``), opened and migrated on first use.

    One ``Catalog`` may be shared by the threads of a server (a pool of connections) and
    survives a fork. :meth:`as_user` gives the same catalog writing as another user.
    """

    def __init__(self, location: str | Path, who: str | None = None) -> None:
        self.url = parse_url(location)
        self.backend = backend_for(self.url)
        #: the SQLite file (None for a server database)
        self.path: Path | None = (Path(self.url.database) if self.backend.name == "sqlite"
                                  else None)
        self.who = who or user_name()
        self._shared = _Shared()

    def as_user(self, who: str | None) -> "Catalog":
        """This catalog (same pool), recording ``who`` as the author of its writes."""
        if not who or who == self.who:
            return self
        other = object.__new__(Catalog)
        other.__dict__.update(self.__dict__)
        other.who = who
        return other

    @property
    def is_sqlite(self) -> bool:
        return self.backend.name == "sqlite"

    @property
    def location(self) -> str:
        """Where the catalog is, as it may be shown (no password)."""
        return str(self.path) if self.is_sqlite else safe_url(self.url)

    # -- engine and schema -----------------------------------------------------------------
    def _engine(self) -> sa.Engine:
        shared = self._shared
        if shared.engine is not None and shared.pid == os.getpid():
            return shared.engine
        with shared.lock:
            if shared.engine is not None and shared.pid != os.getpid():
                shared.engine.dispose(close=False)  # a forked child: its own connections
                shared.engine = None
            if shared.engine is None:
                if self.is_sqlite:
                    self._refuse_unusable()
                try:
                    shared.engine = self.backend.make_engine(self.url)
                except ModuleNotFoundError as exc:
                    raise CatalogError(
                        f"{self.backend.describe(self.url).capitalize()} needs the "
                        f"{exc.name} package, which is not installed.",
                        "Install the team extras: pip install 'lakebook[team]'.") from None
                shared.pid = os.getpid()
                shared.migrated = False
            if not shared.migrated:
                self._migrate(shared.engine)
                shared.migrated = True
            return shared.engine

    def _writer(self) -> sa.Engine:
        return self._engine().execution_options(sqlite_begin="IMMEDIATE")

    def _newer(self, current: int) -> CatalogError:
        return CatalogError(
            f"{self.backend.describe(self.url).capitalize()} was written by a newer Lakebook "
            f"(catalog version {current}; this Lakebook reads up to {SCHEMA_VERSION}).",
            "Upgrade Lakebook (pip install -U lakebook) to open it.")

    def _refuse_unusable(self) -> None:
        """Refuse a SQLite file that is not SQLite or is too new, through a read-only
        connection so that nothing (not even the WAL switch) touches the file."""
        if self.path is None or not self.path.exists():
            return
        try:
            probe = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            try:
                current = probe.execute("PRAGMA user_version").fetchone()[0]
                has_table = probe.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'lakebook_schema_version'"
                ).fetchone()
                if has_table:
                    current = max(current, probe.execute(
                        "SELECT MAX(version) FROM lakebook_schema_version").fetchone()[0] or 0)
            finally:
                probe.close()
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"The catalog {self.path} cannot be read ({exc}).",
                               recover_hint(self.path)) from exc
        if current > SCHEMA_VERSION:
            raise self._newer(current)

    def _migrate(self, engine: sa.Engine) -> None:
        def run() -> None:
            migrate(engine.execution_options(sqlite_begin="IMMEDIATE"), MIGRATIONS)
        try:
            with self._errors():
                self._retry(run)
        except NewerCatalog as exc:
            raise self._newer(exc.current) from None
        except CatalogError:
            raise
        except sa.exc.DatabaseError as exc:
            if self.is_sqlite:
                raise CatalogError(f"The catalog {self.path} cannot be read "
                                   f"({_driver_error(exc)}).", recover_hint(self.path)) from exc
            raise

    @property
    def version(self) -> int:
        """The schema version the catalog is at."""
        with self._errors():
            return version_of(self._engine())

    def close(self) -> None:
        """Close every pooled connection (the next use opens new ones)."""
        shared = self._shared
        with shared.lock:
            if shared.engine is not None:
                shared.engine.dispose()
                shared.engine = None

    # -- errors ----------------------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Iterator[None]:
        """A driver's error in the catalog's terms: a repeated unique key is
        :class:`Duplicate`; a number too large is the caller's mistake; damage and an
        unreachable server are a :class:`CatalogError` saying what to do."""
        try:
            yield
        except sa.exc.IntegrityError as exc:
            text = str(_driver_error(exc))
            if "UNIQUE" in text or "PRIMARY KEY" in text or "duplicate key" in text:
                raise Duplicate(text) from exc
            raise
        except (OverflowError, sa.exc.DataError) as exc:
            text = str(_driver_error(exc))
            if isinstance(exc, OverflowError) or "out of range" in text:
                raise InvalidInput("A number given is too large for the catalog (more than "
                                   "2**63-1).", "Use a smaller number.") from None
            raise
        except sa.exc.DBAPIError as exc:
            if self.is_sqlite and is_damaged(exc):
                raise CatalogError(f"The catalog {self.path} is damaged ({_driver_error(exc)}).",
                                   recover_hint(self.path)) from exc
            told = self.backend.explain(self.url, exc)
            if told is not None:
                raise CatalogError(*told) from None
            raise

    def _retry(self, fn):
        """Run ``fn``, again when SQLite was locked past its busy timeout or a server
        connection was lost (the pool hands out a fresh one)."""
        for attempt in range(LOCK_RETRIES):
            try:
                return fn()
            except sa.exc.DBAPIError as exc:
                lost = (not self.is_sqlite and isinstance(exc, sa.exc.OperationalError)
                        and attempt < CONNECT_ATTEMPTS - 1
                        and self.backend.explain(self.url, exc) is not None)
                if not (lost or (_is_locked(exc) and attempt < LOCK_RETRIES - 1)):
                    raise
                time.sleep(min(0.5, 0.01 * (attempt + 1)) * (0.5 + random.random())
                           if not lost else 0.5 * (attempt + 1))

    # -- queries ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: all or nothing. Reads of this catalog in the same thread
        while it is open see its writes."""
        local = self._shared.local
        if getattr(local, "conn", None) is not None:
            raise RuntimeError("catalog transactions do not nest")
        with self._errors():
            writer = self._writer()

            def begin() -> tuple[sa.Connection, Any]:
                conn = writer.connect()
                try:
                    return conn, conn.begin()
                except BaseException:
                    conn.close()
                    raise
            conn, tx = self._retry(begin)
            local.conn = Connection(conn, self.who)
            try:
                yield local.conn
                self._retry(tx.commit)
            except BaseException:
                if tx.is_active:
                    tx.rollback()
                raise
            finally:
                local.conn = None
                conn.close()

    def execute(self, sql: str, params: Sequence | dict | None = ()) -> int | None:
        """Run one write statement in its own transaction; returns what it returned (an
        ``INSERT … RETURNING id``: the new id), else the number of rows it changed."""
        with self.transaction() as conn:
            result = conn.execute(sql, params)
            return result.scalar() if result._rows is not None else result.rowcount

    def _read(self, sql: str | sa.Executable, params: Sequence | dict | None) -> Result:
        current = getattr(self._shared.local, "conn", None)
        if current is not None:
            return current.execute(sql, params)

        def run() -> Result:
            with self._engine().connect() as conn:
                return Connection(conn, self.who).execute(sql, params)
        with self._errors():
            return self._retry(run)

    def query(self, sql: str | sa.Executable, params: Sequence | dict | None = ()
              ) -> list[Record]:
        return self._read(sql, params).fetchall()

    def query_one(self, sql: str | sa.Executable, params: Sequence | dict | None = ()
                  ) -> Record | None:
        return self._read(sql, params).fetchone()

    def exists(self, sql: str, params: Sequence | dict | None = ()) -> bool:
        """Whether ``sql`` returns a row (a feature-vector lookup makes one)."""
        return self._read(sql, params).fetchone() is not None

    def scalar(self, sql: str | sa.Executable, params: Sequence | dict | None = ()) -> Any:
        return self._read(sql, params).scalar()

    def readable(self) -> bool:
        """Whether the catalog opens, migrates and (SQLite) passes ``quick_check``."""
        self.scalar("SELECT COUNT(*) FROM meta")
        return not self.is_sqlite or self.scalar("PRAGMA quick_check") == "ok"

    def record_event(self, kind: str, subject: str, payload: dict | None = None) -> int:
        """Append to the audit log (who did what, from which process)."""
        return self.execute(
            "INSERT INTO events(kind, subject, payload, pid, who, created_at) "
            "VALUES (?,?,?,?,?,?) RETURNING id",
            (kind, subject, to_json(payload or {}), os.getpid(), self.who, now_utc()))

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


class _Shared:
    """What the copies :meth:`Catalog.as_user` makes share: the engine and its state."""

    def __init__(self) -> None:
        self.engine: sa.Engine | None = None
        self.pid: int | None = None
        self.migrated = False
        self.lock = threading.RLock()
        self.local = threading.local()
