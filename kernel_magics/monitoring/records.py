"""Monitoring's catalog tables, and every SQL statement on them.

``monitors`` (one row per monitor: its spec; deleted ones are kept, marked),
``monitor_results`` (one row per run of a monitor: verdict, per-column scores, report files)
and ``alerts`` (raised by results or by other parts, open until acknowledged). No other module
reads or writes these tables.
"""
from __future__ import annotations

from typing import Any

from ..catalog import Catalog, from_json, to_json
from ..shared.errors import AlreadyExists, NotFound
from ..shared.times import now_utc

# -- monitors ----------------------------------------------------------------------------------


def save_monitor(catalog: Catalog, name: str, spec: dict[str, Any], replace: bool) -> None:
    """Create monitor ``name`` (or, with ``replace``, redefine a live one; a deleted one
    comes back)."""
    now = now_utc()
    with catalog.transaction() as conn:
        row = conn.execute("SELECT deleted FROM monitors WHERE name = ?", (name,)).fetchone()
        if row is not None and not row[0] and not replace:
            raise AlreadyExists(f"There is already a monitor {name!r}.",
                                "Pick another name, pass replace=True, or delete it first.")
        conn.execute(
            "INSERT INTO monitors(name, spec, deleted, created_by, updated_by, created_at,"
            " updated_at) VALUES (?,?,0,?,?,?,?) ON CONFLICT(name) DO UPDATE SET"
            " spec = excluded.spec, deleted = 0, updated_by = excluded.updated_by,"
            " updated_at = excluded.updated_at",
            (name, to_json(spec), conn.who, conn.who, now, now))


def live_monitor(catalog: Catalog, name: str) -> dict[str, Any] | None:
    return catalog.query_one("SELECT * FROM monitors WHERE name = ? AND deleted = 0", (name,))


def ever_existed(catalog: Catalog, name: str) -> bool:
    """Whether a monitor ``name`` exists or existed (its results stay readable)."""
    return catalog.query_one("SELECT 1 FROM monitors WHERE name = ?", (name,)) is not None


def live_monitors(catalog: Catalog) -> list[dict[str, Any]]:
    return catalog.query("SELECT * FROM monitors WHERE deleted = 0 ORDER BY name")


def mark_deleted(catalog: Catalog, name: str) -> None:
    catalog.execute("UPDATE monitors SET deleted = 1, updated_at = ?, updated_by = ? "
                    "WHERE name = ?", (now_utc(), catalog.who, name))


def count(catalog: Catalog) -> int:
    return catalog.scalar("SELECT COUNT(*) FROM monitors WHERE deleted = 0")


def counts(catalog: Catalog) -> dict[str, int]:
    """What monitoring holds, for ``lh.status()``."""
    return {"monitors": count(catalog)}


# -- monitor_results ---------------------------------------------------------------------------


def start_result(catalog: Catalog, monitor: str, run_id: str | None) -> int:
    """A ``running`` result row for a run that starts now; returns its id."""
    return catalog.execute("INSERT INTO monitor_results(monitor, run_id, status, created_at) "
                           "VALUES (?,?,?,?) RETURNING id", (monitor, run_id, "running", now_utc()))


#: what a finished run may set on its result
RESULT_FIELDS = {"status", "reason", "drift_share", "dataset_drift", "columns", "performance",
                 "details", "reference_rows", "current_rows", "report_json", "report_html",
                 "window_start", "window_end", "duration_s", "finished_at"}


