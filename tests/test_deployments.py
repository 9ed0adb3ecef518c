"""Deployments through the Python API, on a real feature group, view, registry and Delta."""
from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from kernel_magics.shared.errors import InvalidInput, NotFound
from kernel_magics.deployments.protocol import parse_request
from kernel_magics.storage import delta

from deployments_fixtures import fraud_lakehouse, latest_rows, register_clf, training_frame


@pytest.fixture
def fraud(lh):
    return fraud_lakehouse(lh)


def test_deploy_follows_model_view_and_predicts_online(lh, fraud):
    fg, fv, model, df = fraud
    d = lh.deploy("fraud", model="fraud")  # alias production by default
    assert (d.target.view, d.target.view_version) == (fv.name, fv.version)
    latest = latest_rows(df)
    one = d.predict({"cc_num": 7})
    x = latest.loc[[7], ["amount", "velocity"]]
    assert one["prediction"] == model.predict(x)[0]
    assert one["probabilities"]["1"] == pytest.approx(model.predict_proba(x)[0, 1])
    assert one["found"] is True and one["model"] == {"name": "fraud", "version": 1}
    assert one["cc_num"] == 7

    many = d.predict([{"cc_num": 1}, {"cc_num": 2}, {"cc_num": 9999}])
    xs = latest.loc[[1, 2], ["amount", "velocity"]]
    assert [m["prediction"] for m in many[:2]] == model.predict(xs).tolist()
    # an unknown key: no crash, no prediction, flagged
    assert many[2] == {"cc_num": 9999, "prediction": None, "found": False,
                       "model": {"name": "fraud", "version": 1}}


def test_request_time_features(lh, fraud):
    fg, fv, model, df = fraud
    d = lh.deploy("fraud", model="fraud")
    got = d.predict({"cc_num": 3}, features={"amount": 500.0})
    x = latest_rows(df).loc[[3], ["amount", "velocity"]].copy()
    x["amount"] = 500.0
    assert got["probabilities"]["1"] == pytest.approx(model.predict_proba(x)[0, 1])
    # unknown key, but every feature passed: predicted, and still flagged as not found
    got = d.predict({"cc_num": 12345}, features={"amount": 10.0, "velocity": 0.0})
    x = pd.DataFrame({"amount": [10.0], "velocity": [0.0]})
    assert got["prediction"] == model.predict(x)[0] and got["found"] is False
    with pytest.raises(InvalidInput, match="'amount' must be a number"):
        d.predict({"cc_num": 3}, features={"amount": "lots"})
    with pytest.raises(InvalidInput, match="names no entity"):
        d.predict({"amount": 1.0})


def test_deploy_errors_name_the_problem(lh, fraud):
    with pytest.raises(NotFound, match="no alias 'staging'"):
        lh.deploy("d1", model="fraud", alias="staging")
    with pytest.raises(NotFound, match="fraud"):
        lh.deploy("d1", model="fraud", version=9)
    with pytest.raises(NotFound):
        lh.deploy("d1", model="nope")
    with pytest.raises(InvalidInput, match="alias or a version, not both"):
        lh.deploy("d1", model="fraud", alias="production", version=1)
    with pytest.raises(InvalidInput, match="not a valid deployment name"):
        lh.deploy("bad name", model="fraud")
    with pytest.raises(InvalidInput, match="kind"):
        lh.deploy("d1", model="fraud", kind="streaming")
    with pytest.raises(NotFound, match="no deployment 'd1'"):
        lh.deployments.get("d1")
    assert lh.deployments.list() == []  # bad input wrote nothing


def test_list_stats_and_delete(lh, fraud):
    d = lh.deploy("fraud", model="fraud")
    for k in range(5):
        d.predict({"cc_num": k})
    with pytest.raises(InvalidInput):
        d.predict({"cc_num": 1}, features={"amount": "x"})
    d.flush()
    [row] = lh.deployments.list()
    assert row["name"] == "fraud" and row["requests"] == 5 and row["errors"] == 1
    assert row["served_version"] == 1 and row["latency_p99_ms"] > 0
    from kernel_magics.shared.routes import predict_path  # the REST door adds the endpoint
    assert predict_path(row["name"]) == "/lakebook/api/deployments/fraud/predict"
    html = d._repr_html_()
    assert "Deployment fraud" in html and "v1" in html
    lh.deployments.delete("fraud")
    assert lh.deployments.list() == []
    with pytest.raises(NotFound):
        lh.deployments.get("fraud")


