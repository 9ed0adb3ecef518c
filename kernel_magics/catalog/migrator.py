"""Bring a catalog to this Lakebook's schema: one runner for SQLite and PostgreSQL.

The version a catalog is at lives in the one-row table ``lakebook_schema_version``. A SQLite
catalog written before that table existed kept its version in ``PRAGMA user_version``; the
runner starts from there, and keeps ``user_version`` equal to the table so that an older
Lakebook still sees that a catalog is newer than it. All steps run in one transaction that
only one migrator holds at a time (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory
lock), so two processes opening a new catalog at once migrate it once.
"""
from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from .migrations import Step

VERSION_TABLE = sa.Table("lakebook_schema_version", sa.MetaData(),
                         sa.Column("version", sa.Integer, nullable=False))
#: the PostgreSQL advisory lock key migrators take (any constant; "lakebook" on a phone pad)
_PG_LOCK = 52532665


class NewerCatalog(Exception):
    """The catalog is at a version this Lakebook does not know."""

    def __init__(self, current: int, known: int) -> None:
        super().__init__(current, known)
        self.current, self.known = current, known


def read_version(conn: sa.Connection) -> int:
    """The version the catalog is at (0: a new, empty database)."""
    version = 0
    if sa.inspect(conn).has_table(VERSION_TABLE.name):
        version = conn.execute(sa.select(VERSION_TABLE.c.version)).scalar() or 0
    if conn.dialect.name == "sqlite":
        version = max(version, conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    return version


def _run_step(conn: sa.Connection, op: Operations, step: Step) -> None:
    if callable(step):
        step(op)
        return
    lines = [line.split("--", 1)[0] for line in step.splitlines()]
    for statement in (s.strip() for s in "\n".join(lines).split(";")):
        if statement:
            conn.exec_driver_sql(statement)


def migrate(writer: sa.Engine, migrations: Sequence[tuple[int, str, Step]]) -> int:
    """Run the steps a catalog lacks; returns the version it is at now. Raises
    :class:`NewerCatalog` (touching nothing) when it is at a version past the last step."""
    known = migrations[-1][0] if migrations else 0
    with writer.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.dbapi_connection  # pragmas on it do not autobegin
        if sqlite:
            # a batch copy of a table others reference fails with foreign keys on, and the
            # pragma is a no-op inside a transaction: off before BEGIN, checked before COMMIT
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                if not sqlite:
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
                current = read_version(conn)  # under the lock: another may have migrated
                if current > known:
                    raise NewerCatalog(current, known)
                if current == known and sa.inspect(conn).has_table(VERSION_TABLE.name):
                    return current
                VERSION_TABLE.create(conn, checkfirst=True)
                if conn.execute(sa.select(sa.func.count()).select_from(VERSION_TABLE)).scalar() == 0:
                    conn.execute(VERSION_TABLE.insert().values(version=current))
                op = Operations(MigrationContext.configure(conn))
                for version, _description, step in migrations:
                    if version > current:
                        _run_step(conn, op, step)
                        current = version
                conn.execute(VERSION_TABLE.update().values(version=current))
                if sqlite:
                    conn.exec_driver_sql(f"PRAGMA user_version = {int(current)}")
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"A catalog migration would break references: {broken}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys = ON")
    return current


def version_of(engine: sa.Engine) -> int:
    """The version a catalog is at, read without changing anything."""
    with engine.connect() as conn:
        return read_version(conn)


def has_schema(conn: Any) -> bool:
    """Whether the database holds a Lakebook catalog (at any version)."""
    return read_version(conn) > 0
