"""The REST contract (``doors/rest/contract.py``) against a real server, the OpenAPI document
against the contract, and the fixtures the sidebar's jest tests read.

A real Jupyter server runs on the lakehouse the browser test prepares
(``extension/ui-tests/prepare_lakehouse.py``, plus a feature view and a deployment over
embeddings); every answer (the GETs, then the writes, in order) must match the model the
OpenAPI document names for its route exactly (no unknown field, none missing, JSON types as
declared), and is written to ``extension/tests/fixtures/<name>.json`` (git-ignored: recorded
on every run, so jest checks today's answers). ``make test`` runs this before jest.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

import kernel_magics
from conftest import REPO, JupyterServer
from pipelines_fixtures import code, write_notebook
from kernel_magics.doors.rest import contract, openapi

FIXTURES = REPO / "extension" / "tests" / "fixtures"
PREPARE = REPO / "extension" / "ui-tests" / "prepare_lakehouse.py"

#: fixture name -> (path below /lakebook/api, the contract's answer); ``{run}`` is the id
#: of the prepared run, ``{failed}`` the id of a run that failed
ENDPOINTS = {
    "status": ("status", "Status"),
    "feature-groups": ("feature-groups", "FeatureGroupList"),
    "feature-groups_transactions": ("feature-groups/transactions", "FeatureGroupDetail"),
    "feature-groups_merchants": ("feature-groups/merchants", "FeatureGroupDetail"),
    "feature-views": ("feature-views", "FeatureViewList"),
    "feature-views_transactions_view": ("feature-views/transactions_view", "FeatureViewDetail"),
    "models": ("models", "ModelList"),
    "models_fraud": ("models/fraud", "ModelDetail"),
    "models_fraud_versions_1": ("models/fraud/versions/1", "ModelVersion"),
    "deployments": ("deployments", "DeploymentList"),
    "deployments_fraud_online": ("deployments/fraud_online", "DeploymentDetail"),
    "steps_path_fti": ("steps?path=fti.ipynb", "StepList"),
    "steps_path_fti_why": ("steps?path=fti.ipynb&why=1", "StepList"),
    "pipelines": ("pipelines", "PipelineList"),
    "pipelines_daily_clicks": ("pipelines/daily_clicks", "PipelineDetail"),
    "schedules": ("schedules", "ScheduleList"),
    "schedules_1": ("schedules/1", "Schedule"),
    "runs": ("runs", "RunList"),
    "run": ("runs/{run}", "Run"),
    "run_failed": ("runs/{failed}", "Run"),
    "run_output": ("runs/{run}/output", "RunOutput"),
    "scheduler": ("scheduler", "SchedulerState"),
    "monitors": ("monitors", "MonitorList"),
    "monitors_transactions_drift": ("monitors/transactions_drift", "MonitorDetail"),
    "alerts": ("alerts", "AlertList"),
    "lineage": ("lineage", "LineageGraph"),
    "lineage_transactions": ("lineage?kind=feature_group&name=transactions&version=1",
                             "LineageGraph"),
    "stale": ("stale", "StaleList"),
    "why_clicks": ("why?notebook=fti.ipynb&step=clicks", "StepWhy"),
    "deployments_fraud_online_kpis": ("deployments/fraud_online/kpis", "KpiList"),
    "deployments_fraud_online_business": ("deployments/fraud_online/business", "BusinessView"),
    "deployments_fraud_online_arms": ("deployments/fraud_online/arms", "ArmComparison"),
    "openapi": ("openapi.json", "OpenAPIDocument"),
}

#: the writes, run in this order after every GET above: fixture name -> (method, path, body,
#: the contract's answer); ``{request_id}`` is the id the ``predict`` answer gave,
#: ``{submitted}`` and ``{rerun}`` the runs ``run_submit`` and ``run_rerun`` queued (each is
#: cancelled at once, so no kernel outlives the test), ``{alert}`` an open alert of the
#: prepared lakehouse
WRITES = {
    "predict": ("POST", "deployments/fraud_online/predict",
                {"inputs": [{"amount": 10.0, "hour": 3}]}, "PredictAnswer"),
    "outcomes": ("POST", "deployments/fraud_online/outcomes",
                 {"outcomes": [{"request_id": "{request_id}", "outcome": 1, "value": 3.0}]},
                 "OutcomesWritten"),
    "feature-groups_merchants_neighbors": ("POST", "feature-groups/merchants/neighbors",
                                           {"key": 5, "k": 3}, "GroupNeighbors"),
    "deployments_shop_risk_neighbors": ("POST", "deployments/shop_risk/neighbors",
                                        {"vector": [1, 0, 0, 0], "k": 3},
                                        "DeploymentNeighbors"),
    "alias_move": ("POST", "models/fraud/aliases/staging", {"version": 1}, "AliasMove"),
    "alias_delete": ("DELETE", "models/fraud/aliases/staging", None, "AliasMove"),
    "pipeline_create": ("POST", "pipelines", {"name": "contract_pipe",
                                              "steps": ["fti.ipynb::clicks"]},
                        "PipelineDetail"),
    "pipeline_delete": ("DELETE", "pipelines/contract_pipe", None, "Deleted"),
    "schedule_create": ("POST", "schedules", {"notebook": "fti.ipynb", "step": "clicks",
                                              "cron": "0 7 * * *", "name": "contract"},
                        "Schedule"),
    "schedule_pause": ("POST", "schedules/contract/pause", None, "Schedule"),
    "schedule_resume": ("POST", "schedules/contract/resume", None, "Schedule"),
    "schedule_delete": ("DELETE", "schedules/contract", None, "Deleted"),
    "run_submit": ("POST", "runs", {"notebook": "fti.ipynb", "step": "clicks"}, "Run"),
    "run_cancel": ("POST", "runs/{submitted}/cancel", None, "Run"),
    "run_rerun": ("POST", "runs/{failed}/rerun", None, "Run"),
    "run_rerun_cancel": ("POST", "runs/{rerun}/cancel", None, "Run"),
    "monitor_create": ("POST", "monitors", {"name": "contract_monitor",
                                            "feature_group": "transactions", "schedule": None,
                                            "reference": "2024-05-01T00:00:00Z/"
                                                         "2024-05-03T00:00:00Z",
                                            "current": "2024-05-03T00:00:00Z/"
                                                       "2024-05-05T00:00:00Z",
                                            "columns": ["amount"]}, "Monitor"),
    "monitor_run": ("POST", "monitors/contract_monitor/run", {}, "MonitorResult"),
    "monitor_delete": ("DELETE", "monitors/contract_monitor", None, "Deleted"),
    "alert_acknowledge": ("POST", "alerts/{alert}/acknowledge", None, "Alert"),
    "promote": ("POST", "deployments/fraud_online/promote", {"arm": "champion"},
                "DeploymentDetail"),
    "delete_rows": ("POST", "feature-groups/shops/delete-rows", {"keys": [29]},
                    "RowsDeleted"),
    "deployment_delete": ("DELETE", "deployments/shop_risk", None, "Deleted"),
    "error_not_found": ("GET", "feature-groups/nope", None, "ErrorAnswer"),
    "error_bad_body": ("POST", "feature-groups/merchants/neighbors", {"key": 5, "vector": [1]},
                       "ErrorAnswer"),
}

#: the ids later writes use: fixture name -> {placeholder: field of its answer}
TAKEN = {"predict": {"request_id": "request_id"}, "run_submit": {"submitted": "id"},
         "run_rerun": {"rerun": "id"}}


def shop_deployment(lh) -> None:
    """Shops with 4-d description vectors, a view over them and a deployment of a model
    trained on it: what ``POST deployments/<name>/neighbors`` searches (issue 19)."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(3)
    ts = pd.Timestamp("2024-05-01", tz="UTC")
    vectors = (np.eye(4)[np.arange(30) % 2] + 0.1 * rng.normal(size=(30, 4))).astype("float32")
    shops = lh.create_feature_group("shops", key="shop_id", event_time="ts", online=True,
                                    embeddings={"vec": {"dim": 4, "metric": "cosine"}})
    shops.insert(pd.DataFrame({"shop_id": np.arange(30), "ts": ts, "risk": rng.random(30),
                               "vec": list(vectors)}))
    labels = lh.create_feature_group("shop_labels", key="shop_id", event_time="ts")
    labels.insert(pd.DataFrame({"shop_id": np.arange(30), "ts": ts + pd.Timedelta(days=1),
                                "bad": np.arange(30) % 2}))
    view = lh.create_feature_view("shop_risk", spine=labels, join=[shops.select(["risk"])],
                                  label="bad")
    X, _, y, _ = view.train_test_split(test_size=0.2)
    version = lh.registry.register(LogisticRegression().fit(X, y), "shop_model", view=view,
                                   input_example=X.head(2))
    lh.registry.set_alias("shop_model", "production", version)
    lh.deploy("shop_risk", model="shop_model", view=view)
    # a newer version of shops: the view, the model trained on it and its deployment are stale
    lh.create_feature_group("shops", key="shop_id", event_time="ts", version=2).insert(
        pd.DataFrame({"shop_id": [0], "ts": [ts], "risk": [0.5]}))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A real Jupyter server on the browser test's lakehouse with a feature view, a failed
    run and a monitor that never ran added; and the ids of the prepared and the failed run."""
    base = tmp_path_factory.mktemp("contract")
    home, root = base / "lakehouse", base / "root"
    root.mkdir()
    made = subprocess.run([sys.executable, str(PREPARE), str(root)], capture_output=True,
                          text=True, env={**os.environ, "LAKEBOOK_HOME": str(home)}, timeout=600)
    assert made.returncode == 0, f"prepare_lakehouse.py failed:\n{made.stderr[-4000:]}"
    summary = json.loads(made.stdout.strip().splitlines()[-1])
    lh = kernel_magics.connect(home)
    lh.create_feature_view("transactions_view", spine=lh.features.groups.get("transactions"),
                           description="Transactions for the contract test")
    failing = write_notebook(root / "failing.ipynb", [code("raise ValueError('no data today')")])
    failed = lh.pipelines.run(str(failing))
    assert failed.status == "failed", failed
    lh.create_monitor("never_run", feature_group="transactions", schedule=None,
                      reference="2024-05-01T00:00:00Z/2024-05-02T00:00:00Z")
    shop_deployment(lh)
    jupyter = JupyterServer(home, root)
    try:
        yield jupyter, {"run": summary["runs"]["finished"]["id"], "failed": failed.id,
                        "alert": summary["alerts"][0]}
    finally:
        jupyter.stop()


def documented(method: str, path: str) -> tuple[str, str]:
    """The status and contract answer the OpenAPI document gives ``method path``."""
    found = [(template, op) for template, ops in openapi.document()["paths"].items()
             if method.lower() in ops and re.fullmatch(
                 re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template.strip("/"))),
                 path.split("?")[0])
             for op in [ops[method.lower()]]]
    assert len(found) == 1, f"{method} {path} matches {len(found)} routes of openapi.json"
    status, response = next((k, v) for k, v in found[0][1]["responses"].items()
                            if k.startswith("2"))
    return status, response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


def record(name: str, answer: str, response, method: str, path: str) -> None:
    """Check one real answer against the contract and the document, and record it."""
    data = response.json()
    if answer == "ErrorAnswer":
        assert 400 <= response.status_code < 500, response.text
    else:
        status, named = documented(method, path)
        assert (response.status_code, answer) == (int(status), named), \
            f"{method} {path}: openapi.json documents {status} {named}; {response.text[:300]}"
    try:
        contract.check(answer, data)
    except ValidationError as exc:
        pytest.fail(f"{method} {path} breaks the contract's {answer} "
                    f"(kernel_magics/doors/rest/contract.py):\n{exc}")
    FIXTURES.mkdir(parents=True, exist_ok=True)
    (FIXTURES / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_answer_matches_the_contract_and_is_recorded(server, name: str) -> None:
    jupyter, ids = server
    path, answer = ENDPOINTS[name]
    path = path.format(**ids)
    response = jupyter.get(path)
    assert response.status_code == 200, response.text
    record(name, answer, response, "GET", path)


def test_writes_answer_as_the_contract_says_and_are_recorded(server) -> None:
    """After the GETs (they record the prepared lakehouse as it was): each write once."""
    jupyter, ids = server
    import requests
    for name, (method, path, body, answer) in WRITES.items():
        path = path.format(**ids)
        if body is not None:
            body = json.loads(json.dumps(body).replace("{request_id}",
                                                       ids.get("request_id", "")))
        response = requests.request(method, jupyter.api(path), headers=jupyter.auth,
                                    json=body, timeout=120)
        record(name, answer, response, method, path)
        for key, field in TAKEN.get(name, {}).items():
            ids[key] = response.json()[field]


def test_every_answer_of_the_contract_is_recorded() -> None:
    answers = {answer for _, answer in ENDPOINTS.values()} | \
        {answer for *_, answer in WRITES.values()}
    assert sorted(answers) == sorted(contract.ANSWERS)


def test_openapi_documents_every_answer_with_the_contracts_schema() -> None:
    """One source: each route's answer in openapi.json is a contract model, and the
    document's schema of that model is the contract's own."""
    doc = openapi.document()
    schemas = doc["components"]["schemas"]
    prefix = openapi.SCHEMAS
    for template, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                for media, content in response["content"].items():
                    if media == "text/html":  # the Evidently report page
                        continue
                    ref = content["schema"].get("$ref", "")
                    answer = ref[len(prefix):]
                    assert ref.startswith(prefix) and answer in contract.ANSWERS, \
                        f"{method.upper()} {template} {status}: {content['schema']}"
                    own = contract.ANSWERS[answer].model_json_schema(
                        ref_template=prefix + "{model}")
                    own.pop("$defs", None)
                    assert schemas[answer] == {**contract._untitled(own), "title": answer}
    assert schemas == contract.definitions(prefix + "{model}")
    refs = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(doc)))
    assert {r for r in refs if not r.startswith(prefix)} == set()
    assert {r[len(prefix):] for r in refs} <= set(schemas)


def test_the_contract_fails_on_a_broken_answer() -> None:
    good = {"home": "/h", "catalog_version": 2, "lakebook_version": "0.1.0",
            "counts": {k: 0 for k in contract.StatusCounts.model_fields}}
    contract.check("Status", good)
    broken = [{**good, "catalog_version": "2"},                          # a number as text
              {k: v for k, v in good.items() if k != "home"},            # a field missing
              {**good, "counts": {**good["counts"], "widgets": 1}},      # a field unknown
              {**good, "counts": {**good["counts"], "runs": None}}]      # null for a count
    for data in broken:
        with pytest.raises(ValidationError):
            contract.check("Status", data)


def test_committed_schema_is_current() -> None:
    committed = REPO.joinpath(*contract.EXPORT_PATH).read_text()
    assert committed == contract.export_json(), (
        "extension/src/contract.schema.json is stale: run `npm run contract` in the "
        "repository and commit it (and extension/src/contract.ts)")


def test_schema_keeps_only_model_titles() -> None:
    # a titled property would become a needless named type in contract.ts
    schema = contract.json_schema()

    def titles(node: object, path: str = "") -> list[str]:
        if isinstance(node, dict):
            found = [path] if isinstance(node.get("title"), str) else []
            return found + [t for k, v in node.items() for t in titles(v, f"{path}/{k}")]
        if isinstance(node, list):
            return [t for i, v in enumerate(node) for t in titles(v, f"{path}/{i}")]
        return []
    assert sorted(titles(schema)) == sorted([""] + [f"/$defs/{k}" for k in schema["$defs"]])
