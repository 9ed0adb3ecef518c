"""A pipeline through the Dask executor: a real ``dask scheduler`` and ``dask worker``
processes (started by the test session, not a LocalCluster) run the claimed runs, on the
laptop lakehouse and on the team stack (where the workers read and write the PostgreSQL
catalog and the S3 storage)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipelines_fixtures import code, write_notebook

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("backend", ["laptop", "team"], indirect=True)
def test_pipeline_runs_on_a_dask_cluster(lh, tmp_path: Path, dask_cluster, backend) -> None:
    distributed = pytest.importorskip("distributed")
    lh = lh.as_user("dana")  # who submits: the workers' processes know nothing of it
    from kernel_magics.pipelines.executors import DaskExecutor
    from kernel_magics.pipelines.scheduler import Scheduler

    out = tmp_path / "out"
    out.mkdir()
    first = write_notebook(tmp_path / "first.ipynb", [
        code("%load_ext kernel_magics"),
        code(f"import os, pathlib\nOUT = pathlib.Path({str(out)!r})"),
        code("%%feature tx --key id --event-time ts\n"
             "import pandas as pd\n"
             "(OUT / 'first').write_text(str(os.getpid()))\n"
             "pd.DataFrame({'id': [1, 2], 'ts': pd.to_datetime(['2024-05-01', '2024-05-02'], utc=True)})"),
    ])
    second = write_notebook(tmp_path / "second.ipynb", [
        code(f"import os, pathlib\nOUT = pathlib.Path({str(out)!r})"),
        code("(OUT / 'second').write_text(lakebook_run_id)"),
    ])
    lh.pipelines.create("nightly", steps=[f"{first}::tx"])
    with distributed.Client(dask_cluster.address) as client:
        executor = DaskExecutor(lh, address=dask_cluster.address)
        assert executor.free_slots() == 2
        pipeline_run = lh.pipelines.submit("nightly")
        nb_run = lh.pipelines.submit(second)
        sched = Scheduler(lh, executor=executor, poll=0.2)
        assert sched.tick().dispatched == 2
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if all(lh.pipelines.runs.get(r.id).done for r in (pipeline_run, nb_run)):
                break
            sched.tick()
            time.sleep(0.5)
        done = [lh.pipelines.runs.get(r.id) for r in (pipeline_run, nb_run)]
        assert [r.status for r in done] == ["succeeded", "succeeded"], [r.error for r in done]
        # the work ran in the Dask worker processes, not here
        worker_pids = {w["pid"] for w in client.scheduler_info()["workers"].values()} \
            if all("pid" in w for w in client.scheduler_info()["workers"].values()) else None
        runners = {int(r.worker.rsplit(":", 1)[1]) for r in done}
        assert runners and __import__("os").getpid() not in runners
        if worker_pids:
            assert runners <= worker_pids
        assert (out / "second").read_text() == nb_run.id
        assert len(lh.features.groups.get("tx").read()) == 2
        # the worker wrote through the lakehouse's own storage and catalog, as its user
        assert lh.features.groups.get("tx").table_path.uri.startswith(
            "s3://" if backend == "team" else str(lh.home))
        assert lh.features.groups.get("tx").commits()[0]["who"] == "dana"
        assert {lh.pipelines.runs.get(r.id).to_dict().get("created_by")
                for r in (pipeline_run, nb_run)} == {"dana"}
        executor.shutdown()
