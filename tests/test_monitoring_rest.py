"""The monitoring REST API through a real Jupyter server (auth, JSON errors, report HTML)."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import requests

from test_monitoring import T0, day_rows


def make_group(lh):
    fg = lh.create_feature_group("transactions", key="card", event_time="ts")
    for day in range(4):
        fg.insert(day_rows(day))
    fg.insert(day_rows(4, shift=1.0))
    return fg


def test_monitors_rest(lh, jupyter_server):
    make_group(lh)
    assert jupyter_server.get("monitors").json() == {"monitors": []}
    created = jupyter_server.post("monitors", json={
        "name": "tx", "feature_group": "transactions", "reference": "previous 3d",
        "current": "last 1d", "drift_share": 0.5})
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["schedule"] == "@daily"
    # bad input: 4xx JSON, nothing written
    bad = jupyter_server.post("monitors", json={"name": "x", "feature_group": "transactions"})
    assert bad.status_code == 400 and "reference" in bad.json()["error"]
    assert jupyter_server.post("monitors", json={"name": "y", "colour": "red"}).status_code == 400
    dup = jupyter_server.post("monitors", json={"name": "tx", "feature_group": "transactions",
                                                "reference": "previous 1d"})
    assert dup.status_code == 409
    missing = jupyter_server.post("monitors", json={"name": "z", "feature_group": "nope",
                                                    "reference": "previous 1d"})
    assert missing.status_code == 404 and "nope" in missing.json()["error"]

    # run it for day 4 (the shifted day): drift, an alert, a report
    run = jupyter_server.post("monitors/tx/run",
                              json={"now": (T0 + timedelta(days=5)).isoformat()})
    assert run.status_code == 200, run.text
    result = run.json()
    assert result["status"] == "drift" and "amount" in result["drifted_columns"]
    listing = jupyter_server.get("monitors").json()["monitors"]
    assert listing[0]["name"] == "tx" and listing[0]["status"] == "drift"
    assert listing[0]["colour"] == "red" and listing[0]["open_alerts"] == 1
    assert listing[0]["latest"]["drift_share"] == result["drift_share"]
    history = jupyter_server.get("monitors/tx").json()
    assert [r["id"] for r in history["results"]] == [result["id"]]
    assert history["results"][0]["columns"]["amount"]["drifted"] is True

    # the report HTML is served (behind auth) at the result's URL
    url = f"{jupyter_server.url}/{result['report_url']}"
    page = requests.get(url, headers=jupyter_server.auth, timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    on_disk = Path(lh.monitoring.results.get("tx", result["id"]).report_html)
    assert page.content == on_disk.read_bytes() and len(page.content) > 100_000
    assert "root_metric_" in page.text   # Evidently's rendered dashboard
    assert "default-src 'none'" not in page.headers.get("Content-Security-Policy", "")
    assert requests.get(url, timeout=30).status_code in (302, 403)   # no token, no report
    assert jupyter_server.get(f"monitors/tx/reports/{result['id'] + 99}.html").status_code == 404
    assert jupyter_server.get("monitors/nope/reports/1.html").status_code == 404
    assert jupyter_server.get("monitors/nope").status_code == 404
    assert jupyter_server.post("monitors/nope/run").status_code == 404

    # a skipped result has no report: 404 with the reason
    skipped = jupyter_server.post("monitors/tx/run",
                                  json={"now": (T0 + timedelta(days=40)).isoformat()}).json()
    assert skipped["status"] == "skipped" and skipped["report_url"] is None
    no_report = jupyter_server.get(f"monitors/tx/reports/{skipped['id']}.html")
    assert no_report.status_code == 404 and "skipped" in no_report.json()["error"]

    # alerts: list, open only, acknowledge
    alerts = jupyter_server.get("alerts").json()["alerts"]
    assert len(alerts) == 1 and alerts[0]["monitor"] == "tx"
    ack = jupyter_server.post(f"alerts/{alerts[0]['id']}/acknowledge")
    assert ack.status_code == 200 and ack.json()["acknowledged"] is True
    assert jupyter_server.get("alerts?open=1").json()["alerts"] == []
    assert jupyter_server.post("alerts/999/acknowledge").status_code == 404

    deleted = requests.delete(jupyter_server.api("monitors/tx"), headers=jupyter_server.auth,
                              timeout=30)
    assert deleted.status_code == 200
    assert jupyter_server.get("monitors").json() == {"monitors": []}
