"""Pipelines benchmarks.

1. Whole-run wall time of a step (``lh.pipelines.run``: validation, slicing, run record,
   heartbeat, progress, papermill) against bare ``papermill.execute_notebook`` of the same
   sliced notebook with the same parameters. Target: run <= 1.3 x bare + 0.5 s.
2. One scheduler tick over 1000 schedules: idle (none due) and with all of them due
   (materialising 1000 runs in one transaction). Target: <= 100 ms.

Default: 3 alternating repetitions of (1). ``LAKEBOOK_BENCH_FULL=1``: 10 repetitions.
Run it under the shared lock: ``flock /tmp/lakebook-heavy.lock .venv/bin/python benchmarks/bench_pipelines.py``.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import kernel_magics  # noqa: E402
from kernel_magics.pipelines.papermill_run import run_parameters  # noqa: E402
from kernel_magics.shared.times import catalog_time, utcnow  # noqa: E402
from kernel_magics.pipelines.scheduler import Scheduler  # noqa: E402
from pipelines_fixtures import code, markdown, write_notebook  # noqa: E402

FULL = os.environ.get("LAKEBOOK_BENCH_FULL") == "1"


def bench_run(tmp: Path) -> dict:
    import papermill as pm
    lh = kernel_magics.connect(tmp / "home")
    nb = write_notebook(tmp / "step.ipynb", [
        markdown("# step"), code("%load_ext kernel_magics"),
        code("rows = 100", tags=["parameters"]),
        code("import pandas as pd\ndf = pd.DataFrame({'id': range(rows), 'v': range(rows)})"),
        code("%%feature bench --key id --event-time ts --mode upsert\n"
             "df.assign(ts=pd.Timestamp('2024-05-01', tz='UTC'))"),
    ])
    reps = 10 if FULL else 3
    ours, bare = [], []
    lh.pipelines.run(f"{nb}::bench")  # warm caches (imports, first Delta table)
    for i in range(reps):
        t = time.perf_counter()
        run = lh.pipelines.run(f"{nb}::bench", params={"rows": 100})
        ours.append(time.perf_counter() - t)
        assert run.status == "succeeded", run.error
        sliced = lh.runs_dir / run.id / "input.ipynb"
        out = tmp / f"bare-{i}.ipynb"
        t = time.perf_counter()
        pm.execute_notebook(str(sliced), str(out), parameters=run_parameters(run, str(nb)),
                            kernel_name="python3", language="python", progress_bar=False,
                            cwd=str(tmp))
        bare.append(time.perf_counter() - t)
    o, b = statistics.median(ours), statistics.median(bare)
    return {"reps": reps, "run_s": o, "bare_s": b, "ratio": o / b, "limit_s": 1.3 * b + 0.5,
            "ok": o <= 1.3 * b + 0.5}


def bench_tick(tmp: Path, n: int = 1000) -> dict:
    lh = kernel_magics.connect(tmp / "home-tick")
    nb = write_notebook(tmp / "tiny.ipynb", [code("x = 1")])
    for i in range(n):
        lh.pipelines.schedules.create(notebook=nb, cron=f"{i % 60} * * * *", name=f"s{i}",
                                      tz=("UTC", "Europe/Amsterdam", "America/New_York")[i % 3])
    sched = Scheduler(lh, dispatch=False)
    idle = []
    for _ in range(5):
        idle.append(sched.tick().duration_ms)
    # every schedule due at once, on time (e.g. all hourly at :00): one window each
    fire = utcnow().replace(microsecond=0) - timedelta(seconds=1)
    lh.catalog.execute("UPDATE schedules SET next_run_at = ?, last_scheduled_for = ?",
                       (catalog_time(fire), catalog_time(fire - timedelta(hours=1))))
    due = sched.tick()
    runs = lh.catalog.scalar("SELECT COUNT(*) FROM runs WHERE status = 'queued'")
    # after a 2-hour outage (catch-up "latest": one run and one skipped window each)
    lh.catalog.execute("UPDATE schedules SET next_run_at = ?, last_scheduled_for = NULL",
                       (catalog_time(utcnow() - timedelta(hours=2)),))
    outage = sched.tick()
    return {"schedules": n, "idle_ms": statistics.median(idle), "all_due_ms": due.duration_ms,
            "outage_ms": outage.duration_ms, "runs_queued": runs,
            "ok": statistics.median(idle) <= 100 and due.duration_ms <= 100}


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["LAKEBOOK_HOME"] = str(tmp / "home")
        r = bench_run(tmp) if os.environ.get("LAKEBOOK_BENCH_SKIP_RUN") != "1" else None
        if r: print(f"step run ({r['reps']} reps, median): lakebook {r['run_s']:.2f}s, bare papermill "
              f"{r['bare_s']:.2f}s, ratio {r['ratio']:.2f}, limit 1.3x+0.5s = {r['limit_s']:.2f}s "
              f"-> {'OK' if r['ok'] else 'OVER'}")
        t = bench_tick(tmp)
        print(f"scheduler tick over {t['schedules']} schedules: idle {t['idle_ms']:.2f} ms; all "
              f"{t['schedules']} due on time {t['all_due_ms']:.1f} ms ({t['runs_queued']} runs "
              f"queued) -> {'OK' if t['ok'] else 'OVER'}; after a 2 h outage (2 windows each, "
              f"policy latest) {t['outage_ms']:.1f} ms")


if __name__ == "__main__":
    main()
