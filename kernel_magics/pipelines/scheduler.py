"""The scheduler: one tick claims due windows, reaps dead workers and hands queued runs to the
executor. Any number of schedulers may tick against one lakehouse.

Exactly once comes from the catalog, not from the schedulers agreeing with each other:

* due windows are materialised inside one ``BEGIN IMMEDIATE`` transaction that reads the due
  schedules, INSERTs their runs (``UNIQUE(schedule_id, scheduled_for, attempt)``) and moves
  ``next_run_at`` on, so a second scheduler finds nothing left to do;
* a queued run is handed to an executor only by the scheduler whose conditional
  ``UPDATE … WHERE status = 'queued'`` changed it (a lease that the worker then renews).
"""
from __future__ import annotations

import logging
import secrets
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import records
from . import runs as R
from ..shared.times import catalog_time, parse_time, utcnow
from .executors import Executor, make_executor
from .cron import MAX_SKIPPED_RECORDED, due_windows, previous_fire

log = logging.getLogger("kernel_magics.pipelines")


@dataclass
class TickResult:
    queued: int = 0          # runs created for due windows
    skipped: int = 0         # missed windows recorded as skipped
    reaped: int = 0          # runs whose worker died
    dispatched: int = 0      # runs handed to the executor
    duration_ms: float = 0.0


