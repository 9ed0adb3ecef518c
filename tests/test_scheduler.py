"""Schedules and the scheduler: catch-up policies, pause/resume/delete, the magics'
--schedule, and windows claimed once (ticks with an explicit clock, no kernels)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kernel_magics.shared.errors import AlreadyExists, InvalidInput
from kernel_magics.shared.times import catalog_time, parse_time
from kernel_magics.pipelines.scheduler import Scheduler
from pipelines_fixtures import code, write_notebook


@pytest.fixture
def nb(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "hourly.ipynb", [code("x = 1")])


def _set_next(lh, name: str, when: datetime) -> None:
    lh.catalog.execute("UPDATE schedules SET next_run_at = ? WHERE name = ?", (catalog_time(when), name))


def _runs(lh, status: str | None = None) -> list[dict]:
    sql = "SELECT * FROM runs" + (" WHERE status = ?" if status else "") + " ORDER BY scheduled_for"
    return lh.catalog.query(sql, (status,) if status else ())


T0 = datetime(2024, 5, 1, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("policy,queued,skipped", [("latest", 1, 4), ("all", 5, 0), ("skip", 0, 5)])
def test_missed_windows_follow_the_catchup_policy(lh, nb, policy, queued, skipped) -> None:
    lh.pipelines.schedules.create(notebook=nb, cron="0 * * * *", catchup=policy, name="h")
    _set_next(lh, "h", T0)  # the scheduler was down from 00:00 to 04:30: 5 fire times missed
    now = T0 + timedelta(hours=4, minutes=30)
    sched = Scheduler(lh, dispatch=False)
    result = sched.tick(now)
    assert (result.queued, result.skipped) == (queued, skipped)
    q = _runs(lh, "queued")
    assert len(q) == queued
    if policy == "latest":
        assert q[0]["window_end"] == catalog_time(T0 + timedelta(hours=4))
        assert q[0]["window_start"] == catalog_time(T0 + timedelta(hours=3))
    if policy == "all":  # every window, in order, each starting where the previous ended
        assert [r["window_end"] for r in q] == [catalog_time(T0 + timedelta(hours=h)) for h in range(5)]
        assert [r["window_start"] for r in q[1:]] == [r["window_end"] for r in q[:-1]]
    assert all(r["error"] and "Missed" in r["error"] for r in _runs(lh, "skipped"))
    s = lh.pipelines.schedules.get("h")
    assert s.next_run_at == catalog_time(T0 + timedelta(hours=5))
    # a second tick (or a second scheduler) at the same time finds nothing more to do
    again = Scheduler(lh, dispatch=False).tick(now)
    assert (again.queued, again.skipped) == (0, 0)
    # on time, every policy runs the window
    on_time = Scheduler(lh, dispatch=False).tick(T0 + timedelta(hours=5, seconds=2))
    assert on_time.queued == 1


def test_schedule_timezone_pause_resume_delete(lh, nb) -> None:
    # quotes belong to a magic line (read once, shell-like, by step_arguments), not to a cron
    with pytest.raises(InvalidInput, match="is not a cron expression"):
        lh.pipelines.schedules.create(notebook=nb, cron='"30 6 * * *"', tz="Europe/Amsterdam")
    s = lh.pipelines.schedules.create(notebook=nb, cron=" 30 6 * * * ", tz="Europe/Amsterdam",
                                      params={"x": 2}, retries=2, timeout=60)
    assert s.cron == "30 6 * * *" and s.timezone == "Europe/Amsterdam" and s.name == "hourly"
    local = parse_time(s.next_run_at).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Amsterdam"))
    assert (local.hour, local.minute) == (6, 30)
    # create never redefines quietly: the same name again is refused and nothing changes
    with pytest.raises(AlreadyExists, match="Schedule 'hourly' exists already"):
        lh.pipelines.schedules.create(notebook=nb, cron="0 7 * * *", tz="Europe/Amsterdam")
    assert lh.pipelines.schedules.get("hourly").cron == "30 6 * * *"
    # replace=True redefines it (what a re-run magic cell does) instead of duplicating it
    s2 = lh.pipelines.schedules.create(notebook=nb, cron="0 7 * * *", tz="Europe/Amsterdam",
                                       replace=True)
    assert s2.id == s.id and s2.cron == "0 7 * * *"
    assert len(lh.pipelines.schedules.list()) == 1

    _set_next(lh, "hourly", T0)
    assert lh.pipelines.schedules.pause("hourly").paused
    assert Scheduler(lh, dispatch=False).tick(T0 + timedelta(days=1)).queued == 0
    resumed = lh.pipelines.schedules.resume(s.id)
    assert not resumed.paused and parse_time(resumed.next_run_at) > datetime.now(timezone.utc)
    lh.pipelines.schedules.delete("hourly")
    assert lh.pipelines.schedules.list() == []


def test_magic_schedule_option_creates_a_schedule(ipython_shell, tmp_path: Path, monkeypatch) -> None:
    nb = write_notebook(tmp_path / "fti.ipynb", [
        code("%load_ext kernel_magics"),
        code("%%feature tx --key id --event-time ts --schedule \"*/15 * * * *\" --tz Europe/Amsterdam\ndf")])
    monkeypatch.setenv("JPY_SESSION_NAME", str(nb))
    ipython_shell.run_cell("import pandas as pd\n"
                           "df = pd.DataFrame({'id': [1], 'ts': [pd.Timestamp('2024-05-01', tz='UTC')]})")
    result = ipython_shell.run_cell(
        "%%feature tx --key id --event-time ts --schedule \"*/15 * * * *\" --tz Europe/Amsterdam\ndf")
    assert result.error_in_exec is None and result.error_before_exec is None
    from kernel_magics import connect
    (sched,) = connect().pipelines.schedules.list()
    assert sched.cron == "*/15 * * * *" and sched.timezone == "Europe/Amsterdam"
    assert sched.target == {"notebook": str(nb.resolve()), "steps": ["tx"]}
    # a bad cron in the magic is a one-line error, and no schedule is added
    bad = ipython_shell.run_cell("%%feature tx --key id --event-time ts --schedule \"every hour\"\ndf")
    assert bad.error_in_exec is not None and "cron" in str(bad.error_in_exec)
    assert len(connect().pipelines.schedules.list()) == 1


def test_runs_of_a_deleted_schedule_are_not_started(lh, nb) -> None:
    lh.pipelines.schedules.create(notebook=nb, cron="0 * * * *", catchup="all", name="h")
    _set_next(lh, "h", T0)
    Scheduler(lh, dispatch=False).tick(T0 + timedelta(hours=2))
    assert len(_runs(lh, "queued")) == 3
    lh.pipelines.schedules.delete("h")
    assert len(_runs(lh, "queued")) == 0 and len(_runs(lh, "cancelled")) == 3