def test_inference_log_rows(lh, other_lh, fraud):
    d = lh.deploy("fraud", model="fraud")
    answers = [d.predict_request(parse_request({"entries": [{"cc_num": k}, {"cc_num": 777}]}))
               for k in range(3)]
    d.flush()
    # in the storage: another home of the lakehouse reads it
    log = delta.load(other_lh.tables_dir / "inference_log_fraud").to_pandas()
    # one row per prediction made; the unknown key (no prediction) is not logged
    assert sorted(log["request_id"]) == sorted(a.request_id for a in answers)
    assert sorted(log["cc_num"]) == [0, 1, 2]
    assert {"amount", "velocity", "prediction", "proba_0", "proba_1", "model_version",
            "ts", "latency_ms", "source"} <= set(log.columns)
    assert str(log["ts"].dtype).startswith("datetime64") and log["ts"].dt.tz is not None


def test_an_idle_deployment_stops_polling_and_its_next_request_catches_up(lh, monkeypatch):
    """A deployment object nobody calls stops re-reading the catalog (left-behind ones in a
    long-lived process polled it four times a second, forever); the first request after that
    re-checks before it is answered, so it never answers with a model the alias left."""
    from kernel_magics.deployments import model_cache
    monkeypatch.setattr(model_cache, "IDLE_AFTER_S", 1.0)
    register_clf(lh)
    d = lh.deploy("scorer", model="clf")
    d.cache.refresh_s = 0.05
    rows = training_frame()[0].head(2).to_dict("records")
    checks: list[str] = []
    real = d.resolver.target
    monkeypatch.setattr(d.resolver, "target", lambda name: checks.append(name) or real(name))
    assert {o["model"]["version"] for o in d.predict(rows)} == {1}
    # re-checked every 0.05 s while used, then idle 1 s after the request (no fixed sleep:
    # a loaded machine runs the watcher late, not differently)
    deadline = time.monotonic() + 30
    while not d.cache._idle and time.monotonic() < deadline:
        time.sleep(0.05)
    assert d.cache._idle, "the watcher never went idle"
    idle = len(checks)
    assert idle >= 2, idle  # the first load, and at least one background re-check
    time.sleep(0.5)
    assert len(checks) == idle  # no re-check while idle
    mv2, _ = register_clf(lh, flip=True, alias=None)
    lh.registry.set_alias("clf", "production", mv2.version)
    assert {o["model"]["version"] for o in d.predict(rows)} == {mv2.version}
    assert len(checks) > idle  # the request re-checked the catalog itself
    deadline = time.monotonic() + 5
    while len(checks) < idle + 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(checks) >= idle + 3  # and the watcher runs again while it is used


def test_alias_move_swaps_atomically_in_process(lh):
    register_clf(lh)
    d = lh.deploy("scorer", model="clf")
    d.cache.refresh_s = 0.05
    X, _ = training_frame()
    rows = X.head(3).to_dict("records")
    seen, errors = [], []
    stop = threading.Event()

    def worker():
        while not stop.is_set():
            try:
                out = d.predict(rows)
                versions = {o["model"]["version"] for o in out}
                assert len(versions) == 1  # one model per request, never a mix
                seen.append(versions.pop())
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    mv2, _ = register_clf(lh, flip=True, alias=None)
    lh.registry.set_alias("clf", "production", mv2.version)
    deadline = time.time() + 10
    while time.time() < deadline and 2 not in seen:
        time.sleep(0.02)
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert not errors and {1, 2} <= set(seen)
    assert d.model_version == 2 and d.cache.swaps == 1


def test_fixed_version_does_not_follow_alias(lh):
    register_clf(lh)
    d = lh.deploy("pinned", model="clf", version=1)
    mv2, _ = register_clf(lh, flip=True)
    d.cache.refresh()
    assert d.model_version == 1
    lh.deploy("pinned", model="clf", version=2)  # re-pointing takes effect at once
    assert d.model_version == 2


