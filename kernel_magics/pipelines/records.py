"""The pipelines' catalog tables, and every SQL statement on them.

``pipelines`` (named lists of steps), ``schedules`` (cron, timezone, catch-up, what to run)
and ``runs`` (one row per attempt, through queued -> running -> an end). No other module
reads or writes these tables. Every state change of a run is one conditional UPDATE inside a
write transaction, so two processes can never both claim, finish or reap the same run, and
due windows are materialised in one transaction, so two schedulers never queue the same
window. Claims read the next queued run with ``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL (schedulers never wait on each other's rows); SQLite serialises writers with
``BEGIN IMMEDIATE`` instead (SQLAlchemy drops the clause there).
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa

from ..catalog import Catalog, Duplicate, from_json, to_json
from ..shared.times import catalog_time, now_utc, utcnow

STATUSES = ("queued", "running", "succeeded", "failed", "timed_out", "cancelled", "skipped",
            "up_to_date")
TERMINAL = frozenset({"succeeded", "failed", "timed_out", "cancelled", "skipped", "up_to_date"})
RETRYABLE = frozenset({"failed", "timed_out"})


def new_run_id() -> str:
    """Sortable by creation time, unique across processes."""
    return utcnow().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(4)


# -- pipelines ---------------------------------------------------------------------------------


def save_pipeline(catalog: Catalog, name: str, steps: list[dict[str, str]],
                  replace: bool) -> bool:
    """Create (or, with ``replace``, redefine) pipeline ``name``; False when it exists and
    ``replace`` was not given (nothing written)."""
    now = now_utc()
    with catalog.transaction() as conn:
        exists = conn.execute("SELECT 1 FROM pipelines WHERE name = ?", (name,)).fetchone()
        if exists and not replace:
            return False
        conn.execute("INSERT INTO pipelines(name, steps, created_by, updated_by, created_at,"
                     " updated_at) VALUES (?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET"
                     " steps = excluded.steps, updated_by = excluded.updated_by,"
                     " updated_at = excluded.updated_at",
                     (name, to_json(steps), conn.who, conn.who, now, now))
    return True


def pipeline_row(catalog: Catalog, name: str) -> dict[str, Any] | None:
    """A pipeline's row (its steps decoded), None when there is none."""
    row = catalog.query_one("SELECT * FROM pipelines WHERE name = ?", (name,))
    if row is not None:
        row["steps"] = from_json(row["steps"], [])
    return row


def pipeline_rows(catalog: Catalog) -> list[dict[str, Any]]:
    rows = catalog.query("SELECT * FROM pipelines ORDER BY name")
    for row in rows:
        row["steps"] = from_json(row["steps"], [])
    return rows


def delete_pipeline(catalog: Catalog, name: str) -> None:
    catalog.execute("DELETE FROM pipelines WHERE name = ?", (name,))


# -- schedules ---------------------------------------------------------------------------------


