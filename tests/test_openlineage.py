"""OpenLineage run events: appended to the home's JSON-lines file by default (and to an HTTP
server when lakebook.toml says so), checked against the client's own event model and the
vendored OpenLineage spec."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from kernel_magics.shared.errors import InvalidInput
from pipelines_fixtures import code, write_notebook

pytestmark = pytest.mark.timeout(240)
SPEC = Path(__file__).parent / "openlineage_spec"


def _validator():
    import jsonschema
    from referencing import Registry, Resource
    docs = [json.loads(p.read_text()) for p in SPEC.glob("*.json")]
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in docs)
    core = next(d for d in docs if d["$id"].endswith("OpenLineage.json"))
    fmt = jsonschema.Draft202012Validator.FORMAT_CHECKER
    # RunEvent itself: the root is oneOf(RunEvent, DatasetEvent, JobEvent)
    run_event = jsonschema.Draft202012Validator({"$ref": core["$id"] + "#/$defs/RunEvent"},
                                                registry=registry, format_checker=fmt)

    def errors(event: dict) -> list[str]:
        found = [e.message for e in run_event.iter_errors(event)]
        owners = [event.get("run", {}), event.get("job", {}), *event.get("inputs", []),
                  *event.get("outputs", [])]
        for owner in owners:
            for facet_name, facet in (owner.get("facets") or {}).items():
                v = jsonschema.Draft202012Validator({"$ref": facet["_schemaURL"]},
                                                    registry=registry, format_checker=fmt)
                found += [f"{facet_name}: {e.message}" for e in v.iter_errors(facet)]
        return found

    return errors


def _notebooks(tmp_path: Path) -> tuple[Path, Path]:
    good = write_notebook(tmp_path / "feat.ipynb", [
        code("%load_ext kernel_magics"), code("import pandas as pd"),
        code("%%feature tx --key k --event-time ts\n"
             "pd.DataFrame({'k': [1, 2], 'ts': pd.Timestamp('2024-01-01', tz='UTC')})")])
    bad = write_notebook(tmp_path / "bad.ipynb", [
        code("%load_ext kernel_magics"),
        code("import kernel_magics as kb\nkb.connect().features.groups.get('tx').read()"),
        code("raise RuntimeError('boom')")])
    return good, bad


def test_runs_append_start_complete_and_fail_events(lh, tmp_path: Path) -> None:
    good, bad = _notebooks(tmp_path)
    ok = lh.pipelines.run(f"{good}::tx")
    failed = lh.pipelines.run(bad)
    assert (ok.status, failed.status) == ("succeeded", "failed")
    assert lh.pipelines.run(f"{good}::tx").status == "up_to_date"  # no kernel, no events
    lines = (lh.home / "openlineage.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE", "START", "FAIL"]
    check = _validator()
    for event in events:
        assert check(event) == [], event
    # the client's own model reads every line back
    from openlineage.client.event_v2 import RunEvent
    from openlineage.client.serde import Serde
    import attr
    for event in events:
        parsed = RunEvent(eventType=event["eventType"], eventTime=event["eventTime"],
                          producer=event["producer"], run=_run(event["run"]),
                          job=_job(event["job"]))
        attr.validate(parsed)
        assert json.loads(Serde.to_json(parsed))["run"]["runId"] == event["run"]["runId"]
    complete, fail = events[1], events[3]
    assert complete["outputs"][0]["name"] == str(lh.tables_dir / "tx_v1")
    assert complete["outputs"][0]["facets"]["version"]["datasetVersion"] == "0"
    assert fail["inputs"][0]["name"] == str(lh.tables_dir / "tx_v1")
    assert "boom" in fail["run"]["facets"]["errorMessage"]["message"]
    assert events[0]["run"]["runId"] == complete["run"]["runId"]


def _run(d: dict):
    from openlineage.client.event_v2 import Run
    return Run(runId=d["runId"])


def _job(d: dict):
    from openlineage.client.event_v2 import Job
    return Job(namespace=d["namespace"], name=d["name"])


def test_an_invalid_event_is_caught_by_the_spec() -> None:
    check = _validator()
    event = {"eventType": "START", "eventTime": "2024-01-01T00:00:00Z",
             "producer": "https://x", "schemaURL": "https://openlineage.io/spec/2-0-2/"
             "OpenLineage.json#/$defs/RunEvent", "job": {"namespace": "n", "name": 123}}
    found = check(event)
    assert "'run' is a required property" in found and "123 is not of type 'string'" in found


class _Sink(BaseHTTPRequestHandler):
    received: list[tuple[str, dict, dict]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Sink.received.append((self.path, dict(self.headers), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_the_http_transport_is_chosen_in_lakebook_toml(home: Path, tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        home.mkdir(parents=True, exist_ok=True)
        (home / "lakebook.toml").write_text(
            f'[lineage]\nopenlineage = "http"\nopenlineage_url = '
            f'"http://127.0.0.1:{server.server_port}"\nopenlineage_api_key = "secret"\n')
        import kernel_magics as kb
        lh = kb.connect(home)
        good, _ = _notebooks(tmp_path)
        assert lh.pipelines.run(f"{good}::tx").status == "succeeded"
    finally:
        server.shutdown()
        server.server_close()
    assert [r[2]["eventType"] for r in _Sink.received] == ["START", "COMPLETE"]
    path, headers, _ = _Sink.received[0]
    assert path == "/api/v1/lineage" and headers["Authorization"] == "Bearer secret"
    assert not (home / "openlineage.jsonl").exists()


def test_an_unreachable_server_never_fails_a_run_and_a_bad_transport_is_refused(
        home: Path, tmp_path: Path) -> None:
    import kernel_magics as kb
    home.mkdir(parents=True, exist_ok=True)
    (home / "lakebook.toml").write_text('[lineage]\nopenlineage = "http"\n'
                                        'openlineage_url = "http://127.0.0.1:9"\n')
    lh = kb.connect(home)
    good, _ = _notebooks(tmp_path)
    assert lh.pipelines.run(f"{good}::tx").status == "succeeded"
    (home / "lakebook.toml").write_text('[lineage]\nopenlineage = "my.module.Transport"\n')
    with pytest.raises(InvalidInput, match="not a transport"):
        kb.connect(home)