def test_batch_writes_predictions_and_log(lh, other_lh, fraud):
    fg, fv, model, df = fraud
    d = lh.deploy("fraud", model="fraud", kind="batch")
    result = d.batch(start="2024-01-02", end="2024-01-05")
    window = df[(df.ts >= "2024-01-02") & (df.ts < "2024-01-05")]
    assert result.rows == len(window) == 72
    table = delta.load(other_lh.tables_dir / "predictions_fraud").to_pandas()  # any home
    table = table.sort_values("ts").reset_index(drop=True)
    expected = model.predict(window.sort_values("ts")[["amount", "velocity"]])
    assert table["prediction"].tolist() == expected.tolist()
    assert set(table.columns) >= {"cc_num", "ts", "prediction", "proba_1", "model",
                                  "model_version", "scored_at", "run_id"}
    assert (table["model"] == "fraud").all() and (table["model_version"] == 1).all()
    # written once: no copy in the inference log, no inputs in the table; the commit says
    # where the inputs are (the view's groups at pinned Delta versions) and the window
    assert not (lh.tables_dir / "inference_log_fraud").exists()
    assert not {"amount", "velocity"} & set(table.columns)
    history = delta.load(lh.tables_dir / "predictions_fraud").history()
    assert len(history) == 1
    meta = history[0]["lakebook.batch"]
    assert meta["features"] == "reference" and meta["run_id"] == result.run_id
    assert meta["view"] == fv.name and meta["view_version"] == fv.version
    assert meta["versions"] == {f"{fg.name}_v{fg.version}": fg.delta_version()}
    assert meta["window"] == {"start": "2024-01-02T00:00:00+00:00",
                              "end": "2024-01-05T00:00:00+00:00"}
    assert (meta["model"], meta["model_version"], meta["rows"]) == ("fraud", 1, 72)
    assert "Inference fraud" in result._repr_html_()
    with pytest.raises(InvalidInput, match="predictions table"):
        d.batch(output="bad name")


def test_batch_new_only_scores_each_row_once(lh, fraud):
    fg, fv, model, df = fraud
    d = lh.deploy("fraud", model="fraud", kind="batch")
    first = d.batch(end="2024-01-03", new_only=True)  # nothing scored yet: from the start
    assert first.rows == len(df[df.ts < "2024-01-03"])
    second = d.batch(new_only=True)  # the rest, after the newest event time scored
    assert second.rows == len(df[df.ts >= "2024-01-03"])
    assert d.batch(new_only=True).rows == 0  # nothing new
    table = delta.load(lh.tables_dir / "predictions_fraud").to_pandas()
    assert len(table) == len(df) and not table.duplicated(["cc_num", "ts"]).any()


def test_dead_letters_and_spills_are_kept_where_every_home_reads_them(lh, other_lh, fraud,
                                                                      monkeypatch):
    """Rows the table refuses are dead letters, rows a stop could not write are spilled: both
    in the lakehouse's storage, so another home sees them, and the next start (on any home)
    writes the spilled rows once."""
    from kernel_magics.deployments import inference_log, log_files
    real_write = inference_log.InferenceLog._write

    def refuse(self, table):
        raise ValueError("the table refuses these rows")

    monkeypatch.setattr(inference_log.InferenceLog, "_write", refuse)
    d = lh.deploy("fraud", model="fraud")
    d.predict({"cc_num": 1})
    d.predict({"cc_num": 2})
    d.flush()
    letters = log_files.read_dead_letters(other_lh, "fraud")
    assert sorted(r["cc_num"] for e in letters for r in e["rows"]) == [1, 2]
    assert all("refuses these rows" in e["error"] for e in letters)
    d.predict({"cc_num": 3})
    d.close()  # the table refuses again at the stop: spilled, not lost
    spilled = log_files.spills(other_lh, "fraud")
    assert [[r["cc_num"] for r in s.rows()] for s in spilled] == [[3]]
    monkeypatch.setattr(inference_log.InferenceLog, "_write", real_write)
    theirs = other_lh.deployments.get("fraud")
    theirs.log.flush()  # the next start writes the spilled rows, then removes the file
    theirs.close()
    assert log_files.spills(lh, "fraud") == []
    logged = delta.load(lh.tables_dir / "inference_log_fraud").to_pandas()
    assert logged["cc_num"].tolist() == [3]
    # a dead-letter file of an older Lakebook (one JSON-lines file for all) is still read
    import json
    lh.location("dead_letters/inference_log_fraud.jsonl").write_text(json.dumps(
        {"at": "2024-01-01T00:00:00+00:00", "error": "old", "rows": [{"cc_num": 9}]}) + "\n")
    assert [e["error"] for e in log_files.read_dead_letters(other_lh, "fraud")][0] == "old"
