"""Real scheduler processes: 3 schedulers over 100 due runs start each exactly once, SIGTERM
stops them cleanly, and a worker killed with kill -9 is found by its lapsed lease, marked
failed and retried. Both run real papermill kernels (the first one ~100 of them, about two
minutes on two cores): run them under ``flock /tmp/lakebook-heavy.lock``."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kernel_magics.pipelines.runs import TERMINAL
from kernel_magics.shared.times import catalog_time, utcnow
from kernel_magics.pipelines.scheduler import Scheduler
from conftest import lakebook_script
from pipelines_fixtures import code, write_notebook, write_toml

pytestmark = pytest.mark.timeout(900)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _scheduler_proc(home: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([lakebook_script(), "--home", str(home),
                             "scheduler", "--poll", "0.3"],
                            stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env={**os.environ, "LAKEBOOK_HOME": str(home)})


@pytest.mark.parametrize("backend", ["laptop", "team"], indirect=True)
def test_three_schedulers_start_each_of_100_due_runs_exactly_once(home, tmp_path, backend
                                                                  ) -> None:
    """SQLite: claims serialise on BEGIN IMMEDIATE; PostgreSQL: each scheduler claims with
    SELECT ... FOR UPDATE SKIP LOCKED, and due windows are materialised once."""
    write_toml(home, concurrency=2, poll_seconds=0.3, lease_seconds=60)
    import kernel_magics
    lh = kernel_magics.connect(home)
    ledger = tmp_path / "ledger.txt"
    nb = write_notebook(tmp_path / "tiny.ipynb", [
        code(f"with open({str(ledger)!r}, 'a') as fh:\n    fh.write(lakebook_run_id + '\\n')")])
    # 10 schedules x 10 missed windows each, caught up with policy "all": 100 due runs. The
    # windows are :00 to :45 of the previous hour, so none comes due for real while it runs.
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    for i in range(10):
        lh.pipelines.schedules.create(notebook=nb, cron=f"0-45/5 {hour.hour} * * *",
                                      catchup="all", name=f"s{i}")
    lh.catalog.execute("UPDATE schedules SET next_run_at = ?", (catalog_time(hour),))
    procs = [_scheduler_proc(home, tmp_path / f"scheduler{i}.log") for i in range(3)]
    try:
        deadline = time.monotonic() + 700
        while time.monotonic() < deadline:
            total = lh.catalog.scalar("SELECT COUNT(*) FROM runs")
            done = lh.catalog.scalar(
                f"SELECT COUNT(*) FROM runs WHERE status IN ({','.join('?' * len(TERMINAL))})",
                tuple(TERMINAL))
            if total >= 100 and done == total:
                break
            assert all(p.poll() is None for p in procs), "a scheduler died"
            time.sleep(1)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(30) for p in procs]
    assert codes == [0, 0, 0]  # SIGTERM is a clean shutdown
    runs = lh.catalog.query("SELECT * FROM runs")
    # the 100 missed windows: every due window, once
    per_schedule = Counter(r["schedule_id"] for r in runs)
    assert len(per_schedule) == 10 and set(per_schedule.values()) == {10}, per_schedule
    assert len(runs) == 100, len(runs)
    assert Counter(r["status"] for r in runs) == {"succeeded": len(runs)}, [
        r["error"] for r in runs if r["status"] != "succeeded"]
    # each (schedule, window) has one run, and each run executed exactly once
    assert len({(r["schedule_id"], r["scheduled_for"]) for r in runs}) == len(runs)
    for sid in per_schedule:  # consecutive 5-minute windows: none skipped, none doubled
        windows = sorted(r["scheduled_for"] for r in runs if r["schedule_id"] == sid)
        gaps = {b - a for a, b in zip(map(_parse, windows), map(_parse, windows[1:]))}
        assert gaps == {timedelta(minutes=5)}, windows
    executed = Counter(ledger.read_text().split())
    assert set(executed) == {r["id"] for r in runs}
    assert set(executed.values()) == {1}
    # one worker process per run
    starters = Counter(e["pid"] for e in lh.catalog.events("run.succeeded", limit=1000))
    assert len(starters) == len(runs)
    logs = " ".join((tmp_path / f"scheduler{i}.log").read_text() for i in range(3))
    assert "Traceback" not in logs


def test_killed_worker_is_marked_failed_and_retried(home, tmp_path) -> None:
    write_toml(home, lease_seconds=3, heartbeat_seconds=0.5, concurrency=1)
    import kernel_magics
    lh = kernel_magics.connect(home)
    marker, kernel_pid = tmp_path / "first-attempt", tmp_path / "kernel.pid"
    nb = write_notebook(tmp_path / "slow.ipynb", [
        code("import os, time, pathlib"),
        code(f"marker = pathlib.Path({str(marker)!r})\n"
             f"pathlib.Path({str(kernel_pid)!r}).write_text(str(os.getpid()))\n"
             "if not marker.exists():\n    marker.touch()\n    time.sleep(120)"),
    ])
    run = lh.pipelines.run(nb, wait=False, retries=1, backoff=0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cur = run.refresh()
        if cur.status == "running" and cur.progress.get("source_index") == 1 and marker.exists():
            break
        time.sleep(0.2)
    assert marker.exists(), cur
    worker_pid = int(cur.worker.rsplit(":", 1)[1])
    os.kill(worker_pid, signal.SIGKILL)
    try:
        sched = Scheduler(lh, poll=0.3)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and run.refresh().status == "running":
            sched.tick()  # reaps once the 3 s lease lapses, then starts the retry
            time.sleep(0.3)
        first = run.refresh()
        assert first.status == "failed" and first.error["ename"] == "WorkerLost"
        assert str(worker_pid) in first.error["evalue"]
        final = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            sched.tick()
            final = run.latest()
            if final.attempt == 2 and final.done:
                break
            time.sleep(0.3)
        assert final.attempt == 2 and final.retry_of == run.id
        assert final.status == "succeeded", final.error
        sched.executor.wait(30)
    finally:
        if kernel_pid.exists():  # the orphaned kernel of the killed worker
            try:
                os.kill(int(kernel_pid.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
