"""Batch predictions written once, monitored by reference: the inputs a monitor sees for a
batch run are rebuilt from the view versions the run pinned, row for row, whatever was
inserted into the groups afterwards; inline inputs and online rows join the same window."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import pandas.testing as pdt
import pytest
from deltalake import DeltaTable

from kernel_magics.monitoring.sources import read_predictions
from kernel_magics.monitoring.windows import Window

from deployments_fixtures import fraud_lakehouse

FEATURES = ["amount", "velocity"]


def utc(text: str) -> datetime:
    return pd.Timestamp(text, tz="UTC").to_pydatetime()


@pytest.fixture
def fraud(lh):
    fg, fv, model, df = fraud_lakehouse(lh)
    lh.deploy("fraud", model="fraud", kind="batch")
    return fg, fv, model, df


def _rewrite(fg, df: pd.DataFrame, start: str, end: str, shift: float) -> None:
    """New values for existing keys and times (the latest write wins) plus new rows in the
    window: an unpinned read of the window now differs in values and in rows."""
    rows = df[(df.ts >= start) & (df.ts < end)].copy()
    rows["amount"] += shift
    rows["velocity"] -= shift / 100
    extra = rows.head(5).copy()
    extra["ts"] += pd.Timedelta("30min")
    fg.insert(pd.concat([rows, extra], ignore_index=True))


def expected_max(frames: list[pd.DataFrame]) -> float:
    return max(f["amount"].max() for f in frames)


def test_batch_monitor_rebuilds_the_scored_inputs_row_for_row(lh, fraud):
    fg, fv, model, df = fraud
    d = lh.deployments.get("fraud")
    scored, runs = [], []
    for start, end, shift in [("2024-01-02", "2024-01-05", 500.0),
                              ("2024-01-05", "2024-01-08", 900.0)]:
        scored.append(fv.batch_data(start, end))  # what the run reads (same versions)
        result = d.batch(start=start, end=end)
        assert result.rows == len(scored[-1])
        runs.append(result.run_id)
        _rewrite(fg, df, "2024-01-02", "2024-01-08", shift)  # touches both windows
    # the two runs pinned different versions of tx; the groups moved on after both
    metas = [h["lakebook.batch"] for h in DeltaTable(str(lh.tables_dir / "predictions_fraud"))
             .history()]
    assert len({str(m["versions"]) for m in metas}) == 2
    now = fv.batch_data("2024-01-02", "2024-01-08")
    assert len(now) > sum(map(len, scored))  # new rows, new values: not what was scored
    assert now["amount"].max() > expected_max(scored)

    rows = read_predictions(lh, "fraud", "ts", Window(utc("2024-01-02"), utc("2024-01-08")))
    got = rows.to_pandas()
    # the second run read duplicates (same card and time, two writes): they pair off too
    assert len(got) == sum(map(len, scored)) == 72 + 144
    for run_id, expected in zip(runs, scored):
        # row for row, in the order scored: keys, event time and the exact inputs
        mine = got[got["run_id"] == run_id].reset_index(drop=True)
        pdt.assert_frame_equal(mine[["cc_num", "ts", *FEATURES]],
                               expected[["cc_num", "ts", *FEATURES]], check_dtype=False)
        assert mine["prediction"].tolist() == model.predict(expected[FEATURES]).tolist()
    assert (got["source"] == "batch").all() and (got["deployment"] == "fraud").all()
    # a window inside the second run only
    part = read_predictions(lh, "fraud", "ts", Window(utc("2024-01-06"), utc("2024-01-07")))
    second = scored[1][(scored[1].ts >= "2024-01-06") & (scored[1].ts < "2024-01-07")]
    assert len(second) == 48
    assert part.column("amount").to_pylist() == second["amount"].tolist()


def test_monitor_reads_batch_rows_by_event_time_and_online_rows_by_request_time(lh, fraud):
    fg, fv, model, df = fraud
    d = lh.deployments.get("fraud")
    d.batch(start="2024-01-02", end="2024-01-05")
    d.predict({"cc_num": 4})  # one online answer, logged at request time (now)
    d.flush()
    lh.create_monitor("batch", deployment="fraud", reference="training", schedule=None,
               current={"start": "2024-01-02T00:00:00Z", "end": "2024-01-05T00:00:00Z"})
    result = lh.monitoring.run("batch")
    assert result.status == "ok", result.reason
    assert result.current_rows == 72
    assert set(result.columns) == {*FEATURES, "prediction"}
    assert result.details["model"] == "fraud" and result.details["model_version"] == 1
    # an open window: the batch rows (by their own event time) and the online answer
    lh.create_monitor("all", deployment="fraud", reference="training", schedule=None, current="all")
    assert lh.monitoring.run("all").current_rows == 73
    # the batch rows' time is the transaction's: the last day holds only the online answer
    lh.create_monitor("today", deployment="fraud", reference="training", schedule=None,
               current="last 1d")
    assert lh.monitoring.run("today").current_rows == 1
    # unless the monitor names the batch run's own time (the online log has none)
    lh.create_monitor("runs", deployment="fraud", reference="training", schedule=None,
               current="last 1d", time_column="scored_at")
    runs = lh.monitoring.run("runs")
    assert runs.current_rows == 72, runs.reason


def test_inline_inputs_and_post_processed_copies(lh, fraud):
    fg, fv, model, df = fraud
    d = lh.deployments.get("fraud")
    # a frame the caller built: not rebuildable, so its inputs are stored with the rows
    own = df[(df.ts >= "2024-01-10") & (df.ts < "2024-01-11")].drop(columns="is_fraud")
    own = own.assign(amount=own.amount + 0.5)
    d.batch(df=own)
    table = DeltaTable(str(lh.tables_dir / "predictions_fraud")).to_pandas()
    assert {"amount", "velocity"} <= set(table.columns)
    # the view's rows, post-processed with a column named like an input (notebook 3 copies
    # the amount next to the prediction; here it is overwritten, to tell them apart)
    from kernel_magics.deployments.batch import run_batch
    batch_df = fv.batch_data("2024-01-11", "2024-01-12")
    post = d.batch(df=batch_df, output="scratch").predictions.assign(amount=0.0)
    run_batch(d, df=batch_df, predictions=post, output="reviewed",
              versions=batch_df.attrs["lakebook_versions"])
    meta = DeltaTable(str(lh.tables_dir / "reviewed")).history()[0]["lakebook.batch"]
    assert meta["features"] == "reference"
    rows = read_predictions(lh, "fraud", "ts", Window(utc("2024-01-10"), utc("2024-01-13")))
    got = rows.to_pandas()
    assert len(got) == 72  # predictions_fraud, reviewed, scratch (tables by name)
    assert got["amount"].iloc[:24].tolist() == own["amount"].tolist()          # inline
    assert got["amount"].iloc[24:48].tolist() == batch_df["amount"].tolist()   # rebuilt
    assert got["amount"].iloc[48:].tolist() == batch_df["amount"].tolist()     # inline
    assert got["run_id"].nunique() == 3


def test_runs_on_the_same_versions_share_one_rebuild(lh, fraud):
    """Runs that pinned the same versions (nothing inserted between them), over disjoint
    and overlapping windows: one batch_data, joined on keys + event time, row for row."""
    fg, fv, model, df = fraud
    d = lh.deployments.get("fraud")
    _rewrite(fg, df, "2024-01-09", "2024-01-12", 300.0)  # duplicates (card, time) to pair
    scored, runs = [], []
    for start, end in [("2024-01-09", "2024-01-10"), ("2024-01-11", "2024-01-12"),
                       ("2024-01-09T12:00", "2024-01-11T12:00")]:
        scored.append(fv.batch_data(start, end))
        runs.append(d.batch(start=start, end=end).run_id)
    _rewrite(fg, df, "2024-01-09", "2024-01-12", 700.0)
    rows = read_predictions(lh, "fraud", "ts", Window(utc("2024-01-09"), utc("2024-01-12")))
    got = rows.to_pandas()
    assert len(got) == sum(map(len, scored))
    for run_id, expected in zip(runs, scored):
        mine = got[got["run_id"] == run_id].reset_index(drop=True)
        pdt.assert_frame_equal(mine[["cc_num", "ts", *FEATURES]],
                               expected[["cc_num", "ts", *FEATURES]], check_dtype=False)
