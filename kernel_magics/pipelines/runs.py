"""Run records in the catalog's ``runs`` table and every state change they go through.

queued -> running -> succeeded | failed | timed_out | cancelled   (and ``skipped`` for missed
scheduled windows). Every change is one conditional UPDATE inside ``BEGIN IMMEDIATE``, so two
processes can never both claim, finish or reap the same run. A failed or timed-out attempt
with attempts left creates the next attempt (``retry_of`` the first one) with an
exponential backoff in ``not_before``.
"""
from __future__ import annotations

import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any

from ..catalog import from_json, to_json
from ..shared.errors import InvalidInput, NotFound
from ..shared.times import catalog_time, parse_time, utcnow

STATUSES = ("queued", "running", "succeeded", "failed", "timed_out", "cancelled", "skipped")
TERMINAL = frozenset({"succeeded", "failed", "timed_out", "cancelled", "skipped"})
RETRYABLE = frozenset({"failed", "timed_out"})
COLOURS = {"queued": "#757575", "running": "#1976d2", "succeeded": "#2e7d32",
           "failed": "#c62828", "timed_out": "#ef6c00", "cancelled": "#6d4c41",
           "skipped": "#9e9e9e"}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def new_run_id() -> str:
    """Sortable by creation time, unique across processes."""
    return utcnow().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(4)


