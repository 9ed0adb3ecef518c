"""The model registry's catalog tables, and every SQL statement on them.

``models`` (one row per model name, with the types trusted for all its versions),
``model_versions`` (one row per registered version), ``model_aliases`` (where each alias
points) and ``model_alias_history`` (every move). No other module reads or writes these
tables. The moves that must be atomic (a new version number, an alias move, a promotion, a
deletion) are one transaction each, here.
"""
from __future__ import annotations

from typing import Any, Callable

import sqlalchemy as sa

from ..catalog import Catalog, from_json, to_json
from ..shared.errors import Conflict, NotFound
from ..shared.times import now_utc

#: model_versions columns that hold JSON text
JSON_COLUMNS = ("metrics", "params", "signature", "lineage", "libraries", "trusted_types",
                "evaluation")
#: the columns a version row is written with
VERSION_COLUMNS = ("name", "version", "flavour", "artifact_path", "metrics", "params",
                   "signature", "input_example", "task", "lineage", "libraries",
                   "trusted_types", "evaluation", "description", "created_by", "created_at",
                   "artifact_sha256")


_MODELS = sa.table("models", sa.column("name"))


def _lock_model(conn: Any, name: str) -> None:
    """Hold model ``name``'s row until the transaction ends (PostgreSQL: ``SELECT … FOR
    UPDATE``; SQLite's write transaction holds the whole catalog already)."""
    conn.execute(sa.select(_MODELS.c.name).where(_MODELS.c.name == name).with_for_update())


def _ensure_model(conn: Any, name: str, created_at: str) -> None:
    """The model's row exists and, until the transaction ends, is this writer's: version
    numbers and alias moves of one model are taken one writer at a time (PostgreSQL: a row
    lock; SQLite holds the whole catalog's write lock anyway)."""
    conn.execute("INSERT INTO models(name, description, created_by, created_at) "
                 "VALUES (?, '', ?, ?) ON CONFLICT DO NOTHING", (name, conn.who, created_at))
    _lock_model(conn, name)


def _insert_version(conn: Any, row: dict[str, Any]) -> None:
    conn.execute(f"INSERT INTO model_versions({', '.join(VERSION_COLUMNS)}) VALUES "
                 f"({', '.join(':' + c for c in VERSION_COLUMNS)})", row)


# -- versions ----------------------------------------------------------------------------------


def add_version(catalog: Catalog, row: dict[str, Any],
                place: Callable[[int], str]) -> int:
    """Register the next version of ``row["name"]``: inside one write transaction (no other
    process can take the same number) the number is allocated, ``place(version)`` puts the
    artifact where it belongs and returns its path, and the row is written."""
    with catalog.transaction() as conn:
        _ensure_model(conn, row["name"], row["created_at"])
        version = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions "
                               "WHERE name = ?", (row["name"],)).fetchone()[0]
        artifact_path = place(version)
        _insert_version(conn, {**row, "version": version, "artifact_path": artifact_path})
    return version


def restore_version(catalog: Catalog, row: dict[str, Any]) -> None:
    """Write a version row read back from its descriptor file (``lakebook recover``)."""
    with catalog.transaction() as conn:
        _ensure_model(conn, row["name"], row["created_at"] or now_utc())
        _insert_version(conn, {c: row.get(c) for c in VERSION_COLUMNS})


def version_exists(catalog: Catalog, name: str, version: int | None = None) -> bool:
    """Whether model ``name`` has a version (deleted ones count), or version ``version``."""
    if version is None:
        return catalog.scalar("SELECT 1 FROM model_versions WHERE name = ? LIMIT 1",
                              (name,)) is not None
    return catalog.scalar("SELECT 1 FROM model_versions WHERE name = ? AND version = ?",
                          (name, int(version))) is not None


def version_row(catalog: Catalog, name: str, version: int) -> dict[str, Any] | None:
    return catalog.query_one("SELECT * FROM model_versions WHERE name = ? AND version = ?",
                             (name, int(version)))


def latest_live_row(catalog: Catalog, name: str) -> dict[str, Any] | None:
    return catalog.query_one("SELECT * FROM model_versions WHERE name = ? AND deleted = 0 "
                             "ORDER BY version DESC LIMIT 1", (name,))


def version_rows(catalog: Catalog, name: str, include_deleted: bool = False
                 ) -> list[dict[str, Any]]:
    return catalog.query("SELECT * FROM model_versions WHERE name = ? "
                         + ("" if include_deleted else "AND deleted = 0 ")
                         + "ORDER BY version", (name,))


