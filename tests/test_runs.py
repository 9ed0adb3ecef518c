"""Runs through a real papermill kernel: the copy, parameters, failures, retries, timeouts,
cancel, and bad input refused before anything is queued."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import nbformat
import pytest

from kernel_magics.shared.errors import InvalidInput, LakebookError, NotFound
from pipelines_fixtures import code, markdown, write_notebook

pytestmark = pytest.mark.timeout(180)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_feature_step_runs_on_a_copy_with_injected_parameters(lh, other_lh, tmp_path: Path
                                                               ) -> None:
    nb = write_notebook(tmp_path / "fti.ipynb", [
        markdown("# transactions"),
        code("%load_ext kernel_magics"),
        code("rows = 3", tags=["parameters"]),
        code("import pandas as pd\n"
             "end = pd.Timestamp(window_end)\n"
             "df = pd.DataFrame({'id': range(rows), 'amount': [1.5] * rows,\n"
             "                   'ts': [end - pd.Timedelta(minutes=i + 1) for i in range(rows)]})"),
        code("%%feature tx --key id --event-time ts\ndf"),
        code("raise RuntimeError('cells after the step must not run')"),
        code("%%feature other --key id --event-time ts\ndf"),
    ])
    before = _digest(nb)
    run = lh.pipelines.run(f"{nb}::tx", params={"rows": 4},
                           window=("2024-05-01T00:00:00+00:00", "2024-05-02T00:00:00+00:00"))
    assert run.status == "succeeded", run.error
    assert _digest(nb) == before  # the user's notebook is never written
    # the run record is in the storage: another home of the lakehouse opens it
    out = nbformat.reads(other_lh.pipelines.runs.notebook(run.id), as_version=4)
    assert run.output_path == (lh.runs_dir / run.id / "output.ipynb").uri
    injected = [c for c in out.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    src = injected[0].source
    assert f'lakebook_run_id = "{run.id}"' in src and "rows = 4" in src
    assert 'window_end = "2024-05-02T00:00:00+00:00"' in src
    assert out.cells.index(injected[0]) == 3  # right after the parameters cell
    assert not any("must not run" in c.source for c in out.cells)
    assert run.progress["done"] == run.progress["cells"]
    fg = lh.features.groups.get("tx")
    assert len(fg.read()) == 4
    assert "other" not in [g.name for g in lh.features.groups.list()]
    commit = lh.catalog.query_one("SELECT lineage FROM feature_group_commits")
    assert run.id in commit["lineage"]


def test_failing_cell_marks_the_run_failed_then_retries_with_backoff(lh, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "bad.ipynb", [
        code("x = 1"), markdown("note"), code("y = {}\ny['missing']"), code("z = 2")])
    run = lh.pipelines.run(nb, retries=1, backoff=0.5)
    assert run.status == "failed" and run.attempt == 2
    assert run.error["cell_index"] == 2 and run.error["ename"] == "KeyError"
    assert "missing" in run.error["evalue"]
    assert run.error["cell_id"] == nbformat.read(nb, as_version=4).cells[2].id
    first = lh.pipelines.runs.get(run.retry_of)
    assert first.status == "failed" and first.attempt == 1
    # the retry was not allowed to start before the backoff
    from kernel_magics.shared.times import parse_time
    assert (parse_time(run.not_before) - parse_time(first.finished_at)).total_seconds() >= 0.5
    assert parse_time(run.started_at) >= parse_time(run.not_before)


def test_timeout_and_cancel(lh, tmp_path: Path) -> None:
    slow = write_notebook(tmp_path / "slow.ipynb", [code("import time"), code("time.sleep(60)")])
    t0 = time.monotonic()
    run = lh.pipelines.run(slow, timeout=3)
    assert run.status == "timed_out" and time.monotonic() - t0 < 30
    assert run.error["ename"] == "Timeout" and run.error["cell_index"] == 1

    queued = lh.pipelines.run(slow, wait=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cur = queued.refresh()
        if cur.status == "running" and cur.progress.get("source_index") == 1:
            break
        time.sleep(0.2)
    assert cur.status == "running", cur
    lh.pipelines.cancel(queued.id)
    final = queued.wait(timeout=30)
    assert final.status == "cancelled", final
    assert final.error["ename"] == "Cancelled"

    # a queued run is cancelled at once
    q = lh.pipelines.submit(slow)
    assert lh.pipelines.cancel(q.id).status == "cancelled"


def test_bad_input_is_refused_before_anything_is_queued(lh, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "p.ipynb", [code("n = 5\nname = 'a'", tags=["parameters"]),
                                               code("%%feature g --key k --event-time t\ndf")])
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    nokernel = write_notebook(tmp_path / "k.ipynb", [code("1")], kernel="no-such-kernel")
    cases = [
        (dict(notebook=nb, step="g", cron="61 * * * *"), InvalidInput, "cron"),
        (dict(notebook=nb, step="g", cron="0 * * *"), InvalidInput, "5 fields"),
        (dict(notebook=nb, step="g", cron="0 * * * *", tz="Mars/Olympus"), InvalidInput, "timezone"),
        (dict(notebook=nb, step="nope", cron="0 * * * *"), NotFound, "No step 'nope'"),
        (dict(notebook=broken, cron="0 * * * *"), InvalidInput, "cannot be read"),
        (dict(notebook=nokernel, cron="0 * * * *"), NotFound, "no-such-kernel"),
        (dict(notebook=nb, step="g", cron="0 * * * *", params={"n": "five"}), InvalidInput,
         "declares it as int"),
        (dict(notebook=nb, step="g", cron="0 * * * *", catchup="sometimes"), InvalidInput, "catch-up"),
    ]
    for kwargs, exc, text in cases:
        with pytest.raises(exc, match=text):
            lh.pipelines.schedules.create(**kwargs)
    for what, kwargs, exc in [(f"{nb}::nope", {}, NotFound), (broken, {}, InvalidInput),
                              (nokernel, {}, NotFound), (nb, {"params": {"name": 3}}, InvalidInput),
                              (nb, {"params": {"window_end": "x"}}, InvalidInput),
                              (nb, {"window": ("2024-01-02", "2024-01-01")}, InvalidInput)]:
        with pytest.raises(exc):
            lh.pipelines.run(what, **kwargs)
    assert lh.catalog.scalar("SELECT COUNT(*) FROM runs") == 0
    assert lh.catalog.scalar("SELECT COUNT(*) FROM schedules") == 0
    # the right types pass
    assert lh.pipelines.submit(nb, params={"n": 7, "name": "b"}).status == "queued"
    assert issubclass(NotFound, LakebookError)
