"""Schedules: cron expressions in a timezone, their fire times and the catch-up policies.

A fire time T is the *end* of the window the run covers; the window starts at the previous
fire time. ``next_run_at`` is stored in UTC so the scheduler finds due schedules with one
indexed query. When the scheduler was down, the missed fire times are handled by the
schedule's ``catchup`` policy:

* ``latest`` (default): one run, for the newest missed window; older ones are recorded skipped.
* ``all``: a run for every missed window, in order.
* ``skip``: no run for a window older than the misfire grace; wait for the next fire time.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from ..catalog import from_json
from ..shared.errors import InvalidInput
from ..shared.times import catalog_time

CATCHUP = ("latest", "all", "skip")
#: at most this many windows materialised per schedule per tick (``all`` after a long outage)
MAX_WINDOWS_PER_TICK = 500
#: at most this many missed windows recorded as ``skipped`` runs per tick
MAX_SKIPPED_RECORDED = 50


def check_cron(cron: str) -> str:
    text = (cron or "").strip() if isinstance(cron, str) else ""
    fields = text.split()
    if len(fields) != 5 or not croniter.is_valid(text):
        raise InvalidInput(f"{cron!r} is not a cron expression with 5 fields "
                           "(minute hour day-of-month month day-of-week).",
                           'E.g. "0 * * * *" (hourly) or "30 6 * * 1-5" (06:30 on weekdays).')
    return text


def check_timezone(tz: str | None) -> ZoneInfo:
    name = (tz or "UTC").strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        raise InvalidInput(f"Unknown timezone {tz!r}.",
                           "Use an IANA name such as UTC, Europe/Amsterdam or America/New_York.") from None


def check_catchup(catchup: str) -> str:
    if catchup not in CATCHUP:
        raise InvalidInput(f"Unknown catch-up policy {catchup!r}.", f"Use one of {', '.join(CATCHUP)}.")
    return catchup


_local = threading.local()


def _cron_at(cron: str, tz: str, start: datetime) -> croniter:
    """A croniter positioned at ``start`` in ``tz``. Parsing an expression costs more than
    stepping it, and a tick over many schedules sees few distinct expressions: parsed
    iterators are kept per thread (they are stateful) and moved with ``set_current``."""
    cache = _local.__dict__.setdefault("crons", {})
    local_start = start.astimezone(_zone(tz))
    it = cache.get(cron)
    if it is None:
        if len(cache) > 4096:
            cache.clear()
        it = cache[cron] = croniter(cron, local_start)
    else:
        it.set_current(local_start, force=True)
    return it


@lru_cache(maxsize=512)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def fire_times_after(cron: str, tz: str, after: datetime):
    """An iterator of fire times (aware, UTC) strictly after ``after``."""
    it = _cron_at(cron, tz, after)
    while True:
        yield it.get_next(datetime).astimezone(timezone.utc)


def next_fire(cron: str, tz: str, after: datetime) -> datetime:
    return next(fire_times_after(cron, tz, after))


def previous_fire(cron: str, tz: str, before: datetime) -> datetime:
    return _cron_at(cron, tz, before).get_prev(datetime).astimezone(timezone.utc)


def due_windows(cron: str, tz: str, next_run_at: datetime, now: datetime, catchup: str,
                grace_s: float) -> tuple[list[datetime], list[datetime], datetime]:
    """(fire times to run, missed fire times skipped, the next fire time after ``now``)."""
    fires: list[datetime] = []
    gen = fire_times_after(cron, tz, next_run_at)
    t = next_run_at
    while t <= now and len(fires) < MAX_WINDOWS_PER_TICK:
        fires.append(t)
        t = next(gen)
    if catchup == "all":
        return fires, [], t
    if catchup == "latest":
        return fires[-1:], fires[:-1], t
    run = [f for f in fires[-1:] if (now - f).total_seconds() <= grace_s]
    return run, [f for f in fires if f not in run], t


@dataclass
class Schedule:
    """A schedule of a step, notebook or pipeline (``lh.pipelines.schedules.list()``)."""

    id: int
    name: str
    target: dict[str, Any]
    cron: str
    timezone: str = "UTC"
    catchup: str = "latest"
    params: dict[str, Any] = field(default_factory=dict)
    timeout_s: float | None = None
    retries: int = 0
    backoff_s: float = 30.0
    kernel: str | None = None
    paused: bool = False
    skip_up_to_date: bool = True
    next_run_at: str | None = None
    last_scheduled_for: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    #: who created the schedule, and who changed it last
    created_by: str | None = None
    updated_by: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Schedule":
        return cls(id=row["id"], name=row["name"], target=from_json(row["target"], {}),
                   cron=row["cron"], timezone=row["timezone"], catchup=row["catchup"],
                   params=from_json(row["params"], {}), timeout_s=row["timeout_s"],
                   retries=row["retries"], backoff_s=row["backoff_s"], kernel=row["kernel"],
                   paused=bool(row["paused"]), next_run_at=row["next_run_at"],
                   skip_up_to_date=bool(row.get("skip_up_to_date", 1)),
                   last_scheduled_for=row["last_scheduled_for"], created_at=row["created_at"],
                   updated_at=row["updated_at"], created_by=row.get("created_by"),
                   updated_by=row.get("updated_by"))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def _repr_html_(self) -> str:
        from ..render.pipelines import schedule_html
        return schedule_html(self.to_dict())


def initial_next_run(cron: str, tz: str, now: datetime | None = None) -> str:
    return catalog_time(next_fire(cron, tz, now or datetime.now(timezone.utc)))


__all__ = ["Schedule", "check_cron", "check_timezone", "check_catchup", "due_windows",
           "next_fire", "previous_fire", "initial_next_run"]
