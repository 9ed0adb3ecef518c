"""MLflow's own scoring client, unchanged, against the real ``lakebook serve`` (started by the
installed ``lakebook`` script): ``wait_server_ready`` on ``/ping``, then ``invoke(DataFrame)``.

An MLflow client sends the model's input columns; a Lakebook client sends the view's keys.
Rows with every model input are scored as sent, rows with the keys are looked up online, and
rows with keys and some inputs are looked up with the passed inputs overriding the store.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import requests
from deltalake import DeltaTable
from mlflow.pyfunc.scoring_server.client import ScoringServerClient

from deployments_fixtures import ServeProcess, fraud_lakehouse, latest_rows, register_clf


def client_for(server: ServeProcess) -> ScoringServerClient:
    client = ScoringServerClient("127.0.0.1", server.port)
    client.wait_server_ready(timeout=90, scoring_server_proc=server.proc)
    return client


def predictions(response) -> list:
    """The predictions of an MLflow ``PredictionsResponse``, as a plain list."""
    out = response.get_predictions()
    return (out.iloc[:, 0] if isinstance(out, pd.DataFrame) else pd.Series(out)).tolist()


@pytest.fixture
def fraud_server(home, lh):
    fg, fv, model, df = fraud_lakehouse(lh)
    lh.deploy("fraud_online", model="fraud")
    lh.deployments.close()
    server = ServeProcess(home, wait=False)
    try:
        yield server, model, df
    finally:
        server.stop()


def test_model_inputs_are_scored_as_sent(fraud_server, home):
    server, model, df = fraud_server
    client = client_for(server)
    X = pd.DataFrame({"amount": [5.0, 250.0, 90.0], "velocity": [-1.0, 2.0, 0.5]})
    got = predictions(client.invoke(X))
    assert got == model.predict(X).tolist()
    # an extra column is ignored, as MLflow's own server does
    assert predictions(client.invoke(X.assign(note=["a", "b", "c"]))) == got
    assert server.terminate() == 0
    log = DeltaTable(str(home / "tables" / "inference_log_fraud_online")).to_pandas()
    assert len(log) == 6 and "note" not in log.columns
    assert sorted(log["amount"].tolist()) == sorted(X["amount"].tolist() * 2)


def test_entity_keys_are_looked_up_online(fraud_server):
    server, model, df = fraud_server
    client = client_for(server)
    keys = [3, 7, 11]
    got = predictions(client.invoke(pd.DataFrame({"cc_num": keys})))
    stored = latest_rows(df).loc[keys, ["amount", "velocity"]]
    assert got == model.predict(stored).tolist()


def test_keys_and_some_inputs_look_up_and_override(fraud_server):
    server, model, df = fraud_server
    client = client_for(server)
    keys = [3, 7, 11]
    sent = pd.DataFrame({"cc_num": keys, "amount": [900.0, np.nan, 1.0]})
    got = client.invoke(sent)
    X = latest_rows(df).loc[keys, ["amount", "velocity"]].copy()
    X.loc[3, "amount"], X.loc[11, "amount"] = 900.0, 1.0  # 7: a gap keeps the store's value
    assert predictions(got) == model.predict(X).tolist()
    # the probabilities moved with the override: the passed amount was really used
    r = server.post("/deployments/fraud_online/predict",
                    json={"entries": [{"cc_num": 3}], "features": [{"amount": 900.0}]})
    assert r.json()["predictions"][0]["probabilities"]["1"] == pytest.approx(
        model.predict_proba(X.loc[[3]])[0, 1])


def test_text_csv_bodies(fraud_server):
    server, model, df = fraud_server
    client_for(server)
    keys = pd.DataFrame({"cc_num": [1, 2]})
    r = requests.post(server.url + "/invocations", data=keys.to_csv(index=False),
                      headers={"Content-Type": "text/csv; charset=utf-8"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == model.predict(
        latest_rows(df).loc[[1, 2], ["amount", "velocity"]]).tolist()
    inputs = pd.DataFrame({"amount": [5.0], "velocity": [0.1]})
    r = requests.post(server.url + "/invocations", data=inputs.to_csv(index=False),
                      headers={"Content-Type": "text/csv"}, timeout=30)
    assert r.json()["predictions"] == model.predict(inputs).tolist()


def test_a_row_with_neither_keys_nor_every_input_names_both(fraud_server):
    server, model, df = fraud_server
    client = client_for(server)
    with pytest.raises(Exception, match=r"error code 400.*names no entity \(cc_num\).*"
                                        r"missing 'velocity'"):
        client.invoke(pd.DataFrame({"amount": [5.0]}))


def test_model_without_a_view(home, lh):
    mv, model = register_clf(lh)
    lh.deploy("scorer", model="clf")
    server = ServeProcess(home, wait=False)
    try:
        client = client_for(server)
        X = pd.DataFrame({"a": [0.5, -2.0], "b": [1.5, 0.1]})
        assert predictions(client.invoke(X)) == model.predict(X).tolist()
    finally:
        server.stop()
