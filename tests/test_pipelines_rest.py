"""/lakebook/api steps, pipelines, schedules and runs through a real Jupyter server, whose
in-server scheduler executes the runs; a failing cell leaves the scheduler running."""
from __future__ import annotations

import time

import pytest
import requests

from pipelines_fixtures import code, write_notebook

pytestmark = pytest.mark.timeout(240)


def _wait_run(server, run_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = server.get(f"runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not finish: {run}")


def test_pipelines_rest_api(jupyter_server) -> None:
    root = jupyter_server.root
    write_notebook(root / "nbs" / "fti.ipynb", [
        code("%load_ext kernel_magics"),
        code("n = 1", tags=["parameters"]),
        code("%%feature tx --key id --event-time ts\ndf")])
    write_notebook(root / "fail.ipynb", [code("x = 1"), code("raise ValueError('bad data')")])
    write_notebook(root / "ok.ipynb", [code("n = 1", tags=["parameters"]), code("print(n * 2)")])

    # auth is Jupyter's own
    assert requests.get(jupyter_server.api("runs"), timeout=10).status_code == 403

    steps = jupyter_server.get("steps").json()["steps"]
    assert [(s["kind"], s["name"], s["index"]) for s in steps] == [("feature", "tx", 2)]
    assert jupyter_server.get("steps", params={"path": "../.."}).status_code == 400

    made = jupyter_server.post("pipelines", json={"name": "fti", "steps": ["nbs/fti.ipynb::tx"]})
    assert made.status_code == 201 and made.json()["stages"][0]["steps"] == ["tx"]
    assert [p["name"] for p in jupyter_server.get("pipelines").json()["pipelines"]] == ["fti"]

    # schedules: create, bad input as 4xx JSON, pause, resume, delete
    r = jupyter_server.post("schedules", json={"notebook": "nbs/fti.ipynb", "step": "tx",
                                                "cron": "0 6 * * *", "tz": "Europe/Amsterdam"})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    for body, text in [({"notebook": "nbs/fti.ipynb", "step": "tx", "cron": "nope"}, "cron"),
                       ({"notebook": "nbs/fti.ipynb", "step": "tx", "cron": "0 6 * * *",
                         "tz": "Nowhere/City"}, "timezone"),
                       ({"notebook": "nbs/fti.ipynb", "step": "zz", "cron": "0 6 * * *"}, "No step"),
                       ({"notebook": "nbs/fti.ipynb", "step": "tx", "cron": "0 6 * * *",
                         "params": {"n": "x"}}, "int")]:
        bad = jupyter_server.post("schedules", json=body)
        assert 400 <= bad.status_code < 500 and text in bad.json()["error"], bad.text
        assert "Traceback" not in bad.text
    assert jupyter_server.post(f"schedules/{sid}/pause").json()["paused"] is True
    assert jupyter_server.post(f"schedules/{sid}/resume").json()["paused"] is False
    assert len(jupyter_server.get("schedules").json()["schedules"]) == 1
    assert requests.delete(jupyter_server.api(f"schedules/{sid}"), headers=jupyter_server.auth,
                           timeout=10).status_code == 200
    assert jupyter_server.get("schedules").json()["schedules"] == []

    # run now: a failing cell fails the run with the cell and the error ...
    failed = jupyter_server.post("runs", json={"notebook": "fail.ipynb"})
    assert failed.status_code == 201 and failed.json()["status"] == "queued"
    run = _wait_run(jupyter_server, failed.json()["id"])
    assert run["status"] == "failed"
    assert run["error"]["cell_index"] == 1 and run["error"]["ename"] == "ValueError"
    assert "bad data" in run["error"]["evalue"]
    out = jupyter_server.get(f"runs/{run['id']}/output").json()
    assert any("bad data" in str(c.get("outputs")) for c in out["notebook"]["cells"])
    # ... and the in-server scheduler goes on: it runs the next one
    sched = jupyter_server.get("scheduler").json()
    assert sched["running"] is True and sched["errors"] == 0
    ok = jupyter_server.post("runs", json={"notebook": "ok.ipynb", "params": {"n": 21}})
    run = _wait_run(jupyter_server, ok.json()["id"])
    assert run["status"] == "succeeded"
    assert run["worker"] and run["progress"]["done"] == run["progress"]["cells"]
    out = jupyter_server.get(f"runs/{run['id']}/output").json()["notebook"]
    assert any("42" in str(c.get("outputs")) for c in out["cells"])
    listed = jupyter_server.get("runs", params={"status": "succeeded"}).json()["runs"]
    assert [r["id"] for r in listed] == [run["id"]]
    assert jupyter_server.get("runs/nope").status_code == 404
    assert jupyter_server.post("runs", json={"notebook": "ok.ipynb", "params": {"n": "x"}}).status_code == 400
    # cancel of a finished run changes nothing; rerun makes a new run
    assert jupyter_server.post(f"runs/{run['id']}/cancel").json()["status"] == "succeeded"
    again = jupyter_server.post(f"runs/{run['id']}/rerun")
    assert again.status_code == 201 and _wait_run(jupyter_server, again.json()["id"])["status"] == "succeeded"


def test_steps_with_why_say_whether_the_cells_after_the_last_step_would_run(
        jupyter_server) -> None:
    """What the sidebar shows under a notebook's steps: the code after its last step, which a
    run of the whole notebook runs and fingerprints (``NOTEBOOK::cells:tail``)."""
    root = jupyter_server.root
    cells = [code("%load_ext kernel_magics"), code("import pandas as pd"),
             code("%%feature tx --key k --event-time ts\n"
                  "pd.DataFrame({'k': range(3), 'ts': pd.Timestamp('2024-01-01', tz='UTC')})"),
             code("rows = 3"), code("summary = {'rows': rows}")]
    write_notebook(root / "tail.ipynb", cells)
    write_notebook(root / "steps_only.ipynb", cells[:3])

    def tails(path: str) -> list[dict]:
        answer = jupyter_server.get("steps", params={"path": path, "why": "1"})
        assert answer.status_code == 200, answer.text
        return answer.json()["tails"]

    [tail] = tails("tail.ipynb")
    assert tail["ref"] == f"{(root / 'tail.ipynb').resolve()}::cells:tail"
    assert (tail["first_index"], tail["index"]) == (3, 4)
    assert (tail["up_to_date"], tail["reasons"]) == (False, ["it has never run successfully"])
    assert tails("steps_only.ipynb") == []  # nothing after its last step
    # without ?why=1 nothing is decided, so no tails either
    assert jupyter_server.get("steps", params={"path": "tail.ipynb"}).json()["tails"] == []

    ran = jupyter_server.post("runs", json={"notebook": "tail.ipynb"})
    assert ran.status_code == 201, ran.text
    assert _wait_run(jupyter_server, ran.json()["id"], timeout=180)["status"] == "succeeded"
    [tail] = tails("tail.ipynb")
    assert (tail["up_to_date"], tail["reasons"]) == (True, [])

    cells[4] = code("summary = {'rows': rows, 'ok': True}")
    write_notebook(root / "tail.ipynb", cells)
    [tail] = tails("tail.ipynb")
    assert (tail["up_to_date"], tail["reasons"]) == (False, ["the code changed (2 lines)"])
