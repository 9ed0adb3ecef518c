"""The online store interface, run against both backends: embedded SQLite and a real Redis."""
from __future__ import annotations

import datetime as dt
import decimal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import kernel_magics
from kernel_magics.features.online import open_online_store
from kernel_magics.features.online.redis_store import RedisOnlineStore
from kernel_magics.features.online.sqlite_store import SQLiteOnlineStore

from online_fixtures import redis_server  # noqa: F401  (fixture)

UTC = dt.timezone.utc


def ts(seconds: int) -> dt.datetime:
    return dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=seconds)


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path: Path):
    if request.param == "sqlite":
        s = SQLiteOnlineStore(tmp_path / "online.db")
        spec = str(tmp_path / "online.db")
    else:
        server = request.getfixturevalue("redis_server")
        s = RedisOnlineStore(server.url)
        s._redis.flushdb()
        spec = server.url
    s.spec = (request.param, spec)
    yield s
    s.close()


def rows(**cols) -> pa.Table:
    return pa.table(cols)


def test_types_round_trip(store):
    data = pa.table({
        "id": pa.array([1, 2], pa.int64()),
        "t": pa.array([ts(0), ts(1)], pa.timestamp("us", tz="UTC")),
        "f": pa.array([1.5, float("nan")], pa.float64()),
        "i": pa.array([7, None], pa.int32()),
        "s": pa.array(["a", None], pa.string()),
        "b": pa.array([True, False]),
        "d": pa.array([dt.date(2024, 2, 29), None], pa.date32()),
        "dec": pa.array([decimal.Decimal("1.25"), None], pa.decimal128(10, 2)),
        "raw": pa.array([b"\x00\xff", None], pa.binary()),
        "lst": pa.array([[1.0, 2.0], []], pa.list_(pa.float64())),
        "naive": pa.array([dt.datetime(2020, 5, 1, 12), None], pa.timestamp("us")),
    })
    assert store.upsert("g_v1", ["id"], "t", data) == 2
    one, two = store.get("g_v1", ["id"], [(1,), (2,)])
    assert one == {"id": 1, "t": ts(0), "f": 1.5, "i": 7, "s": "a", "b": True,
                   "d": dt.date(2024, 2, 29), "dec": decimal.Decimal("1.25"), "raw": b"\x00\xff",
                   "lst": [1.0, 2.0], "naive": dt.datetime(2020, 5, 1, 12)}
    assert np.isnan(two["f"]) and two["i"] is None and two["s"] is None and two["lst"] == []
    assert two["t"].tzinfo is not None
    assert store.schema("g_v1").field("dec").type == pa.decimal128(10, 2)
    assert store.count("g_v1") == 2


def test_newer_event_time_wins(store):
    store.upsert("g_v1", ["id"], "t", rows(id=[1, 2], t=[ts(10), ts(10)], x=[1.0, 2.0]))
    # an older row never overwrites a newer stored one; a newer one does
    changed = store.upsert("g_v1", ["id"], "t", rows(id=[1, 2], t=[ts(5), ts(20)], x=[9.0, 3.0]))
    assert changed == 1
    got = store.get("g_v1", ["id"], [(1,), (2,)])
    assert [g["x"] for g in got] == [1.0, 3.0]
    # a tie goes to the later write
    store.upsert("g_v1", ["id"], "t", rows(id=[1], t=[ts(10)], x=[4.0]))
    assert store.get_one("g_v1", ["id"], (1,))["x"] == 4.0


def test_within_one_batch_latest_event_then_last_row(store):
    data = rows(id=[1, 1, 1, 2, 2], t=[ts(3), ts(9), ts(9), ts(1), ts(0)],
                x=[1.0, 2.0, 3.0, 4.0, 5.0], _lb_commit=[0] * 5, _lb_row=list(range(5)))
    assert store.upsert("g_v1", ["id"], "t", data) == 2
    got = store.get("g_v1", ["id"], [(1,), (2,)])
    assert [g["x"] for g in got] == [3.0, 4.0]
    assert "_lb_commit" not in got[0]


