"""Feature groups on real Delta tables, a real SQLite catalog and DuckDB."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from kernel_magics.storage import delta as storage

from kernel_magics.shared.errors import (AlreadyExists, CheckFailed, InvalidInput, NotFound,
                                  SchemaMismatch)


def frame(keys=(1, 2, 3), amount=None, day="2024-01-0{}", tz="UTC", **extra) -> pd.DataFrame:
    keys = list(keys)
    ts = pd.to_datetime([day.format(1 + i % 9) for i in range(len(keys))])
    if tz:
        ts = ts.tz_localize(tz)
    df = pd.DataFrame({"cc": keys,
                       "amount": amount if amount is not None else [float(k) for k in keys],
                       "ts": ts})
    for name, values in extra.items():
        df[name] = values
    return df


@pytest.fixture
def fg(lh):
    return lh.create_feature_group("tx", key="cc", event_time="ts", checks=["amount >= 0"],
                                   description="card transactions")


def test_create_get_list_and_versions(lh, fg):
    assert (fg.name, fg.version, fg.keys, fg.event_time) == ("tx", 1, ["cc"], "ts")
    assert fg.schema is None and fg.delta_version() is None and fg.read().empty
    assert lh.features.groups.get("tx") == fg
    assert fg.table_path == lh.storage.location("tables/tx_v1")
    fg.insert(frame())
    fg2 = lh.create_feature_group("tx", key="cc", event_time="ts")
    assert fg2.version == 2
    # a new version starts clean
    assert fg2.schema is None and fg2.read().empty and fg2.commits() == []
    assert lh.features.groups.get("tx").version == 2
    assert lh.features.groups.get("tx", version=1).read().shape == (3, 3)
    assert [g.version for g in lh.features.groups.list()] == [2]
    assert [g.version for g in lh.features.groups.list(all_versions=True)] == [1, 2]
    versions = fg.versions()
    assert [(v["version"], v["commits"], v["rows_written"]) for v in versions] == [(1, 1, 3),
                                                                                 (2, 0, 0)]
    with pytest.raises(AlreadyExists):
        lh.create_feature_group("tx", key="cc", event_time="ts", version=2)
    with pytest.raises(NotFound, match="no version 7"):
        lh.features.groups.get("tx", version=7)
    with pytest.raises(NotFound, match="no feature group 'nope'.*Known groups: tx"):
        lh.features.groups.get("nope")


@pytest.mark.parametrize("name", ["1tx", "tx-1", "tx;drop", "", "class", "_lb_x", "a b"])
def test_invalid_names_are_refused(lh, name):
    with pytest.raises(InvalidInput, match="not a valid feature group name|reserves"):
        lh.create_feature_group(name, key="cc", event_time="ts")
    assert lh.catalog.scalar("SELECT COUNT(*) FROM feature_groups") == 0


def test_bad_create_arguments(lh):
    with pytest.raises(InvalidInput, match="not valid SQL"):
        lh.create_feature_group("tx", key="cc", event_time="ts", checks=["amount >="])
    with pytest.raises(InvalidInput, match="single"):
        lh.create_feature_group("tx", key="cc", event_time="ts",
                                checks=["amount > 0); DROP TABLE x; SELECT (1"])
    with pytest.raises(InvalidInput, match="primary key"):
        lh.create_feature_group("tx", key=[], event_time="ts")
    with pytest.raises(InvalidInput, match="cannot also be a key"):
        lh.create_feature_group("tx", key="ts", event_time="ts")
    assert lh.catalog.scalar("SELECT COUNT(*) FROM feature_groups") == 0


def test_append_upsert_and_hidden_columns(fg):
    first = fg.insert(frame())
    assert (first.delta_version, first.rows, first.mode) == (0, 3, "append")
    second = fg.insert(frame(keys=[2, 3, 4], amount=[20.0, 30.0, 40.0]), mode="upsert")
    assert second.delta_version == 1 and second.commit_seq > first.commit_seq
    got = fg.read()
    assert list(got.columns) == ["cc", "amount", "ts"]
    # no (key, event time) pair of the upsert existed: every row is new
    by_key = {(r.cc, r.ts.day): r.amount for r in got.itertuples()}
    assert by_key == {(1, 1): 1.0, (2, 2): 2.0, (3, 3): 3.0, (2, 1): 20.0, (3, 2): 30.0,
                      (4, 3): 40.0}
    hidden = fg.read(hidden=True)
    assert {"_lb_commit", "_lb_row"} <= set(hidden.columns)
    assert set(hidden["_lb_commit"]) <= {first.commit_seq, second.commit_seq}
    assert sorted(hidden[hidden._lb_commit == second.commit_seq]["_lb_row"]) == [0, 1, 2]


def test_upsert_replaces_same_key_and_event_time(fg):
    fg.insert(frame())
    fg.insert(frame(amount=[10.0, 20.0, 30.0]), mode="upsert")
    got = fg.read().sort_values("cc")
    assert got["amount"].tolist() == [10.0, 20.0, 30.0]
    assert [c["mode"] for c in fg.commits()] == ["upsert", "append"]


def test_upsert_refuses_duplicates_in_the_data(fg):
    fg.insert(frame())
    dup = pd.concat([frame(), frame(keys=[1])])
    with pytest.raises(CheckFailed, match="more than once") as err:
        fg.insert(dup, mode="upsert")
    assert err.value.failures[0]["failed"] == 2
    assert fg.delta_version() == 0 and len(fg.read()) == 3


def test_time_travel_by_version_and_time_and_event_window(fg):
    fg.insert(frame())
    t_between = datetime.now(timezone.utc)
    time.sleep(0.05)
    fg.insert(frame(keys=[7, 8, 9], day="2024-02-0{}"))
    assert len(fg.read()) == 6
    assert sorted(fg.read(as_of=0)["cc"]) == [1, 2, 3]
    assert sorted(fg.read(as_of=t_between)["cc"]) == [1, 2, 3]
    assert sorted(fg.read(as_of=t_between.isoformat())["cc"]) == [1, 2, 3]
    window = fg.read(start="2024-01-02", end="2024-02-02")
    assert sorted(window["cc"]) == [2, 3, 7]
    with pytest.raises(NotFound, match="no Delta version 5"):
        fg.read(as_of=5)
    with pytest.raises(InvalidInput):
        fg.read(start="not a time")


def test_outputs_pandas_arrow_duckdb_and_arrow_input(fg):
    fg.insert(pa.Table.from_pandas(frame(), preserve_index=False))
    arrow = fg.read(output="arrow")
    assert isinstance(arrow, pa.Table) and arrow.num_rows == 3
    assert arrow.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    rel = fg.read(output="duckdb")
    assert rel.aggregate("sum(amount)").fetchall() == [(6.0,)]
    assert fg.read(columns=["cc"]).columns.tolist() == ["cc"]
    with pytest.raises(InvalidInput, match="no column"):
        fg.read(columns=["nope"])
    with pytest.raises(InvalidInput):
        fg.read(output="excel")


def test_schema_fixed_by_first_insert_and_mismatches_named(fg):
    fg.insert(frame())
    assert fg.schema == [{"name": "cc", "type": "int64", "nullable": False},
                         {"name": "amount", "type": "double", "nullable": True},
                         {"name": "ts", "type": "timestamp[us, tz=UTC]", "nullable": False}]
    assert fg.feature_names == ["amount"]
    with pytest.raises(SchemaMismatch, match="missing: amount"):
        fg.insert(frame().drop(columns="amount"))
    with pytest.raises(SchemaMismatch, match=r"extra: x \(int64\).*evolve=True"):
        fg.insert(frame(x=[1, 2, 3]))
    with pytest.raises(SchemaMismatch, match="type changed: amount"):
        fg.insert(frame(amount=["a", "b", "c"]))
    with pytest.raises(SchemaMismatch, match="'cc'.*not in the data"):
        fg.insert(frame().drop(columns="cc"))
    # a widening cast is not a change
    fg.insert(frame(keys=[5]).astype({"cc": "int32"}))
    assert fg.delta_version() == 1
    info = fg.insert(frame(keys=[6], x=[1.5]), evolve=True)
    assert info.added_columns == ["x"]
    assert fg.schema[-1] == {"name": "x", "type": "double", "nullable": True}
    got = fg.read().set_index("cc")
    assert got.loc[6, "x"] == 1.5 and pd.isna(got.loc[1, "x"])


def test_event_time_timezones(fg):
    with pytest.raises(InvalidInput, match="naive timestamps"):
        fg.insert(frame(tz=None))
    assert fg.delta_version() is None
    fg.insert(frame(keys=[1], tz=None), utc=True)
    fg.insert(frame(keys=[2], tz="Europe/Paris"))
    got = fg.read().set_index("cc")["ts"]
    assert str(got.dt.tz) == "UTC"
    assert got[1] == pd.Timestamp("2024-01-01", tz="UTC")
    assert got[2] == pd.Timestamp("2023-12-31 23:00", tz="UTC")
    with pytest.raises(InvalidInput, match="not a timestamp"):
        fg.insert(frame().assign(ts="2024-01-01"))
    with pytest.raises(SchemaMismatch, match="event-time column 'ts'"):
        fg.insert(frame().drop(columns="ts"))


def test_checks_run_before_commit_and_write_nothing(fg):
    fg.insert(frame())
    with pytest.raises(CheckFailed) as err:
        fg.insert(frame(keys=[4, 5, 6], amount=[-1.0, 5.0, -3.0]))
    message = str(err.value)
    assert "amount >= 0" in message and "2 of 3 rows" in message and "-1.0" in message
    with pytest.raises(CheckFailed, match="cc IS NOT NULL"):
        fg.insert(frame(keys=[None, 5, 6], amount=[1.0, 2.0, 3.0]))
    assert fg.delta_version() == 0 and len(fg.read()) == 3 and len(fg.commits()) == 1
    assert "amount >= 0" in fg.commits()[0]["checks_passed"]


def test_check_on_unknown_column_is_a_clear_error(lh):
    fg = lh.create_feature_group("g", key="cc", event_time="ts", checks=["nosuch > 0"])
    with pytest.raises(InvalidInput, match="'nosuch > 0'.*cannot run"):
        fg.insert(frame())
    assert fg.delta_version() is None


def test_checks_cannot_read_files(lh, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    fg = lh.create_feature_group("g", key="cc", event_time="ts",
                                 checks=[f"(SELECT count(*) FROM read_csv('{secret}')) > 5"])
    with pytest.raises(InvalidInput, match="cannot run"):
        fg.insert(frame())


def test_statistics_and_lineage_per_commit(fg):
    info = fg.insert(frame(keys=[1, 2, 3, 4], amount=[1.0, 2.0, None, 9.0]),
                     lineage={"notebook": "nb.ipynb", "cell_id": "c1", "code_hash": "abc",
                              "run_id": "r1"})
    stats = fg.statistics()
    assert stats["delta_version"] == 0 and stats["rows"] == 4
    amount = stats["columns"]["amount"]
    assert (amount["count"], amount["nulls"], amount["min"], amount["max"]) == (3, 1, 1.0, 9.0)
    assert amount["mean"] == pytest.approx(4.0) and amount["stddev"] > 0
    assert sum(amount["histogram"]["counts"]) == 3 and len(amount["histogram"]["edges"]) == 11
    assert stats["columns"]["cc"]["distinct"] == 4
    assert stats["columns"]["ts"]["min"].startswith("2024-01-01")
    assert info.statistics == {k: v for k, v in stats.items() if k != "delta_version"}
    commit = fg.commits()[0]
    assert commit["lineage"]["run_id"] == "r1" and commit["lineage"]["cell_id"] == "c1"
    with pytest.raises(NotFound):
        fg.statistics(delta_version=9)


def test_empty_insert_writes_nothing(fg):
    info = fg.insert(frame().iloc[:0])
    assert info.rows == 0 and info.delta_version is None and fg.delta_version() is None


def test_wrong_input_types(fg):
    with pytest.raises(InvalidInput, match="pandas DataFrame or a pyarrow Table"):
        fg.insert([1, 2, 3])
    with pytest.raises(InvalidInput, match="mode"):
        fg.insert(frame(), mode="merge")
    bad = frame()
    bad["amount"] = ["1", 2, 3.0]
    with pytest.raises(InvalidInput):
        fg.insert(bad)
    assert fg.delta_version() is None


def test_other_engines_read_the_same_rows(fg):
    import polars as pl
    fg.insert(frame())
    fg.insert(frame(keys=[4, 5], day="2024-03-0{}"))
    ours = fg.read().sort_values("cc").reset_index(drop=True)
    where = fg.table_path  # the home folder, or an S3 prefix on the team stack
    polars_options = {k: v for k, v in (where.delta_options or {}).items()
                      if k not in ("max_retries", "retry_timeout")}  # polars wants ints there
    theirs = pl.read_delta(where.uri, storage_options=polars_options or None).to_pandas()
    theirs = theirs[ours.columns].sort_values("cc").reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
    files = fg.parquet_files()
    assert files == [u.removeprefix("file://") for u in
                     DeltaTable(where.uri, storage_options=where.delta_options).file_uris()]
    con = duckdb.connect()
    # DuckDB reads through an Arrow dataset (no httpfs: the same on S3 as on a laptop)
    con.register("fg", storage.dataset(where))
    got = con.execute("SELECT cc, amount FROM fg ORDER BY cc").fetchall()
    assert got == [(int(r.cc), r.amount) for r in ours.itertuples()]
    if where.local_path is not None:
        assert con.execute("SELECT cc, amount FROM read_parquet(?) ORDER BY cc",
                           [files]).fetchall() == got
    assert len(fg.parquet_files(version=0)) == 1


def test_delete_removes_table_and_catalog_entry(lh, fg):
    fg.insert(frame())
    fg.delete()
    assert not fg.table_path.exists()
    with pytest.raises(NotFound):
        lh.features.groups.get("tx")
    assert lh.catalog.scalar("SELECT COUNT(*) FROM feature_group_commits") == 0
    again = lh.create_feature_group("tx", key="cc", event_time="ts", version=1)
    assert again.read().empty and again.schema is None


def test_get_or_create(lh):
    a = lh.features.groups.get_or_create("g", key="cc", event_time="ts")
    b = lh.features.groups.get_or_create("g", key="cc", event_time="ts")
    assert a == b
    with pytest.raises(InvalidInput, match="--version 2"):
        lh.features.groups.get_or_create("g", key="other", event_time="ts")


def test_repr_html(fg):
    fg.insert(frame())
    html = fg._repr_html_()
    assert "Feature group tx" in html and "amount" in html and "card transactions" in html
    info = fg.insert(frame(keys=[9]))
    assert "Delta version 1" in info._repr_html_() and "amount &gt;= 0" in info._repr_html_()


def test_reconciles_a_delta_commit_the_catalog_missed(fg):
    """A Delta commit landed but its catalog record did not (the writer died): the next open
    records it from the commit's own metadata."""
    fg.insert(frame())
    fg._after_delta_commit = lambda version, meta: None  # the writer "dies" here
    fg.insert(frame(keys=[4, 5]), lineage={"run_id": "lost"})
    assert fg._lh.catalog.scalar("SELECT COUNT(*) FROM feature_group_commits") == 1
    commits = fg._lh.features.groups.get("tx").commits()
    assert [c["delta_version"] for c in commits] == [1, 0]
    assert commits[0]["recovered"] and commits[0]["rows"] == 2
    assert commits[0]["lineage"]["run_id"] == "lost"
    # the schema and sequence survive too: the next insert gets a newer sequence number
    info = fg._lh.features.groups.get("tx").insert(frame(keys=[6]))
    assert info.commit_seq == commits[0]["commit_seq"] + 1