class Scheduler:
    """Ticks every ``poll`` seconds until stopped; see :meth:`tick`."""

    def __init__(self, lh: Any, executor: Executor | None = None, poll: float | None = None,
                 dispatch: bool = True) -> None:
        self.lh = lh
        self.poll = float(poll if poll is not None else lh.config.scheduler_poll_s)
        self.lease_s = lh.config.lease_s
        self.grace_s = lh.config.misfire_grace_s
        self._executor = executor
        self.dispatch_enabled = dispatch
        self.name = f"scheduler {R.worker_name()}:{secrets.token_hex(3)}"
        self.stop_event = threading.Event()
        self.last_tick: TickResult | None = None
        self.last_tick_at: str | None = None
        self.errors = 0
        self._dispatch_lock = threading.Lock()  # the loop and a REST "run now" may both dispatch

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            self._executor = make_executor(self.lh)
        return self._executor

    # -- one tick ----------------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> TickResult:
        started = time.perf_counter()
        now = now or utcnow()
        result = TickResult()
        result.queued, result.skipped = self.materialize(now)
        result.reaped = len(R.reap_stale(self.lh, now))
        if self.dispatch_enabled:
            result.dispatched = self.dispatch()
        result.duration_ms = (time.perf_counter() - started) * 1000
        self.last_tick, self.last_tick_at = result, catalog_time(utcnow())
        return result

    def materialize(self, now: datetime) -> tuple[int, int]:
        """Create the runs of every due window (per catch-up policy) exactly once."""
        return records.materialize_due(self.lh.catalog, now, lambda row: self._plan(row, now))

    def _plan(self, row: dict[str, Any], now: datetime) -> records.Plan:
        """The runs one due schedule gets at ``now``, and the windows it skips."""
        cron, tz = row["cron"], row["timezone"]
        run_at, missed, following = due_windows(cron, tz, parse_time(row["next_run_at"]),
                                                now, row["catchup"], self.grace_s)
        # the window starts at the previous fire time: the one handled last (kept in
        # last_scheduled_for, reset when the cron changes), else ask croniter
        last_done = row["last_scheduled_for"]
        before = parse_time(last_done) if last_done else None
        previous: dict[datetime, datetime | None] = {}
        for fire in sorted(set(run_at) | set(missed)):
            previous[fire] = before if before is not None and before < fire else None
            before = fire
        run = {"target": row["target"], "params": row["params"], "schedule_id": row["id"],
               "force": not row.get("skip_up_to_date", 1)}
        runs = [{**run, "window_start": catalog_time(previous[fire] or
                                                     previous_fire(cron, tz, fire)),
                 "window_end": catalog_time(fire), "timeout_s": row["timeout_s"],
                 "retries": row["retries"], "backoff_s": row["backoff_s"],
                 "kernel": row["kernel"], "scheduled_for": catalog_time(fire)}
                for fire in run_at]
        skipped = [{**run, "window_end": catalog_time(fire), "scheduled_for": catalog_time(fire),
                    "error": {"ename": "Missed", "cell_index": None,
                              "evalue": f"no scheduler was running at {catalog_time(fire)}; "
                                        f"catch-up policy {row['catchup']!r}"}}
                   for fire in missed[-MAX_SKIPPED_RECORDED:]]
        last = (run_at or missed or [None])[-1]
        return runs, skipped, catalog_time(following), catalog_time(last)

    def dispatch(self) -> int:
        """Claim queued runs (as many as the executor has room for) and hand them over."""
        with self._dispatch_lock:
            return self._dispatch()

    def _dispatch(self) -> int:
        free = self.executor.free_slots()
        if free <= 0:
            return 0
        handed = 0
        for _ in range(free * 2):  # a refusing executor fails a few runs, not the queue
            if handed >= free:
                break
            run_id = records.claim_next(self.lh.catalog, self.name, self.lease_s)
            if run_id is None:
                break
            try:
                self.executor.submit(run_id, claimed_by=self.name)
            except Exception as exc:  # the executor could not start it: say so on the run
                log.exception("executor refused run %s", run_id)
                records.finish(self.lh.catalog, run_id, "failed",
                               {"ename": type(exc).__name__, "evalue": str(exc),
                                "cell_index": None})
                continue
            handed += 1
        return handed

    def wake(self) -> None:
        """Dispatch soon, off the caller's thread (a run was queued in this process)."""
        threading.Thread(target=self._safe_dispatch, daemon=True).start()

    def _safe_dispatch(self) -> None:
        try:
            self.dispatch()
        except Exception:
            log.exception("scheduler dispatch failed")

    # -- the loop ----------------------------------------------------------------------------
    def run_forever(self) -> None:
        """Tick until :meth:`stop`; an error in one tick is logged and the loop goes on.
        While it runs, runs queued in this process are handed to it
        (:func:`running_scheduler`)."""
        _RUNNING[str(self.lh.home)] = self
        try:
            while not self.stop_event.is_set():
                try:
                    self.tick()
                except Exception:
                    self.errors += 1
                    log.exception("scheduler tick failed")
                self.stop_event.wait(self.poll)
        finally:
            if _RUNNING.get(str(self.lh.home)) is self:
                del _RUNNING[str(self.lh.home)]
        if self._executor is not None:
            self._executor.shutdown()

    def stop(self) -> None:
        self.stop_event.set()

    def serve(self, once: bool = False) -> TickResult | None:
        """Foreground scheduler (``lakebook scheduler``): SIGTERM/SIGINT stop it cleanly
        after the current tick; in-flight runs keep going in their own processes."""
        if once:
            result = self.tick()
            self.executor.wait()
            return result
        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda *_: self.stop())
        try:
            self.run_forever()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.last_tick

    def status(self) -> dict[str, Any]:
        return {"name": self.name, "running": not self.stop_event.is_set(),
                "last_tick_at": self.last_tick_at, "errors": self.errors,
                "last_tick": self.last_tick.__dict__ if self.last_tick else None}


#: the scheduler looping in this process, by lakehouse home (the Jupyter server's)
_RUNNING: dict[str, Scheduler] = {}


def running_scheduler(home: Any) -> Scheduler | None:
    """The scheduler that :meth:`Scheduler.run_forever` runs in this process for the
    lakehouse at ``home`` (None when there is none)."""
    scheduler = _RUNNING.get(str(home))
    return None if scheduler is None or scheduler.stop_event.is_set() else scheduler


__all__ = ["Scheduler", "TickResult", "running_scheduler"]
