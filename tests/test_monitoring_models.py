"""Model monitors end to end on real parts: feature groups + view, a registered model, an
online deployment whose inference log is written by real predictions, labels that arrive
later, alerts, the retrain loop through a real papermill run, and the scheduler."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from pipelines_fixtures import code, write_notebook

T0 = pd.Timestamp("2024-01-01", tz="UTC")
N = 300


def tx_rows(shift: float, at: pd.Timestamp, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"card": np.arange(N), "ts": at + pd.to_timedelta(np.arange(N), "s"),
                         "amount": rng.normal(50 + shift, 10, N),
                         "merchants": rng.integers(1, 30, N).astype("int64")})


def training_notebook(path: Path) -> Path:
    return write_notebook(path, [
        code("%load_ext kernel_magics"),
        code("%%training clf --view fraud_view --label is_fraud --promote-if-better accuracy "
             "--alias production\nfrom sklearn.linear_model import LogisticRegression\n"
             "model = LogisticRegression().fit(X_train, y_train)"),
    ])


@pytest.fixture
def world(lh, tmp_path):
    tx = lh.create_feature_group("tx", key="card", event_time="ts", online=True)
    tx.insert(tx_rows(0, T0, seed=1))
    labels = lh.create_feature_group("labels", key="card", event_time="ts")
    first = tx.read()
    labels.insert(pd.DataFrame({"card": first["card"], "ts": first["ts"] + pd.Timedelta("1h"),
                                "is_fraud": (first["amount"] > 55).astype("int64")}))
    fv = lh.create_feature_view("fraud_view", spine=labels, join=[tx], label="is_fraud")
    split = fv.train_test_split(seed=1)
    X_train, X_test, y_train, y_test = split
    model = LogisticRegression().fit(X_train, y_train)
    notebook = training_notebook(tmp_path / "train.ipynb")
    mv = lh.registry.register(
        model, "clf", view=fv, training_versions=split.versions, input_example=X_train.head(5),
        metrics={"accuracy": float((model.predict(X_test) == y_test).mean())},
        task="classification", lineage={"notebook": str(notebook), "step": "clf"})
    lh.registry.set_alias("clf", "production", mv.version)
    lh.deploy("scorer", model="clf")
    return {"tx": tx, "labels": labels, "view": fv, "mv": mv, "notebook": notebook}


def predict_all(lh) -> datetime:
    dep = lh.deployments.get("scorer")
    dep.predict([{"card": int(c)} for c in range(N)])
    dep.flush()
    return datetime.now(timezone.utc)


def test_inference_log_against_training_set(lh, world):
    lh.create_monitor("model", deployment="scorer", current="last 1h", schedule=None,
               labels={"feature_group": "labels", "label": "is_fraud"}, performance_margin=0.1)
    quiet_at = predict_all(lh)
    quiet = lh.monitoring.run("model", now=quiet_at + timedelta(seconds=1))
    assert quiet.status == "ok", quiet.reason
    assert set(quiet.columns) == {"amount", "merchants", "prediction"}
    assert quiet.details["model"] == "clf" and quiet.details["model_version"] == 1
    assert quiet.details["reference"] == "training set of clf v1"
    assert quiet.reference_rows == N and quiet.current_rows == N
    # no label has arrived after these predictions yet: performance says so, no alert
    assert quiet.performance["labelled"] == 0 and "no labels" in quiet.reason
    time.sleep(0.05)

    # the world moves: new transactions for every card, far larger amounts
    world["tx"].insert(tx_rows(40, T0 + pd.Timedelta("30D"), seed=2))
    drift_from = datetime.now(timezone.utc)
    drift_at = predict_all(lh)
    # labels arrive after the predictions: all fraud, which the model mostly misses
    world["labels"].insert(pd.DataFrame({
        "card": np.arange(N), "ts": pd.Timestamp(drift_at) + pd.Timedelta("1min"),
        "is_fraud": np.zeros(N, dtype="int64")}))
    loud = lh.monitoring.get("model").run(now=drift_at + timedelta(seconds=1))
    assert loud.status == "drift"
    assert {"amount", "prediction"} <= set(loud.drifted_columns)
    assert "merchants" not in loud.drifted_columns
    perf = loud.performance
    assert perf["labelled"] >= N and perf["metrics"]["accuracy"] < 0.5
    assert perf["reference"]["accuracy"] > 0.8
    kinds = sorted(a["kind"] for a in lh.monitoring.alerts.list("model"))
    assert kinds == ["drift", "performance"]
    assert drift_from < datetime.fromisoformat(loud.window_end)


def test_retrain_on_drift_queues_the_training_step_and_promotes_by_its_rule(lh, world):
    lh.create_monitor("loop", deployment="scorer", current="last 1h", schedule=None,
               on_drift="retrain")
    world["tx"].insert(tx_rows(40, T0 + pd.Timedelta("30D"), seed=2))
    at = predict_all(lh)
    result = lh.monitoring.run("loop", now=at + timedelta(seconds=1))
    assert result.status == "drift"
    alert = lh.monitoring.alerts.list("loop")[0]
    action = alert["action"]
    assert action["retrain"] == "queued", action
    assert action["step"] == "clf" and action["notebook"] == str(world["notebook"])
    assert action["promote_if_better"] == "accuracy"
    run = lh.pipelines.runs.get(action["run_id"])
    assert run.target["notebook"] == str(world["notebook"])
    run = run.wait(timeout=240)
    assert run.status == "succeeded", run.error
    versions = [v.version for v in lh.registry.versions("clf")]
    assert versions == [1, 2]
    # promotion happened (or not) only through the step's --promote-if-better rule
    history = lh.registry.alias_history("clf", "production")
    assert all(h["to_version"] in (1, 2) for h in history)


def test_retrain_without_a_known_notebook_is_recorded_not_raised(lh, world):
    mv = lh.registry.register(LogisticRegression().fit(
        world["view"].train_test_split()[0], world["view"].train_test_split()[2]), "clf",
        view=world["view"], input_example=world["view"].train_test_split()[0].head(3))
    lh.registry.set_alias("clf", "production", mv.version)
    lh.create_monitor("loop2", deployment="scorer", current="last 1h", schedule=None,
               on_drift="retrain", drift_share=0.3)
    world["tx"].insert(tx_rows(40, T0 + pd.Timedelta("30D"), seed=2))
    lh.deployments.get("scorer").cache.invalidate()
    at = predict_all(lh)
    result = lh.monitoring.run("loop2", now=at + timedelta(seconds=1))
    assert result.status == "drift" and result.details["model_version"] == 2
    action = lh.monitoring.alerts.list("loop2")[0]["action"]
    assert action["retrain"] == "not possible" and "notebook" in action["reason"]


def test_deleted_deployment_fails_the_run_with_the_reason(lh, world):
    lh.create_monitor("orphan", deployment="scorer", schedule=None)
    lh.deployments.delete("scorer")
    result = lh.monitoring.run("orphan")
    assert result.status == "failed"
    assert "deployment 'scorer'" in result.reason and "deleted" in result.reason


def test_no_traffic_is_skipped(lh, world):
    lh.create_monitor("idle", deployment="scorer", schedule=None)
    result = lh.monitoring.run("idle")
    assert result.status == "skipped" and "no rows" in result.reason


def test_scheduler_runs_a_monitor_target(lh, world):
    """A due monitor schedule becomes a run the scheduler dispatches to a worker process,
    which calls lh.monitoring.run with the run's id and window end."""
    lh.create_monitor("nightly", deployment="scorer", current="last 1d", schedule="@hourly")
    predicted_at = predict_all(lh)
    scheduler = lh.pipelines.scheduler()
    # the scheduler's clock two hours on: the hourly fires since are due (catch-up: latest)
    tick = scheduler.tick(now=predicted_at + timedelta(hours=2))
    assert tick.queued >= 1
    run_row = lh.catalog.query_one("SELECT id FROM runs WHERE target = ?",
                                   (json.dumps({"monitor": "nightly"}),))
    run = lh.pipelines.runs.get(run_row["id"]).wait(timeout=120)
    assert run.status == "succeeded", run.error
    result = lh.monitoring.results.list("nightly")[0]
    assert result.run_id == run.id and result.status == "ok", result.reason
    assert datetime.fromisoformat(result.window_end) == datetime.fromisoformat(run.window_end)
    assert result.current_rows == N
    scheduler.stop()