def save_schedule(catalog: Catalog, name: str, target: dict[str, Any], cron: str, tz: str,
                  catchup: str, params: dict[str, Any], timeout_s: float | None, retries: int,
                  backoff_s: float, kernel: str | None, next_run_at: str,
                  skip_up_to_date: bool = True, replace: bool = True) -> None:
    """Create schedule ``name`` or redefine it (its windows start over from ``next_run_at``);
    ``replace=False``: raises ``Duplicate`` when it exists (checked in the transaction)."""
    now = now_utc()
    values = (to_json(target), cron, tz, catchup, to_json(params), timeout_s, int(retries),
              float(backoff_s), kernel, next_run_at, int(bool(skip_up_to_date)), now)
    with catalog.transaction() as conn:
        row = conn.execute("SELECT id FROM schedules WHERE name = ?", (name,)).fetchone()
        if row is not None and not replace:
            raise Duplicate(f"schedule {name!r} exists")
        if row is None:
            conn.execute(
                "INSERT INTO schedules(target, cron, timezone, catchup, params, timeout_s,"
                " retries, backoff_s, kernel, next_run_at, skip_up_to_date, updated_at,"
                " updated_by, name, created_by, created_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*values, conn.who, name, conn.who, now))
        else:
            conn.execute(
                "UPDATE schedules SET target = ?, cron = ?, timezone = ?, catchup = ?,"
                " params = ?, timeout_s = ?, retries = ?, backoff_s = ?, kernel = ?,"
                " next_run_at = ?, skip_up_to_date = ?, updated_at = ?, updated_by = ?,"
                " last_scheduled_for = NULL WHERE name = ?", (*values, conn.who, name))


def save_owned_schedule(catalog: Catalog, name: str, target: dict[str, Any], cron: str,
                        tz: str, next_run_at: str) -> None:
    """The schedule another area owns (a monitor's), by name: created, or re-timed and
    resumed (its catch-up and run settings stay the defaults)."""
    now = now_utc()
    with catalog.transaction() as conn:
        exists = conn.execute("SELECT id FROM schedules WHERE name = ?", (name,)).fetchone()
        if exists:
            conn.execute("UPDATE schedules SET target = ?, cron = ?, timezone = ?, "
                         "next_run_at = ?, paused = 0, updated_at = ?, updated_by = ? "
                         "WHERE name = ?",
                         (to_json(target), cron, tz, next_run_at, now, conn.who, name))
        else:
            conn.execute("INSERT INTO schedules(name, target, cron, timezone, next_run_at, "
                         "created_by, updated_by, created_at, updated_at) "
                         "VALUES (?,?,?,?,?,?,?,?,?)",
                         (name, to_json(target), cron, tz, next_run_at, conn.who, conn.who,
                          now, now))


def schedule_rows(catalog: Catalog) -> list[dict[str, Any]]:
    return catalog.query("SELECT * FROM schedules ORDER BY name")


def schedule_row(catalog: Catalog, key: str) -> dict[str, Any] | None:
    """A schedule by name or id (a name wins over an id that reads the same)."""
    return catalog.query_one("SELECT * FROM schedules WHERE name = ? OR CAST(id AS TEXT) = ?"
                             " ORDER BY name = ? DESC LIMIT 1", (key, key, key))


def pause_schedule(catalog: Catalog, schedule_id: int) -> None:
    catalog.execute("UPDATE schedules SET paused = 1, updated_at = ?, updated_by = ? "
                    "WHERE id = ?", (now_utc(), catalog.who, schedule_id))


def resume_schedule(catalog: Catalog, schedule_id: int, next_run_at: str) -> None:
    """Resume from ``next_run_at`` on (windows missed while paused are not run)."""
    catalog.execute("UPDATE schedules SET paused = 0, next_run_at = ?, updated_at = ?,"
                    " updated_by = ?, last_scheduled_for = NULL WHERE id = ?",
                    (next_run_at, now_utc(), catalog.who, schedule_id))


def delete_schedule(catalog: Catalog, schedule_id: int) -> None:
    """Delete a schedule and cancel its queued runs (they would surprise)."""
    with catalog.transaction() as conn:
        conn.execute("UPDATE runs SET status = 'cancelled', finished_at = ? WHERE schedule_id = ?"
                     " AND status = 'queued'", (now_utc(), schedule_id))
        conn.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))


def delete_schedule_named(catalog: Catalog, name: str) -> bool:
    """Delete the schedule called ``name`` (and its queued runs); whether there was one."""
    row = catalog.query_one("SELECT id FROM schedules WHERE name = ?", (name,))
    if row is None:
        return False
    delete_schedule(catalog, row["id"])
    return True


#: what a tick does with one due schedule: (runs to queue, missed windows to record as
#: skipped, the next fire time, the last window handled)
Plan = tuple[list[dict[str, Any]], list[dict[str, Any]], str | None, str | None]


def materialize_due(catalog: Catalog, now: datetime,
                    plan: Callable[[dict[str, Any]], Plan]) -> tuple[int, int]:
    """Queue the runs of every due schedule exactly once: in one write transaction the due
    schedules are read, ``plan(row)`` says which windows to run and skip, their runs are
    inserted (a window already queued is skipped: ``UNIQUE(schedule_id, scheduled_for,
    attempt)``) and ``next_run_at`` moves on. Returns (queued, skipped)."""
    queued = skipped = 0
    with catalog.transaction() as conn:
        # PostgreSQL: a schedule another scheduler is materialising is left to it
        due = conn.execute(sa.select(sa.text("*")).select_from(sa.table("schedules")).where(
            sa.text("paused = 0 AND next_run_at <= :now")).order_by(sa.text("id"))
            .with_for_update(skip_locked=True), {"now": catalog_time(now)}).fetchall()
        for row in due:
            row = dict(row)
            runs, missed, following, last = plan(row)
            who = row.get("created_by")  # a schedule's runs are its creator's
            for run in runs:
                queued += _insert_run(conn, **run, or_ignore=True, who=who) is not None
            for run in missed:
                skipped += _insert_run(conn, **run, status="skipped", or_ignore=True,
                                       who=who) is not None
            conn.execute("UPDATE schedules SET next_run_at = ?,"
                         " last_scheduled_for = COALESCE(?, last_scheduled_for) WHERE id = ?",
                         (following, last, row["id"]))
    return queued, skipped


