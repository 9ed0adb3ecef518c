"""Issue 24, finding 3: one request must never stop the inference log, and nothing is lost.

- Columns that differ only by case (``X`` beside ``x``, ``Source`` beside the log's
  ``source``, ``K`` beside the key ``k``) used to make every later flush fail with
  "Duplicate field name (case-insensitive)". The log side now writes such a column under a
  case-safe name, whatever reaches it (the request-side validation is issue 14's).
- A write the table refuses goes, record by record, to a dead-letter file with the error;
  later flushes go on; the deployment's statistics, the REST list the sidebar reads and an
  alert count them.
- On SIGTERM, rows the table cannot take are spilled to disk and written at the next start;
  the server's last words say so instead of claiming a flush.
"""
from __future__ import annotations

import json
import time
import uuid

import pandas as pd
from deltalake import DeltaTable

from kernel_magics.deployments.inference_log import InferenceLog, Record

from deployments_fixtures import ServeProcess, fraud_lakehouse, register_clf, write_config


def _files():
    from kernel_magics.deployments import log_files
    return log_files


def record(entries, features, prediction=0):
    return Record(ts=time.time(), request_id=uuid.uuid4().hex, model="m", model_version=1,
                  entries=entries, features={k: [v] for k, v in features.items()}, rows=[0],
                  predictions=[prediction], proba=None, classes=None, latency_ms=1.0)


def logged(lh, name):
    path = lh.tables_dir / f"inference_log_{name}"
    return DeltaTable(str(path)).to_pandas() if (path / "_delta_log").exists() \
        else pd.DataFrame()


def test_columns_differing_only_by_case_never_block_the_log(lh):
    log = InferenceLog(lh, "d", start=False)
    normal = [record([{"k": i}], {"x": float(i)}) for i in range(3)]
    for r in normal:
        log.append(r)
    log.flush()
    clashing = [record([{"k": 10, "X": 1.0}], {"x": 10.0}),          # a passed feature
                record([{"k": 11, "Source": "web"}], {"x": 11.0}),   # the log's own column
                record([{"k": 12, "K": 99}], {"x": 12.0}),           # beside the key
                record([{"k": 13}], {"x": 13.0, "Prediction": 5.0})]
    for r in clashing:
        log.append(r)
    log.flush()                       # used to raise, and keep failing from then on
    later = [record([{"k": 20 + i}], {"x": float(20 + i)}) for i in range(3)]
    for r in later:
        log.append(r)
    log.flush()
    log.close()
    table = logged(lh, "d")
    ids = {r.request_id for r in normal + clashing + later}
    assert set(table["request_id"]) == ids and len(table) == len(ids)
    lower = [c.lower() for c in table.columns]
    assert len(lower) == len(set(lower))          # what Delta requires
    by_id = table.set_index("request_id")
    assert by_id.loc[clashing[0].request_id, "x"] == 10.0      # the model's input keeps "x"
    x_upper = next(c for c in table.columns if c.startswith("X__"))
    assert by_id.loc[clashing[0].request_id, x_upper] == 1.0   # the sent value is kept
    assert by_id.loc[clashing[1].request_id, "view_Source"] == "web"
    assert (by_id["source"] == "online").all()
    assert not _files().read_dead_letters(lh, "d")


def _block_table(lh, name):
    """Make the deployment's log table unwritable: a file where its folder should be (what a
    broken disk or a stray file does to a writer)."""
    path = (lh.tables_dir / f"inference_log_{name}").local_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a table")
    return path


