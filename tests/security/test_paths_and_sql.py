"""Issue 24, finding 7: symlinks out of the server root, run outputs outside the lakehouse,
identifiers pasted into monitoring SQL, and user SQL on a locked, file-less DuckDB."""
from __future__ import annotations

import os
import types
from datetime import datetime, timedelta, timezone

import duckdb
import nbformat
import pandas as pd
import pyarrow as pa
import pytest

from kernel_magics.shared.errors import CheckFailed, InvalidInput, LakebookError


def _notebook(path, source="%%feature secret_step --key k --event-time ts\ndf"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, path)


def test_steps_do_not_follow_symlinks_out_of_the_server_root(lh, jupyter_server, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    _notebook(outside / "private.ipynb")
    (outside / "more").mkdir()
    _notebook(outside / "more" / "also_private.ipynb")
    root = jupyter_server.root
    _notebook(root / "mine.ipynb", "%%feature mine --key k --event-time ts\ndf")
    os.symlink(outside / "private.ipynb", root / "link.ipynb")
    os.symlink(outside / "more", root / "linked_folder")

    listed = jupyter_server.get("steps", params={"path": "."})
    assert listed.status_code == 200, listed.text
    names = {s["name"] for s in listed.json()["steps"]}
    assert names == {"mine"}
    assert str(outside) not in listed.text
    for path in ("link.ipynb", "linked_folder", "linked_folder/also_private.ipynb"):
        r = jupyter_server.get("steps", params={"path": path})
        assert r.status_code == 400 and "outside" in r.json()["error"], (path, r.text)
        assert str(outside) not in r.text
    # the Python API outside a server still follows the user's own links
    assert {s.name for s in lh.pipelines.steps.list(root)} == {"mine", "secret_step"}


def test_run_output_outside_the_lakehouse_is_not_served(lh, jupyter_server, tmp_path):
    secret = tmp_path / "elsewhere.ipynb"
    _notebook(secret, "print('not yours')")
    root = jupyter_server.root
    _notebook(root / "nb.ipynb", "1 + 1")
    run = lh.pipelines.submit(str(root / "nb.ipynb"))
    lh.catalog.execute("UPDATE runs SET output_path = ? WHERE id = ?", (str(secret), run.id))
    for suffix in ("", "?download=1"):
        r = jupyter_server.get(f"runs/{run.id}/output{suffix}")
        assert r.status_code == 404, r.text
        assert "not yours" not in r.text


def test_monitoring_sql_quotes_identifiers(lh):
    """Label, key and time columns with quotes in their names (a name is data, not SQL)."""
    from kernel_magics.monitoring import sources

    key, ts, label = 'card"id', 'at" >= 0 OR "x', 'is "fraud"'
    t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    fg = lh.create_feature_group("labels", key=key, event_time=ts)
    fg.insert(pd.DataFrame({key: [1, 2], ts: [t0 + timedelta(hours=1)] * 2, label: [1, 0]}))
    current = pa.table({key: [1, 2], ts: pa.array([t0, t0], pa.timestamp("us", "UTC")),
                        "prediction": [1, 1]})
    mv = types.SimpleNamespace(task="classification", metrics={"accuracy": 1.0})
    spec = {"labels": {"feature_group": "labels", "label": label}}
    out = sources.performance(lh, spec, mv, current)
    assert out["labelled"] == 2 and out["metrics"]["accuracy"] == 0.5


def test_user_sql_runs_on_a_locked_connection_without_file_access(tmp_path):
    from kernel_magics.features import checks
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    con = checks.connect()
    con.register("t", pa.table({"a": [1]}))
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(1,)]
    for sql in ("SET threads = 1", f"SET temp_directory = '{tmp_path}'",
                "SET enable_external_access = true", "RESET lock_configuration"):
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            con.execute(sql)
    for sql in (f"SELECT * FROM read_csv('{secret}')", f"COPY t TO '{tmp_path}/out.csv'",
                f"ATTACH '{tmp_path}/x.duckdb'", "INSTALL httpfs"):
        with pytest.raises(duckdb.PermissionException):
            con.execute(sql)
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "x.duckdb").exists()


def test_every_user_sql_path_uses_the_sandbox(lh, monkeypatch, tmp_path):
    import kernel_magics.shared.sql_sandbox as sandbox
    opened = []
    real = sandbox.sandboxed_connection

    def spy():
        con = real()
        opened.append(con)
        return con

    monkeypatch.setattr(sandbox, "sandboxed_connection", spy)
    import kernel_magics.features.checks as checks_mod
    monkeypatch.setattr(checks_mod, "sandboxed_connection", spy, raising=False)
    fg = lh.create_feature_group("tx", key="k", event_time="ts", checks=["amount >= 0"])
    rows = pd.DataFrame({"k": [1, 2], "amount": [1.0, 2.0],
                         "ts": pd.to_datetime(["2024-05-01", "2024-05-02"], utc=True)})
    fg.insert(rows)
    fg.insert(rows, mode="upsert")
    assert len(opened) >= 3  # checks, statistics, the upsert's duplicate check
    for con in opened:
        with pytest.raises(duckdb.Error):
            con.execute("SET threads = 1")

    # a check that tries to read a file is refused and writes nothing
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    bad = lh.create_feature_group("tx2", key="k", event_time="ts",
                                  checks=[f"amount > (SELECT count(*) FROM read_csv('{secret}'))"])
    with pytest.raises((CheckFailed, InvalidInput)) as info:
        bad.insert(rows)
    assert "disabled" in str(info.value) or "Permission" in str(info.value)
    assert bad.delta_version() is None
    assert isinstance(info.value, LakebookError)