def count_schedules(catalog: Catalog) -> int:
    return catalog.scalar("SELECT COUNT(*) FROM schedules")


# -- runs: reading -----------------------------------------------------------------------------


def run_row(catalog: Catalog, run_id: str) -> dict[str, Any] | None:
    return catalog.query_one("SELECT * FROM runs WHERE id = ?", (run_id,))


def latest_attempt_row(catalog: Catalog, root: str) -> dict[str, Any] | None:
    """The newest attempt of the run whose first attempt is ``root``."""
    return catalog.query_one("SELECT * FROM runs WHERE id = ? OR retry_of = ? "
                             "ORDER BY attempt DESC LIMIT 1", (root, root))


def has_retry(catalog: Catalog, root: str, attempt: int) -> bool:
    return bool(catalog.scalar("SELECT COUNT(*) FROM runs WHERE retry_of = ? AND attempt > ?",
                               (root, attempt)))


def run_rows(catalog: Catalog, status: str | None = None, limit: int = 50,
             schedule_id: int | None = None) -> list[dict[str, Any]]:
    """Runs, newest first (of one status and schedule when given)."""
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if schedule_id is not None:
        where.append("schedule_id = ?")
        params.append(schedule_id)
    sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY queued_at DESC, attempt DESC LIMIT ?"
    return catalog.query(sql, (*params, int(limit)))


def startable(catalog: Catalog, now: datetime, limit: int) -> list[str]:
    """Queued runs whose time has come, oldest window first."""
    return [r["id"] for r in catalog.query(
        "SELECT id FROM runs WHERE status = 'queued' AND (not_before IS NULL OR not_before <= ?)"
        " ORDER BY COALESCE(scheduled_for, queued_at), attempt LIMIT ?",
        (catalog_time(now), limit))]


def stale(catalog: Catalog, now: datetime) -> list[dict[str, Any]]:
    """Running runs whose lease ran out (their worker stopped heartbeating)."""
    return catalog.query("SELECT id, worker, heartbeat_at FROM runs WHERE status = 'running'"
                         " AND lease_until IS NOT NULL AND lease_until < ?", (catalog_time(now),))


def count_runs(catalog: Catalog) -> int:
    return catalog.scalar("SELECT COUNT(*) FROM runs")


def counts(catalog: Catalog) -> dict[str, int]:
    """What the pipelines hold, for ``lh.status()``."""
    return {"schedules": count_schedules(catalog), "runs": count_runs(catalog)}


# -- runs: state changes -----------------------------------------------------------------------


def _insert_run(conn: Any, *, target: dict[str, Any] | str,
                params: dict[str, Any] | str | None = None,
                window_start: str | None = None, window_end: str | None = None,
                timeout_s: float | None = None, retries: int = 0, backoff_s: float = 30.0,
                kernel: str | None = None, schedule_id: int | None = None,
                scheduled_for: str | None = None, status: str = "queued", attempt: int = 1,
                retry_of: str | None = None, not_before: str | None = None,
                error: dict | None = None, or_ignore: bool = False,
                who: str | None = None, force: bool = False,
                resume_of: str | None = None) -> str | None:
    """Insert a run inside the caller's transaction; ``None`` when ``or_ignore`` hit an
    existing (schedule, window, attempt). ``force``: run its steps even when up to date;
    ``resume_of``: the failed run whose succeeded steps it skips."""
    run_id = new_run_id()
    now = catalog_time(utcnow())
    # the scheduler passes the schedule's JSON text through as it is
    target_text = target if isinstance(target, str) else to_json(target)
    params_text = params if isinstance(params, str) else to_json(params or {})
    cur = conn.execute(
        "INSERT INTO runs(id, schedule_id, scheduled_for, target, status, attempt, max_attempts,"
        " retry_of, backoff_s, kernel, params, window_start, window_end, timeout_s, queued_at,"
        " not_before, error, finished_at, created_by, force, resume_of)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        + (" ON CONFLICT DO NOTHING" if or_ignore else ""),
        (run_id, schedule_id, scheduled_for, target_text, status, attempt, int(retries) + 1,
         retry_of, float(backoff_s), kernel, params_text, window_start, window_end,
         timeout_s, now, not_before, to_json(error) if error else None,
         now if status in TERMINAL else None, who or conn.who, int(bool(force)), resume_of))
    return run_id if cur.rowcount else None


