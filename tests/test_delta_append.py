"""The batch path's Delta append (pyarrow file + deltalake commit) against write_deltalake:
same rows, same statistics where Delta keeps them, commit metadata, fallback on new schemas."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake

from kernel_magics.storage.delta_append import append


def rows(n: int, seed: int, day: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp(f"2024-01-{day:02d}", tz="UTC") + pd.to_timedelta(
        np.arange(n) * 1_234_567, "us")  # sub-millisecond times: stats round outwards
    p = rng.random(n)
    p[3] = np.nan
    return pa.table({"cc_num": pa.array(rng.integers(0, 50, n)), "ts": pa.array(ts),
                     "prediction": pa.array((p > 0.5).astype("int64")),
                     "proba_1": pa.array(p, from_pandas=False),
                     "note": pa.array([None if i % 7 == 0 else f"n{i % 3}" for i in range(n)]),
                     "model": pa.repeat(pa.scalar("fraud"), n)})


def _adds(path) -> list[dict]:
    out = []
    for f in sorted((path / "_delta_log").glob("*.json")):
        for line in f.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                out.append(action["add"])
    return out


def test_append_matches_write_deltalake(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    first, second = rows(500, 1), rows(300, 2, day=2)
    for path in (ours, theirs):
        write_deltalake(str(path), first, mode="append")
    append(ours, second, ["model", "note"], {"lakebook.batch": {"run_id": "r1"}})
    write_deltalake(str(theirs), second, mode="append")
    a, b = DeltaTable(str(ours)), DeltaTable(str(theirs))
    assert a.version() == b.version() == 1
    assert a.schema() == b.schema()
    assert a.history(1)[0]["lakebook.batch"] == {"run_id": "r1"}
    key = [("ts", "ascending"), ("cc_num", "ascending")]
    pd.testing.assert_frame_equal(a.to_pyarrow_table().sort_by(key).to_pandas(),
                                  b.to_pyarrow_table().sort_by(key).to_pandas())
    mine, ref = json.loads(_adds(ours)[-1]["stats"]), json.loads(_adds(theirs)[-1]["stats"])
    assert mine["numRecords"] == ref["numRecords"] == 300
    assert mine["nullCount"] == ref["nullCount"]
    for side in ("minValues", "maxValues"):
        for col in ("cc_num", "prediction", "note", "model"):
            assert mine[side][col] == ref[side][col], (side, col)
    # times rounded outwards to milliseconds: the file's range covers every row
    times = second.column("ts").to_pandas()
    assert pd.Timestamp(mine["minValues"]["ts"]) <= times.min()
    assert pd.Timestamp(mine["maxValues"]["ts"]) >= times.max()
    # a filter on the time (file skipping on these stats) finds exactly the rows
    edge = times.iloc[-1]
    got = a.to_pyarrow_dataset().to_table(filter=ds.field("ts") >= pa.scalar(
        edge.to_pydatetime(), pa.timestamp("us", "UTC")))
    assert got.num_rows == 1


def test_new_table_and_new_columns_go_through_write_deltalake(tmp_path):
    path = tmp_path / "t"
    append(path, rows(10, 1), [], {"lakebook.batch": {"run_id": "a"}})
    wider = rows(10, 2).append_column("flag", pa.array([True] * 10))
    append(path, wider, [], {"lakebook.batch": {"run_id": "b"}})
    t = DeltaTable(str(path))
    assert t.version() == 1 and "flag" in t.schema().to_arrow().names
    assert [h["lakebook.batch"]["run_id"] for h in t.history()] == ["b", "a"]
    assert t.to_pyarrow_table().num_rows == 20
