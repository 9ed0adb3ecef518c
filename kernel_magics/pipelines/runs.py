"""Run records in the catalog's ``runs`` table and every state change they go through.

queued -> running -> succeeded | failed | timed_out | cancelled | up_to_date (every step's
fingerprint equalled its last successful run's: no kernel was started), and ``skipped`` for
missed scheduled windows. Every change is one conditional UPDATE inside ``BEGIN IMMEDIATE``, so two
processes can never both claim, finish or reap the same run. A failed or timed-out attempt
with attempts left creates the next attempt (``retry_of`` the first one) with an
exponential backoff in ``not_before``.
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..catalog import from_json
from ..shared.errors import InvalidInput, NotFound
from ..shared.times import parse_time, utcnow
from . import records
from .records import RETRYABLE, STATUSES, TERMINAL  # noqa: F401 - the statuses of a run



def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Run:
    """One attempt of a step, notebook or pipeline; ``lh.pipelines.runs.get(id)``."""

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
    #: who queued the run (or whose schedule did)
    created_by: str | None = None
    force: bool = False
    resume_of: str | None = None
    #: each step's outcome: ``{"kind:name": {"status", "notebook", "fingerprint"}}``
    steps_status: dict[str, Any] = field(default_factory=dict)
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
                   cancel_requested=bool(row.get("cancel_requested")),
                   created_by=row.get("created_by"),
                   force=bool(row.get("force")), resume_of=row.get("resume_of"),
                   steps_status=from_json(row.get("steps_status"), {}), _lh=lh)

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
        d["progress"] = self.progress or None      # none yet (queued): null, as the contract says
        return d

    def _repr_html_(self) -> str:
        from ..render.pipelines import run_html
        return run_html(self.to_dict())


# -- reading --------------------------------------------------------------------------------
def get_run(lh: Any, run_id: str) -> Run:
    row = records.run_row(lh.catalog, run_id)
    if row is None:
        raise NotFound(f"No run {run_id!r}.",
                       "List runs with lh.pipelines.runs.list() or `lakebook runs`.")
    return Run.from_row(row, lh)


def latest_attempt(lh: Any, run_id: str) -> Run:
    run = get_run(lh, run_id)
    return Run.from_row(records.latest_attempt_row(lh.catalog, run.retry_of or run.id), lh)


def has_retry(lh: Any, run: Run) -> bool:
    return records.has_retry(lh.catalog, run.retry_of or run.id, run.attempt)


def list_runs(lh: Any, status: str | None = None, limit: int = 50,
              schedule_id: int | None = None) -> list[Run]:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"Unknown run status {status!r}.", f"Use one of {', '.join(STATUSES)}.")
    return [Run.from_row(r, lh) for r in records.run_rows(lh.catalog, status, limit, schedule_id)]


# -- changing -------------------------------------------------------------------------------
def request_cancel(lh: Any, run_id: str) -> Run:
    """Cancel a queued run at once; ask a running one's worker to stop its kernel."""
    run = latest_attempt(lh, run_id)
    if run.status == "queued":
        records.finish(lh.catalog, run.id, "cancelled",
                       {"ename": "Cancelled", "evalue": "cancelled before it started"},
                       from_status="queued")
    elif run.status == "running":
        records.request_cancel(lh.catalog, run.id)
    lh.catalog.record_event("run.cancel", run.id, {"status": run.status})
    return get_run(lh, run.id)


def reap_stale(lh: Any, now: datetime | None = None) -> list[str]:
    """Mark running runs whose worker stopped heartbeating (its lease ran out) failed; retry
    them when their policy allows. Returns the ids marked."""
    now = now or utcnow()
    marked = []
    for row in records.stale(lh.catalog, now):
        error = {"ename": "WorkerLost", "cell_index": None,
                 "evalue": f"the worker {row['worker']} stopped sending heartbeats "
                           f"(last at {row['heartbeat_at']}); it was killed or its machine stopped"}
        # the conditional UPDATE re-checks status and lease under the write lock: one reaper
        # wins, and a worker that heartbeated in between is left alone
        ended, retry = records.finish(lh.catalog, row["id"], "failed", error, lease_before=now)
        if ended:
            marked.append(row["id"])
            lh.catalog.record_event("run.worker_lost", row["id"], {"retry": retry})
    return marked
