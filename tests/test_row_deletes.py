"""Deleting rows of a feature group (issue 19): by keys, by a predicate, or both; one Delta
commit recorded like an insert; the online store's keys fall back to their newest remaining
row; the vector index never returns a deleted row, in this process, another process and after
a reopen; bad input writes nothing; a crash between the commit and the online update is
finished later, and a deleter killed at any point leaves store and index matching the table. Runs on the laptop and on the team stack (PostgreSQL, S3 on moto, Redis)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import kernel_magics
from kernel_magics.shared.errors import InvalidInput

TS = pd.Timestamp("2024-01-01", tz="UTC")
DAY = pd.Timedelta(days=1)


def vectors(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(max(2, n // 50), dim))
    return (c[rng.integers(0, len(c), n)] + 0.35 * rng.normal(size=(n, dim))).astype(np.float32)


def merchants(lh, n: int = 400, online: bool = True):
    fg = lh.create_feature_group("merchants", key="mid", event_time="ts", online=online,
                                 embeddings={"vec": {"dim": 8, "metric": "cosine"}})
    v = vectors(n)
    fg.insert(pd.DataFrame({"mid": np.arange(n), "ts": TS,
                            "category": np.where(np.arange(n) % 4 == 0, "closed", "open"),
                            "vec": list(v)}))
    return fg, v


def test_deleting_by_key_and_predicate_is_one_recorded_commit(lh):
    fg, v = merchants(lh)
    before = fg.delta_version()
    info = fg.delete_rows(keys=[1, 2, 3])
    assert (info.mode, info.rows, info.delta_version) == ("delete", 3, before + 1)
    assert not set(fg.read()["mid"]) & {1, 2, 3}
    info = fg.delete_rows(where="category = 'closed'")
    assert info.rows == 100 and info.delta_version == before + 2
    assert set(fg.read()["category"]) == {"open"}
    # keys and predicate together: the rows of those keys that match
    info = fg.delete_rows(keys=pd.DataFrame({"mid": [5, 6, 7]}), where="mid > 5")
    assert info.rows == 2 and set(fg.read()["mid"]) & {5, 6, 7} == {5}
    commits = fg.commits()
    assert [c["mode"] for c in commits[:3]] == ["delete"] * 3
    assert [c["rows"] for c in commits[:3]] == [2, 100, 3]
    assert commits[0]["lineage"]["user"]
    # time travel still sees the rows (until the table is vacuumed)
    assert len(fg.read(as_of=before)) == 400
    # the lineage graph holds each delete as a write of the group, with its Delta version
    writes = [e for e in lh.lineage.events(kind="feature_group", name="merchants")
              if e["op"] == "write" and (e.get("detail") or {}).get("mode") == "delete"]
    assert sorted(e["detail"]["delta_version"] for e in writes) == [before + 1, before + 2,
                                                                   before + 3]


def test_the_online_store_falls_back_to_the_newest_remaining_row(lh):
    fg, v = merchants(lh, n=50)
    fg.insert(pd.DataFrame({"mid": [9], "ts": [TS + DAY], "category": ["moved"],
                            "vec": [v[20]]}))
    store = lh.online_store
    assert store.get_one(fg.online_table, ["mid"], (9,))["category"] == "moved"
    fg.delete_rows(keys=9, where=f"ts > TIMESTAMPTZ '{TS.isoformat()}'")
    row = store.get_one(fg.online_table, ["mid"], (9,))
    assert row["category"] != "moved" and row["ts"] == TS.to_pydatetime()
    assert fg._lh.features.groups.get("merchants").read().query("mid == 9").shape[0] == 1
    fg.delete_rows(keys={"mid": 9})
    assert store.get_one(fg.online_table, ["mid"], (9,)) is None
    assert store.count(fg.online_table) == 49


def test_the_index_never_returns_a_deleted_row(lh):
    fg, v = merchants(lh)
    fg.build_index()  # the graph holds every key
    near = fg.find_neighbors(v[10], k=1)
    assert int(near["mid"][0]) == 10
    fg.delete_rows(keys=[10])
    assert 10 not in set(fg.find_neighbors(v[10], k=50)["mid"])
    # a key whose newest row is deleted is found by its remaining row's vector
    fg.insert(pd.DataFrame({"mid": [11], "ts": [TS + DAY], "category": ["open"],
                            "vec": [-v[11]]}))
    assert int(fg.find_neighbors(-v[11], k=1)["mid"][0]) == 11
    fg.delete_rows(keys=[11], where=f"ts > TIMESTAMPTZ '{TS.isoformat()}'")
    assert int(fg.find_neighbors(v[11], k=1)["mid"][0]) == 11
    top = fg.find_neighbors(-v[11], k=5)
    assert 11 not in set(top["mid"]) or top.set_index("mid").loc[11, "distance"] > 1.5
    assert fg.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
    fg.build_index()  # merged and saved: still consistent
    assert fg.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
    fg.delete_rows(where="category = 'closed'")
    found = fg.find_neighbors(v[0], k=20)
    assert set(found["category"]) == {"open"}
    exact = fg.find_neighbors(v[0], k=20, exact=True)
    assert set(found["mid"]) == set(exact["mid"])
    assert fg.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
    # another process (opening the saved index and replaying the deletes) agrees
    script = textwrap.dedent(f"""
        import json, numpy as np, kernel_magics
        fg = kernel_magics.connect({str(lh.home)!r}).features.groups.get("merchants")
        print(json.dumps([fg.find_neighbors(np.array({v[0].tolist()}), k=20)["mid"].tolist(),
                          fg.verify_index()]))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=180, check=True)
    mids, verified = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(mids) == set(exact["mid"]) and 10 not in mids
    assert verified == {"missing": 0, "stale": 0, "extra": 0}


