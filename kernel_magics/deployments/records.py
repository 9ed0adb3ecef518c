"""The deployments' catalog tables, and every SQL statement on them.

``deployments`` (one row per deployment: the model by alias or version, the feature view,
kind and spec; deleted ones are kept, marked) and ``deployment_stats`` (requests, errors,
latency and dead-lettered rows, as the inference logs last flushed them). No other module
reads or writes these tables.
"""
from __future__ import annotations

from typing import Any

from ..catalog import Catalog, Duplicate, from_json, to_json
from ..shared.times import now_utc


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["spec"] = from_json(row["spec"], {})
    row["deleted"] = bool(row["deleted"])
    return row


def live(catalog: Catalog, name: str) -> dict[str, Any] | None:
    """The row of deployment ``name`` (spec decoded), None when there is none (or it was
    deleted)."""
    row = catalog.query_one("SELECT * FROM deployments WHERE name = ? AND deleted = 0", (name,))
    return None if row is None else _decode(row)


def exists(catalog: Catalog, name: str) -> bool:
    return catalog.scalar("SELECT COUNT(*) FROM deployments WHERE name = ? AND deleted = 0",
                          (name,)) > 0


def upsert(catalog: Catalog, name: str, model: str, alias: str | None, version: int | None,
           view: str | None, view_version: int | None, kind: str, spec: dict[str, Any],
           replace: bool = True) -> str:
    """Create or re-point deployment ``name`` (a deleted one comes back); returns its
    creation time (kept when it existed). ``replace=False``: raises ``Duplicate`` when a
    live deployment has that name (checked in the same transaction)."""
    now = now_utc()
    with catalog.transaction() as conn:
        existing = conn.execute("SELECT created_at, deleted FROM deployments WHERE name = ?",
                                (name,)).fetchone()
        if existing and not existing[1] and not replace:
            raise Duplicate(f"deployment {name!r} exists")
        created = existing[0] if existing else now
        conn.execute(
            "INSERT INTO deployments(name, model, alias, version, view, view_version, kind, "
            "spec, deleted, created_by, updated_by, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,0,?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET model=excluded.model, alias=excluded.alias, "
            "version=excluded.version, view=excluded.view, "
            "view_version=excluded.view_version, kind=excluded.kind, spec=excluded.spec, "
            "deleted=0, updated_by=excluded.updated_by, updated_at=excluded.updated_at",
            (name, model, alias, version, view, view_version, kind, to_json(spec), conn.who,
             conn.who, created, now))
    return created


def restore_deployment(catalog: Catalog, item: dict[str, Any]) -> None:
    """Write a deployment read back from its descriptor file (``lakebook recover``)."""
    now = now_utc()
    catalog.execute(
        "INSERT INTO deployments(name, model, alias, version, view, view_version, kind, "
        "spec, deleted, created_by, updated_by, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,0,?,?,?,?)",
        (item["name"], item["model"], item.get("alias"), item.get("version"),
         item.get("view"), item.get("view_version"), item.get("kind") or "online",
         to_json(item.get("spec") or {}), item.get("created_by") or catalog.who,
         item.get("updated_by") or catalog.who, item.get("created_at") or now, now))


def mark_deleted(catalog: Catalog, name: str) -> None:
    catalog.execute("UPDATE deployments SET deleted = 1, updated_at = ?, updated_by = ? "
                    "WHERE name = ?", (now_utc(), catalog.who, name))


def with_stats(catalog: Catalog) -> list[dict[str, Any]]:
    """Every live deployment's row with its serving statistics, by name."""
    rows = catalog.query(
        "SELECT d.*, s.requests, s.errors, s.latency_p50_ms, s.latency_p99_ms, "
        "s.last_request_at, s.model_version AS served_version, s.dead_letter_rows, "
        "s.last_dead_letter_at, s.last_dead_letter_error FROM deployments d "
        "LEFT JOIN deployment_stats s ON s.name = d.name WHERE d.deleted = 0 "
        "ORDER BY d.name")
    out = []
    for row in rows:
        row = _decode(row)
        row.pop("deleted", None)
        row["requests"] = row["requests"] or 0
        row["errors"] = row["errors"] or 0
        row["dead_letter_rows"] = row["dead_letter_rows"] or 0
        out.append(row)
    return out


def stats(catalog: Catalog, name: str) -> dict[str, Any] | None:
    return catalog.query_one("SELECT * FROM deployment_stats WHERE name = ?", (name,))


def add_stats(catalog: Catalog, name: str, requests: int, errors: int, p50: float | None,
              p99: float | None, last_request_at: str | None, model_version: int | None,
              dead_letters: int, dead_letter_at: str | None, dead_letter_error: str | None
              ) -> None:
    """Add one flush's counts to a deployment's statistics (latest latency and version)."""
    catalog.execute(
        "INSERT INTO deployment_stats(name, requests, errors, latency_p50_ms, "
        "latency_p99_ms, last_request_at, model_version, dead_letter_rows, "
        "last_dead_letter_at, last_dead_letter_error) VALUES (?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(name) DO UPDATE SET "
        "requests = deployment_stats.requests + excluded.requests, "
        "errors = deployment_stats.errors + excluded.errors, "
        "latency_p50_ms = COALESCE(excluded.latency_p50_ms, deployment_stats.latency_p50_ms), "
        "latency_p99_ms = COALESCE(excluded.latency_p99_ms, deployment_stats.latency_p99_ms), "
        "last_request_at = COALESCE(excluded.last_request_at, "
        "deployment_stats.last_request_at), "
        "model_version = COALESCE(excluded.model_version, deployment_stats.model_version), "
        "dead_letter_rows = deployment_stats.dead_letter_rows + excluded.dead_letter_rows, "
        "last_dead_letter_at = COALESCE(excluded.last_dead_letter_at, "
        "deployment_stats.last_dead_letter_at), "
        "last_dead_letter_error = COALESCE(excluded.last_dead_letter_error, "
        "deployment_stats.last_dead_letter_error)",
        (name, requests, errors, p50, p99, last_request_at, model_version, dead_letters,
         dead_letter_at, dead_letter_error))


def count(catalog: Catalog) -> int:
    return catalog.scalar("SELECT COUNT(*) FROM deployments WHERE deleted = 0")


def counts(catalog: Catalog) -> dict[str, int]:
    """What the deployments hold, for ``lh.status()``."""
    return {"deployments": count(catalog)}
