"""The lineage area's catalog tables, and every SQL statement on them.

``lineage_events`` (one row per distinct read or write), ``lineage_environments`` (Python
environments by hash) and ``lineage_environment_uses`` (which run step or model version had
which environment, and what its kernel imported). No other module reads or writes them.
"""
from __future__ import annotations

from typing import Any, Iterable

from ..catalog import Catalog, from_json, to_json
from ..shared.times import now_utc

EVENT_COLUMNS = ("op", "kind", "name", "version", "detail", "inputs", "run_id", "notebook",
                 "cell_id", "step", "code_hash", "who", "host", "created_at")


def add_event(catalog: Catalog, event: dict[str, Any]) -> int:
    """Append one lineage event (``detail`` and ``inputs`` as Python values)."""
    row = {**event, "detail": to_json(event.get("detail") or {}),
           "inputs": to_json(event.get("inputs") or []),
           "created_at": event.get("created_at") or now_utc()}
    return catalog.execute(
        f"INSERT INTO lineage_events({', '.join(EVENT_COLUMNS)}) VALUES "
        f"({', '.join('?' for _ in EVENT_COLUMNS)})", tuple(row.get(c) for c in EVENT_COLUMNS))


def _decode(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["detail"] = from_json(row["detail"], {})
        row["inputs"] = from_json(row["inputs"], [])
    return rows


def events(catalog: Catalog, run_id: str | None = None, step: str | None = None,
           kind: str | None = None, name: str | None = None,
           since_id: int | None = None) -> list[dict[str, Any]]:
    """Lineage events, oldest first, filtered by run (and step), object kind and name."""
    where, params = [], []
    for column, value in (("run_id", run_id), ("step", step), ("kind", kind), ("name", name)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if since_id is not None:
        where.append("id > ?")
        params.append(since_id)
    sql = "SELECT * FROM lineage_events" + (f" WHERE {' AND '.join(where)}" if where else "")
    return _decode(catalog.query(sql + " ORDER BY id", tuple(params)))


def run_events(catalog: Catalog, run_ids: Iterable[str]) -> list[dict[str, Any]]:
    ids = list(run_ids)
    if not ids:
        return []
    marks = ",".join("?" for _ in ids)
    return _decode(catalog.query(
        f"SELECT * FROM lineage_events WHERE run_id IN ({marks}) ORDER BY id", tuple(ids)))


def count_events(catalog: Catalog) -> int:
    return catalog.scalar("SELECT COUNT(*) FROM lineage_events")


def counts(catalog: Catalog) -> dict[str, int]:
    """What the lineage holds, for ``lh.status()``."""
    return {"lineage_events": count_events(catalog)}


# -- environments ------------------------------------------------------------------------------
def save_environment(catalog: Catalog, digest: str, python: str, platform: str,
                     packages: dict[str, str]) -> None:
    catalog.execute("INSERT INTO lineage_environments(hash, python, platform, packages,"
                    " created_at) VALUES (?,?,?,?,?) ON CONFLICT(hash) DO NOTHING",
                    (digest, python, platform, to_json(packages), now_utc()))


def use_environment(catalog: Catalog, kind: str, name: str, version: str | None, digest: str,
                    imported: dict[str, str]) -> None:
    catalog.execute("INSERT INTO lineage_environment_uses(kind, name, version, environment,"
                    " imported, created_at) VALUES (?,?,?,?,?,?)",
                    (kind, name, version, digest, to_json(imported), now_utc()))


def environment_of(catalog: Catalog, kind: str, name: str,
                   version: str | None) -> dict[str, Any] | None:
    """The newest environment recorded for a run step or model version, with what its kernel
    imported; None when none was recorded."""
    clause = "version IS NULL" if version is None else "version = ?"
    row = catalog.query_one(
        "SELECT u.imported, e.* FROM lineage_environment_uses u JOIN lineage_environments e"
        f" ON e.hash = u.environment WHERE u.kind = ? AND u.name = ? AND {clause}"
        " ORDER BY u.id DESC LIMIT 1", (kind, name, *(() if version is None else (version,))))
    if row is None:
        return None
    return {"hash": row["hash"], "python": row["python"], "platform": row["platform"],
            "packages": from_json(row["packages"], {}), "imported": from_json(row["imported"], {}),
            "recorded_at": row["created_at"]}
