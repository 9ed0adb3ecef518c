"""The databases a catalog can live in, one registry entry each (SQLite, PostgreSQL).

``[catalog] url`` in lakebook.toml names the database (``postgresql://user@host/lakebook``);
without it the catalog is ``<home>/catalog.db`` (SQLite). Each backend builds a SQLAlchemy
engine (SQLAlchemy does the dialects: Lakebook writes no dialect layer of its own) and turns
its driver's failures into one sentence naming the database and what to do.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa

from ..shared.plugins import Registry

BUSY_TIMEOUT_MS = 30_000
#: seconds a PostgreSQL connection attempt may take before the catalog counts as unreachable
CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True)
class Backend:
    """How one kind of database becomes an engine, and how its failures are told."""

    name: str
    make_engine: Callable[[sa.URL], sa.Engine]
    #: the catalog's name in messages ("the catalog at HOST:PORT/DB", "the catalog FILE")
    describe: Callable[[sa.URL], str]
    #: a driver error -> a sentence naming the catalog and what to do (None: not a
    #: connection problem, let it through)
    explain: Callable[[sa.URL, BaseException], tuple[str, str] | None]


BACKENDS: Registry[Backend] = Registry("catalog database", "catalog", "url")


# -- SQLite ------------------------------------------------------------------------------------


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000,
                                                 "check_same_thread": False},
                              poolclass=sa.pool.QueuePool, pool_size=5, max_overflow=10)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # pragmas here: on a SQLAlchemy connection they would autobegin a transaction first
        dbapi_conn.isolation_level = None  # SQLAlchemy's begin event says BEGIN, not pysqlite
        dbapi_conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        dbapi_conn.execute("PRAGMA journal_mode = WAL")
        dbapi_conn.execute("PRAGMA synchronous = NORMAL")
        dbapi_conn.execute("PRAGMA foreign_keys = ON")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # writers take the write lock up front (IMMEDIATE): a writer waits for another instead
        # of failing on a lock upgrade, and a read-then-write claim is exactly once
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'DEFERRED')}")

    return engine


def _sqlite_describe(url: sa.URL) -> str:
    return f"the catalog {url.database}"


def _sqlite_explain(url: sa.URL, exc: BaseException) -> tuple[str, str] | None:
    return None  # SQLite's failures (damage, newer schema) are told by Catalog itself


BACKENDS.register("sqlite", Backend("sqlite", _sqlite_engine, _sqlite_describe, _sqlite_explain))


# -- PostgreSQL --------------------------------------------------------------------------------


def _pg_engine(url: sa.URL) -> sa.Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    # pre_ping: a connection the server dropped is replaced at checkout, not raised mid-call
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                            pool_recycle=1800,
                            connect_args={"connect_timeout": CONNECT_TIMEOUT_S})


def _pg_describe(url: sa.URL) -> str:
    return f"the catalog at {url.host or 'localhost'}:{url.port or 5432}/{url.database}"


def _pg_explain(url: sa.URL, exc: BaseException) -> tuple[str, str] | None:
    """psycopg gives no SQLSTATE for connect failures, so libpq's text says which it was."""
    if not isinstance(exc, sa.exc.OperationalError):
        return None
    where = _pg_describe(url)
    where = where[0].upper() + where[1:]
    text = str(exc.orig or exc)
    first = text.strip().splitlines()[0] if text.strip() else text
    fix = "fix [catalog] url in lakebook.toml (postgresql://user:password@host:port/database)."
    if "password authentication failed" in text or ("role" in text and "does not exist" in text):
        return (f"{where} refused user {url.username!r} (wrong user name or password).",
                "Check the user and password in [catalog] url, or ask the database's "
                "administrator for a login.")
    if "database" in text and "does not exist" in text:
        return (f"{where} has no database {url.database!r}.",
                f"Create it (createdb {url.database}) or {fix}")
    if any(s in text for s in ("Connection refused", "timeout expired", "failed to resolve host",
                               "could not translate host", "No route to host",
                               "server closed the connection", "terminating connection",
                               "connection is closed", "Network is unreachable")):
        return (f"{where} is unreachable ({first.split('failed: ')[-1].strip()}).",
                "Check that PostgreSQL runs there and accepts connections from this machine, "
                "or " + fix)
    return None


BACKENDS.register("postgresql", Backend("postgresql", _pg_engine, _pg_describe, _pg_explain))


def parse_url(url: str | Path) -> sa.URL:
    """A catalog URL or a SQLite file path as a SQLAlchemy URL (the password kept)."""
    if isinstance(url, Path) or "://" not in str(url):
        return sa.URL.create("sqlite", database=str(Path(url)))
    from ..shared.errors import InvalidInput
    try:
        parsed = sa.make_url(str(url))
    except sa.exc.ArgumentError:
        raise InvalidInput(f"[catalog] url {url!r} is not a database URL.",
                           'Use e.g. url = "postgresql://user:password@host:5432/lakebook".'
                           ) from None
    return parsed


def backend_for(url: sa.URL) -> Backend:
    """The registered backend of ``url``'s database (``postgresql+psycopg`` -> postgresql)."""
    return BACKENDS.get(url.get_backend_name())


def safe_url(url: sa.URL) -> str:
    """The URL as it may be shown (the password hidden)."""
    return url.render_as_string(hide_password=True)
