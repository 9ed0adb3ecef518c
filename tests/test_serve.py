"""``lakebook serve`` as a real subprocess on a free loopback port, driven by real HTTP clients.

The deployment here has no feature view (rows are the model's input, as with ``mlflow models
serve``); view-backed deployments are covered in test_deployments_views.py.
"""
from __future__ import annotations

import json
import socket
import threading
import time

import pandas as pd
import pytest
import requests
from deltalake import DeltaTable

from deployments_fixtures import ServeProcess, register_clf, write_config


@pytest.fixture
def clf(lh):
    mv, model = register_clf(lh)
    lh.deploy("scorer", model="clf", alias="production")
    return model


@pytest.fixture
def server(home, clf):
    srv = ServeProcess(home)
    try:
        yield srv
    finally:
        srv.stop()


ROWS = [{"a": 0.5, "b": 1.5}, {"a": -2.0, "b": 0.1}, {"a": 1.0, "b": -3.0}]


def expected(model) -> list[int]:
    return model.predict(pd.DataFrame(ROWS)).tolist()


def test_health_openapi_and_list(server):
    health = server.get("/health").json()
    assert health["status"] == "ok" and health["deployments"] == ["scorer"]
    doc = server.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/invocations", "/deployments/{name}/predict", "/deployments/{name}/invocations",
            "/health"} <= set(doc["paths"])
    listed = server.get("/deployments").json()["deployments"]
    assert listed[0]["model"] == {"name": "clf", "version": 1}


@pytest.mark.parametrize("body", [
    {"dataframe_split": {"columns": ["a", "b"], "data": [[r["a"], r["b"]] for r in ROWS]}},
    {"dataframe_split": {"index": [0, 1, 2], "columns": ["a", "b"],
                         "data": [[r["a"], r["b"]] for r in ROWS]}},
    {"dataframe_records": ROWS},
    {"instances": ROWS},
    {"instances": [[r["a"], r["b"]] for r in ROWS]},
    {"inputs": {"a": [r["a"] for r in ROWS], "b": [r["b"] for r in ROWS]}},
    {"inputs": ROWS},
], ids=["split", "split-index", "records", "instances", "instances-lists", "inputs-columns",
        "inputs-rows"])