def add_run(catalog: Catalog, **run: Any) -> str:
    """Queue a run (the keyword arguments of a run row: target, params, window, timeout,
    retries, backoff, kernel); returns its id."""
    with catalog.transaction() as conn:
        return _insert_run(conn, **run)  # type: ignore[return-value]


def claim(catalog: Catalog, run_id: str, worker: str, lease_s: float) -> bool:
    """queued -> running for exactly one caller (a scheduler or a worker)."""
    now = utcnow()
    with catalog.transaction() as conn:
        cur = conn.execute(
            "UPDATE runs SET status = 'running', worker = ?, started_at = ?, heartbeat_at = ?,"
            " lease_until = ? WHERE id = ? AND status = 'queued'"
            " AND (not_before IS NULL OR not_before <= ?)",
            (worker, catalog_time(now), catalog_time(now),
             catalog_time(now + timedelta(seconds=lease_s)), run_id, catalog_time(now)))
        return cur.rowcount == 1


_RUNS = sa.table("runs", *map(sa.column, ("id", "status", "not_before", "scheduled_for",
                                          "queued_at", "attempt")))


def claim_next(catalog: Catalog, worker: str, lease_s: float) -> str | None:
    """Claim the oldest startable queued run for ``worker`` (queued -> running), exactly
    once however many schedulers claim at the same time; None when none is startable."""
    now = utcnow()
    stamp = catalog_time(now)
    with catalog.transaction() as conn:
        pick = (sa.select(_RUNS.c.id)
                .where(_RUNS.c.status == "queued",
                       sa.or_(_RUNS.c.not_before.is_(None), _RUNS.c.not_before <= stamp))
                .order_by(sa.func.coalesce(_RUNS.c.scheduled_for, _RUNS.c.queued_at),
                          _RUNS.c.attempt)
                .limit(1).with_for_update(skip_locked=True))
        run_id = conn.execute(pick).scalar()
        if run_id is None:
            return None
        conn.execute("UPDATE runs SET status = 'running', worker = ?, started_at = ?,"
                     " heartbeat_at = ?, lease_until = ? WHERE id = ? AND status = 'queued'",
                     (worker, stamp, stamp, catalog_time(now + timedelta(seconds=lease_s)),
                      run_id))
    return run_id


def take_over(catalog: Catalog, run_id: str, claimed_by: str, worker: str, lease_s: float
              ) -> bool:
    """A worker takes a run its scheduler claimed for it (only from that scheduler)."""
    now = utcnow()
    with catalog.transaction() as conn:
        cur = conn.execute(
            "UPDATE runs SET worker = ?, heartbeat_at = ?, lease_until = ?"
            " WHERE id = ? AND status = 'running' AND worker = ?",
            (worker, catalog_time(now), catalog_time(now + timedelta(seconds=lease_s)), run_id,
             claimed_by))
        return cur.rowcount == 1


def heartbeat(catalog: Catalog, run_id: str, worker: str, lease_s: float) -> bool:
    """Extend the lease; returns whether a cancel was requested."""
    now = utcnow()
    with catalog.transaction() as conn:
        conn.execute("UPDATE runs SET heartbeat_at = ?, lease_until = ?, worker = ?"
                     " WHERE id = ? AND status = 'running'",
                     (catalog_time(now), catalog_time(now + timedelta(seconds=lease_s)), worker,
                      run_id))
        row = conn.execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
    return bool(row and row[0])


def set_progress(catalog: Catalog, run_id: str, progress: dict[str, Any],
                 output_path: str | None = None) -> None:
    if output_path is None:
        catalog.execute("UPDATE runs SET progress = ? WHERE id = ?", (to_json(progress), run_id))
    else:
        catalog.execute("UPDATE runs SET progress = ?, output_path = ? WHERE id = ?",
                        (to_json(progress), output_path, run_id))


def request_cancel(catalog: Catalog, run_id: str) -> None:
    """Ask a running run's worker to stop its kernel (it sees it on its next heartbeat)."""
    catalog.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,))


