"""Point-in-time join semantics against a brute-force pandas reference, on random data."""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_magics.features import pit
from kernel_magics.features.pit import PitSource
from kernel_magics.features.ties import has_ties

BASE = pd.Timestamp("2024-01-01", tz="UTC")


def write_commits(folder: Path, frames: list[pd.DataFrame]) -> list[str]:
    """One Parquet file per 'commit', with _lb_commit/_lb_row as feature groups write them."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for commit, frame in enumerate(frames):
        frame = frame.assign(_lb_commit=np.int64(commit), _lb_row=np.arange(len(frame), dtype="int64"))
        path = folder / f"part-{commit}.parquet"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, path)
        files.append(str(path))
    return files


def random_group(rng: np.random.Generator, n: int, keys: int, times: int, commits: int,
                 key_cols: list[str], feature: str) -> list[pd.DataFrame]:
    frames = []
    for c in range(commits):
        m = int(rng.integers(0, n + 1))
        data = {k: rng.integers(0, keys, m) for k in key_cols}
        data["t"] = BASE + pd.to_timedelta(rng.integers(0, times, m), unit="s")
        data[feature] = rng.normal(size=m).round(3)
        data["val"] = rng.integers(0, 1000, m)  # a clashing name, prefixed by the caller
        frames.append(pd.DataFrame(data))
    return frames


def brute_force(spine: pd.DataFrame, groups: list[dict]) -> pd.DataFrame:
    """The definition, row by row: greatest event time <= t, ties to the latest write."""
    out = spine.copy()
    for g in groups:
        rows = g["rows"]
        values = {out_name: [] for _c, out_name in g["columns"]}
        for _, s in spine.iterrows():
            cand = rows
            for spine_col, group_col in g["on"]:
                cand = cand[cand[group_col] == s[spine_col]]
            cand = cand[cand["t"] <= s["t"]]
            best = None
            if len(cand):
                best = cand.sort_values(["t", "_lb_commit", "_lb_row"]).iloc[-1]
                if g["ttl"] is not None and best["t"] < s["t"] - g["ttl"]:
                    best = None
            for col, out_name in g["columns"]:
                values[out_name].append(None if best is None else best[col])
        for out_name, vals in values.items():
            out[out_name] = vals
    return out


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    rows = [f.assign(_lb_commit=i, _lb_row=np.arange(len(f))) for i, f in enumerate(frames)]
    return pd.concat(rows, ignore_index=True)


def check(tmp: Path, seed: int, n_keys: int, key_cols: list[str], ttl_s: int | None,
          commits: int, spine_n: int, group_n: int, times: int) -> None:
    rng = np.random.default_rng(seed)
    spine_frames = random_group(rng, spine_n, n_keys + 2, times + 5, 2, key_cols, "label")
    # a joined group over the same key and a second one keyed on the first key column only
    g1_frames = random_group(rng, group_n, n_keys, times, commits, key_cols, "f1")
    g2_frames = random_group(rng, group_n, n_keys, times, commits, key_cols[:1], "f2")
    s_files = write_commits(tmp / "spine", spine_frames)
    g1_files = write_commits(tmp / "g1", g1_frames)
    g2_files = write_commits(tmp / "g2", g2_frames)
    ttl = None if ttl_s is None else dt.timedelta(seconds=ttl_s)
    spine_src = PitSource("spine_v1", s_files, "t",
                          [(c, c) for c in key_cols] + [("t", "t"), ("label", "label"),
                                                         ("val", "val")], keys=key_cols)
    g1 = PitSource("g1_v1", g1_files, "t", [("f1", "f1"), ("val", "g1_val")],
                   on=[(c, c) for c in key_cols], ttl=ttl)
    g2 = PitSource("g2_v1", g2_files, "t", [("f2", "f2"), ("val", "g2_val")],
                   on=[(key_cols[0], key_cols[0])])
    # run() checks each group for ties (a plain ASOF where there are none); ties=True
    # forces the 128-bit tie-breaking join everywhere: both must match the definition
    for ties in (None, True):
        g1.ties = g2.ties = ties
        compare(pit.run(spine_src, [g1, g2]).to_pandas(), spine_frames, key_cols, g1, g2,
                g1_frames, g2_frames, ttl)


def compare(got, spine_frames, key_cols, g1, g2, g1_frames, g2_frames, ttl) -> None:
    spine_all = concat(spine_frames)
    want = brute_force(spine_all, [
        {"rows": concat(g1_frames), "on": g1.on, "columns": g1.columns,
         "ttl": None if ttl is None else pd.Timedelta(ttl)},
        {"rows": concat(g2_frames), "on": g2.on, "columns": g2.columns, "ttl": None},
    ])
    want = want.sort_values(["t", *key_cols, "_lb_commit", "_lb_row"]).drop(
        columns=["_lb_commit", "_lb_row"]).reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(spine_all)  # every spine row kept
    for col in want.columns:
        a = pd.Series(got[col]).astype("object").where(got[col].notna(), None).tolist()
        b = pd.Series(want[col]).astype("object").where(want[col].notna(), None).tolist()
        if col == "t":
            assert a == b
        else:
            assert [None if x is None else float(x) for x in a] == \
                   [None if x is None else float(x) for x in b], col


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n_keys=st.integers(1, 6),
       two_keys=st.booleans(), ttl_s=st.one_of(st.none(), st.integers(0, 20)),
       commits=st.integers(1, 3), spine_n=st.integers(0, 25), group_n=st.integers(0, 25),
       times=st.integers(1, 30))
def test_pit_matches_brute_force(tmp_path_factory, seed, n_keys, two_keys, ttl_s, commits,
                                 spine_n, group_n, times):
    tmp = tmp_path_factory.mktemp("pit")
    check(tmp, seed, n_keys, ["a", "b"] if two_keys else ["a"], ttl_s, commits, spine_n,
          group_n, times)


def test_ties_go_to_the_latest_write(tmp_path: Path):
    t = BASE + pd.Timedelta(seconds=10)
    files = write_commits(tmp_path / "g", [
        pd.DataFrame({"k": [1, 1], "t": [t, t], "x": [1.0, 2.0]}),   # commit 0: row 1 wins…
        pd.DataFrame({"k": [1, 2], "t": [t, t], "x": [3.0, 4.0]}),   # …until commit 1 row 0
        pd.DataFrame({"k": [1], "t": [t + pd.Timedelta(seconds=1)], "x": [5.0]}),  # later time
    ])
    spine = write_commits(tmp_path / "s", [pd.DataFrame(
        {"k": [1, 1, 2, 3], "t": [t, t + pd.Timedelta(seconds=5), t - pd.Timedelta(seconds=1), t]})])
    got = pit.run(PitSource("s_v1", spine, "t", [("k", "k"), ("t", "t")], keys=["k"]),
                  [PitSource("g_v1", files, "t", [("x", "x")], on=[("k", "k")])]).to_pandas()
    by = {(r.k, r.t): r.x for r in got.itertuples()}
    assert by[(1, t)] == 3.0
    assert by[(1, t + pd.Timedelta(seconds=5))] == 5.0
    assert np.isnan(by[(2, t - pd.Timedelta(seconds=1))])  # only later rows: no match
    assert np.isnan(by[(3, t)])  # unknown key: kept, nulls


def test_ttl_nulls_old_rows_and_window_filters_spine(tmp_path: Path):
    files = write_commits(tmp_path / "g", [pd.DataFrame(
        {"k": [1, 2], "t": [BASE, BASE + pd.Timedelta(hours=1)], "x": [1.0, 2.0]})])
    spine = write_commits(tmp_path / "s", [pd.DataFrame(
        {"k": [1, 2, 1], "t": [BASE + pd.Timedelta(hours=2)] * 2 + [BASE + pd.Timedelta(days=3)]})])
    src = PitSource("s_v1", spine, "t", [("k", "k"), ("t", "t")], keys=["k"])
    g = PitSource("g_v1", files, "t", [("x", "x")], on=[("k", "k")],
                  ttl=dt.timedelta(minutes=90))
    got = pit.run(src, [g]).to_pandas()
    assert got["k"].tolist() == [1, 2, 1]
    assert np.isnan(got["x"][0]) and got["x"][1] == 2.0 and np.isnan(got["x"][2])
    window = pit.run(src, [g], start=(BASE + pd.Timedelta(hours=2)).to_pydatetime(),
                     end=(BASE + pd.Timedelta(days=1)).to_pydatetime()).to_pandas()
    assert window["k"].tolist() == [1, 2]


def test_empty_joined_source_gives_nulls(tmp_path: Path):
    spine = write_commits(tmp_path / "s", [pd.DataFrame({"k": [1], "t": [BASE]})])
    empty = pa.table({"k": pa.array([], pa.int64()), "t": pa.array([], pa.timestamp("us", tz="UTC")),
                      "x": pa.array([], pa.float64()), "_lb_commit": pa.array([], pa.int64()),
                      "_lb_row": pa.array([], pa.int64())})
    got = pit.run(PitSource("s_v1", spine, "t", [("k", "k"), ("t", "t")], keys=["k"]),
                  [PitSource("g_v1", [], "t", [("x", "x")], on=[("k", "k")], empty=empty)])
    assert got.to_pydict()["x"] == [None]


def test_times_before_1970_and_far_future(tmp_path: Path):
    old = pd.Timestamp("1960-05-01", tz="UTC")
    far = pd.Timestamp("2200-01-01", tz="UTC")
    files = write_commits(tmp_path / "g", [pd.DataFrame(
        {"k": [1, 1, 1], "t": [old - pd.Timedelta(days=1), old, far], "x": [1.0, 2.0, 3.0]})])
    spine = write_commits(tmp_path / "s", [pd.DataFrame(
        {"k": [1, 1, 1], "t": [old - pd.Timedelta(days=2), old, far + pd.Timedelta(days=1)]})])
    got = pit.run(PitSource("s_v1", spine, "t", [("k", "k"), ("t", "t")], keys=["k"]),
                  [PitSource("g_v1", files, "t", [("x", "x")], on=[("k", "k")])])
    assert got.to_pydict()["x"] == [None, 2.0, 3.0]


def test_ties_are_detected_per_join_key_and_time(tmp_path: Path):
    t = BASE + pd.Timedelta(seconds=1)
    unique = write_commits(tmp_path / "u", [pd.DataFrame({"k": [1, 2], "j": [1, 1], "t": [t, t]}),
                                            pd.DataFrame({"k": [1], "j": [1], "t": [BASE]})])
    assert not has_ties(unique, ["k"], "t")
    assert has_ties(unique, ["j"], "t")  # the same rows joined on another column tie
    across = write_commits(tmp_path / "a", [pd.DataFrame({"k": [1], "t": [t]}),
                                            pd.DataFrame({"k": [1], "t": [t]})])
    assert has_ties(across, ["k"], "t")  # a tie across two commits
    assert not has_ties([], ["k"], "t")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n_keys=st.integers(1, 5), times=st.integers(1, 200),
       commits=st.integers(1, 3), ttl_s=st.one_of(st.none(), st.integers(0, 50)))
def test_plain_join_without_ties_equals_the_tie_breaking_join(tmp_path_factory, seed, n_keys,
                                                              times, commits, ttl_s):
    """Groups without ties take the plain ASOF (ordered by DuckDB): the same rows in the same
    order as the 128-bit join sorted in Arrow."""
    tmp = tmp_path_factory.mktemp("plain")
    rng = np.random.default_rng(seed)
    frames = random_group(rng, 20, n_keys, times, commits, ["a"], "f1")
    seen: set = set()
    for i, f in enumerate(frames):  # drop (key, time) pairs seen in this or an earlier commit
        pairs = list(zip(f["a"], f["t"]))
        keep = [p not in seen and p not in pairs[:j] for j, p in enumerate(pairs)]
        seen.update(pairs)
        frames[i] = f[np.array(keep, dtype=bool)].reset_index(drop=True)
    g_files = write_commits(tmp / "g", frames)
    s_files = write_commits(tmp / "s", random_group(rng, 20, n_keys + 1, times + 5, 2, ["a"],
                                                    "label"))
    spine = PitSource("s_v1", s_files, "t", [("a", "a"), ("t", "t"), ("label", "label")],
                      keys=["a"])
    ttl = None if ttl_s is None else dt.timedelta(seconds=ttl_s)
    g = PitSource("g_v1", g_files, "t", [("f1", "f1"), ("val", "val")], on=[("a", "a")], ttl=ttl)
    assert not has_ties(g_files, ["a"], "t")
    plain = pit.run(spine, [g])
    sql, _ = pit.build_query(spine, [dataclasses.replace(g, ties=False)], duckdb.connect())
    assert "ORDER BY" in sql and "HUGEINT" not in sql
    g.ties = True
    exact = pit.run(spine, [g])
    assert plain.equals(exact)