def test_mlflow_formats_on_invocations(server, clf, body):
    """A client written for MLflow (requests + JSON) works unchanged, on both paths."""
    for path in ("/invocations", "/deployments/scorer/invocations"):
        r = requests.post(server.url + path, json=body, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json() == {"predictions": expected(clf)}


def test_mlflow_csv(server, clf):
    csv = pd.DataFrame(ROWS).to_csv(index=False)
    r = requests.post(server.url + "/invocations", data=csv,
                      headers={"Content-Type": "text/csv"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": expected(clf)}


def test_lakebook_predict(server, clf):
    r = server.post("/deployments/scorer/predict", json={"entries": ROWS})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == {"name": "clf", "version": 1}
    assert [p["prediction"] for p in body["predictions"]] == expected(clf)
    proba = clf.predict_proba(pd.DataFrame(ROWS))
    for p, row in zip(body["predictions"], proba):
        assert p["found"] is True
        assert p["probabilities"]["1"] == pytest.approx(row[1])
    assert r.headers["X-Request-Id"] == body["request_id"]


BAD = [
    ("malformed JSON", "/deployments/scorer/predict", b'{"entries": [{"a": 1,', 400, "not valid JSON"),
    ("not an object", "/deployments/scorer/predict", b"[1, 2]", 400, "JSON object"),
    ("no data field", "/invocations", b'{"rows": []}', 400, "none of them holds the data"),
    ("missing column", "/invocations", b'{"dataframe_records": [{"a": 1}]}', 400, "'b'"),
    ("wrong type", "/deployments/scorer/predict", b'{"entries": [{"a": "x", "b": 1}]}', 400,
     "'a' must be a number"),
    ("nested value", "/invocations", b'{"instances": [{"a": [1], "b": 2}]}', 400,
     "only single values"),
    ("ragged split", "/invocations",
     b'{"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}', 400, "has 1 value"),
    ("two formats", "/invocations", b'{"instances": [], "inputs": []}', 400, "more than one"),
    ("unknown field", "/deployments/scorer/predict",
     b'{"entries": [{"a": 1, "b": 2, "c": 3}]}', 400, "unknown field(s) 'c'"),
    ("case clash", "/invocations", b'{"dataframe_records": [{"a": 1, "b": 2, "B": 3}]}',
     400, "'B' differs only by case from column 'b'"),
    ("log column", "/invocations", b'{"dataframe_records": [{"a": 1, "b": 2, "Source": 3}]}',
     400, "inference log's column 'source'"),
    ("unknown deployment", "/deployments/nope/predict", b'{"entries": [{"a": 1, "b": 2}]}',
     404, "'nope'"),
    ("not UTF-8", "/invocations", b'{"instances": ["\xff"]}', 400, "UTF-8"),
    # the model refuses a null the caller sent: the caller's mistake, named (issue 24)
    ("model raises", "/invocations", b'{"dataframe_records": [{"a": null, "b": 1}]}', 400,
     "'a' is null"),
]


def test_bad_input_answers_json_and_logs_nothing(home, clf):
    write_config(home, "[server]\nmax_request_bytes = 2000\n")
    server = ServeProcess(home)
    try:
        ok_ids = []
        for label, path, body, status, words in BAD:
            r = server.post(path, data=body, headers={"Content-Type": "application/json"})
            assert r.status_code == status, (label, r.text)
            payload = r.json()
            assert words in payload["error"], (label, payload)
            assert "Traceback" not in r.text
            # the server keeps serving after every bad request
            good = server.post("/deployments/scorer/predict", json={"entries": ROWS[:1]})
            assert good.status_code == 200
            ok_ids.append(good.json()["request_id"])
        big = {"dataframe_records": [{"a": 1.0, "b": 2.0}] * 200}
        r = server.post("/invocations", json=big)
        assert r.status_code == 413 and "larger than 2000 bytes" in r.json()["error"]
        r = requests.put(server.url + "/invocations", timeout=10)
        assert r.status_code == 405 and r.json()["status"] == 405
        r = requests.get(server.url + "/no/such/path", timeout=10)
        assert r.status_code == 404 and "Nothing is served" in r.json()["error"]
        assert server.terminate() == 0
        log = DeltaTable(str(home / "tables" / "inference_log_scorer")).to_pandas()
        # exactly the answered requests, one row each: nothing that failed was logged
        assert sorted(log["request_id"]) == sorted(ok_ids)
        assert log["source"].eq("online").all()
    finally:
        server.stop()


def test_sigterm_flushes_every_answered_request(home, clf):
    # a flush interval far longer than the test: only the shutdown flush can write the rows
    write_config(home, "[serve]\nlog_flush_ms = 600000\n")
    server = ServeProcess(home)
    try:
        ids, rows = [], 0
        session = requests.Session()
        for i in range(60):
            body = {"dataframe_records": ROWS[: 1 + i % 3]}
            r = session.post(server.url + "/invocations", json=body, timeout=30)
            assert r.status_code == 200
            ids.append(r.headers["X-Request-Id"])
            rows += len(body["dataframe_records"])
        assert server.terminate() == 0
        # the stop says what really happened to the buffered rows
        assert (f"Inference log of scorer closed: {rows} row(s) written at the stop, "
                "0 spilled") in server.output()
        log = DeltaTable(str(home / "tables" / "inference_log_scorer")).to_pandas()
        assert set(log["request_id"]) == set(ids)
        assert len(log) == rows
        assert log["model_version"].eq(1).all()
        assert {"a", "b", "prediction", "proba_0", "proba_1", "latency_ms", "ts"} <= set(log)
        stats = json.loads(json.dumps(_stats(home)))
        assert stats["requests"] == 60 and stats["model_version"] == 1
    finally:
        server.stop()


def _stats(home):
    import kernel_magics
    lh = kernel_magics.connect(home)
    return lh.deployments.get("scorer").stats()


def test_alias_move_takes_effect_without_restart(home, lh, clf):
    """While a client keeps scoring, move the alias: answers switch to v2, with no error and
    never back to v1 once v2 was seen."""
    server = ServeProcess(home)
    results: list[tuple[int, int]] = []
    errors: list[str] = []
    stop = threading.Event()

    def client() -> None:
        session = requests.Session()
        while not stop.is_set():
            r = session.post(server.url + "/deployments/scorer/predict",
                             json={"entries": ROWS}, timeout=30)
            if r.status_code != 200:
                errors.append(r.text)
                continue
            body = r.json()
            results.append((body["model"]["version"], body["predictions"][0]["prediction"]))

    try:
        thread = threading.Thread(target=client)
        thread.start()
        time.sleep(1.0)
        mv2, model2 = register_clf(lh, flip=True, alias=None)
        lh.registry.set_alias("clf", "production", mv2.version)
        deadline = time.time() + 20
        while time.time() < deadline and not any(v == 2 for v, _ in results):
            time.sleep(0.05)
        time.sleep(0.5)
        stop.set()
        thread.join(30)
        assert not errors
        versions = [v for v, _ in results]
        assert 1 in versions and 2 in versions
        first_v2 = versions.index(2)
        assert all(v == 2 for v in versions[first_v2:])  # never a v1 answer after the swap
        # the v2 answers are v2's predictions (a flipped model): not a relabelled v1
        v2_pred = model2.predict(pd.DataFrame(ROWS[:1])).tolist()[0]
        assert all(p == v2_pred for v, p in results[first_v2:])
        assert server.terminate() == 0
        log = DeltaTable(str(home / "tables" / "inference_log_scorer")).to_pandas()
        assert set(log["model_version"]) == {1, 2}
    finally:
        stop.set()
        server.stop()


def test_token_required_off_loopback_and_checked(home, clf):
    refused = ServeProcess(home, args=["--host", "0.0.0.0"], wait=False)
    assert refused.proc.wait(60) == 1
    out = refused.output()
    assert "token is required" in out and "Traceback" not in out

    server = ServeProcess(home, token="s3cret")
    try:
        assert requests.get(server.url + "/health", timeout=10).status_code == 200
        r = requests.post(server.url + "/invocations", json={"instances": ROWS}, timeout=10)
        assert r.status_code == 401 and "token" in r.json()["error"]
        r = requests.post(server.url + "/invocations", json={"instances": ROWS}, timeout=10,
                          headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401
        for scheme in ("Bearer", "token"):
            r = requests.post(server.url + "/invocations", json={"instances": ROWS},
                              timeout=10, headers={"Authorization": f"{scheme} s3cret"})
            assert r.status_code == 200, r.text
    finally:
        server.stop()


def test_port_in_use_is_one_sentence(home, clf):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = ServeProcess(home, port=port, wait=False)
        assert proc.proc.wait(60) == 1
        out = proc.output()
        assert f"Port {port} on 127.0.0.1 is already in use" in out
        assert "Traceback" not in out


def test_unknown_deployment_at_start(home, clf):
    proc = ServeProcess(home, args=["--deployment", "missing"], wait=False)
    assert proc.proc.wait(60) == 1
    assert "There is no deployment 'missing'" in proc.output()


def test_invocations_needs_a_name_with_two_deployments(home, lh, clf):
    lh.deploy("scorer_v1", model="clf", version=1)
    server = ServeProcess(home)
    try:
        r = server.post("/invocations", json={"instances": ROWS})
        assert r.status_code == 400 and "serves 2 deployments" in r.json()["error"]
        r = server.post("/deployments/scorer_v1/invocations", json={"instances": ROWS})
        assert r.status_code == 200
    finally:
        server.stop()
    only = ServeProcess(home, args=["--deployment", "scorer_v1"])
    try:
        assert only.post("/invocations", json={"instances": ROWS}).status_code == 200
        r = only.post("/deployments/scorer/predict", json={"entries": ROWS})
        assert r.status_code == 404 and "does not serve" in r.json()["error"]
    finally:
        only.stop()
