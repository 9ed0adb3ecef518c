"""The feature store's catalog tables, and every SQL statement on them.

``feature_groups`` (one row per group version), ``feature_group_commits`` (one row per Delta
commit of a group), ``feature_views`` (one row per view version) and ``online_pending``
(online updates an insert still owes the online store). No other module reads or writes
these tables: the rest of Lakebook goes through the feature store's API. Statements are
portable SQL (SQLite and PostgreSQL), grouped by table.
"""
from __future__ import annotations

from typing import Any, Callable

from ..catalog import Catalog, from_json, to_json
from ..shared.errors import NotFound
from ..shared.times import now_utc

# -- feature_groups ----------------------------------------------------------------------------


def insert_group(catalog: Catalog, name: str, version: int | None, keys: list[str],
                 event_time: str, online: bool, description: str, checks: list[str],
                 before_insert: Callable[[int], None] = lambda version: None,
                 embeddings: dict[str, Any] | None = None) -> int:
    """Add a group version (``version=None``: the next one) and return its number.

    ``before_insert(version)`` runs inside the transaction once the number is known (it may
    refuse by raising). A version that exists already raises ``catalog.Duplicate``."""
    now = now_utc()
    with catalog.transaction() as conn:
        if version is None:
            version = 1 + conn.execute(
                "SELECT COALESCE(MAX(version), 0) FROM feature_groups WHERE name = ?",
                (name,)).fetchone()[0]
        before_insert(version)
        conn.execute(
            "INSERT INTO feature_groups(name, version, keys, event_time, online, description,"
            " checks, schema, table_path, created_by, created_at, updated_at, embeddings)"
            " VALUES (?,?,?,?,?,?,?,NULL,?,?,?,?,?)",
            (name, version, to_json(keys), event_time, int(bool(online)), description or "",
             to_json(checks), f"tables/{name}_v{version}", conn.who, now, now,
             to_json(embeddings or {})))
    return version


def restore_group(catalog: Catalog, definition: dict[str, Any], table_path: str) -> dict[str, Any]:
    """Add a group version from the definition its Delta table carries (``lakebook
    recover``); returns its row."""
    now = now_utc()
    gid = catalog.execute(
        "INSERT INTO feature_groups(name, version, keys, event_time, online, description,"
        " checks, schema, table_path, commit_seq, created_by, created_at, updated_at,"
        " embeddings) VALUES (?,?,?,?,?,?,?,NULL,?,0,?,?,?,?) RETURNING id",
        (definition["name"], int(definition["version"]), to_json(definition["keys"]),
         definition["event_time"], int(bool(definition.get("online"))),
         definition.get("description") or "", to_json(definition.get("checks") or []),
         table_path, definition.get("created_by") or catalog.who,
         definition.get("created_at") or now, now,
         to_json(definition.get("embeddings") or {})))
    return catalog.query_one("SELECT * FROM feature_groups WHERE id = ?", (gid,))


def group_row(catalog: Catalog, group_id: int) -> dict[str, Any] | None:
    return catalog.query_one("SELECT * FROM feature_groups WHERE id = ?", (group_id,))


def group_exists(catalog: Catalog, name: str, version: int) -> bool:
    return bool(catalog.scalar("SELECT COUNT(*) FROM feature_groups WHERE name = ? AND "
                               "version = ?", (name, version)))


def _latest_versions(catalog: Catalog, table: str, all_versions: bool) -> list[dict[str, Any]]:
    """Rows of ``table`` (feature_groups or feature_views) by name: the latest version of
    each, or every version."""
    if all_versions:
        return catalog.query(f"SELECT * FROM {table} ORDER BY name, version")
    return catalog.query(
        f"SELECT t.* FROM {table} t JOIN (SELECT name, MAX(version) AS v FROM {table}"
        " GROUP BY name) m ON t.name = m.name AND t.version = m.v ORDER BY t.name")


def list_groups(catalog: Catalog, all_versions: bool = False) -> list[dict[str, Any]]:
    """Group rows by name: the latest version of each (or every version)."""
    return _latest_versions(catalog, "feature_groups", all_versions)


def group_versions(catalog: Catalog, name: str) -> list[dict[str, Any]]:
    """Every version of group ``name`` with its commit count, rows and Delta version."""
    rows = catalog.query(
        "SELECT g.version, g.keys, g.event_time, g.online, g.schema, g.created_by, g.created_at,"
        " COUNT(c.id) AS commits, COALESCE(SUM(c.rows), 0) AS rows_written,"
        " MAX(c.delta_version) AS delta_version"
        " FROM feature_groups g LEFT JOIN feature_group_commits c ON c.group_id = g.id"
        " WHERE g.name = ? GROUP BY g.id ORDER BY g.version", (name,))
    for r in rows:
        r["keys"] = from_json(r["keys"], [])
        r["schema"] = from_json(r["schema"])
        r["online"] = bool(r["online"])
    return rows