def test_external_commits_are_recorded(fg):
    from deltalake import write_deltalake
    fg.insert(frame())
    extra = fg.read(output="arrow", hidden=True).slice(0, 1)
    write_deltalake(fg.table_path.uri, extra, mode="append",
                    storage_options=fg.table_path.delta_options)
    commits = fg.commits()
    assert commits[0]["delta_version"] == 1 and commits[0]["lineage"]["external"]
    assert commits[0]["rows"] == 1


def test_online_group_upserts_latest_rows_into_online_store(lh):
    pytest.importorskip("kernel_magics.features.online")
    fg = lh.create_feature_group("txo", key="cc", event_time="ts", online=True)
    fg.insert(frame(keys=[1, 2], amount=[1.0, 2.0]))
    info = fg.insert(frame(keys=[1], amount=[10.0], day="2024-02-0{}"))
    assert info.online_rows is not None
    # an older row arriving later never overwrites the newer one online
    fg.insert(frame(keys=[2], amount=[99.0], day="2023-01-0{}"))
    rows = lh.online_store.get("txo_v1", ["cc"], [(1,), (2,), (3,)])
    assert rows[0]["amount"] == 10.0 and rows[1]["amount"] == 2.0 and rows[2] is None
    assert "_lb_commit" not in rows[0]
    fg.delete()
    assert lh.online_store.get("txo_v1", ["cc"], [(1,)]) == [None]