def model_summaries(catalog: Catalog) -> list[dict[str, Any]]:
    """Every model with live versions: versions, latest version, description, creation,
    and the latest version's task, metrics and time."""
    rows = catalog.query(
        "SELECT m.name, m.description, m.created_at, COUNT(v.id) AS versions, "
        "MAX(v.version) AS latest_version FROM models m JOIN model_versions v "
        "ON v.name = m.name AND v.deleted = 0 GROUP BY m.name ORDER BY m.name")
    for row in rows:
        latest = catalog.query_one(
            "SELECT task, metrics, created_at FROM model_versions WHERE name = ? AND "
            "version = ?", (row["name"], row["latest_version"]))
        row["task"] = latest["task"] if latest else None
        row["latest_metrics"] = from_json(latest["metrics"], {}) if latest else {}
        row["updated_at"] = latest["created_at"] if latest else row["created_at"]
    return rows


def delete_version(catalog: Catalog, name: str, number: int, force: bool, who: str
                   ) -> list[str]:
    """Mark a version deleted (its number is never reused). The aliases pointing to it stay
    unless ``force`` (then they are removed, and the history says so); returns them."""
    with catalog.transaction() as conn:
        _lock_model(conn, name)
        aliases = [r[0] for r in conn.execute(
            "SELECT alias FROM model_aliases WHERE name = ? AND version = ?",
            (name, number)).fetchall()]
        if aliases and not force:
            raise Conflict(f"Alias {', '.join(sorted(aliases))} of model {name!r} points to "
                           f"version {number}, so it was not deleted.",
                           "Move the alias first (set_alias), or pass force=True.")
        at = now_utc()
        for alias in aliases:
            conn.execute("DELETE FROM model_aliases WHERE name = ? AND alias = ?", (name, alias))
            _history(conn, name, alias, number, None, who, "version deleted", at)
        conn.execute("UPDATE model_versions SET deleted = 1, deleted_at = ? WHERE name = ? "
                     "AND version = ?", (at, name, number))
    return aliases


def count_models(catalog: Catalog) -> int:
    return catalog.scalar("SELECT COUNT(DISTINCT name) FROM model_versions WHERE deleted = 0")


def counts(catalog: Catalog) -> dict[str, int]:
    """What the registry holds, for ``lh.status()``."""
    return {"models": count_models(catalog)}


# -- trust -------------------------------------------------------------------------------------


def trusted_types(catalog: Catalog, name: str) -> list[str]:
    """The type names trusted for every version of ``name`` (empty for an unknown model)."""
    row = catalog.query_one("SELECT trusted_types FROM models WHERE name = ?", (name,))
    return from_json(row["trusted_types"], []) if row else []


def add_trusted_types(catalog: Catalog, name: str, names: list[str]) -> list[str]:
    """Trust ``names`` for model ``name`` too; returns every type it trusts now."""
    with catalog.transaction() as conn:
        _ensure_model(conn, name, now_utc())
        row = conn.execute("SELECT trusted_types FROM models WHERE name = ?",
                           (name,)).fetchone()
        merged = sorted({*from_json(row[0], []), *names})
        conn.execute("UPDATE models SET trusted_types = ? WHERE name = ?",
                     (to_json(merged), name))
    return merged


def remove_trusted_types(catalog: Catalog, name: str, names: set[str]) -> list[str] | None:
    """Stop trusting ``names`` for model ``name``; what stays (None: no such model)."""
    with catalog.transaction() as conn:
        row = conn.execute("SELECT trusted_types FROM models WHERE name = ?",
                           (name,)).fetchone()
        if row is None:
            return None
        kept = sorted(set(from_json(row[0], [])) - names)
        conn.execute("UPDATE models SET trusted_types = ? WHERE name = ?",
                     (to_json(kept), name))
    return kept


# -- aliases -----------------------------------------------------------------------------------


def aliases(catalog: Catalog, name: str | None = None) -> dict[tuple[str, str], int]:
    """``{(model, alias): version}`` of one model (or of every model)."""
    sql = "SELECT name, alias, version FROM model_aliases"
    rows = catalog.query(sql + " WHERE name = ?", (name,)) if name else catalog.query(sql)
    return {(r["name"], r["alias"]): r["version"] for r in rows}


def alias_version(catalog: Catalog, name: str, alias: str) -> int | None:
    return catalog.scalar("SELECT version FROM model_aliases WHERE name = ? AND alias = ?",
                          (name, alias))


def _history(conn: Any, name: str, alias: str, from_version: int | None,
             to_version: int | None, who: str, reason: str, at: str) -> None:
    conn.execute("INSERT INTO model_alias_history(name, alias, from_version, to_version, who, "
                 "reason, at) VALUES (?,?,?,?,?,?,?)",
                 (name, alias, from_version, to_version, who, reason or "", at))


