"""The REST contract (``doors/rest/contract.py``) against a real server, and the fixtures the
sidebar's jest tests read.

A real Jupyter server runs on the lakehouse the browser test prepares
(``extension/ui-tests/prepare_lakehouse.py``, plus a feature view); every GET answer the
sidebar reads must match its model exactly (no unknown field, none missing, JSON types as
declared), and is written to ``extension/tests/fixtures/<name>.json`` (git-ignored: recorded
on every run, so jest checks today's answers). ``make test`` runs this before jest.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

import kernel_magics
from conftest import REPO, JupyterServer
from pipelines_fixtures import code, write_notebook
from kernel_magics.doors.rest import contract

FIXTURES = REPO / "extension" / "tests" / "fixtures"
PREPARE = REPO / "extension" / "ui-tests" / "prepare_lakehouse.py"

#: fixture name -> (path below /lakebook/api, the contract's answer); ``{run}`` is the id
#: of the prepared run, ``{failed}`` the id of a run that failed
ENDPOINTS = {
    "status": ("status", "Status"),
    "feature-groups": ("feature-groups", "FeatureGroupList"),
    "feature-groups_transactions": ("feature-groups/transactions", "FeatureGroupDetail"),
    "feature-views": ("feature-views", "FeatureViewList"),
    "feature-views_transactions_view": ("feature-views/transactions_view", "FeatureViewDetail"),
    "models": ("models", "ModelList"),
    "models_fraud": ("models/fraud", "ModelDetail"),
    "models_fraud_versions_1": ("models/fraud/versions/1", "ModelVersion"),
    "deployments": ("deployments", "DeploymentList"),
    "deployments_fraud_online": ("deployments/fraud_online", "DeploymentDetail"),
    "steps_path_fti": ("steps?path=fti.ipynb", "StepList"),
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
}


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
    lh.create_feature_view("transactions_view", spine=lh.feature_group("transactions"),
                           description="Transactions for the contract test")
    failing = write_notebook(root / "failing.ipynb", [code("raise ValueError('no data today')")])
    failed = lh.pipelines.run(str(failing))
    assert failed.status == "failed", failed
    lh.create_monitor("never_run", feature_group="transactions", schedule=None,
                      reference="2024-05-01T00:00:00Z/2024-05-02T00:00:00Z")
    jupyter = JupyterServer(home, root)
    try:
        yield jupyter, {"run": summary["runs"]["finished"]["id"], "failed": failed.id}
    finally:
        jupyter.stop()


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_answer_matches_the_contract_and_is_recorded(server, name: str) -> None:
    jupyter, ids = server
    path, answer = ENDPOINTS[name]
    response = jupyter.get(path.format(**ids))
    assert response.status_code == 200, response.text
    data = response.json()
    try:
        contract.check(answer, data)
    except ValidationError as exc:
        pytest.fail(f"GET {path} breaks the contract's {answer} "
                    f"(kernel_magics/doors/rest/contract.py):\n{exc}")
    FIXTURES.mkdir(parents=True, exist_ok=True)
    (FIXTURES / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")


def test_every_answer_of_the_contract_is_recorded() -> None:
    assert sorted({answer for _, answer in ENDPOINTS.values()}) == sorted(contract.ANSWERS)


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
