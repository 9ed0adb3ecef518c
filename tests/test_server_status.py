"""The server extension through a real Jupyter server."""
from __future__ import annotations

import requests

import kernel_magics


def test_status_reports_home_version_and_counts(jupyter_server, home) -> None:
    kernel_magics.connect(home).catalog.execute(
        "INSERT INTO schedules(name, target, cron, created_at, updated_at) "
        "VALUES ('s', '{}', '* * * * *', 'now', 'now')")
    answer = jupyter_server.get("status")
    assert answer.status_code == 200
    body = answer.json()
    assert body["home"] == str(home.resolve())
    assert body["catalog_version"] >= 1
    assert body["lakebook_version"] == kernel_magics.__version__
    assert body["counts"]["schedules"] == 1
    assert set(body["counts"]) >= {"feature_groups", "models", "deployments", "runs"}


def test_request_without_token_is_refused(jupyter_server) -> None:
    answer = requests.get(jupyter_server.api("status"), timeout=10)
    assert answer.status_code == 403


def test_unknown_path_answers_json_404(jupyter_server) -> None:
    answer = jupyter_server.get("no-such-thing")
    assert answer.status_code == 404
    body = answer.json()
    assert "no-such-thing" in body["error"]
    assert "Traceback" not in answer.text


def test_wrong_method_answers_json_4xx(jupyter_server) -> None:
    answer = jupyter_server.post("status", data=b"{not json")
    assert 400 <= answer.status_code < 500
    assert answer.headers["Content-Type"].startswith("application/json")
    assert "Traceback" not in answer.text