def test_unknown_keys_and_tables_are_none(store):
    assert store.get("missing_v1", ["id"], [(1,)]) == [None]
    assert store.count("missing_v1") == 0
    store.upsert("g_v1", ["id"], "t", rows(id=[1], t=[ts(0)], x=[1.0]))
    assert store.get("g_v1", ["id"], [(2,), (1,), ("1",), (1,)]) == [
        None, {"id": 1, "t": ts(0), "x": 1.0}, None, {"id": 1, "t": ts(0), "x": 1.0}]


def test_multi_column_keys_and_numpy_values(store):
    store.upsert("g_v1", ["a", "b"], "t",
                 rows(a=[1, 1, 2], b=["x", "y", "x"], t=[ts(0)] * 3, v=[1, 2, 3]))
    got = store.get("g_v1", ["a", "b"], [(np.int64(1), "y"), (2, "x"), (2, "y")])
    assert [g and g["v"] for g in got] == [2, 3, None]


def test_many_keys_keep_order(store):
    n = 3_000
    store.upsert("g_v1", ["id"], "t", rows(id=list(range(n)), t=[ts(i) for i in range(n)],
                                           v=[i * 2 for i in range(n)]))
    wanted = [(i,) for i in range(n + 10, -1, -3)]
    got = store.get("g_v1", ["id"], wanted)
    assert [g["v"] if g else None for g in got] == [k * 2 if k < n else None for (k,) in wanted]


def test_schema_evolution_adds_columns(store):
    store.upsert("g_v1", ["id"], "t", rows(id=[1], t=[ts(0)], x=[1.0]))
    store.upsert("g_v1", ["id"], "t", rows(id=[2], t=[ts(0)], x=[2.0], y=["new"]))
    assert store.get("g_v1", ["id"], [(1,), (2,)]) == [
        {"id": 1, "t": ts(0), "x": 1.0, "y": None}, {"id": 2, "t": ts(0), "x": 2.0, "y": "new"}]


def test_drop(store):
    store.upsert("g_v1", ["id"], "t", rows(id=[1, 2], t=[ts(0)] * 2, x=[1.0, 2.0]))
    store.upsert("g_v2", ["id"], "t", rows(id=[1], t=[ts(0)], x=[5.0]))
    store.drop("g_v1")
    assert store.get("g_v1", ["id"], [(1,)]) == [None]
    assert store.count("g_v1") == 0 and store.schema("g_v1") is None
    assert store.get_one("g_v2", ["id"], (1,))["x"] == 5.0
    store.drop("never_there_v1")


def test_missing_key_column_is_refused(store):
    with pytest.raises(kernel_magics.shared.errors.InvalidInput, match="cc_num"):
        store.upsert("g_v1", ["cc_num"], "t", rows(id=[1], t=[ts(0)]))


_WRITER = textwrap.dedent("""
    import sys, datetime as dt, random
    import pyarrow as pa
    from kernel_magics.features.online.sqlite_store import SQLiteOnlineStore
    from kernel_magics.features.online.redis_store import RedisOnlineStore
    backend, spec, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = SQLiteOnlineStore(spec) if backend == "sqlite" else RedisOnlineStore(spec)
    rnd = random.Random(seed)
    base = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    for _ in range(15):
        ids = [rnd.randrange(50) for _ in range(40)]
        secs = [rnd.randrange(100_000) for _ in ids]
        store.upsert("c_v1", ["id"], "t", pa.table({
            "id": ids, "t": pa.array([base + dt.timedelta(seconds=s) for s in secs],
                                     pa.timestamp("us", tz="UTC")),
            "secs": secs}))
""")


