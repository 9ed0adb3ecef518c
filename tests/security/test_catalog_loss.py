"""Issue 24, finding 4: a lost catalog must never delete feature tables, and it can be rebuilt.

A home with tables but no catalog (deleted, or 0 bytes) refuses to open and says how to
recover; creating a group never deletes a table folder the catalog does not know; damaged
SQLite pages surface as CatalogError with its hint; ``lakebook recover`` (the installed
script) rebuilds groups, views, models and deployments from what the home describes, and the
demo's lakehouse comes back with the same groups, views and training data.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import kernel_magics
from kernel_magics.shared.errors import CatalogError, Conflict, LakebookError

from audit import changes, snapshot

LAKEBOOK = str(Path(sys.executable).with_name("lakebook"))
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LAKEBOOK_HOME", None)
    env["COLUMNS"] = "200"
    return env


def lakebook(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([LAKEBOOK, *args], capture_output=True, text=True, env=_env(),
                          timeout=600, cwd=cwd)


def small_lakehouse(lh) -> dict:
    """Two groups (one online, evolved), a view, a model with an alias, a deployment."""
    t = T0 + pd.to_timedelta(np.arange(3), "D")
    fg = lh.create_feature_group("tx", key="cc", event_time="ts", online=True,
                                 checks=["a >= 0"], description="card transactions")
    fg.insert(pd.DataFrame({"cc": [1, 2, 3], "a": [1.0, 2.0, 3.0], "ts": t}))
    fg.insert(pd.DataFrame({"cc": [1, 2, 3], "a": [4.0, 5.0, 6.0], "b": [1, 2, 3],
                            "ts": t + pd.Timedelta("1D")}), evolve=True)
    fg.insert(pd.DataFrame({"cc": [1], "a": [7.0], "b": [9], "ts": t[:1] + pd.Timedelta("1D")}),
              mode="upsert")
    labels = lh.create_feature_group("labels", key="cc", event_time="ts")
    labels.insert(pd.DataFrame({"cc": [1, 2, 3] * 2, "y": [0, 1, 0, 1, 0, 1],
                                "ts": list(t + pd.Timedelta("3D")) * 2}))
    fv = lh.create_feature_view("v", spine=labels, join=[fg], label="y")
    split = fv.train_test_split(test_size=0.5)
    model = LogisticRegression().fit(split[0], split[2])
    mv = lh.registry.register(model, "m", view=fv, input_example=split[0].head(2),
                              training_versions=split.versions,
                              metrics={"accuracy": 0.5})
    lh.registry.set_alias("m", "production", mv.version)
    lh.deploy("dep", model="m")
    lh.deployments.get("dep").predict({"cc": 1})
    lh.deployments.close()
    return state(lh)


def state(lh) -> dict:
    """What must survive a lost catalog."""
    groups = {}
    for g in lh.features.groups.list(all_versions=True):
        groups[(g.name, g.version)] = {
            "keys": g.keys, "event_time": g.event_time, "online": g.online,
            "checks": g.checks, "description": g.description, "schema": g.schema,
            "commits": [(c["delta_version"], c["commit_seq"], c["mode"], c["rows"])
                        for c in g.commits()],
            "statistics": g.statistics(), "rows": g.read().sort_values(
                [*g.keys, g.event_time]).reset_index(drop=True)}
    views = {(v.name, v.version): (v.spec, v.training_data()) for v in
             lh.features.views.list()}
    models = {}
    for name in [m["name"] for m in lh.registry.list()]:
        for mv in lh.registry.versions(name):
            models[(name, mv.version)] = (mv.metrics, mv.lineage, mv.aliases,
                                          mv.training_data(), getattr(mv, "artifact_sha256", None))
    deployments = {d["name"]: (d["model"], d["alias"], d["version"], d["view"])
                   for d in lh.deployments.list()}
    return {"groups": groups, "views": views, "models": models, "deployments": deployments}


def _same(b: object, a: object) -> bool:
    """Equal, floats up to their last digits: statistics recomputed from a commit's rows on
    recovery sum them in parallel, in another order than the insert did."""
    if isinstance(b, float) and isinstance(a, float):
        return a == pytest.approx(b, rel=1e-9, nan_ok=True)
    if isinstance(b, dict) and isinstance(a, dict):
        return b.keys() == a.keys() and all(_same(b[k], a[k]) for k in b)
    if isinstance(b, (list, tuple)) and isinstance(a, (list, tuple)):
        return len(b) == len(a) and all(_same(x, y) for x, y in zip(b, a))
    return b == a


def assert_same(before: dict, after: dict) -> None:
    assert before["groups"].keys() == after["groups"].keys()
    for key, b in before["groups"].items():
        a = after["groups"][key]
        pd.testing.assert_frame_equal(b.pop("rows"), a.pop("rows"))
        assert _same(b, a), key
    assert before["views"].keys() == after["views"].keys()
    for key, (spec, data) in before["views"].items():
        assert after["views"][key][0] == spec
        pd.testing.assert_frame_equal(data, after["views"][key][1])
    assert before["models"].keys() == after["models"].keys()
    for key, (metrics, lineage, aliases, data, digest) in before["models"].items():
        a = after["models"][key]
        assert (metrics, lineage, aliases, digest) == (a[0], a[1], a[2], a[4]), key
        pd.testing.assert_frame_equal(data, a[3])
    assert before["deployments"] == after["deployments"]


def lose_catalog(home: Path, empty: bool = False) -> None:
    for suffix in ("", "-wal", "-shm"):
        path = home / f"catalog.db{suffix}"
        if path.exists():
            path.unlink()
    if empty:
        (home / "catalog.db").write_bytes(b"")


@pytest.mark.parametrize("empty", [False, True], ids=["deleted", "0-byte"])
def test_home_with_tables_but_no_catalog_refuses_to_open(home, lh, empty, ipython_shell):
    small_lakehouse(lh)
    lh.catalog.close()
    lose_catalog(home, empty)
    tables = snapshot(home / "tables", home / "models")
    with pytest.raises(CatalogError, match="lakebook recover") as info:
        kernel_magics.connect(home)
    assert "tables/tx_v1" in info.value.message
    out = lakebook("status", "--home", str(home))
    assert out.returncode == 1 and "lakebook recover" in out.stderr, out.stderr
    # the first %%feature of a notebook on that home (it used to delete tables/tx_v1)
    ipython_shell.user_ns["df"] = pd.DataFrame({"cc": [5], "a": [1.0], "ts": [T0]})
    from IPython.core.error import UsageError
    with pytest.raises(UsageError, match="lakebook recover"):
        ipython_shell.run_cell_magic("feature", "tx --key cc --event-time ts", "df")
    assert changes(tables, snapshot(home / "tables", home / "models")) == []
    assert (home / "catalog.db").exists() == empty and (
        not empty or (home / "catalog.db").stat().st_size == 0)


def test_creating_a_group_never_deletes_a_table_the_catalog_does_not_know(home, lh):
    fg = lh.create_feature_group("tx", key="cc", event_time="ts")
    fg.insert(pd.DataFrame({"cc": [1, 2], "a": [1.0, 2.0], "ts": [T0, T0]}))
    # the catalog forgets the group (restored from an old backup, edited by hand...)
    lh.catalog.execute("DELETE FROM feature_groups")
    before = snapshot(home / "tables")
    for create in (lambda: lh.create_feature_group("tx", key="cc", event_time="ts"),
                   lambda: lh.features.groups.get_or_create("tx", key="cc", event_time="ts")):
        with pytest.raises(Conflict, match="tables/tx_v1") as info:
            create()
        assert "lakebook recover" in info.value.hint and "overwrite=True" in info.value.hint
    assert changes(before, snapshot(home / "tables")) == []
    assert lh.catalog.scalar("SELECT COUNT(*) FROM feature_groups") == 0
    fresh = lh.create_feature_group("tx", key="cc", event_time="ts", overwrite=True)
    assert fresh.version == 1 and fresh.read().empty   # asked for: the old data is gone


def _damage_pages(path: Path, table: str | None = None) -> None:
    """Overwrite with garbage the pages of ``table`` (found with SQLite's dbstat), or every
    page but the header page."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        if table is None:
            pages = range(2, conn.execute("PRAGMA page_count").fetchone()[0] + 1)
        else:
            pages = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = ?",
                                                (table,))]
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    for number in pages:
        data[(number - 1) * size:number * size] = rng.integers(0, 256, size,
                                                                 dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def test_damaged_catalog_pages_surface_as_catalog_error(home, lh):
    """Damage in the pages of some tables: opening works, but every read of those tables is
    a CatalogError with the recover hint, never a raw sqlite3.DatabaseError."""
    small_lakehouse(lh)
    lh.catalog.close()
    _damage_pages(home / "catalog.db", "model_versions")
    opened = kernel_magics.connect(home)
    assert [g.name for g in opened.features.groups.list()] == ["labels", "tx"]  # other tables read
    for call in (lambda: opened.registry.list(), lambda: opened.registry.get("m"),
                 lambda: opened.registry.register(LogisticRegression().fit([[0], [1]], [0, 1]),
                                                  "m2")):
        with pytest.raises(CatalogError) as info:
            call()
        assert "damaged" in info.value.message and "lakebook recover" in info.value.hint


def test_damaged_catalog_is_refused_and_recovered(home, lh):
    before = small_lakehouse(lh)
    lh.catalog.close()
    _damage_pages(home / "catalog.db")
    with pytest.raises(CatalogError) as info:
        opened = kernel_magics.connect(home)
        opened.features.groups.list()
        opened.registry.list()
    assert "lakebook recover" in info.value.hint
    assert not isinstance(info.value, sqlite3.DatabaseError)
    out = lakebook("status", "--home", str(home))
    assert out.returncode == 1 and "lakebook recover" in out.stderr
    assert "Traceback" not in out.stderr
    rec = lakebook("recover", "--home", str(home))
    assert rec.returncode == 0, rec.stdout + rec.stderr
    assert [p.name for p in home.glob("catalog.db.lost-*")]  # kept aside, not deleted
    assert_same(before, state(kernel_magics.connect(home)))


def test_recover_rebuilds_groups_views_models_and_deployments(home, lh):
    before = small_lakehouse(lh)
    lh.catalog.close()
    lose_catalog(home)
    out = lakebook("recover", "--home", str(home))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 feature groups" in out.stdout and "1 deployments: dep" in out.stdout
    assert "not rebuilt" in out.stdout
    again = kernel_magics.connect(home)
    assert_same(before, state(again))
    # the online store agrees with the offline table, and serving works
    assert again.features.views.get("v").feature_vector({"cc": 1})["a"] == 7.0
    assert again.deployments.get("dep").predict({"cc": 2})["found"] is True
    # inserts go on where they were (sequence numbers, schema, checks)
    fg = again.features.groups.get("tx")
    info = fg.insert(pd.DataFrame({"cc": [4], "a": [1.0], "b": [2], "ts": [T0]}))
    assert info.commit_seq == 4 and fg.num_rows() == 7
    with pytest.raises(LakebookError, match="a >= 0"):
        fg.insert(pd.DataFrame({"cc": [5], "a": [-1.0], "b": [2], "ts": [T0]}))
    # a readable catalog is not replaced unless asked
    refused = lakebook("recover", "--home", str(home))
    assert refused.returncode == 1 and "nothing to recover" in refused.stderr


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_recover_the_demo_lakehouse(tmp_path, demo_run):
    assert demo_run.proc.returncode == 0, demo_run.proc.stderr[-3000:]
    home = tmp_path / ".lakebook"
    shutil.copytree(demo_run.home, home)  # the session's demo lakehouse, lost here in a copy
    before = state(kernel_magics.connect(home, create=False))
    assert {g for g, _v in before["groups"]} == {"card_profiles", "card_transactions",
                                                 "fraud_labels"}
    assert before["views"] and before["models"]
    lose_catalog(home)
    refused = lakebook("status", "--home", str(home))
    assert refused.returncode == 1 and "lakebook recover" in refused.stderr
    out = lakebook("recover", "--home", str(home))
    assert out.returncode == 0, out.stdout + out.stderr
    assert_same(before, state(kernel_magics.connect(home, create=False)))