def finish(catalog: Catalog, run_id: str, status: str, error: dict | None = None,
           output_path: str | None = None, from_status: str = "running",
           lease_before: datetime | None = None) -> tuple[bool, str | None]:
    """End a run, only if it is still ``from_status`` (and, for the reaper, its lease ran out
    before ``lease_before``); a failed or timed-out attempt with attempts left gets the next
    attempt, after its backoff. Returns (ended, id of the retry created or None)."""
    assert status in TERMINAL
    now = utcnow()
    with catalog.transaction() as conn:
        sql = ("UPDATE runs SET status = ?, finished_at = ?, error = ?,"
               " output_path = COALESCE(?, output_path), lease_until = NULL"
               " WHERE id = ? AND status = ?")
        args: tuple = (status, catalog_time(now), to_json(error) if error else None, output_path,
                       run_id, from_status)
        if lease_before is not None:
            sql += " AND lease_until < ?"
            args += (catalog_time(lease_before),)
        if conn.execute(sql, args).rowcount != 1:
            return False, None
        row = dict(conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone())
        if status not in RETRYABLE or row["attempt"] >= row["max_attempts"]:
            return True, None
        delay = float(row["backoff_s"] or 0) * (2 ** (row["attempt"] - 1))
        return True, _insert_run(
            conn, target=from_json(row["target"], {}), params=from_json(row["params"], {}),
            window_start=row["window_start"], window_end=row["window_end"],
            timeout_s=row["timeout_s"], retries=row["max_attempts"] - 1,
            backoff_s=row["backoff_s"], kernel=row["kernel"], schedule_id=row["schedule_id"],
            scheduled_for=row["scheduled_for"], attempt=row["attempt"] + 1,
            retry_of=row["retry_of"] or row["id"], who=row.get("created_by"),
            not_before=catalog_time(now + timedelta(seconds=delay)), force=bool(row["force"]),
            resume_of=row["resume_of"])


# -- step runs (fingerprints) ------------------------------------------------------------------


def save_step_run(catalog: Catalog, run_id: str, notebook: str, step: str, status: str,
                  fingerprint: str | None, parts: dict[str, Any]) -> None:
    """What one step of a run was: its status and fingerprint (and the parts hashed)."""
    catalog.execute("INSERT INTO step_runs(run_id, notebook, step, status,"
                    " fingerprint, parts, created_at) VALUES (?,?,?,?,?,?,?)"
                    " ON CONFLICT(run_id, notebook, step) DO UPDATE SET status = excluded.status,"
                    " fingerprint = excluded.fingerprint, parts = excluded.parts,"
                    " created_at = excluded.created_at",
                    (run_id, notebook, step, status, fingerprint, to_json(parts), now_utc()))


def last_step_run(catalog: Catalog, notebook: str, step: str,
                  status: str = "succeeded") -> dict[str, Any] | None:
    """The newest step run of ``step`` in ``notebook`` with ``status``."""
    row = catalog.query_one("SELECT * FROM step_runs WHERE notebook = ? AND step = ? AND"
                            " status = ? ORDER BY id DESC LIMIT 1", (notebook, step, status))
    if row is not None:
        row["parts"] = from_json(row["parts"], {})
    return row


def step_runs_of(catalog: Catalog, run_id: str) -> list[dict[str, Any]]:
    rows = catalog.query("SELECT * FROM step_runs WHERE run_id = ? ORDER BY id", (run_id,))
    for row in rows:
        row["parts"] = from_json(row["parts"], {})
    return rows


def latest_step_runs(catalog: Catalog) -> list[dict[str, Any]]:
    """The newest successful step run of every (notebook, step)."""
    rows = catalog.query("SELECT * FROM step_runs WHERE id IN (SELECT MAX(id) FROM step_runs"
                         " WHERE status = 'succeeded' GROUP BY notebook, step) ORDER BY id")
    for row in rows:
        row["parts"] = from_json(row["parts"], {})
    return rows


def run_statuses(catalog: Catalog, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """``{run id: {status, target, started_at, finished_at}}`` of the runs given."""
    if not run_ids:
        return {}
    marks = ",".join("?" for _ in run_ids)
    rows = catalog.query(f"SELECT id, status, target, started_at, finished_at FROM runs"
                         f" WHERE id IN ({marks})", tuple(run_ids))
    return {r["id"]: {**r, "target": from_json(r["target"], {})} for r in rows}


def set_steps_status(catalog: Catalog, run_id: str, steps: dict[str, Any]) -> None:
    catalog.execute("UPDATE runs SET steps_status = ? WHERE id = ?", (to_json(steps), run_id))