def test_concurrent_writers_keep_the_newest_row(store, tmp_path: Path):
    backend, spec = store.spec
    seeds = range(4)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, backend, spec, str(s)])
             for s in seeds]
    assert [p.wait(120) for p in procs] == [0] * len(procs)
    # the expected newest event time per key, replaying the writers' random streams
    import random
    newest: dict[int, int] = {}
    for seed in seeds:
        rnd = random.Random(seed)
        for _ in range(15):
            ids = [rnd.randrange(50) for _ in range(40)]
            secs = [rnd.randrange(100_000) for _ in ids]
            for i, s in zip(ids, secs):
                newest[i] = max(newest.get(i, -1), s)
    got = store.get("c_v1", ["id"], [(i,) for i in sorted(newest)])
    assert {g["id"]: g["secs"] for g in got} == newest


def test_config_picks_the_backend(home: Path, redis_server):  # noqa: F811
    lh = kernel_magics.connect(home)
    assert isinstance(lh.online_store, SQLiteOnlineStore)
    assert lh.online_store.path == home / "online.db"
    (home / "lakebook.toml").write_text(
        f'[online]\nbackend = "redis"\nredis_url = "{redis_server.url}"\n')
    lh2 = kernel_magics.connect(home)
    store = open_online_store(lh2)
    assert isinstance(store, RedisOnlineStore)
    store.upsert("cfg_v1", ["id"], "t", rows(id=[1], t=[ts(0)], x=[1.0]))
    assert store.get_one("cfg_v1", ["id"], (1,))["x"] == 1.0


def test_unreachable_redis_is_a_clear_error():
    store = RedisOnlineStore("redis://127.0.0.1:1/0")
    with pytest.raises(kernel_magics.shared.errors.InvalidInput, match="Cannot reach"):
        store.get("g_v1", ["id"], [(1,)])


def test_lookups_from_many_threads(store):
    """The Jupyter server answers lookups from several threads at once."""
    from concurrent.futures import ThreadPoolExecutor
    store.upsert("g_v1", ["id"], "t", rows(id=list(range(200)), t=[ts(0)] * 200,
                                           v=list(range(200))))

    def lookup(i: int) -> int:
        return store.get_one("g_v1", ["id"], (i % 200,))["v"]

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lookup, range(2000))) == [i % 200 for i in range(2000)]


def test_odd_key_values_are_just_not_found(store):
    store.upsert("g_v1", ["id"], "t", rows(id=[1], t=[ts(0)], x=[1.0]))
    assert store.get("g_v1", ["id"], [(None,), ([1, 2],), ({"a": 1},), (float("nan"),)]) == \
        [None] * 4


def _reference_rows(keys: list[str], event_time: str, data: pa.Table) -> dict[str, dict]:
    """The newest row per key the slow way (a Python loop over every row), keyed by
    encode_key: what the column-wise encoder must agree with."""
    from kernel_magics.features.online.base import encode_key
    best: dict[str, tuple] = {}
    for i, row in enumerate(data.to_pylist()):
        k = encode_key([row[c] for c in keys])
        t = row[event_time]
        if k not in best or (t, i) >= best[k][:2]:
            best[k] = (t, i, row)
    return {k: v[2] for k, v in best.items()}