def finish_result(catalog: Catalog, result_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Write what a run found (dicts and lists as JSON); returns the result row."""
    unknown = set(values) - RESULT_FIELDS
    assert not unknown, unknown  # column names are never taken from users
    sets = ", ".join(f"{k} = ?" for k in values)
    catalog.execute(f"UPDATE monitor_results SET {sets} WHERE id = ?",
                    (*[to_json(v) if isinstance(v, (dict, list)) else v
                       for v in values.values()], result_id))
    return catalog.query_one("SELECT * FROM monitor_results WHERE id = ?", (result_id,))


def results(catalog: Catalog, monitor: str, limit: int) -> list[dict[str, Any]]:
    return catalog.query("SELECT * FROM monitor_results WHERE monitor = ? ORDER BY id DESC "
                         "LIMIT ?", (monitor, int(limit)))


def result(catalog: Catalog, monitor: str, result_id: int) -> dict[str, Any] | None:
    return catalog.query_one("SELECT * FROM monitor_results WHERE monitor = ? AND id = ?",
                             (monitor, int(result_id)))


def latest_results(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """Every monitor's newest finished result, by monitor."""
    return {r["monitor"]: r for r in catalog.query(
        "SELECT r.* FROM monitor_results r JOIN (SELECT monitor, MAX(id) id FROM "
        "monitor_results WHERE status != 'running' GROUP BY monitor) m ON m.id = r.id")}


# -- alerts ------------------------------------------------------------------------------------


def _decode_alert(row: dict[str, Any]) -> dict[str, Any]:
    row["details"] = from_json(row["details"], {})
    row["action"] = from_json(row["action"], None) if row["action"] else None
    row["acknowledged"] = bool(row["acknowledged"])
    return row


def add_alert(catalog: Catalog, monitor: str, result_id: int | None, kind: str, message: str,
              details: dict[str, Any]) -> int:
    return catalog.execute(
        "INSERT INTO alerts(monitor, result_id, kind, message, details, created_at) "
        "VALUES (?,?,?,?,?,?) RETURNING id",
        (monitor, result_id, kind, message, to_json(details), now_utc()))


def set_alert_action(catalog: Catalog, alert_id: int, action: dict[str, Any]) -> None:
    catalog.execute("UPDATE alerts SET action = ? WHERE id = ?", (to_json(action), alert_id))


def raise_or_update(catalog: Catalog, source: str, kind: str, message: str,
                    details: dict[str, Any]) -> tuple[int, bool]:
    """The open alert of ``source`` and ``kind`` updated (message, details, a ``count`` of
    how often it happened, ``rows`` added up), or a new one; returns (id, whether new)."""
    with catalog.transaction() as conn:
        row = conn.execute("SELECT id, details FROM alerts WHERE monitor = ? AND kind = ? AND "
                           "acknowledged = 0 ORDER BY id DESC LIMIT 1", (source, kind)).fetchone()
        if row is not None:
            previous = from_json(row[1], {})
            merged = {**details, "count": int(previous.get("count", 1)) + 1}
            if isinstance(details.get("rows"), int):
                merged["rows"] = int(previous.get("rows", 0)) + details["rows"]
            conn.execute("UPDATE alerts SET message = ?, details = ? WHERE id = ?",
                         (message, to_json(merged), row[0]))
            return int(row[0]), False
        alert_id = conn.execute(
            "INSERT INTO alerts(monitor, result_id, kind, message, details, created_at) "
            "VALUES (?,NULL,?,?,?,?) RETURNING id",
            (source, kind, message, to_json({**details, "count": 1}), now_utc())).scalar()
    return int(alert_id), True


def alerts(catalog: Catalog, monitor: str | None = None, acknowledged: bool | None = None,
           limit: int = 100) -> list[dict[str, Any]]:
    """Alerts, newest first (of one monitor or source; open or acknowledged ones)."""
    where, params = [], []
    if monitor is not None:
        where.append("monitor = ?")
        params.append(monitor)
    if acknowledged is not None:
        where.append("acknowledged = ?")
        params.append(int(bool(acknowledged)))
    sql = "SELECT * FROM alerts" + (f" WHERE {' AND '.join(where)}" if where else "")
    rows = catalog.query(sql + " ORDER BY id DESC LIMIT ?", (*params, int(limit)))
    return [_decode_alert(row) for row in rows]


def open_alert_counts(catalog: Catalog) -> dict[str, int]:
    """How many unacknowledged alerts each monitor (or source) has."""
    return {r["monitor"]: r["n"] for r in catalog.query(
        "SELECT monitor, COUNT(*) n FROM alerts WHERE acknowledged = 0 GROUP BY monitor")}


def alert(catalog: Catalog, alert_id: int) -> dict[str, Any] | None:
    row = catalog.query_one("SELECT * FROM alerts WHERE id = ?", (int(alert_id),))
    return None if row is None else _decode_alert(row)


def acknowledge(catalog: Catalog, alert_id: int) -> None:
    """Mark an alert seen (the first acknowledgement's time is kept)."""
    with catalog.transaction() as conn:
        row = conn.execute("SELECT id FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            raise NotFound(f"There is no alert {alert_id}.",
                           "List alerts with lh.monitoring.alerts.list().")
        conn.execute("UPDATE alerts SET acknowledged = 1, acknowledged_at = COALESCE("
                     "acknowledged_at, ?), acknowledged_by = COALESCE(acknowledged_by, ?) "
                     "WHERE id = ?", (now_utc(), conn.who, alert_id))
