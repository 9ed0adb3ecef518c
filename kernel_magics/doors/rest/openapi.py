"""``GET /lakebook/api/openapi.json``: the OpenAPI 3 document of the REST API inside Jupyter.

It describes every route the handler modules add (paths relative to ``/lakebook/api``) with
the fields each body takes, so clients can be generated and the routes fuzzed: a request that
breaks this document is a client mistake and gets a 4xx naming the field, never a 5xx.
"""
from __future__ import annotations

from typing import Any

import tornado.web

from ..._version import __version__
from ..serve.openapi import LAKEBOOK_REQUEST, MLFLOW_REQUEST, NEIGHBORS_REQUEST
from .base import LakebookHandler

STR = {"type": "string"}
INT = {"type": "integer", "minimum": 0}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
OBJ = {"type": "object"}
ANY_JSON: dict[str, Any] = {}
#: a time window bound or a named window ("last 1d", "previous 7d", {start, end})
WINDOW = {"oneOf": [STR, {"type": "object", "properties": {"start": STR, "end": STR}}]}
ERROR = {"type": "object", "required": ["error", "status"],
         "properties": {"error": STR, "hint": {"type": ["string", "null"]}, "type": STR,
                        "status": {"type": "integer"}}}


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
OUTCOME = {"type": "object", "required": ["outcome"], "properties": {
    "request_id": STR, "at": STR, "outcome": {"type": ["number", "string", "boolean"]},
    "value": {"type": ["number", "null"]}}}
OUTCOMES_BODY = _body({"outcomes": {"type": "array", "items": OUTCOME, "minItems": 1}},
                      ["outcomes"])
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