def test_column_wise_encoding_matches_row_by_row(store):
    """Odd floats, strings needing escapes, non-ASCII and multi-column keys, ties, nulls and
    nested values: each key's stored row is the reference's newest row, exactly typed, and
    every key is found through encode_key."""
    rng = np.random.default_rng(3)
    n = 2_000
    odd_floats = [1.0, -0.0, 1e-7, 1e22, 1e16, 123456789.0, 5e-324, 1.7976931348623157e308,
                  float("inf"), float("-inf"), 0.1, None]
    names = ["plain", 'quo"te', "back\\slash", "tab\there", "née", "日本", "nul\x00", "", "\x7f"]
    data = pa.table({
        "k1": pa.array(rng.integers(-3, 30, n), pa.int64()),
        "k2": pa.array([names[i] for i in rng.integers(0, len(names), n)], pa.string()),
        "t": pa.array([ts(int(s)) for s in rng.integers(0, 5, n)],
                      pa.timestamp("us", tz="UTC")),
        "f": pa.array([odd_floats[i] for i in rng.integers(0, len(odd_floats), n)]),
        "f32": pa.array(rng.random(n), pa.float32()),
        "u8": pa.array(rng.integers(0, 255, n), pa.uint8()),
        "s": pa.array([names[i] if i < len(names) else None
                       for i in rng.integers(0, len(names) + 1, n)], pa.string()),
        "cat": pa.array([names[i % 3] for i in range(n)]).dictionary_encode(),
        "big": pa.array([2**63 - 1 - i for i in range(n)], pa.int64()),
        "lst": pa.array([[float(i), None] if i % 3 else None for i in range(n)],
                        pa.list_(pa.float64())),
        "st": pa.array([{"a": i, "b": "x\"y"} for i in range(n)]),
        "dec": pa.array([decimal.Decimal(i) / 8 for i in range(n)], pa.decimal128(12, 3)),
        "raw": pa.array([bytes([i % 256, 0]) for i in range(n)], pa.binary()),
    })
    expected = _reference_rows(["k1", "k2"], "t", data)
    assert store.upsert("e_v1", ["k1", "k2"], "t", data) == len(expected)
    assert store.count("e_v1") == len(expected)
    wanted = [(r["k1"], r["k2"]) for r in expected.values()]
    got = store.get("e_v1", ["k1", "k2"], wanted)
    for want, have in zip(expected.values(), got):
        assert have is not None
        for col in ["k1", "k2", "t", "u8", "s", "cat", "big", "lst", "st", "dec", "raw"]:
            assert have[col] == want[col], col
        for col in ["f", "f32"]:
            assert type(have[col]) is type(want[col]) and repr(have[col]) == repr(want[col])


def test_keys_of_other_types_are_found(store):
    """Float, date and timestamp keys are stored under the text encode_key gives the lookup."""
    data = pa.table({
        "fk": pa.array([1.0, 2.5, 1e20], pa.float64()),
        "dk": pa.array([dt.date(2024, 1, 1), dt.date(1969, 12, 31), dt.date(2000, 2, 29)]),
        "tk": pa.array([ts(0), ts(-100), ts(3600)], pa.timestamp("ms", tz="UTC")),
        "t": pa.array([ts(0)] * 3, pa.timestamp("us", tz="UTC")),
        "v": [1, 2, 3],
    })
    store.upsert("o_v1", ["fk", "dk", "tk"], "t", data)
    got = store.get("o_v1", ["fk", "dk", "tk"],
                    [(1, dt.date(2024, 1, 1), ts(0)), (2.5, dt.date(1969, 12, 31), ts(-100)),
                     (1e20, dt.date(2000, 2, 29), ts(3600)), (1, dt.date(2024, 1, 1), ts(1))])
    assert [g and g["v"] for g in got] == [1, 2, 3, None]


