"""/lakebook/api/lineage, /stale, /why, steps with their reasons, and a forced run, through a
real Jupyter server; a client's mistake is a 4xx naming it."""
from __future__ import annotations

import time

import pytest

import kernel_magics
from pipelines_fixtures import code, write_notebook

pytestmark = pytest.mark.timeout(240)


def _wait(server, run_id: str) -> dict:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run = server.get(f"runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.3)
    raise AssertionError(run)


def test_lineage_routes(jupyter_server, home) -> None:
    root = jupyter_server.root
    write_notebook(root / "feat.ipynb", [
        code("%load_ext kernel_magics"), code("import pandas as pd"),
        code("%%feature tx --key k --event-time ts\n"
             "pd.DataFrame({'k': [1, 2], 'ts': pd.Timestamp('2024-01-01', tz='UTC')})")])
    first = jupyter_server.post("runs", json={"notebook": "feat.ipynb", "step": "tx"})
    assert first.status_code == 201, first.text
    assert _wait(jupyter_server, first.json()["id"])["status"] == "succeeded"
    again = jupyter_server.post("runs", json={"notebook": "feat.ipynb", "step": "tx"}).json()
    assert _wait(jupyter_server, again["id"])["status"] == "up_to_date"
    forced = jupyter_server.post("runs", json={"notebook": "feat.ipynb", "step": "tx",
                                               "force": True}).json()
    assert _wait(jupyter_server, forced["id"])["status"] == "succeeded"

    graph = jupyter_server.get("lineage", params={"kind": "feature_group", "name": "tx"}).json()
    ids = {n["id"] for n in graph["nodes"]}
    assert "feature_group:tx@1" in ids and "step:feat.ipynb::feature:tx" in ids
    assert {e["relation"] for e in graph["edges"]} >= {"wrote", "ran"}
    assert len(jupyter_server.get("lineage").json()["nodes"]) >= len(graph["nodes"])

    steps = jupyter_server.get("steps", params={"path": "feat.ipynb", "why": "1"}).json()["steps"]
    assert steps[0]["up_to_date"] is True and steps[0]["reasons"] == []
    why = jupyter_server.get("why", params={"notebook": "feat.ipynb", "step": "tx"}).json()
    assert why["up_to_date"] is True and why["step"] == "feature:tx"
    kernel_magics.connect(home).features.groups.get("tx")  # still there
    assert jupyter_server.get("stale").json() == {"stale": []}

    # mistakes are the client's, named
    assert jupyter_server.get("lineage", params={"name": "nope"}).status_code == 404
    bad = jupyter_server.get("lineage", params={"name": "tx", "upstream": "maybe"})
    assert bad.status_code == 400 and "upstream" in bad.json()["error"]
    assert jupyter_server.get("lineage", params={"name": "tx", "depth": "-1"}).status_code == 400
    assert jupyter_server.get("lineage", params={"kind": "run"}).status_code == 400
    assert jupyter_server.get("why", params={"notebook": "feat.ipynb"}).status_code == 400
    assert jupyter_server.get("why", params={"notebook": "../x.ipynb", "step": "a"}).status_code == 400
    assert jupyter_server.get("why", params={"notebook": "feat.ipynb", "step": "zz"}).status_code == 404
    assert jupyter_server.post("runs", json={"notebook": "feat.ipynb", "step": "tx",
                                             "force": "yes"}).status_code == 400