def test_refused_rows_go_to_dead_letters_and_later_flushes_go_on(lh, jupyter_server):
    register_clf(lh)
    dep = lh.deploy("scorer", model="clf")
    blocker = _block_table(lh, "scorer")
    refused = [dep.predict_body({"dataframe_records": [{"a": i, "b": 1.0}]}).request_id
               for i in range(5)]
    dep.flush()                                   # no exception: the log goes on
    blocker.unlink()
    later = [dep.predict_body({"dataframe_records": [{"a": i, "b": 2.0}]}).request_id
             for i in range(4)]
    dep.flush()
    table = logged(lh, "scorer")
    assert sorted(table["request_id"]) == sorted(later)
    letters = _files().read_dead_letters(lh, "scorer")
    kept = {row["request_id"] for entry in letters for row in entry["rows"]}
    assert kept == set(refused)
    assert all("Error" in entry["error"] for entry in letters)
    assert {"a", "b", "prediction", "proba_0", "proba_1", "ts"} <= set(letters[0]["rows"][0])
    stats = dep.stats()
    assert stats["dead_letter_rows"] == 5 and stats["requests"] == 9
    assert stats["last_dead_letter_error"]
    alerts = [a for a in lh.monitoring.alerts.list() if a["kind"] == "inference_log"]
    assert len(alerts) == 1 and alerts[0]["monitor"] == "deployment scorer"
    assert alerts[0]["details"]["rows"] == 5 and "dead_letters" in alerts[0]["message"]
    # what the sidebar reads
    listed = jupyter_server.get("deployments").json()["deployments"]
    assert listed[0]["name"] == "scorer" and listed[0]["dead_letter_rows"] == 5
    dep.close()


def test_sigterm_spills_rows_the_table_refuses_and_the_next_start_writes_them(home, lh):
    register_clf(lh)
    lh.deploy("scorer", model="clf")
    write_config(home, "[serve]\nlog_flush_ms = 600000\n")   # only the stop writes
    server = ServeProcess(home)
    try:
        ids = [server.post("/invocations", json={"dataframe_records": [
            {"a": float(i), "b": 1.0}]}).headers["X-Request-Id"] for i in range(12)]
        blocker = _block_table(lh, "scorer")
        assert server.terminate() == 0
        out = server.output()
    finally:
        server.stop()
    assert "spilled" in out and "inference logs flushed" not in out
    assert "LOST" not in out
    spills = _files().spills(lh, "scorer")
    assert len(spills) == 1 and len(spills[0].rows()) == 12
    blocker.unlink()
    again = ServeProcess(home)                                 # the next start writes them
    try:
        deadline = time.time() + 60
        while _files().spills(lh, "scorer") and time.time() < deadline:
            again.post("/invocations", json={"dataframe_records": [{"a": 0.0, "b": 0.0}]})
            time.sleep(0.5)
        assert again.terminate() == 0
    finally:
        again.stop()
    assert not _files().spills(lh, "scorer")
    assert set(ids) <= set(logged(lh, "scorer")["request_id"])


def test_serve_keeps_logging_after_requests_with_clashing_names(home, lh):
    """Through the door: whatever answers a clashing request (200 today, 400 once the request
    side validates names), every answered prediction ends in the log and the log goes on."""
    fraud_lakehouse(lh)
    lh.deploy("fraud_online", model="fraud")
    server = ServeProcess(home)
    answered = []
    try:
        bodies = [{"entries": [{"cc_num": 1}], "features": [{"AMOUNT": 5.0}]},
                  {"entries": [{"cc_num": 2, "Source": "web"}]},
                  {"entries": [{"cc_num": 3, "CC_NUM": 4}]},
                  *({"entries": [{"cc_num": i}]} for i in range(10))]
        for body in bodies:
            r = server.post("/deployments/fraud_online/predict", json=body)
            assert r.status_code in (200, 400), r.text
            if r.status_code == 200:
                answered.append(r.headers["X-Request-Id"])
        assert server.terminate() == 0
    finally:
        server.stop()
    table = logged(lh, "fraud_online")
    assert set(table["request_id"]) == set(answered) and len(answered) >= 10
    assert not _files().read_dead_letters(lh, "fraud_online")
    lower = [c.lower() for c in table.columns]
    assert len(lower) == len(set(lower))
    assert json.dumps(lh.deployments.get("fraud_online").stats(), default=str)