def _op(summary: str, params: list[dict] | None = None, body: dict | None = None,
        ok: str = "200", content: str = "application/json") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {
        ok: {"description": "done", "content": {content: {"schema": OBJ if content ==
                                                           "application/json" else STR}}},
        "4XX": {"description": "the client's mistake, named", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
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
    paths = {
        "/status": {"get": _op("lakehouse summary")},
        "/openapi.json": {"get": _op("this document")},
        "/feature-groups": {"get": _op("feature groups", [q("all_versions", STR)])},
        "/feature-groups/{name}": {"get": _op("one group: schema, commits, statistics, sample",
                                              [NAME, q("version", INT), q("sample", INT)])},
        "/feature-views": {"get": _op("feature views")},
        "/feature-views/{name}": {"get": _op("one view", [NAME, q("version", INT)])},
        "/feature-views/{name}/{version}": {"get": _op("one view version", [
            NAME, _param("version", "path", INT)])},
        "/models": {"get": _op("registered models")},
        "/models/{name}": {"get": _op("versions, aliases and history of a model", [NAME])},
        "/models/{name}/versions/{version}": {"get": _op("one model version", [
            NAME, _param("version", "path", INT)])},
        "/models/{name}/aliases/{alias}": {
            "post": _op("move an alias", [NAME, _param("alias", "path", STR)], ALIAS_BODY),
            "delete": _op("remove an alias", [NAME, _param("alias", "path", STR)])},
        "/deployments": {"get": _op("deployments with serving statistics")},
        "/deployments/{name}": {"get": _op("one deployment", [NAME]),
                                "delete": _op("delete a deployment", [NAME])},
        "/deployments/{name}/predict": {"post": _op("predict", [NAME], PREDICT_BODY)},
        "/deployments/{name}/kpis": {"get": _op(
            "KPIs per window, version and arm", [NAME, q("every", STR), q("start", STR),
                                                 q("end", STR)])},
        "/deployments/{name}/business": {"get": _op(
            "the business view: KPIs, alerts, arms, Vega-Lite spec",
            [NAME, q("every", STR), q("start", STR), q("end", STR)])},
        "/deployments/{name}/arms": {"get": _op(
            "compare the arms on a KPI", [NAME, q("kpi", STR), q("start", STR),
                                          q("end", STR)])},
        "/deployments/{name}/outcomes": {"post": _op("log outcomes", [NAME], OUTCOMES_BODY,
                                                     ok="201")},
        "/deployments/{name}/promote": {"post": _op("promote an arm, ending the split",
                                                    [NAME], PROMOTE_BODY)},
        "/deployments/{name}/neighbors": {"post": _op(
            "nearest entities of the view, with predictions", [NAME], NEIGHBORS_BODY)},
        "/feature-groups/{name}/neighbors": {"post": _op(
            "nearest rows to a key's vector or a vector", [NAME], GROUP_NEIGHBORS_BODY)},
        "/feature-groups/{name}/delete-rows": {"post": _op(
            "delete rows by keys and/or a SQL predicate (one commit)", [NAME],
            DELETE_ROWS_BODY)},
        "/steps": {"get": _op("steps under a folder or in a notebook", [q("path", STR)])},
        "/pipelines": {"get": _op("pipelines"),
                       "post": _op("create a pipeline", body=PIPELINE_BODY, ok="201")},
        "/pipelines/{name}": {"get": _op("one pipeline", [NAME]),
                              "delete": _op("delete a pipeline", [NAME])},
        "/schedules": {"get": _op("schedules"),
                       "post": _op("schedule a step or pipeline", body=SCHEDULE_BODY, ok="201")},
        "/schedules/{key}": {"get": _op("one schedule", [key]),
                             "delete": _op("delete a schedule", [key])},
        "/schedules/{key}/pause": {"post": _op("pause", [key])},
        "/schedules/{key}/resume": {"post": _op("resume", [key])},
        "/runs": {"get": _op("runs", [q("status", STR), q("limit", INT)]),
                  "post": _op("run now", body=RUN_BODY, ok="201")},
        "/runs/{id}": {"get": _op("one run", [run_id])},
        "/runs/{id}/output": {"get": _op("the executed notebook", [run_id, q("download", STR)])},
        "/runs/{id}/cancel": {"post": _op("cancel", [run_id])},
        "/runs/{id}/rerun": {"post": _op("run again", [run_id], ok="201")},
        "/scheduler": {"get": _op("the in-server scheduler")},
        "/monitors": {"get": _op("monitors"),
                      "post": _op("create a monitor", body=MONITOR_BODY, ok="201")},
        "/monitors/{name}": {"get": _op("a monitor and its results", [NAME, q("limit", INT)]),
                             "delete": _op("delete a monitor", [NAME])},
        "/monitors/{name}/run": {"post": _op("run a monitor now", [NAME], MONITOR_RUN_BODY)},
        "/monitors/{name}/reports/{id}.html": {"get": _op(
            "the Evidently report (sandboxed HTML)", [NAME, _param("id", "path", INT)],
            content="text/html")},
        "/alerts": {"get": _op("alerts", [q("monitor", STR), q("open", STR)])},
        "/lineage": {"get": _op("the lineage graph (of one object when a name is given)", [
            q("kind", STR), q("name", STR), q("version", STR), q("upstream", STR),
            q("downstream", STR), q("depth", INT)])},
        "/stale": {"get": _op("what is behind the data it was made from")},
        "/why": {"get": _op("why a step would re-run", [q("notebook", STR), q("step", STR)])},
        "/alerts/{id}/acknowledge": {"post": _op("acknowledge an alert",
                                                 [_param("id", "path", INT)])},
    }
    return {"openapi": "3.1.0",
            "info": {"title": "Lakebook REST API (inside Jupyter)", "version": __version__,
                     "description": "Behind Jupyter's authentication; paths are relative to "
                                    "<base_url>/lakebook/api."},
            "paths": paths, "components": {"schemas": {"Error": ERROR}}}


class OpenAPIHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.reply(document())


ROUTES = [(r"openapi\.json", OpenAPIHandler)]
