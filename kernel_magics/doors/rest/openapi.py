"""``GET /lakebook/api/openapi.json``: the OpenAPI 3 document of the REST API inside Jupyter.

It describes every route the handler modules add (paths relative to ``/lakebook/api``) with
the fields each body takes, so clients can be generated and the routes fuzzed: a request that
breaks this document is a client mistake and gets a 4xx naming the field, never a 5xx. Each
route's answer (and the error body) is a model of the REST contract (``contract.py``): the
document's ``components.schemas`` are the contract's own schemas, not a second description.
"""
from __future__ import annotations

from typing import Any

import tornado.web

from ..._version import __version__
from ..serve.openapi import LAKEBOOK_REQUEST, MLFLOW_REQUEST, NEIGHBORS_REQUEST, OUTCOMES_REQUEST
from . import contract
from .base import LakebookHandler

STR = {"type": "string"}
INT = {"type": "integer", "minimum": 0}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
OBJ = {"type": "object"}
ANY_JSON: dict[str, Any] = {}
#: a time window bound or a named window ("last 1d", "previous 7d", {start, end})
WINDOW = {"oneOf": [STR, {"type": "object", "properties": {"start": STR, "end": STR}}]}
#: where the contract's models live in the document
SCHEMAS = "#/components/schemas/"
ERROR = "ErrorAnswer"


def _body(properties: dict[str, Any], required: list[str] | None = None,
          closed: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return {"required": True, "content": {"application/json": {"schema": schema}}}


VECTOR = {"type": "array", "items": NUM, "minItems": 1}
K = {"type": "integer", "minimum": 1, "maximum": 10000}
NEIGHBORS_BODY = {"required": True,
                  "content": {"application/json": {"schema": NEIGHBORS_REQUEST}}}
GROUP_NEIGHBORS_BODY = _body({"key": ANY_JSON, "vector": VECTOR, "k": K, "filter": STR,
                              "col": STR, "version": {"type": "integer", "minimum": 1},
                              "exact": BOOL}, closed=True)
DELETE_ROWS_BODY = _body({"keys": {"type": "array"}, "where": STR,
                          "version": {"type": "integer", "minimum": 1}}, closed=True)
MONITOR_BODY = _body({
    "name": STR, "deployment": STR, "feature_group": STR, "reference": WINDOW,
    "current": WINDOW, "schedule": {"type": ["string", "null"]}, "drift_share": NUM,
    "threshold": NUM, "columns": {"oneOf": [STR, {"type": "array", "items": STR}]},
    "performance_margin": NUM, "on_drift": {"enum": ["retrain", None]},
    "labels": {"type": "object", "properties": {
        "feature_group": STR, "label": STR, "on": {"type": "array", "items": STR},
        "time": STR}},
    "time_column": STR, "tz": STR, "replace": BOOL}, ["name"], closed=True)
OUTCOMES_BODY = {"required": True,
                 "content": {"application/json": {"schema": OUTCOMES_REQUEST}}}
PROMOTE_BODY = _body({"arm": STR}, ["arm"], closed=True)
PIPELINE_BODY = _body({"name": STR, "replace": BOOL, "steps": {"type": "array", "items": {
    "oneOf": [STR, {"type": "object", "required": ["notebook", "step"],
                    "properties": {"notebook": STR, "step": STR}}]}}}, ["name", "steps"])
SCHEDULE_BODY = _body({
    "notebook": STR, "step": STR, "pipeline": STR, "cron": STR, "tz": STR, "timezone": STR,
    "catchup": {"enum": ["latest", "all", "skip"]}, "params": OBJ, "timeout": NUM,
    "retries": INT, "name": STR, "kernel": STR, "skip_up_to_date": BOOL}, ["cron"])
RUN_BODY = _body({
    "notebook": STR, "step": STR, "steps": {"oneOf": [STR, {"type": "array", "items": STR}]},
    "pipeline": STR, "params": OBJ,
    "window": {"type": "array", "items": STR, "minItems": 2, "maxItems": 2},
    "timeout": NUM, "retries": INT, "kernel": STR, "force": BOOL})
ALIAS_BODY = _body({"version": INT, "reason": STR}, ["version"])
MONITOR_RUN_BODY = _body({"now": STR})
PREDICT_BODY = {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [LAKEBOOK_REQUEST, MLFLOW_REQUEST]}}}}