def next_commit_seq(catalog: Catalog, group_id: int) -> int | None:
    """Take the next insert sequence number of a group (None: the group is gone)."""
    with catalog.transaction() as conn:
        conn.execute("UPDATE feature_groups SET commit_seq = commit_seq + 1 WHERE id = ?",
                     (group_id,))
        row = conn.execute("SELECT commit_seq FROM feature_groups WHERE id = ?",
                           (group_id,)).fetchone()
    return None if row is None else int(row[0])


def set_recovered_fields(catalog: Catalog, group_id: int, schema: Any = None,
                         commit_seq: int | None = None) -> None:
    """What recovery read from a table itself: its schema, its last sequence number."""
    with catalog.transaction() as conn:
        if schema is not None:
            conn.execute("UPDATE feature_groups SET schema = ? WHERE id = ?",
                         (to_json(schema), group_id))
        if commit_seq is not None:
            conn.execute("UPDATE feature_groups SET commit_seq = ? WHERE id = ?",
                         (commit_seq, group_id))


def delete_group(catalog: Catalog, group_id: int) -> None:
    """Remove a group version (its commits and pending updates go with it)."""
    catalog.execute("DELETE FROM feature_groups WHERE id = ?", (group_id,))


def count_groups(catalog: Catalog) -> int:
    return catalog.scalar("SELECT COUNT(*) FROM feature_groups")


# -- feature_group_commits ---------------------------------------------------------------------


def record_commit(catalog: Catalog, group_id: int, delta_version: int, meta: dict[str, Any],
                  recovered: bool) -> None:
    """Record a landed Delta commit of a group and what it changed in the group: the schema
    (it only grows), the last sequence number, the update time. When another process recorded
    it from the log first, the writer's own record wins (it is not a recovery)."""
    schema = meta.get("schema")
    with catalog.transaction() as conn:
        conn.execute(
            "INSERT INTO feature_group_commits(group_id, delta_version, commit_seq,"
            " mode, rows, recovered, statistics, lineage, checks_passed, duration_s, who,"
            " created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(group_id, delta_version) DO UPDATE SET"
            " recovered = CASE WHEN excluded.recovered < feature_group_commits.recovered"
            " THEN excluded.recovered ELSE feature_group_commits.recovered END,"
            " duration_s = COALESCE(excluded.duration_s, feature_group_commits.duration_s),"
            " who = CASE WHEN excluded.recovered = 0 THEN excluded.who"
            " ELSE feature_group_commits.who END",
            (group_id, delta_version, meta.get("seq"), meta.get("mode", "unknown"),
             int(meta.get("rows") or 0), int(recovered), to_json(meta.get("statistics") or {}),
             to_json(meta.get("lineage") or {}), to_json(meta.get("checks_passed") or []),
             meta.get("duration_s"), meta.get("who") or conn.who,
             meta.get("created_at") or now_utc()))
        row = conn.execute("SELECT schema, commit_seq FROM feature_groups WHERE id = ?",
                           (group_id,)).fetchone()
        if row is None:
            return
        current = from_json(row[0])
        if schema and (current is None or len(schema) > len(current)):
            conn.execute("UPDATE feature_groups SET schema = ? WHERE id = ?",
                         (to_json(schema), group_id))
        seq = meta.get("seq")
        if seq is not None and seq > row[1]:
            conn.execute("UPDATE feature_groups SET commit_seq = ? WHERE id = ?",
                         (seq, group_id))
        conn.execute("UPDATE feature_groups SET updated_at = ? WHERE id = ?",
                     (now_utc(), group_id))


def recorded_delta_versions(catalog: Catalog, group_id: int) -> set[int]:
    return {r["delta_version"] for r in catalog.query(
        "SELECT delta_version FROM feature_group_commits WHERE group_id = ?", (group_id,))}


def commits(catalog: Catalog, group_id: int) -> list[dict[str, Any]]:
    """A group's commits, newest first (statistics left out)."""
    rows = catalog.query(
        "SELECT delta_version, commit_seq, mode, rows, recovered, checks_passed, lineage,"
        " duration_s, who, created_at FROM feature_group_commits WHERE group_id = ?"
        " ORDER BY delta_version DESC", (group_id,))
    for r in rows:
        r["checks_passed"] = from_json(r["checks_passed"], [])
        r["lineage"] = from_json(r["lineage"], {})
        r["recovered"] = bool(r["recovered"])
    return rows