def _move(conn: Any, name: str, alias: str, number: int, who: str, reason: str) -> int | None:
    """Point the alias at a live version and record the move (inside a transaction);
    returns the version it pointed at before."""
    _lock_model(conn, name)
    row = conn.execute("SELECT deleted FROM model_versions WHERE name = ? AND version = ?",
                       (name, number)).fetchone()
    if row is None:
        raise NotFound(f"Model {name!r} has no version {number}, so alias {alias!r} "
                       "was not moved.", "Pick an existing version (lh.registry.versions(name)).")
    if row[0]:
        raise Conflict(f"Version {number} of model {name!r} was deleted, so alias "
                       f"{alias!r} was not moved to it.", "Pick a live version.")
    current = conn.execute("SELECT version FROM model_aliases WHERE name = ? AND alias = ?",
                           (name, alias)).fetchone()
    at = now_utc()
    conn.execute("INSERT INTO model_aliases(name, alias, version, updated_by, updated_at) "
                 "VALUES (?,?,?,?,?) ON CONFLICT(name, alias) DO UPDATE SET "
                 "version = excluded.version, updated_by = excluded.updated_by, "
                 "updated_at = excluded.updated_at", (name, alias, number, who, at))
    previous = current[0] if current else None
    _history(conn, name, alias, previous, number, who, reason, at)
    return previous


def move_alias(catalog: Catalog, name: str, alias: str, number: int, who: str,
               reason: str = "") -> int | None:
    """Point ``alias`` of ``name`` at version ``number`` atomically, recording the move;
    returns the version it pointed at before (None: it was new)."""
    with catalog.transaction() as conn:
        return _move(conn, name, alias, number, who, reason)


def promote(catalog: Catalog, name: str, version: int, metric: str, alias: str, who: str,
            decide: Callable[[float | None, tuple[int, float | None] | None],
                             tuple[bool, str]]) -> tuple[bool, str]:
    """Compare ``metric`` of ``version`` with the version ``alias`` points at and move the
    alias when ``decide(new value, (current version, its value) or None)`` says so: one
    transaction, so two trainings finishing at once cannot both promote against one old
    version. Returns ``decide``'s answer."""
    with catalog.transaction() as conn:
        row = conn.execute("SELECT metrics FROM model_versions WHERE name = ? AND "
                           "version = ? AND deleted = 0", (name, int(version))).fetchone()
        if row is None:
            raise NotFound(f"Model {name!r} has no live version {version}, so alias "
                           f"{alias!r} was not moved.", "See lh.registry.versions(name).")
        new = from_json(row[0], {}).get(metric)
        current = conn.execute(
            "SELECT v.version, v.metrics FROM model_aliases a JOIN model_versions v "
            "ON v.name = a.name AND v.version = a.version WHERE a.name = ? AND a.alias = ?",
            (name, alias)).fetchone()
        better, why = decide(new, None if current is None else (
            current[0], from_json(current[1], {}).get(metric)))
        if better:
            _move(conn, name, alias, int(version), who, why)
    return better, why


def remove_alias(catalog: Catalog, name: str, alias: str, who: str, reason: str) -> int:
    """Remove ``alias`` (kept in the history as a move to nothing); returns the version it
    pointed at."""
    with catalog.transaction() as conn:
        _lock_model(conn, name)
        current = conn.execute("SELECT version FROM model_aliases WHERE name = ? AND "
                               "alias = ?", (name, alias)).fetchone()
        if current is None:
            raise NotFound(f"Model {name!r} has no alias {alias!r}.",
                           "See lh.registry.aliases(name).")
        conn.execute("DELETE FROM model_aliases WHERE name = ? AND alias = ?", (name, alias))
        _history(conn, name, alias, current[0], None, who, reason, now_utc())
    return current[0]


def restore_alias(catalog: Catalog, name: str, alias: str, version: int) -> None:
    """Point an alias as its descriptor file says (``lakebook recover``; no history)."""
    catalog.execute("INSERT INTO model_aliases(name, alias, version, updated_by, updated_at) "
                    "VALUES (?,?,?,?,?)", (name, alias, int(version), catalog.who, now_utc()))


def alias_history(catalog: Catalog, name: str, alias: str | None = None
                  ) -> list[dict[str, Any]]:
    if alias is None:
        return catalog.query("SELECT * FROM model_alias_history WHERE name = ? ORDER BY id",
                             (name,))
    return catalog.query("SELECT * FROM model_alias_history WHERE name = ? AND alias = ? "
                         "ORDER BY id", (name, alias))