def test_bad_deletes_write_nothing(lh):
    fg, _ = merchants(lh, n=20)
    version = fg.delta_version()
    cases = [
        ({}, "needs keys=... or where="),
        ({"where": ""}, "is not a SQL predicate"),
        ({"where": "   "}, "is not a SQL predicate"),
        ({"where": "amount >"}, "not valid SQL"),
        ({"where": "nosuch = 1"}, "nosuch"),
        ({"keys": pd.DataFrame({"merchant": [1]})}, "no key column(s) 'merchant'"),
        ({"keys": [{"mid": 1, "category": "open"}]}, "no key column(s) 'category'"),
        ({"keys": ["abc"]}, "holds string values"),
        ({"keys": [None]}, "nulls in 'mid'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")
                           .replace("...", r"\.\.\.")) as exc:
            fg.delete_rows(**kwargs)
        assert "Nothing was deleted" in exc.value.message or "Nothing was deleted" in str(
            exc.value)
    assert fg.delta_version() == version and len(fg.read()) == 20
    # the predicate is user SQL: it runs where no file can be read
    secret = lh.home.parent / "secret.csv"
    secret.write_text("mid\n1\n")
    for where in (f"mid IN (SELECT mid FROM read_csv('{secret}'))",
                  f"mid IN (SELECT 1 FROM '{secret}')"):
        with pytest.raises(InvalidInput):
            fg.delete_rows(where=where)
    assert fg.delta_version() == version and len(fg.read()) == 20
    # matching nothing writes no commit
    info = fg.delete_rows(keys=[999])
    assert info.rows == 0 and info.delta_version is None and fg.delta_version() == version
    two = lh.create_feature_group("pairs", key=["a", "b"], event_time="ts")
    two.insert(pd.DataFrame({"a": [1, 1, 2], "b": ["x", "y", "x"], "ts": TS, "f": [1, 2, 3]}))
    with pytest.raises(InvalidInput, match="key of 2 columns"):
        two.delete_rows(keys=[1])
    with pytest.raises(InvalidInput, match="lack the key column"):
        two.delete_rows(keys=[{"a": 1}])
    assert two.delete_rows(keys=[{"a": 1, "b": "y"}]).rows == 1
    assert sorted(map(tuple, two.read()[["a", "b"]].values.tolist())) == [(1, "x"), (2, "x")]