def commit_statistics(catalog: Catalog, group_id: int,
                      delta_version: int | None = None) -> dict[str, Any] | None:
    """``{"delta_version", "statistics"}`` of one commit (default: the latest that has
    statistics); None when there is none."""
    if delta_version is None:
        row = catalog.query_one(
            "SELECT delta_version, statistics FROM feature_group_commits WHERE group_id = ?"
            " AND statistics != '{}' ORDER BY delta_version DESC LIMIT 1", (group_id,))
    else:
        row = catalog.query_one(
            "SELECT delta_version, statistics FROM feature_group_commits WHERE group_id = ?"
            " AND delta_version = ?", (group_id, delta_version))
    if row is not None:
        row["statistics"] = from_json(row["statistics"], {})
    return row


def commit_summary(catalog: Catalog, group_id: int) -> dict[str, Any]:
    """``{"commits", "delta_version", "last_commit_at", "last_commit_by"}`` of a group."""
    return catalog.query_one(
        "SELECT COUNT(*) AS commits, MAX(delta_version) AS delta_version,"
        " MAX(created_at) AS last_commit_at, (SELECT who FROM feature_group_commits"
        " WHERE group_id = ? ORDER BY delta_version DESC LIMIT 1) AS last_commit_by"
        " FROM feature_group_commits WHERE group_id = ?", (group_id, group_id))


def landed_commits(catalog: Catalog, group_id: int, seqs: list[int]) -> dict[int, int]:
    """``{sequence number: Delta version}`` of those of ``seqs`` whose commit is recorded."""
    if not seqs:
        return {}
    marks = ",".join("?" * len(seqs))
    return {r["commit_seq"]: r["delta_version"] for r in catalog.query(
        f"SELECT commit_seq, delta_version FROM feature_group_commits WHERE group_id = ? AND "
        f"commit_seq IN ({marks})", (group_id, *seqs))}


# -- online_pending ----------------------------------------------------------------------------


def add_pending(catalog: Catalog, group_id: int, seq: int, pid: int, host: str) -> None:
    catalog.execute(
        "INSERT INTO online_pending(group_id, commit_seq, pid, host, created_at) "
        "VALUES (?,?,?,?,?) ON CONFLICT(group_id, commit_seq) DO UPDATE SET pid = excluded.pid,"
        " host = excluded.host, created_at = excluded.created_at", (group_id, seq, pid, host, now_utc()))


def clear_pending(catalog: Catalog, group_id: int, seqs: list[int]) -> None:
    if seqs:
        marks = ",".join("?" * len(seqs))
        catalog.execute(f"DELETE FROM online_pending WHERE group_id = ? AND commit_seq "
                        f"IN ({marks})", (group_id, *seqs))


def any_pending(catalog: Catalog, group_id: int) -> bool:
    """One indexed lookup: cheap enough for every feature-vector lookup."""
    return catalog.exists("SELECT 1 FROM online_pending WHERE group_id = ? LIMIT 1",
                          (group_id,))


def groups_pending(catalog: Catalog, group_ids: list[int]) -> set[int]:
    """Which of ``group_ids`` have pending online updates: one indexed query for all the
    groups a feature-vector lookup reads."""
    if not group_ids:
        return set()
    marks = ",".join("?" * len(group_ids))
    return {r["group_id"] for r in catalog.query(
        f"SELECT DISTINCT group_id FROM online_pending WHERE group_id IN ({marks})",
        tuple(group_ids))}


def pending(catalog: Catalog, group_id: int) -> list[dict[str, Any]]:
    return catalog.query("SELECT commit_seq, pid, host, created_at FROM online_pending "
                         "WHERE group_id = ? ORDER BY commit_seq", (group_id,))


def pending_landed(catalog: Catalog, group_id: int) -> list[int]:
    """Pending updates whose Delta commit is recorded (a resync of the table covers them)."""
    return [r["commit_seq"] for r in catalog.query(
        "SELECT p.commit_seq FROM online_pending p JOIN feature_group_commits c ON "
        "c.group_id = p.group_id AND c.commit_seq = p.commit_seq WHERE p.group_id = ?",
        (group_id,))]


# -- feature_views -----------------------------------------------------------------------------


def insert_view(catalog: Catalog, name: str, spec_text: str, description: str
                ) -> tuple[int, bool]:
    """The version of view ``name`` with this spec and whether it was created now: an
    existing one, else a new version (raises ``catalog.Duplicate`` when another process
    took that number first)."""
    with catalog.transaction() as conn:
        rows = conn.execute("SELECT version, spec FROM feature_views WHERE name = ?"
                            " ORDER BY version", (name,)).fetchall()
        same = [r[0] for r in rows if r[1] == spec_text]
        if same:
            return same[-1], False
        version = 1 + max((r[0] for r in rows), default=0)
        conn.execute("INSERT INTO feature_views(name, version, spec, description, created_by,"
                     " created_at) VALUES (?,?,?,?,?,?)",
                     (name, version, spec_text, description, conn.who, now_utc()))
    return version, True