def test_event_times_before_1970_and_unsorted_ties(store):
    """The newest-row pick orders negative epoch times correctly; on equal times the later
    row wins even when rows of other keys sit between them."""
    data = pa.table({
        "id": [1, 2, 1, 2, 1, 2],
        "t": pa.array([dt.datetime(1960, 1, 1, tzinfo=UTC), ts(0),
                       dt.datetime(1965, 1, 1, tzinfo=UTC), ts(0),
                       dt.datetime(1950, 1, 1, tzinfo=UTC), ts(-1)],
                      pa.timestamp("us", tz="UTC")),
        "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })
    assert store.upsert("n_v1", ["id"], "t", data) == 2
    assert [g["x"] for g in store.get("n_v1", ["id"], [(1,), (2,)])] == [3.0, 4.0]
    # an older incoming row loses against the stored 1965 row; a 1966 one wins
    store.upsert("n_v1", ["id"], "t", pa.table({
        "id": [1], "t": pa.array([dt.datetime(1964, 1, 1, tzinfo=UTC)],
                                 pa.timestamp("us", tz="UTC")), "x": [7.0]}))
    assert store.get_one("n_v1", ["id"], (1,))["x"] == 3.0
    store.upsert("n_v1", ["id"], "t", pa.table({
        "id": [1], "t": pa.array([dt.datetime(1966, 1, 1, tzinfo=UTC)],
                                 pa.timestamp("us", tz="UTC")), "x": [8.0]}))
    assert store.get_one("n_v1", ["id"], (1,))["x"] == 8.0


def test_nanosecond_key_times_are_one_key_per_microsecond(store):
    """Key texts hold microseconds, so rows whose key times differ below a microsecond are
    one key: the newest of them is kept."""
    base = 1_704_067_200_000_000_000
    data = pa.table({
        "tk": pa.array([base + 1, base + 999, base + 1_000], pa.timestamp("ns", tz="UTC")),
        "t": pa.array([ts(3), ts(5), ts(0)], pa.timestamp("us", tz="UTC")),
        "v": [1, 2, 3]})
    assert store.upsert("ns_v1", ["tk"], "t", data) == 2
    got = store.get("ns_v1", ["tk"], [(ts(0),), (ts(0) + dt.timedelta(microseconds=1),)])
    assert [g["v"] for g in got] == [2, 3]


def test_online_insert_stores_canonical_types(lh):
    """An online group's insert casts only the rows it puts online: categoricals come back
    as strings, naive times taken as UTC come back timezone-aware, and rows whose
    nanosecond event times share a microsecond tie (the later row wins)."""
    import pandas as pd
    t0 = pd.Timestamp("2024-03-01 10:00:00")
    df = pd.DataFrame({
        "cc": [1, 1, 2],
        "ts": [t0 + pd.Timedelta(nanoseconds=100), t0 + pd.Timedelta(nanoseconds=900),
               t0 - pd.Timedelta(days=1)],
        "cat": pd.Categorical(["a", "b", "c"]),
        "small": np.array([1, 2, 3], dtype=np.uint8),
    })
    fg = lh.create_feature_group("canon", key="cc", event_time="ts", online=True)
    info = fg.insert(df, utc=True)
    assert info.online_rows == 2
    one, two = lh.online_store.get(fg.online_table, ["cc"], [(1,), (2,)])
    assert one == {"cc": 1, "ts": dt.datetime(2024, 3, 1, 10, tzinfo=UTC), "cat": "b",
                   "small": 2}
    assert two["cat"] == "c" and two["ts"].tzinfo is not None
    schema = lh.online_store.schema(fg.online_table)
    assert schema.field("cat").type == pa.string()
    assert schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert schema.field("small").type == pa.int16()


@pytest.mark.parametrize("key_type", [pa.int64(), pa.int8(), pa.uint64()])
def test_newest_rows_integer_fast_path_equals_the_general_one(key_type):
    """One dense integer key takes a numpy path; it picks exactly the rows the general
    (DuckDB) path picks for the same keys as text, ties included."""
    from kernel_magics.features.online.base import newest_rows
    rng = np.random.default_rng(11)
    n = 20_000
    offset = 2**64 - 100 if key_type == pa.uint64() else (-60 if key_type == pa.int8() else
                                                           -2**63)
    keys = rng.integers(0, 100 if key_type != pa.int64() else 3_000, n)
    data = pa.table({
        "k": pa.array([int(k) + offset for k in keys], key_type),
        "t": pa.array(rng.integers(-5, 5, n) * 1_000_000, pa.timestamp("us", tz="UTC")),
        "row": pa.array(np.arange(n))})
    fast = newest_rows(["k"], "t", data).column("row").to_pylist()
    general = newest_rows(["k"], "t", data.set_column(
        0, "k", pc_cast_str(data.column("k")))).column("row").to_pylist()
    assert fast == general and len(fast) == len(set(keys.tolist()))
    # and a sparse key (values far apart) goes the general way with the same answer
    sparse = data.set_column(0, "k", pa.array([int(k) * 10**12 for k in keys], pa.int64()))
    assert newest_rows(["k"], "t", sparse).column("row").to_pylist() == fast


def pc_cast_str(col):
    import pyarrow.compute as pc
    return pc.cast(col, pa.string())