def test_a_delete_cut_off_before_the_online_update_is_finished_later(lh, monkeypatch):
    fg, v = merchants(lh, n=30)
    from kernel_magics.features import deletes
    real = deletes.settle_online

    def down(*args, **kwargs):
        raise ConnectionError("online store down")

    monkeypatch.setattr(deletes, "settle_online", down)
    with pytest.raises(ConnectionError):
        fg.delete_rows(keys=[4, 5])
    monkeypatch.setattr(deletes, "settle_online", real)
    assert not set(fg.read()["mid"]) & {4, 5}  # the Delta commit landed
    # the next open of the group finishes what the online store is owed
    fresh = kernel_magics.connect(lh.home).features.groups.get("merchants")
    fresh.finish_pending_online()
    store = fresh._lh.online_store
    assert store.get_one(fresh.online_table, ["mid"], (4,)) is None
    assert store.count(fresh.online_table) == 28
    assert 4 not in set(fresh.find_neighbors(v[4], k=10)["mid"])


def test_a_delete_of_more_keys_than_a_commit_lists_reloads_online_and_rebuilds(lh, monkeypatch):
    """Above LISTED_KEYS touched keys the commit does not list them: the online store is
    reloaded from the table and the index rebuilt from it, in this process and another."""
    fg, v = merchants(lh, n=60)
    fg.build_index()
    from kernel_magics.features import deletes
    monkeypatch.setattr(deletes, "LISTED_KEYS", 2)
    info = fg.delete_rows(where="mid < 5")
    assert info.rows == 5
    assert fg.commits()[0]["mode"] == "delete"
    store = lh.online_store
    assert store.count(fg.online_table) == 55
    assert store.get_one(fg.online_table, ["mid"], (3,)) is None
    assert not set(fg.find_neighbors(v[3], k=10)["mid"]) & set(range(5))
    index = lh.similarity.get(fg, "vec")
    assert "many keys" in (index.rebuilt or "")
    index.wait()
    assert fg.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
    other = kernel_magics.connect(lh.home).features.groups.get("merchants")
    assert not set(other.find_neighbors(v[3], k=10)["mid"]) & set(range(5))
    assert other.verify_index() == {"missing": 0, "stale": 0, "extra": 0}


DELETER = textwrap.dedent("""
    import sys, numpy as np, pandas as pd, kernel_magics
    fg = kernel_magics.connect(sys.argv[1]).features.groups.get("merchants")
    rng = np.random.default_rng(int(sys.argv[2]))
    print("ready", flush=True)
    i = 0
    while True:
        keys = np.unique(rng.integers(0, 400, 20))
        if i % 2:
            fg.delete_rows(keys=keys.tolist())
        else:
            fg.insert(pd.DataFrame({"mid": keys, "ts": pd.Timestamp("2024-01-02", tz="UTC")
                                    + pd.Timedelta(seconds=i), "category": "open",
                                    "vec": list(rng.normal(size=(len(keys), 8))
                                                .astype("float32"))}))
        i += 1
""")


def test_a_sigkilled_deleter_leaves_store_and_index_matching_the_table(lh):
    fg, _ = merchants(lh)
    fg.build_index()
    for seed, delay in ((1, 2.0), (2, 3.5)):
        proc = subprocess.Popen([sys.executable, "-c", DELETER, str(lh.home), str(seed)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        fresh = kernel_magics.connect(lh.home).features.groups.get("merchants")
        fresh.finish_pending_online()
        table = fresh.read()
        store = fresh._lh.online_store
        assert store.count(fresh.online_table) == table["mid"].nunique()
        latest = table.sort_values("ts").groupby("mid").tail(1).set_index("mid")
        for mid in latest.index[:25]:
            row = store.get_one(fresh.online_table, ["mid"], (int(mid),))
            assert row is not None and row["ts"] == latest.loc[mid, "ts"].to_pydatetime()
        assert fresh.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
        gone = sorted(set(range(400)) - set(table["mid"]))
        if gone:
            q = fresh.find_neighbors(np.ones(8), k=50)
            assert not set(q["mid"]) & set(gone)