@dataclass
class Run:
    """One attempt of a step, notebook or pipeline; ``lh.pipelines.get_run(id)``."""

    id: str
    status: str
    target: dict[str, Any]
    attempt: int = 1
    max_attempts: int = 1
    retry_of: str | None = None
    schedule_id: int | None = None
    scheduled_for: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    window_start: str | None = None
    window_end: str | None = None
    timeout_s: float | None = None
    backoff_s: float = 30.0
    kernel: str | None = None
    queued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    not_before: str | None = None
    output_path: str | None = None
    error: dict[str, Any] | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    worker: str | None = None
    heartbeat_at: str | None = None
    lease_until: str | None = None
    cancel_requested: bool = False
    _lh: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_row(cls, row: dict[str, Any], lh: Any = None) -> "Run":
        return cls(id=row["id"], status=row["status"], target=from_json(row["target"], {}),
                   attempt=row["attempt"], max_attempts=row["max_attempts"],
                   retry_of=row.get("retry_of"), schedule_id=row.get("schedule_id"),
                   scheduled_for=row.get("scheduled_for"), params=from_json(row["params"], {}),
                   window_start=row.get("window_start"), window_end=row.get("window_end"),
                   timeout_s=row.get("timeout_s"), backoff_s=row.get("backoff_s") or 0.0,
                   kernel=row.get("kernel"), queued_at=row.get("queued_at"),
                   started_at=row.get("started_at"), finished_at=row.get("finished_at"),
                   not_before=row.get("not_before"), output_path=row.get("output_path"),
                   error=from_json(row.get("error"), None),
                   progress=from_json(row.get("progress"), {}), worker=row.get("worker"),
                   heartbeat_at=row.get("heartbeat_at"), lease_until=row.get("lease_until"),
                   cancel_requested=bool(row.get("cancel_requested")), _lh=lh)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def duration_s(self) -> float | None:
        if not self.started_at:
            return None
        end = parse_time(self.finished_at) or utcnow()
        return round((end - parse_time(self.started_at)).total_seconds(), 3)

    @property
    def label(self) -> str:
        t = self.target
        if t.get("pipeline"):
            return f"pipeline {t['pipeline']}"
        nb = os.path.basename(t.get("notebook", ""))
        return f"{nb}::{','.join(t['steps'])}" if t.get("steps") else nb

    def refresh(self) -> "Run":
        return get_run(self._lh, self.id)

    def latest(self) -> "Run":
        """The newest attempt of this run (itself when it was not retried)."""
        return latest_attempt(self._lh, self.id)

    def wait(self, timeout: float | None = None, poll: float = 0.2) -> "Run":
        """Block until this run (following retries) ends; returns the final attempt."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.latest()
            if run.done and not (run.status in RETRYABLE and has_retry(self._lh, run)):
                return run
            if deadline is not None and time.monotonic() > deadline:
                return run
            time.sleep(poll)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        d["duration_s"] = self.duration_s
        d["label"] = self.label
        return d

    def _repr_html_(self) -> str:
        from ..render.html import badge, card
        rows: list[tuple[str, Any]] = [("status", badge(self.status, COLOURS[self.status])),
                                       ("target", self.label),
                                       ("attempt", f"{self.attempt}/{self.max_attempts}"),
                                       ("duration", f"{self.duration_s}s" if self.duration_s else "-"),
                                       ("output", self.output_path or "-")]
        if self.error:
            rows.append(("error", f"cell {self.error.get('cell_index')}: "
                                  f"{self.error.get('ename')}: {self.error.get('evalue')}"))
        return card(f"Run {escape(self.id)}", rows)


# -- reading --------------------------------------------------------------------------------
def get_run(lh: Any, run_id: str) -> Run:
    row = lh.catalog.query_one("SELECT * FROM runs WHERE id = ?", (run_id,))
    if row is None:
        raise NotFound(f"No run {run_id!r}.", "List runs with lh.pipelines.runs() or `lakebook runs`.")
    return Run.from_row(row, lh)


def latest_attempt(lh: Any, run_id: str) -> Run:
    run = get_run(lh, run_id)
    root = run.retry_of or run.id
    row = lh.catalog.query_one(
        "SELECT * FROM runs WHERE id = ? OR retry_of = ? ORDER BY attempt DESC LIMIT 1",
        (root, root))
    return Run.from_row(row, lh)


def has_retry(lh: Any, run: Run) -> bool:
    root = run.retry_of or run.id
    return bool(lh.catalog.scalar("SELECT COUNT(*) FROM runs WHERE retry_of = ? AND attempt > ?",
                                  (root, run.attempt)))


def list_runs(lh: Any, status: str | None = None, limit: int = 50,
              schedule_id: int | None = None) -> list[Run]:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"Unknown run status {status!r}.", f"Use one of {', '.join(STATUSES)}.")
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if schedule_id is not None:
        where.append("schedule_id = ?")
        params.append(schedule_id)
    sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY queued_at DESC, attempt DESC LIMIT ?"
    return [Run.from_row(r, lh) for r in lh.catalog.query(sql, (*params, int(limit)))]


# -- writing --------------------------------------------------------------------------------
def insert_run(conn: Any, *, target: dict[str, Any] | str,
               params: dict[str, Any] | str | None = None,
               window_start: str | None = None, window_end: str | None = None,
               timeout_s: float | None = None, retries: int = 0, backoff_s: float = 30.0,
               kernel: str | None = None, schedule_id: int | None = None,
               scheduled_for: str | None = None, status: str = "queued", attempt: int = 1,
               retry_of: str | None = None, not_before: str | None = None,
               error: dict | None = None, or_ignore: bool = False) -> str | None:
    """Insert a run inside the caller's transaction; ``None`` when ``or_ignore`` hit an
    existing (schedule, window, attempt)."""
    run_id = new_run_id()
    now = catalog_time(utcnow())
    # the scheduler passes the schedule's JSON text through as it is
    target_text = target if isinstance(target, str) else to_json(target)
    params_text = params if isinstance(params, str) else to_json(params or {})
    verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
    cur = conn.execute(
        f"{verb} INTO runs(id, schedule_id, scheduled_for, target, status, attempt, max_attempts,"
        " retry_of, backoff_s, kernel, params, window_start, window_end, timeout_s, queued_at,"
        " not_before, error, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (run_id, schedule_id, scheduled_for, target_text, status, attempt, int(retries) + 1,
         retry_of, float(backoff_s), kernel, params_text, window_start, window_end,
         timeout_s, now, not_before, to_json(error) if error else None,
         now if status in TERMINAL else None))
    return run_id if cur.rowcount else None


def claim(lh: Any, run_id: str, worker: str, lease_s: float) -> bool:
    """queued -> running for exactly one caller (a scheduler or a worker)."""
    now = utcnow()
    with lh.catalog.transaction() as conn:
        cur = conn.execute(
            "UPDATE runs SET status = 'running', worker = ?, started_at = ?, heartbeat_at = ?,"
            " lease_until = ? WHERE id = ? AND status = 'queued'"
            " AND (not_before IS NULL OR not_before <= ?)",
            (worker, catalog_time(now), catalog_time(now), catalog_time(now + timedelta(seconds=lease_s)), run_id, catalog_time(now)))
        return cur.rowcount == 1


def take_over(lh: Any, run_id: str, claimed_by: str, worker: str, lease_s: float) -> bool:
    """A worker takes a run its scheduler claimed for it (only from that scheduler)."""
    now = utcnow()
    with lh.catalog.transaction() as conn:
        cur = conn.execute(
            "UPDATE runs SET worker = ?, heartbeat_at = ?, lease_until = ?"
            " WHERE id = ? AND status = 'running' AND worker = ?",
            (worker, catalog_time(now), catalog_time(now + timedelta(seconds=lease_s)), run_id, claimed_by))
        return cur.rowcount == 1


def heartbeat(lh: Any, run_id: str, worker: str, lease_s: float) -> bool:
    """Extend the lease; returns whether a cancel was requested."""
    now = utcnow()
    with lh.catalog.transaction() as conn:
        conn.execute("UPDATE runs SET heartbeat_at = ?, lease_until = ?, worker = ?"
                     " WHERE id = ? AND status = 'running'",
                     (catalog_time(now), catalog_time(now + timedelta(seconds=lease_s)), worker, run_id))
        row = conn.execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
    return bool(row and row[0])


def set_progress(lh: Any, run_id: str, progress: dict[str, Any], output_path: str | None = None) -> None:
    if output_path is None:
        lh.catalog.execute("UPDATE runs SET progress = ? WHERE id = ?", (to_json(progress), run_id))
    else:
        lh.catalog.execute("UPDATE runs SET progress = ?, output_path = ? WHERE id = ?",
                           (to_json(progress), output_path, run_id))


def finish(lh: Any, run_id: str, status: str, error: dict | None = None,
           output_path: str | None = None, from_status: str = "running",
           lease_before: datetime | None = None) -> tuple[bool, str | None]:
    """End a run, only if it is still ``from_status`` (and, for the reaper, its lease ran out
    before ``lease_before``). Returns (ended, id of the retry created or None)."""
    assert status in TERMINAL
    now = utcnow()
    with lh.catalog.transaction() as conn:
        sql = ("UPDATE runs SET status = ?, finished_at = ?, error = ?,"
               " output_path = COALESCE(?, output_path), lease_until = NULL"
               " WHERE id = ? AND status = ?")
        args: tuple = (status, catalog_time(now), to_json(error) if error else None, output_path, run_id,
                       from_status)
        if lease_before is not None:
            sql += " AND lease_until < ?"
            args += (catalog_time(lease_before),)
        if conn.execute(sql, args).rowcount != 1:
            return False, None
        row = dict(conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone())
        if status not in RETRYABLE or row["attempt"] >= row["max_attempts"]:
            return True, None
        row = dict(conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone())
        if status not in RETRYABLE or row["attempt"] >= row["max_attempts"]:
            return None
        delay = float(row["backoff_s"] or 0) * (2 ** (row["attempt"] - 1))
        return True, insert_run(
            conn, target=from_json(row["target"], {}), params=from_json(row["params"], {}),
            window_start=row["window_start"], window_end=row["window_end"],
            timeout_s=row["timeout_s"], retries=row["max_attempts"] - 1,
            backoff_s=row["backoff_s"], kernel=row["kernel"], schedule_id=row["schedule_id"],
            scheduled_for=row["scheduled_for"], attempt=row["attempt"] + 1,
            retry_of=row["retry_of"] or row["id"],
            not_before=catalog_time(now + timedelta(seconds=delay)))


def request_cancel(lh: Any, run_id: str) -> Run:
    """Cancel a queued run at once; ask a running one's worker to stop its kernel."""
    run = latest_attempt(lh, run_id)
    if run.status == "queued":
        finish(lh, run.id, "cancelled", {"ename": "Cancelled", "evalue": "cancelled before it started"},
               from_status="queued")
    elif run.status == "running":
        lh.catalog.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run.id,))
    lh.catalog.record_event("run.cancel", run.id, {"status": run.status})
    return get_run(lh, run.id)


def reap_stale(lh: Any, now: datetime | None = None) -> list[str]:
    """Mark running runs whose worker stopped heartbeating (its lease ran out) failed; retry
    them when their policy allows. Returns the ids marked."""
    now = now or utcnow()
    stale = lh.catalog.query("SELECT id, worker, heartbeat_at FROM runs WHERE status = 'running'"
                             " AND lease_until IS NOT NULL AND lease_until < ?", (catalog_time(now),))
    marked = []
    for row in stale:
        error = {"ename": "WorkerLost", "cell_index": None,
                 "evalue": f"the worker {row['worker']} stopped sending heartbeats "
                           f"(last at {row['heartbeat_at']}); it was killed or its machine stopped"}
        # the conditional UPDATE re-checks status and lease under the write lock: one reaper
        # wins, and a worker that heartbeated in between is left alone
        ended, retry = finish(lh, row["id"], "failed", error, lease_before=now)
        if ended:
            marked.append(row["id"])
            lh.catalog.record_event("run.worker_lost", row["id"], {"retry": retry})
    return marked
