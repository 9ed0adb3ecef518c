"""Business results (issue 18): outcomes joined point-in-time to predictions, KPIs per window,
version and arm, user KPIs in the SQL sandbox, A/B split and shadow, comparison, promotion
and KPI alerts — through the public API, on real Delta tables and DuckDB."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from sklearn.linear_model import LogisticRegression, LinearRegression
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

from deployments_fixtures import fraud_lakehouse
from kernel_magics.shared.errors import AlreadyExists, InvalidInput, NotFound

WEEK = pd.Timedelta(days=7)
T0 = pd.Timestamp("2024-01-01", tz="UTC")  # a Monday: weeks start on it


def challenger(lh, fv, alias="challenger", C=0.001):
    X_train, _, y_train, _ = fv.train_test_split()
    model = LogisticRegression(C=C, max_iter=500).fit(X_train, y_train)
    mv = lh.registry.register(model, "fraud", view=fv, input_example=X_train.head(5))
    lh.registry.set_alias("fraud", alias, mv.version)
    return mv, model


@pytest.fixture()
def batch(lh):
    """v1 (production) and v2 (challenger) both scoring all 400 transactions of ``tx`` into
    one predictions table; the labels of ``tx`` are the outcomes."""
    fg, fv, model, df = fraud_lakehouse(lh)
    mv2, model2 = challenger(lh, fv)
    dep = lh.deploy("fraud_batch", model="fraud", kind="batch",
                    outcomes={"feature_group": "tx", "value": "amount"})
    dep.batch(T0, T0 + 3 * WEEK)
    dep.batch(T0, T0 + 3 * WEEK, arm="challenger")
    return dep, df, {1: model, 2: model2}


def test_model_metrics_per_week_and_version_match_scikit_learn(batch):
    dep, df, models = batch
    kpis = dep.kpis(every="1w")
    X = df[["amount", "velocity"]]
    checked = 0
    for (version, start), part in kpis.groupby(["version", "window_start"]):
        week = df[(df.ts >= start) & (df.ts < start + WEEK)]
        Xw = week[["amount", "velocity"]]
        pred = models[version].predict(Xw)
        score = models[version].predict_proba(Xw)[:, 1]
        y = week["is_fraud"].to_numpy()
        got = part.set_index("kpi")["value"]
        assert got["precision"] == pytest.approx(precision_score(y, pred, zero_division=0)) \
            or np.isnan(got["precision"])
        assert got["recall"] == pytest.approx(recall_score(y, pred))
        assert got["f1"] == pytest.approx(f1_score(y, pred))
        assert got["average_precision"] == pytest.approx(average_precision_score(y, score))
        assert set(part["n"]) == {len(week)} and set(part["coverage"]) == {len(week)}
        checked += 1
    assert checked == 6 and len(X) == 400  # 3 weeks x 2 versions
    row = kpis[(kpis.kpi == "recall")].iloc[0]
    assert row.ci_low <= row.value <= row.ci_high  # Wilson interval
    assert list(kpis.columns[:8]) == ["window_start", "version", "arm", "shadow", "kpi",
                                      "value", "coverage", "n"]
    assert set(kpis[kpis.version == 2]["arm"]) == {"challenger"}


def test_user_kpis_are_sql_over_predictions_outcomes_and_features(batch):
    dep, df, models = batch
    dep.kpi("money_saved", "sum(amount) FILTER (WHERE prediction = 1 AND outcome = 1)")
    dep.kpi("review_cost", "count(*) FILTER (WHERE prediction = 1) * 2.5", better="lower")
    dep.kpi("value_caught", "sum(value) FILTER (WHERE y_pred AND y_true)")
    kpis = dep.kpis(every="1w")
    week = df[df.ts < T0 + WEEK]
    pred = models[1].predict(week[["amount", "velocity"]])
    first = kpis[(kpis.version == 1) & (kpis.window_start == T0)].set_index("kpi")["value"]
    caught = week["amount"][(pred == 1) & (week["is_fraud"] == 1)].sum()
    assert first["money_saved"] == pytest.approx(caught)   # a feature of the view
    assert first["value_caught"] == pytest.approx(caught)  # the outcome's value
    assert first["review_cost"] == pytest.approx((pred == 1).sum() * 2.5)
    kpis = dep.lh.business.kpis
    assert [k.name for k in kpis.list(dep.name)] == ["money_saved", "review_cost",
                                                     "value_caught"]
    # the collection's verbs: create refuses a name it has, get / delete take its key
    with pytest.raises(AlreadyExists, match="has a KPI 'review_cost' already"):
        kpis.create(dep.name, "review_cost", "count(*)")
    assert kpis.get(dep.name, "review_cost").better == "lower"
    assert kpis.delete(dep.name, "value_caught") is None
    with pytest.raises(NotFound, match="no KPI 'value_caught'"):
        kpis.get(dep.name, "value_caught")
    with pytest.raises(NotFound, match="no KPI 'value_caught'"):
        kpis.delete(dep.name, "value_caught")


@pytest.mark.parametrize("sql, named", [
    ("sum(amount_usd)", "amount_usd"),
    ("sum(amount", "syntax error"),
    ("(SELECT count(*) FROM read_csv('/etc/passwd'))", "Permission"),
    ("1) AS v FROM kpi_rows; COPY kpi_rows TO '/tmp/lakebook-kpi.csv'; SELECT (1",
     "single SQL expression"),
    ("(SELECT 1); ATTACH '/tmp/lakebook-kpi.db' AS x; SELECT (1", "not valid SQL"),
    ("(SELECT count(*) FROM read_parquet('/tmp/*.parquet'))", "Permission"),
])
def test_a_kpi_is_validated_and_sandboxed_when_defined(batch, sql, named, tmp_path):
    dep, _, _ = batch
    with pytest.raises(InvalidInput) as err:
        dep.kpi("bad", sql)
    assert named in str(err.value) and "'bad'" in str(err.value)
    assert dep.lh.business.kpis.list(dep.name) == []
    assert not Path("/tmp/lakebook-kpi.csv").exists() and not Path("/tmp/lakebook-kpi.db").exists()


def test_the_kpi_connection_cannot_reach_files(tmp_path):
    """Whatever reached it: the connection KPIs run on refuses files, COPY and ATTACH."""
    import duckdb
    from kernel_magics.business.joined import connection
    con = connection()
    (tmp_path / "x.csv").write_text("a\n1\n")
    for sql in [f"SELECT * FROM read_csv('{tmp_path}/x.csv')",
                f"COPY (SELECT 1) TO '{tmp_path}/out.csv'",
                f"ATTACH '{tmp_path}/other.db' AS other",
                "SET enable_external_access = true", "SET TimeZone = 'Europe/Paris'"]:
        with pytest.raises(duckdb.Error):
            con.execute(sql)
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "other.db").exists()
    assert con.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "UTC"


def test_kpi_settings_are_checked(batch):
    dep, _, _ = batch
    with pytest.raises(InvalidInput, match="precision"):
        dep.kpi("precision", "count(*)")
    with pytest.raises(InvalidInput, match="below"):
        dep.kpi("x", "count(*)", below="lots")
    with pytest.raises(InvalidInput, match="kind"):
        dep.kpi("x", "count(*)", kind="sum")
    dep.kpi("precision", below=0.9)  # a threshold on a model metric
    assert dep.lh.business.kpis.list(dep.name)[0].below == 0.9


def test_late_outcomes_update_past_windows_and_coverage(lh):
    fg, fv, model, df = fraud_lakehouse(lh)
    dep = lh.deploy("fraud_batch", model="fraud", kind="batch")
    dep.batch(T0, T0 + 2 * WEEK)
    before = dep.kpis(every="1w")
    assert set(before["coverage"]) == {0} and before["value"].isna().all()
    week1 = df[df.ts < T0 + WEEK]
    lh.outcomes.insert(week1[["cc_num", "ts", "is_fraud"]].rename(
        columns={"ts": "at", "is_fraud": "outcome"}).head(50), deployment="fraud_batch")
    after = dep.kpis(every="1w")
    first = after[after.window_start == T0]
    assert set(first["coverage"]) == {50} and set(first["n"]) == {len(week1)}
    assert set(after[after.window_start == T0 + WEEK]["coverage"]) == {0}
    # a correction arrives later: the last outcome logged for a prediction wins
    fixed = week1[["cc_num", "ts"]].head(1).rename(columns={"ts": "at"})
    fixed["outcome"] = 1 - week1["is_fraud"].iloc[0]
    lh.outcomes.insert(fixed, deployment="fraud_batch")
    joined = dep.joined(T0, T0 + WEEK)
    first_tx = joined[(joined.cc_num == fixed.cc_num.iloc[0]) & (joined.ts == fixed["at"].iloc[0])]
    assert first_tx["outcome"].tolist() == [fixed["outcome"].iloc[0]]


def test_outcomes_join_point_in_time_never_a_later_prediction(lh):
    fg, fv, model, df = fraud_lakehouse(lh)
    dep = lh.deploy("fraud_online", model="fraud")
    first = dep.predict_body({"entries": [{"cc_num": 7}]})
    time.sleep(0.05)
    between = pd.Timestamp.now(tz="UTC")
    time.sleep(0.05)
    second = dep.predict_body({"entries": [{"cc_num": 7}]})
    other = dep.predict_body({"entries": [{"cc_num": 8}]})
    dep.flush()
    lh.outcomes.insert(pd.DataFrame({"cc_num": [7, 8], "at": [between, between],
                                     "outcome": [1, 1]}), deployment="fraud_online")
    joined = dep.joined().set_index("request_id")
    assert joined.loc[first.request_id, "outcome"] == 1          # the one it is about
    assert pd.isna(joined.loc[second.request_id, "outcome"])     # never a later one
    assert pd.isna(joined.loc[other.request_id, "outcome"])      # 8 was predicted after
    # by request id: exact, whatever the time
    dep.log_outcome(second.request_id, 0, value=12.5)
    joined = dep.joined().set_index("request_id")
    assert joined.loc[second.request_id, "outcome"] == 0
    assert joined.loc[second.request_id, "value"] == 12.5
    assert dep.kpis().iloc[0]["coverage"] == 2


def test_outcome_window_limits_key_and_time_joins(lh):
    fg, fv, model, df = fraud_lakehouse(lh)
    dep = lh.deploy("fraud_batch", model="fraud", kind="batch",
                    outcomes={"feature_group": "tx", "window": "1h"})
    dep.batch(T0, T0 + WEEK)
    late = pd.DataFrame({"cc_num": [0], "at": [T0 + pd.Timedelta(minutes=90)],
                         "outcome": [1]})  # cc 0's prediction was at T0: 90 min > 1 h
    lh.outcomes.insert(late, deployment="fraud_batch")
    joined = dep.joined(T0, T0 + WEEK)
    row = joined[(joined.cc_num == 0) & (joined.ts == T0)]
    assert row["outcome"].tolist() == [df.loc[0, "is_fraud"]]  # its own label only


def test_bad_outcomes_write_nothing(lh):
    fraud_lakehouse(lh)
    dep = lh.deploy("fraud_online", model="fraud")
    for bad, named in [
        (pd.DataFrame({"outcome": [1]}), "name no prediction"),
        (pd.DataFrame({"request_id": ["a", "b"], "outcome": [1, None]}), "no outcome"),
        (pd.DataFrame({"request_id": ["a"], "outcome": [1], "colour": ["red"]}), "colour"),
        (pd.DataFrame({"request_id": ["a"]}), "'outcome'"),
        (pd.DataFrame({"request_id": ["a"], "outcome": [1], "value": ["lots"]}), "value"),
    ]:
        with pytest.raises(InvalidInput, match=named):
            lh.outcomes.insert(bad, deployment="fraud_online")
    with pytest.raises(InvalidInput, match="Which deployment"):
        lh.outcomes.insert(pd.DataFrame({"request_id": ["a"], "outcome": [1]}))
    with pytest.raises(NotFound, match="nope"):
        lh.outcomes.insert(pd.DataFrame({"request_id": ["a"], "outcome": [1]}),
                           deployment="nope")
    assert lh.outcomes.read("fraud_online").empty
    assert not (lh.tables_dir / "outcomes_fraud_online").exists()


def test_regressor_metrics(lh):
    rng = np.random.default_rng(3)
    n = 200
    df = pd.DataFrame({"house": np.arange(n),
                       "ts": T0 + pd.to_timedelta(np.arange(n), "h"),
                       "rooms": rng.integers(1, 6, n).astype(float)})
    df["price"] = df["rooms"] * 100 + rng.normal(0, 20, n)
    fg = lh.create_feature_group("houses", key="house", event_time="ts")
    fg.insert(df)
    fv = lh.create_feature_view("houses_view", spine=fg, label="price")
    X, _, y, _ = fv.train_test_split(test_size=0.1)
    model = LinearRegression().fit(X, y)
    mv = lh.registry.register(model, "price", view=fv, input_example=X.head(3))
    lh.registry.set_alias("price", "production", mv.version)
    dep = lh.deploy("prices", model="price", kind="batch",
                    outcomes={"feature_group": "houses", "outcome": "price"})
    dep.batch(T0, T0 + WEEK * 2)
    kpis = dep.kpis(every="1w")
    week = df[df.ts < T0 + WEEK]
    err = model.predict(week[["rooms"]]) - week["price"]
    got = kpis[kpis.window_start == T0].set_index("kpi")["value"]
    assert set(got.index) == {"mae", "rmse"}
    assert got["mae"] == pytest.approx(np.abs(err).mean())
    assert got["rmse"] == pytest.approx(np.sqrt((err ** 2).mean()))


def test_split_is_sticky_logged_and_promoted_by_kpi(lh):
    fg, fv, model, df = fraud_lakehouse(lh)
    mv2, _ = challenger(lh, fv, C=1.0)
    with pytest.raises(InvalidInput, match="add up"):
        lh.deploy("fraud_online", model="fraud", split={"production": 0.9, "challenger": 0.2})
    with pytest.raises(NotFound, match="nope"):
        lh.deploy("fraud_online", model="fraud", split={"production": 0.9, "nope": 0.1})
    dep = lh.deploy("fraud_online", model="fraud",
                    split={"production": 0.7, "challenger": 0.3})
    first = {i: dep.predict({"cc_num": i}) for i in range(50)}
    arms = {i: a["arm"] for i, a in first.items()}
    assert set(arms.values()) == {"production", "challenger"}
    for i, a in first.items():
        assert a["version"] == (2 if a["arm"] == "challenger" else 1)
        assert a["model"]["version"] == a["version"]
    for _ in range(2):  # sticky: a card always meets the same arm
        assert all(dep.predict({"cc_num": i})["arm"] == arms[i] for i in range(50))
    many = dep.predict([{"cc_num": i} for i in range(50)])  # one request, both arms
    assert [r["arm"] for r in many] == [arms[i] for i in range(50)]
    dep.flush()
    log = dep.log.read()
    assert set(zip(log["arm"], log["model_version"])) == {("production", 1), ("challenger", 2)}
    assert not log["shadow"].any()
    # outcomes for every card; promote the better arm
    lh.outcomes.insert(pd.DataFrame({"cc_num": range(50), "at": pd.Timestamp.now(tz="UTC"),
                                     "outcome": [1] * 50}), deployment="fraud_online")
    result = dep.compare_arms("recall")
    assert {a["arm"] for a in result["arms"]} == {"production", "challenger"}
    assert result["method"].startswith("Poisson bootstrap")
    assert all(a["ci_low"] <= a["value"] <= a["ci_high"] for a in result["arms"])
    assert result["best"] in ("production", "challenger") and "significant" in result
    with pytest.raises(InvalidInput, match="no arm 'v9'"):
        dep.promote("v9")
    dep.promote("challenger")
    assert lh.registry.get("fraud", alias="production").version == 2
    assert "split" not in lh.deployments.definition("fraud_online")["spec"]
    answer = dep.predict({"cc_num": 1})
    assert answer["model"]["version"] == 2 and "arm" not in answer


def test_shadow_scores_off_the_answer_and_is_logged(lh):
    fg, fv, model, df = fraud_lakehouse(lh)
    challenger(lh, fv)
    dep = lh.deploy("fraud_online", model="fraud", shadow="challenger")
    answers = [dep.predict_body({"entries": [{"cc_num": i}]}) for i in range(10)]
    assert all(a.version == 1 for a in answers)
    assert all("arm" not in a.rows[0] for a in answers)
    dep.close()  # waits for the shadow thread, flushes the log
    log = dep.log.read()
    shadow = log[log["shadow"] == True]  # noqa: E712 (null for answered rows)
    assert len(shadow) == 10 and set(shadow["model_version"]) == {2}
    assert set(shadow["request_id"]) == {a.request_id for a in answers}
    assert dep.stats()["requests"] == 10  # a shadow scoring is not a request
    for a in answers:
        lh.deployments.get("fraud_online").log_outcome(a.request_id, 1)
    kpis = lh.deployments.get("fraud_online").kpis()
    coverage = kpis.groupby("shadow")["coverage"].max()
    assert coverage[True] == 10 and coverage[False] == 10  # one outcome, both rows


def test_compare_arms_detects_a_real_difference_and_only_a_real_one(batch, lh):
    dep, df, models = batch
    # v2 (C=0.001) flags few frauds; v1 most: recall differs, significantly
    result = dep.compare_arms("recall")
    recall = {a["arm"]: a["value"] for a in result["arms"]}
    assert set(recall) == {"v1", "challenger"}  # v1 scored without an arm: named by version
    assert result["best"] == "v1" and result["runner_up"] == "challenger"
    assert result["significant"] and result["difference_ci"][0] > 0
    assert "significant at 95%" in result["verdict"]
    # a twin of v1 scoring the same rows: the best two are equal, nothing is significant
    twin = lh.registry.register(models[1], "fraud", view=lh.features.views.get("tx_view"),
                                input_example=df[["amount", "velocity"]].head(3))
    lh.registry.set_alias("fraud", "twin", twin.version)
    dep.batch(T0, T0 + 3 * WEEK, arm="twin")
    tied = dep.compare_arms("recall")
    assert {tied["best"], tied["runner_up"]} == {"v1", "twin"}
    assert tied["difference"] == 0 and not tied["significant"]
    dep.kpi("review_cost", "count(*) FILTER (WHERE y_pred) * 2.5", better="lower")
    cost = dep.compare_arms("review_cost")
    assert cost["per"] == "prediction" and cost["better"] == "lower"
    assert cost["best"] == "challenger"  # it flags the fewest for review
    with pytest.raises(NotFound, match="no KPI 'nope'"):
        dep.compare_arms("nope")


def test_kpi_alert_uses_the_monitoring_alerts(batch, lh):
    dep, df, models = batch
    dep.kpi("review_cost", "count(*) FILTER (WHERE y_pred) * 2.5", above=1.0,
            on_alert="retrain")
    ids = dep.check_kpis(every="1w", now=T0 + 3 * WEEK)
    assert ids
    alerts = lh.monitoring.alerts.list(monitor="deployment fraud_batch")
    kpi_alerts = [a for a in alerts if a["kind"] == "kpi:review_cost"]
    assert kpi_alerts and "review_cost" in kpi_alerts[0]["message"]
    assert kpi_alerts[0]["details"]["above"] == 1.0
    # the same retrain as drift: here the model has no training notebook, and it says so
    assert kpi_alerts[0]["action"]["retrain"] == "not possible"
    again = dep.check_kpis(every="1w", now=T0 + 3 * WEEK)
    assert set(again) <= set(ids)  # an open alert is updated, not repeated


def test_business_view_spec_and_widget(batch):
    dep, _, _ = batch
    dep.kpi("money_saved", "sum(value) FILTER (WHERE y_pred AND y_true)")
    chart = dep.business_chart(every="1w")
    spec = chart.spec
    assert spec["$schema"].endswith("vega-lite/v5.json")
    kpis = {v["kpi"] for v in spec["data"]["values"]}
    assert {"money_saved", "precision", "coverage"} <= kpis
    bundle = chart._repr_mimebundle_()
    assert "application/vnd.vegalite.v5+json" in bundle
    assert chart.view["headline"]["kpi"] == "money_saved"
    assert chart.view["comparison"]["arms"]
    box = dep.business(every="1w")
    assert "lakebook-business" in box._dom_classes


def bad_outcome_bodies(request_id: str) -> list[tuple[object, str]]:
    """Outcome bodies both HTTP servers refuse with a 400 (and the words its error has)."""
    return [
        ({"outcomes": [{"outcome": 1}]}, "name no prediction"),
        ({"outcomes": "x"}, "non-empty list"),
        ({"outcomes": []}, "non-empty list"),
        ([1, 2], "must be a JSON object, not list"),
        ({}, "not an empty object"),
        ({"outcomes": [{"request_id": request_id, "outcome": 1}], "extra": 1}, "'extra'"),
        ({"outcomes": [3]}, "Outcome 0"),
        ({"outcomes": [{"request_id": request_id, "outcome": 1, "colour": "red"}]},
         "'colour'"),
        ({"outcomes": [{"request_id": request_id, "outcome": {"fraud": 1}}]},
         "list or an object"),
        ({"outcomes": [{"request_id": 12, "outcome": 1}]}, "not a request id"),
        ({"outcomes": [{"request_id": request_id, "outcome": 1, "value": "lots"}]}, "value"),
        ({"outcomes": [{"request_id": request_id, "outcome": 1, "at": "soon"}]}, "'at'"),
        # one wrong row of two: neither is written
        ({"outcomes": [{"request_id": request_id, "outcome": 1},
                       {"request_id": request_id, "outcome": None}]}, "no outcome"),
    ]


def test_business_rest_through_a_real_jupyter_server(lh, jupyter_server):
    fg, fv, model, df = fraud_lakehouse(lh)
    challenger(lh, fv)
    lh.deploy("fraud_online", model="fraud", split={"production": 0.5, "challenger": 0.5})
    answered = jupyter_server.post("deployments/fraud_online/predict",
                                   json={"entries": [{"cc_num": 3}]})
    assert answered.status_code == 200, answered.text
    request_id = answered.json()["request_id"]
    assert answered.headers["X-Request-Id"] == request_id
    assert answered.json()["predictions"][0]["arm"] in ("production", "challenger")
    logged = jupyter_server.post("deployments/fraud_online/outcomes",
                                 json={"outcomes": [{"request_id": request_id, "outcome": 1,
                                                     "value": 99.5}]})
    assert logged.status_code == 201, logged.text
    assert logged.json()["written"] == 1
    # the client's mistakes: 4xx naming them, nothing written (the same as lakebook serve)
    for body, words in bad_outcome_bodies(request_id):
        bad = jupyter_server.post("deployments/fraud_online/outcomes", json=body)
        assert bad.status_code == 400 and words in bad.json()["error"], (body, bad.text)
    assert len(lh.outcomes.read("fraud_online")) == 1
    assert jupyter_server.post("deployments/nope/outcomes",
                               json={"outcomes": [{"request_id": "a", "outcome": 1}]}
                               ).status_code == 404
    deadline = time.time() + 30  # the server writes its inference log every few seconds
    while True:
        kpis = jupyter_server.get("deployments/fraud_online/kpis?every=1d")
        assert kpis.status_code == 200, kpis.text
        rows = kpis.json()["kpis"]
        if rows or time.time() > deadline:
            break
        time.sleep(0.5)
    assert {r["kpi"] for r in rows} == {"precision", "recall", "f1", "average_precision"}
    assert sum(r["coverage"] for r in rows if r["kpi"] == "recall") == 1
    assert jupyter_server.get("deployments/fraud_online/kpis?every=often").status_code == 400
    assert jupyter_server.get("deployments/nope/kpis").status_code == 404
    view = jupyter_server.get("deployments/fraud_online/business?every=1d").json()
    assert view["spec"]["$schema"].endswith("v5.json") and view["kpis"]
    arms = jupyter_server.get("deployments/fraud_online/arms?kpi=recall")
    assert arms.status_code == 200 and arms.json()["kpi"] == "recall"
    assert jupyter_server.post("deployments/fraud_online/promote",
                               json={"arm": "nope"}).status_code == 400
    promoted = jupyter_server.post("deployments/fraud_online/promote",
                                   json={"arm": "challenger"})
    assert promoted.status_code == 200, promoted.text
    assert lh.registry.get("fraud", alias="production").version == 2
    doc = jupyter_server.get("openapi.json").json()
    assert "/deployments/{name}/kpis" in doc["paths"]


def test_kpis_read_features_of_inline_and_by_reference_batch_commits(lh):
    """A predictions table may hold commits with inputs stored inline (a frame the cell
    changed) and commits by reference (rows straight from the view): a KPI on a feature sees
    the inputs of both."""
    fg, fv, model, df = fraud_lakehouse(lh)
    challenger(lh, fv)
    dep = lh.deploy("fraud_batch", model="fraud", kind="batch",
                    outcomes={"feature_group": "tx"})
    frame = fv.batch_data(T0, T0 + WEEK)
    frame["velocity"] = frame["velocity"] * 1.0  # a changed frame: inputs stored inline
    dep.batch(df=frame.reset_index(drop=True).copy())
    dep.batch(T0, T0 + WEEK, arm="challenger")    # by reference
    from kernel_magics.monitoring.batch_rows import commits
    kinds = sorted(m["features"] for m in commits(lh.tables_dir / "predictions_fraud_batch")
                   .values())
    assert kinds == ["inline", "reference"]
    dep.kpi("amount_scored", "sum(amount)")
    kpis = dep.kpis(every="1w", start=T0, end=T0 + WEEK)
    got = kpis[kpis.kpi == "amount_scored"].set_index("version")["value"]
    week = df[df.ts < T0 + WEEK]["amount"].sum()
    assert got[1] == pytest.approx(week) and got[2] == pytest.approx(week)


def test_outcomes_posted_to_lakebook_serve(lh, home):
    """``lakebook serve`` (the installed script, a real HTTP client) takes outcomes as the
    Jupyter server does: by request id or keys and time, 201 with the contract's answer, the
    client's mistakes 400 naming them with nothing written, and the KPIs count them."""
    from deployments_fixtures import ServeProcess
    from kernel_magics.doors.rest import contract
    fg, fv, model, df = fraud_lakehouse(lh)
    lh.deploy("fraud_online", model="fraud")
    lh.deploy("other", model="fraud")
    server = ServeProcess(home, args=["--deployment", "fraud_online"], token="s3cret")
    try:
        answered = server.post("/deployments/fraud_online/predict",
                               json={"entries": [{"cc_num": 3}, {"cc_num": 4}]})
        assert answered.status_code == 200, answered.text
        request_id = answered.json()["request_id"]
        doc = server.get("/openapi.json").json()
        assert doc["paths"]["/deployments/{name}/outcomes"]["post"]["responses"]["201"]
        assert doc["components"]["schemas"]["OutcomesWritten"] == \
            contract.definitions()["OutcomesWritten"]

        url = "/deployments/fraud_online/outcomes"
        assert requests.post(server.url + url, timeout=30,
                             json={"request_id": request_id, "outcome": 1}).status_code == 401
        for body, words in bad_outcome_bodies(request_id):
            bad = server.post(url, json=body)
            assert bad.status_code == 400, (body, bad.text)
            error = contract.check("ErrorAnswer", bad.json())
            assert words in error.error and error.status == 400, (body, error)
        assert server.post(url, data=b'{"outcomes": [', headers={
            "Content-Type": "application/json"}).status_code == 400
        csv = server.post(url, data=b"request_id,outcome\na,1\n",
                          headers={"Content-Type": "text/csv"})
        assert csv.status_code == 415, csv.text
        for name in ("nope", "other"):  # unknown, and not served by this server
            missing = server.post(f"/deployments/{name}/outcomes",
                                  json={"request_id": request_id, "outcome": 1})
            assert missing.status_code == 404 and repr(name) in missing.json()["error"]
        assert lh.outcomes.read("fraud_online").empty
        assert not (lh.tables_dir / "outcomes_fraud_online").exists()

        logged = server.post(url, json={"outcomes": [
            {"request_id": request_id, "cc_num": 3, "outcome": 1, "value": 99.5}]})
        assert logged.status_code == 201, logged.text
        assert contract.check("OutcomesWritten", logged.json()).model_dump() == \
            {"deployment": "fraud_online", "written": 1}
        at = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(seconds=1)).isoformat()
        one = server.post(url, json={"cc_num": 4, "at": at, "outcome": 0})  # keys and time
        assert one.status_code == 201 and one.json()["written"] == 1
        assert server.terminate() == 0  # flushes the inference log
    finally:
        server.stop()
    stored = lh.outcomes.read("fraud_online")
    assert sorted(stored["outcome"].tolist()) == [0, 1] and stored["value"].max() == 99.5
    joined = lh.business.joined("fraud_online").set_index("cc_num")
    assert joined.loc[3, "outcome"] == 1 and joined.loc[4, "outcome"] == 0
    recall = lh.deployments.get("fraud_online").kpis().query("kpi == 'recall'")
    assert recall["coverage"].sum() == 2 and recall["n"].sum() == 2
