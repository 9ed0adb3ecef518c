"""Feature monitors on real feature groups (Delta tables, SQLite catalog): results in the
catalog, reports on disk, alerts, bad input, schedules."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from kernel_magics.shared.errors import AlreadyExists, InvalidInput, NotFound

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)


def day_rows(day: int, n: int = 600, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed + day)
    return pd.DataFrame({
        "card": np.arange(n) + day * n,
        "ts": [T0 + timedelta(days=day, seconds=int(s)) for s in rng.integers(0, 86399, n)],
        "amount": rng.lognormal(3 + shift, 0.8, n),
        "merchants": rng.integers(1, 30, n).astype("int64"),
        "channel": rng.choice(["online", "shop", "atm"], n,
                              p=[0.3, 0.5, 0.2] if not shift else [0.7, 0.2, 0.1]),
        "seen_at": pd.Timestamp("2024-01-01", tz="UTC"),   # a type Evidently cannot test
    })


@pytest.fixture
def group(lh):
    fg = lh.create_feature_group("transactions", key="card", event_time="ts")
    for day in range(7):
        fg.insert(day_rows(day))
    fg.insert(day_rows(7, shift=1.0))   # day 7: the world changed
    return fg


def test_feature_monitor_same_window_is_ok_and_shifted_window_drifts(lh, other_lh, group):
    mon = lh.create_monitor("tx", feature_group="transactions", reference="previous 3d",
                     current="last 1d", drift_share=0.5, schedule=None)
    assert mon.kind == "feature" and mon.spec["reference"] == "previous 3d"
    quiet = mon.run(now=T0 + timedelta(days=6))          # day 5 vs days 2..4
    assert quiet.status == "ok", quiet.reason
    assert quiet.drift_share == 0 and quiet.current_rows == 600 and quiet.reference_rows == 1800
    assert set(quiet.columns) == {"amount", "merchants", "channel"}   # keys/time excluded
    assert "seen_at" in quiet.details["skipped_columns"]
    assert lh.monitoring.alerts.list("tx") == []

    loud = lh.monitoring.run("tx", now=T0 + timedelta(days=8), run_id="run-123")
    assert loud.status == "drift" and loud.dataset_drift
    assert {"amount", "channel"} <= set(loud.drifted_columns)
    assert loud.run_id == "run-123"
    # catalog row: drift share, per-column scores, verdict, status
    row = lh.catalog.query_one("SELECT * FROM monitor_results WHERE id = ?", (loud.id,))
    assert row["status"] == "drift" and row["dataset_drift"] == 1
    assert json.loads(row["columns"])["amount"]["drifted"] is True
    # full report JSON + HTML in the storage's reports folder, read by any home
    folder = lh.reports_dir / "monitors" / "tx"
    assert row["report_html"] == (folder / f"{loud.id}.html").uri
    assert row["report_json"] == (folder / f"{loud.id}.json").uri
    assert b"<html" in other_lh.monitoring.results.report(loud, "html").lower()
    assert "metrics" in json.loads(other_lh.monitoring.results.report(loud, "json"))
    # where the REST door serves it (the area keeps the file, the door the URL)
    from kernel_magics.shared.routes import report_path
    assert report_path("tx", loud.id) == f"lakebook/api/monitors/tx/reports/{loud.id}.html"
    # an alert was raised, names the drifted columns, and can be acknowledged
    alerts = lh.monitoring.alerts.list("tx")
    assert len(alerts) == 1 and alerts[0]["kind"] == "drift" and alerts[0]["result_id"] == loud.id
    assert "amount" in alerts[0]["message"] and loud.alerts == [alerts[0]["id"]]
    assert alerts[0].kind == "drift" and alerts[0].to_dict()["id"] == alerts[0].id  # objects
    acked = lh.monitoring.alerts.acknowledge(alerts[0])
    assert acked.acknowledged and acked["acknowledged_at"]
    assert lh.monitoring.alerts.get(acked.id).acknowledged_at == acked.acknowledged_at
    assert lh.monitoring.alerts.list(acknowledged=False) == []
    # history, newest first; the summary shows the latest verdict
    assert [r.id for r in mon.results()] == [loud.id, quiet.id]
    summary = {m["name"]: m for m in lh.monitoring.summary()}
    assert summary["tx"]["status"] == "drift" and summary["tx"]["latest"]["drift_share"] > 0.5
    assert "drift" in mon._repr_html_() and "Evidently report" in loud._repr_html_()


def test_drift_share_threshold_decides_the_verdict(lh, group):
    lh.create_monitor("strict", feature_group="transactions", reference="previous 3d",
               drift_share=1.0, columns=["amount", "merchants"], schedule=None)
    result = lh.monitoring.run("strict", now=T0 + timedelta(days=8))
    assert result.columns["amount"]["drifted"] and not result.columns["merchants"]["drifted"]
    assert result.status == "ok" and result.drift_share == 0.5
    assert lh.monitoring.alerts.list("strict") == []


def test_empty_windows_are_skipped_with_the_reason(lh, group):
    lh.create_monitor("future", feature_group="transactions", reference="previous 1d", schedule=None)
    result = lh.monitoring.run("future", now=T0 + timedelta(days=30))
    assert result.status == "skipped"
    assert "no rows" in result.reason
    lh.create_monitor("past", feature_group="transactions",
               reference={"start": "2023-01-01", "end": "2023-02-01"}, schedule=None)
    result = lh.monitoring.run("past", now=T0 + timedelta(days=3))
    assert result.status == "skipped" and "reference window" in result.reason
    empty = lh.create_feature_group("empty", key="card", event_time="ts")
    assert empty is not None
    lh.create_monitor("nothing", feature_group="empty", reference="previous 1d", schedule=None)
    assert lh.monitoring.run("nothing", now=T0).status == "skipped"


def test_deleted_source_and_missing_column_fail_with_the_reason(lh, group):
    lh.create_monitor("cols", feature_group="transactions", reference="previous 3d",
               columns=["amount", "nope"], schedule=None)
    result = lh.monitoring.run("cols", now=T0 + timedelta(days=6))
    assert result.status == "failed" and "'nope'" in result.reason
    lh.create_monitor("gone", feature_group="transactions", reference="previous 3d", schedule=None)
    group.delete()
    result = lh.monitoring.run("gone", now=T0 + timedelta(days=6))
    assert result.status == "failed"
    assert "feature group 'transactions'" in result.reason and "deleted" in result.reason


def test_bad_create_input_writes_nothing(lh, group):
    cases = [
        dict(),                                                  # no source
        dict(feature_group="transactions", deployment="d"),     # two sources
        dict(feature_group="transactions"),                      # no reference window
        dict(feature_group="transactions", reference="training"),
        dict(feature_group="transactions", reference="previous 1d", drift_share=0),
        dict(feature_group="transactions", reference="previous 1d", current="soon"),
        dict(feature_group="transactions", reference="previous 1d", on_drift="panic"),
        dict(feature_group="transactions", reference="previous 1d", on_drift="retrain"),
        dict(feature_group="transactions", reference="previous 1d", schedule="every day"),
        dict(feature_group="transactions", reference="previous 1d", performance_margin=0.1),
    ]
    for kwargs in cases:
        with pytest.raises(InvalidInput):
            lh.monitoring.create("m", **kwargs)
    with pytest.raises(NotFound, match="nope"):
        lh.monitoring.create("m", feature_group="nope", reference="previous 1d")
    with pytest.raises(InvalidInput):
        lh.monitoring.create("bad name!", feature_group="transactions", reference="all")
    assert lh.catalog.scalar("SELECT COUNT(*) FROM monitors") == 0
    assert lh.catalog.scalar("SELECT COUNT(*) FROM schedules") == 0
    with pytest.raises(NotFound):
        lh.monitoring.run("m")


def test_schedule_target_and_delete(lh, group):
    lh.create_monitor("daily", feature_group="transactions", reference="previous 3d")
    sched = lh.catalog.query_one("SELECT * FROM schedules WHERE name = 'monitor-daily'")
    assert json.loads(sched["target"]) == {"monitor": "daily"}
    assert sched["cron"] == "0 0 * * *" and sched["next_run_at"]
    with pytest.raises(AlreadyExists):
        lh.create_monitor("daily", feature_group="transactions", reference="previous 1d")
    lh.monitoring.create("daily", feature_group="transactions", reference="previous 1d",
                         schedule="0 6 * * *", replace=True)
    assert lh.monitoring.get("daily").spec["reference"] == "previous 1d"
    assert lh.catalog.scalar("SELECT cron FROM schedules WHERE name = 'monitor-daily'") == \
        "0 6 * * *"
    result = lh.monitoring.run("daily", now=T0 + timedelta(days=8))
    lh.monitoring.delete("daily")
    assert lh.catalog.scalar("SELECT COUNT(*) FROM schedules") == 0
    with pytest.raises(NotFound):
        lh.monitoring.get("daily")
    with pytest.raises(TypeError):  # get gets; it never creates by its arguments
        lh.monitoring.get("daily", feature_group="transactions")
    assert lh.monitoring.results.list("daily")[0].id == result.id   # history stays readable
    assert lh.status()["counts"]["monitors"] == 0