def test_streamed_offline_insert_casts_while_writing(lh):
    """Without checks or statistics the casts happen batch by batch during the write: the
    stored data is the same canonical data."""
    fg = lh.create_feature_group("plain", key="cc", event_time="ts")
    df = pd.DataFrame({"cc": pd.array([1, 2, 3], dtype="uint16"),
                       "cat": pd.Categorical(["a", "b", "a"]),
                       "ts": pd.to_datetime(["2024-01-01 00:00:00.000001999"] * 3)})
    info = fg.insert(df, statistics=False, utc=True)
    assert info.statistics == {}
    got = fg.read(output="arrow")
    assert got.schema.field("cc").type == pa.int32()
    assert got.schema.field("cat").type == pa.string()
    assert got.column("ts")[0].as_py() == datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc)
    assert got.column("cat").to_pylist() == ["a", "b", "a"]
    assert [c["type"] for c in fg.schema] == ["int32", "string", "timestamp[us, tz=UTC]"]
    with pytest.raises(SchemaMismatch, match="type changed: cc"):
        fg.insert(df.assign(cc=pd.array([1, 2, 2**40], dtype="int64")), utc=True)
    other = lh.create_feature_group("big", key="cc", event_time="ts")
    with pytest.raises(InvalidInput, match="cannot be stored"):
        other.insert(df.assign(cc=pd.array([1, 2, 2**63 + 5], dtype="uint64")),
                     statistics=False, utc=True)
    assert fg.delta_version() == 0 and other.delta_version() is None


def test_row_count_follows_upserts_without_scanning(lh) -> None:
    import pandas as pd
    fg = lh.create_feature_group("counted", key=["k"], event_time="ts")
    assert fg.num_rows() == 0 and fg.to_dict()["rows"] == 0
    ts = pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True)
    fg.insert(pd.DataFrame({"k": [1, 2], "ts": ts, "v": [1.0, 2.0]}))
    fg.insert(pd.DataFrame({"k": [1], "ts": ts[:1], "v": [5.0]}), mode="upsert")
    assert fg.num_rows() == len(fg.read()) == 2
    assert fg.num_rows(version=0) == 2 and fg.to_dict()["rows"] == 2