def _param(name: str, where: str, schema: dict[str, Any], required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required or where == "path",
            "schema": schema}


def _op(summary: str, answer: str | None, params: list[dict] | None = None,
        body: dict | None = None, ok: str = "200") -> dict[str, Any]:
    """An operation answering the contract's model ``answer`` with status ``ok`` (None: an
    HTML page)."""
    content = {"text/html": {"schema": STR}} if answer is None else \
        {"application/json": {"schema": {"$ref": SCHEMAS + answer}}}
    op: dict[str, Any] = {"summary": summary, "responses": {
        ok: {"description": "done", "content": content},
        "4XX": {"description": "the client's mistake, named", "content": {
            "application/json": {"schema": {"$ref": SCHEMAS + ERROR}}}}}}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    return op


NAME = _param("name", "path", STR)


def document() -> dict[str, Any]:
    """The OpenAPI document (paths relative to ``<base_url>/lakebook/api``)."""
    q = lambda name, schema: _param(name, "query", schema)  # noqa: E731
    key, run_id = _param("key", "path", STR), _param("id", "path", STR)
    window = [q("start", STR), q("end", STR)]
    paths = {
        "/status": {"get": _op("lakehouse summary", "Status")},
        "/openapi.json": {"get": _op("this document", "OpenAPIDocument")},
        "/feature-groups": {"get": _op("feature groups", "FeatureGroupList",
                                       [q("all_versions", STR)])},
        "/feature-groups/{name}": {"get": _op("one group: schema, commits, statistics, sample",
                                              "FeatureGroupDetail",
                                              [NAME, q("version", INT), q("sample", INT)])},
        "/feature-groups/{name}/neighbors": {"post": _op(
            "nearest rows to a key's vector or a vector", "GroupNeighbors", [NAME],
            GROUP_NEIGHBORS_BODY)},
        "/feature-views": {"get": _op("feature views", "FeatureViewList")},
        "/feature-views/{name}": {"get": _op("one view", "FeatureViewDetail",
                                             [NAME, q("version", INT)])},
        "/feature-views/{name}/{version}": {"get": _op("one view version", "FeatureViewDetail",
                                                       [NAME, _param("version", "path", INT)])},
        "/models": {"get": _op("registered models", "ModelList")},
        "/models/{name}": {"get": _op("versions, aliases and history of a model",
                                      "ModelDetail", [NAME])},
        "/models/{name}/versions/{version}": {"get": _op("one model version", "ModelVersion", [
            NAME, _param("version", "path", INT)])},
        "/models/{name}/aliases/{alias}": {
            "post": _op("move an alias", "AliasMove", [NAME, _param("alias", "path", STR)],
                        ALIAS_BODY),
            "delete": _op("remove an alias", "AliasMove",
                          [NAME, _param("alias", "path", STR)])},
        "/deployments": {"get": _op("deployments with serving statistics", "DeploymentList")},
        "/deployments/{name}": {"get": _op("one deployment", "DeploymentDetail", [NAME]),
                                "delete": _op("delete a deployment", "Deleted", [NAME])},
        "/deployments/{name}/predict": {"post": _op("predict", "PredictAnswer", [NAME],
                                                    PREDICT_BODY)},
        "/deployments/{name}/neighbors": {"post": _op(
            "nearest entities of the view, with predictions", "DeploymentNeighbors", [NAME],
            NEIGHBORS_BODY)},
        "/feature-groups/{name}/delete-rows": {"post": _op(
            "delete rows by keys and/or a SQL predicate (one commit)", "RowsDeleted", [NAME],
            DELETE_ROWS_BODY)},
        "/deployments/{name}/kpis": {"get": _op(
            "KPIs per window, version and arm", "KpiList", [NAME, q("every", STR), *window])},
        "/deployments/{name}/business": {"get": _op(
            "the business view: KPIs, alerts, arms, Vega-Lite spec", "BusinessView",
            [NAME, q("every", STR), *window])},
        "/deployments/{name}/arms": {"get": _op(
            "compare the arms on a KPI", "ArmComparison", [NAME, q("kpi", STR), *window])},
        "/deployments/{name}/outcomes": {"post": _op("log outcomes", "OutcomesWritten", [NAME],
                                                     OUTCOMES_BODY, ok="201")},
        "/deployments/{name}/promote": {"post": _op("promote an arm, ending the split",
                                                    "DeploymentDetail", [NAME], PROMOTE_BODY)},
        "/steps": {"get": _op("steps under a folder or in a notebook", "StepList",
                              [q("path", STR), q("why", STR)])},
        "/pipelines": {"get": _op("pipelines", "PipelineList"),
                       "post": _op("create a pipeline", "PipelineDetail", body=PIPELINE_BODY,
                                   ok="201")},
        "/pipelines/{name}": {"get": _op("one pipeline", "PipelineDetail", [NAME]),
                              "delete": _op("delete a pipeline", "Deleted", [NAME])},
        "/schedules": {"get": _op("schedules", "ScheduleList"),
                       "post": _op("schedule a step or pipeline", "Schedule",
                                   body=SCHEDULE_BODY, ok="201")},
        "/schedules/{key}": {"get": _op("one schedule", "Schedule", [key]),
                             "delete": _op("delete a schedule", "Deleted", [key])},
        "/schedules/{key}/pause": {"post": _op("pause", "Schedule", [key])},
        "/schedules/{key}/resume": {"post": _op("resume", "Schedule", [key])},
        "/runs": {"get": _op("runs", "RunList", [q("status", STR), q("limit", INT)]),
                  "post": _op("run now", "Run", body=RUN_BODY, ok="201")},
        "/runs/{id}": {"get": _op("one run", "Run", [run_id])},
        "/runs/{id}/output": {"get": _op("the executed notebook (?download=1: the .ipynb)",
                                         "RunOutput", [run_id, q("download", STR)])},
        "/runs/{id}/cancel": {"post": _op("cancel", "Run", [run_id])},
        "/runs/{id}/rerun": {"post": _op("run again", "Run", [run_id], ok="201")},
        "/scheduler": {"get": _op("the in-server scheduler", "SchedulerState")},
        "/monitors": {"get": _op("monitors", "MonitorList"),
                      "post": _op("create a monitor", "Monitor", body=MONITOR_BODY, ok="201")},
        "/monitors/{name}": {"get": _op("a monitor and its results", "MonitorDetail",
                                        [NAME, q("limit", INT)]),
                             "delete": _op("delete a monitor", "Deleted", [NAME])},
        "/monitors/{name}/run": {"post": _op("run a monitor now", "MonitorResult", [NAME],
                                             MONITOR_RUN_BODY)},
        "/monitors/{name}/reports/{id}.html": {"get": _op(
            "the Evidently report (sandboxed HTML)", None, [NAME, _param("id", "path", INT)])},
        "/alerts": {"get": _op("alerts", "AlertList", [q("monitor", STR), q("open", STR)])},
        "/alerts/{id}/acknowledge": {"post": _op("acknowledge an alert", "Alert",
                                                 [_param("id", "path", INT)])},
        "/lineage": {"get": _op("the lineage graph (of one object when a name is given)",
                                "LineageGraph", [
            q("kind", STR), q("name", STR), q("version", STR), q("upstream", STR),
            q("downstream", STR), q("depth", INT)])},
        "/stale": {"get": _op("what is behind the data it was made from", "StaleList")},
        "/why": {"get": _op("why a step would re-run", "StepWhy",
                            [q("notebook", STR), q("step", STR)])},
    }
    return {"openapi": "3.1.0",
            "info": {"title": "Lakebook REST API (inside Jupyter)", "version": __version__,
                     "description": "Behind Jupyter's authentication; paths are relative to "
                                    "<base_url>/lakebook/api."},
            "paths": paths,
            "components": {"schemas": contract.definitions(SCHEMAS + "{model}")}}


class OpenAPIHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.reply(document())


ROUTES = [(r"openapi\.json", OpenAPIHandler)]
