"""Business results' catalog table, and every SQL statement on it.

``business_kpis``: one row per KPI a user defined on a deployment (its SQL, how it compares
across arms, its alert thresholds). Outcomes are not in the catalog: they are Delta tables
(``business.outcomes``). No other module reads or writes this table.
"""
from __future__ import annotations

from typing import Any

from ..catalog import Catalog, Duplicate
from ..shared.times import now_utc

FIELDS = ("sql", "kind", "better", "below", "above", "on_alert", "description")


def save_kpi(catalog: Catalog, deployment: str, name: str, values: dict[str, Any],
             replace: bool = True) -> None:
    """Create or redefine KPI ``name`` of ``deployment``; ``replace=False``: raises
    ``Duplicate`` when it exists (checked in the same transaction)."""
    now = now_utc()
    row = [values.get(f) for f in FIELDS]
    with catalog.transaction() as conn:
        if not replace and conn.execute(
                "SELECT 1 FROM business_kpis WHERE deployment = ? AND name = ?",
                (deployment, name)).fetchone():
            raise Duplicate(f"KPI {name!r} of {deployment!r} exists")
        conn.execute(
            "INSERT INTO business_kpis(deployment, name, sql, kind, better, below, above, "
            "on_alert, description, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(deployment, name) DO UPDATE SET sql = excluded.sql, "
            "kind = excluded.kind, better = excluded.better, below = excluded.below, "
            "above = excluded.above, on_alert = excluded.on_alert, "
            "description = excluded.description, updated_at = excluded.updated_at",
            (deployment, name, *row, now, now))


def kpi(catalog: Catalog, deployment: str, name: str) -> dict[str, Any] | None:
    """KPI ``name`` of ``deployment`` (None when there is none)."""
    return catalog.query_one("SELECT * FROM business_kpis WHERE deployment = ? AND name = ?",
                             (deployment, name))


def kpis(catalog: Catalog, deployment: str) -> list[dict[str, Any]]:
    """The KPIs of ``deployment``, in the order they were defined."""
    return catalog.query("SELECT * FROM business_kpis WHERE deployment = ? "
                         "ORDER BY created_at, name", (deployment,))


def delete_kpi(catalog: Catalog, deployment: str, name: str) -> bool:
    """Remove a KPI; whether there was one."""
    with catalog.transaction() as conn:
        found = conn.execute("SELECT 1 FROM business_kpis WHERE deployment = ? AND name = ?",
                             (deployment, name)).fetchone()
        conn.execute("DELETE FROM business_kpis WHERE deployment = ? AND name = ?",
                     (deployment, name))
    return found is not None


def count(catalog: Catalog) -> int:
    return catalog.scalar("SELECT COUNT(*) FROM business_kpis")


def counts(catalog: Catalog) -> dict[str, int]:
    """What business results hold, for ``lh.status()``."""
    return {"kpis": count(catalog)}