def delete_view(catalog: Catalog, name: str, version: int) -> None:
    """Remove one view version."""
    catalog.execute("DELETE FROM feature_views WHERE name = ? AND version = ?",
                    (name, int(version)))


def restore_view(catalog: Catalog, name: str, version: int, spec: dict[str, Any],
                 description: str, created_at: str | None, created_by: str | None = None
                 ) -> None:
    catalog.execute("INSERT INTO feature_views(name, version, spec, description, created_by,"
                    " created_at) VALUES (?,?,?,?,?,?)",
                    (name, int(version), to_json(spec), description or "",
                     created_by or catalog.who, created_at or now_utc()))


def list_views(catalog: Catalog, all_versions: bool = False) -> list[dict[str, Any]]:
    """View rows by name: the latest version of each (or every version)."""
    return _latest_versions(catalog, "feature_views", all_versions)


def view_versions(catalog: Catalog, name: str) -> list[dict[str, Any]]:
    rows = catalog.query("SELECT version, description, created_at, spec FROM feature_views"
                         " WHERE name = ? ORDER BY version", (name,))
    for r in rows:
        r["spec"] = from_json(r["spec"])
    return rows


def latest_view_spec(catalog: Catalog, name: str) -> dict[str, Any] | None:
    row = catalog.query_one("SELECT spec FROM feature_views WHERE name = ? ORDER BY version "
                            "DESC LIMIT 1", (name,))
    return None if row is None else from_json(row["spec"])


def count_views(catalog: Catalog) -> int:
    return catalog.scalar("SELECT COUNT(DISTINCT name) FROM feature_views")


def counts(catalog: Catalog) -> dict[str, int]:
    """What the feature store holds, for ``lh.status()``."""
    return {"feature_groups": count_groups(catalog), "feature_views": count_views(catalog)}


# -- versioned rows (groups and views) ---------------------------------------------------------

_VERSIONED = {"feature group": "feature_groups", "feature view": "feature_views"}


def versioned_row(catalog: Catalog, noun: str, name: str, version: int | None, *,
                  latest_call: str, create_hint: str) -> dict[str, Any]:
    """The row of feature group or view ``name`` at ``version`` (the latest when None).

    A missing entry raises :class:`NotFound` naming the versions the name has, or the
    names that exist, e.g. ``There is no feature view 'fraud'. Known views: a, b.``
    """
    table = _VERSIONED[noun]
    if version is None:
        row = catalog.query_one(f"SELECT * FROM {table} WHERE name = ?"
                                " ORDER BY version DESC LIMIT 1", (name,))
    else:
        row = catalog.query_one(f"SELECT * FROM {table} WHERE name = ? AND version = ?",
                                (name, version))
    if row is not None:
        return row
    known = [r["version"] for r in catalog.query(
        f"SELECT version FROM {table} WHERE name = ? ORDER BY version", (name,))]
    if known:
        raise NotFound(f"{noun.capitalize()} {name!r} has no version {version} (it has "
                       f"{', '.join(map(str, known))}).",
                       f"Use {latest_call} for the latest version.")
    names = [r["name"] for r in catalog.query(f"SELECT DISTINCT name FROM {table} ORDER BY name")]
    plural = noun.split()[-1] + "s"
    raise NotFound(f"There is no {noun} {name!r}.",
                   (f"Known {plural}: " + ", ".join(names) + "." if names else
                    f"No {noun}s exist yet.") + f" {create_hint}")


def latest_delta_versions(catalog: Catalog) -> dict[tuple[str, int], int]:
    """``{(group, version): newest recorded Delta version}`` of every group version."""
    rows = catalog.query("SELECT g.name, g.version, MAX(c.delta_version) AS delta_version"
                         " FROM feature_groups g JOIN feature_group_commits c"
                         " ON c.group_id = g.id GROUP BY g.id")
    return {(r["name"], int(r["version"])): int(r["delta_version"]) for r in rows}


def rows_at(catalog: Catalog, name: str, version: int) -> dict[int, int]:
    """``{delta_version: rows that commit wrote}`` of one group version."""
    rows = catalog.query("SELECT c.delta_version, c.rows FROM feature_group_commits c JOIN"
                         " feature_groups g ON g.id = c.group_id WHERE g.name = ? AND"
                         " g.version = ?", (name, int(version)))
    return {int(r["delta_version"]): int(r["rows"] or 0) for r in rows}
