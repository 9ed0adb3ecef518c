"""The OpenAPI 3 document ``lakebook serve`` publishes at ``/openapi.json``.

It describes exactly what the server accepts (so clients can be generated and the endpoints
fuzzed against it): Lakebook's ``entries``/``features`` body, MLflow's four scoring formats and
the outcomes body (shared with the Jupyter server's document).
"""
from __future__ import annotations

from typing import Any

from ..._version import __version__

SCALAR = {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"},
                    {"type": "null"}]}
ROW = {"type": "object", "additionalProperties": SCALAR}
ROWS = {"type": "array", "items": ROW}
MATRIX = {"type": "array", "items": {"type": "array", "items": SCALAR}}
PARAMS = {"type": "object"}

ERROR = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {"error": {"type": "string"}, "hint": {"type": ["string", "null"]},
                   "type": {"type": "string"}, "status": {"type": "integer"}},
}

LAKEBOOK_REQUEST = {
    "type": "object",
    "required": ["entries"],
    "additionalProperties": False,
    "properties": {
        "entries": {"oneOf": [ROWS, ROW], "description": "the entities: their key values"},
        "features": {"oneOf": [{"type": "array", "items": {"oneOf": [ROW, {"type": "null"}]}},
                               ROW],
                     "description": "request-time features, one object per entry"},
        "params": PARAMS,
    },
}

MLFLOW_REQUEST = {"oneOf": [
    {"type": "object", "required": ["dataframe_split"], "additionalProperties": False,
     "properties": {"dataframe_split": {
         "type": "object", "required": ["data"], "additionalProperties": False,
         "properties": {"columns": {"type": "array", "items": {"type": "string"}},
                        "index": {"type": "array"}, "data": MATRIX}},
         "params": PARAMS}},
    {"type": "object", "required": ["dataframe_records"], "additionalProperties": False,
     "properties": {"dataframe_records": ROWS, "params": PARAMS}},
    {"type": "object", "required": ["instances"], "additionalProperties": False,
     "properties": {"instances": {"oneOf": [ROWS, MATRIX]}, "params": PARAMS}},
    {"type": "object", "required": ["inputs"], "additionalProperties": False,
     "properties": {"inputs": {"oneOf": [ROWS, MATRIX, {
         "type": "object", "additionalProperties": {"type": "array", "items": SCALAR}}]},
         "params": PARAMS}},
]}

PREDICT_ANSWER = {
    "type": "object",
    "required": ["predictions", "model"],
    "properties": {
        "predictions": {"type": "array", "items": {
            "type": "object", "required": ["prediction", "found"],
            "properties": {"found": {"type": "boolean"},
                           "probabilities": {"type": "object",
                                             "additionalProperties": {"type": "number"}}}}},
        "model": {"type": "object", "required": ["name", "version"],
                  "properties": {"name": {"type": "string"}, "version": {"type": "integer"}}},
        "request_id": {"type": "string"},
    },
}

#: a neighbours request: a vector, or a text and the registered embedding model to embed it
NEIGHBORS_REQUEST = {"type": "object", "additionalProperties": False, "properties": {
    "vector": {"type": "array", "items": {"type": "number"}, "minItems": 1},
    "text": {"type": "string"}, "embedder": {"type": "string"},
    "embedder_alias": {"type": "string"},
    "k": {"type": "integer", "minimum": 1, "maximum": 10000},
    "filter": {"type": "string"}, "col": {"type": "string"}}}
NEIGHBORS_ANSWER = {"type": "object", "required": ["neighbors", "model"],
                    "properties": {"neighbors": {"type": "array"}, "model": {"type": "object"}}}
#: one outcome: what happened after the prediction it names (by request_id, or by the view's
#: keys, given as further fields, and the time ``at``)
OUTCOME = {"type": "object", "required": ["outcome"], "additionalProperties": SCALAR,
           "properties": {"request_id": {"type": "string", "minLength": 1},
                          "at": {"type": "string"},
                          "outcome": {"type": ["number", "string", "boolean"]},
                          "value": {"type": ["number", "null"]}}}
#: ``POST deployments/<name>/outcomes`` in both servers: a list of outcomes or one
OUTCOMES_REQUEST = {"oneOf": [
    {"type": "object", "required": ["outcomes"], "additionalProperties": False,
     "properties": {"outcomes": {"type": "array", "items": OUTCOME, "minItems": 1}}},
    OUTCOME]}
#: the REST contract's ``OutcomesWritten`` (``doors/rest/contract.py``, which this door may not
#: import: the command line and the Jupyter server stay independent); tests/test_business.py
#: checks the two are equal and that the answers match the contract's model
OUTCOMES_ANSWER = {"type": "object", "title": "OutcomesWritten",
                   "description": "``POST deployments/<name>/outcomes``.",
                   "required": ["deployment", "written"], "additionalProperties": False,
                   "properties": {"deployment": {"type": "string"},
                                  "written": {"type": "integer"}}}
MLFLOW_ANSWER = {"type": "object", "required": ["predictions"],
                 "properties": {"predictions": {"type": "array"}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "the request is not valid (the message names the problem)",
            401: "a token is required", 404: "no such deployment",
            413: "the body is larger than [server] max_request_bytes",
            415: "unsupported content type", 500: "the model failed to predict"}
    return {str(c): {"description": text[c], "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for c in codes}


def openapi_document(deployments: list[str] | None, secured: bool) -> dict[str, Any]:
    """The document for a server serving ``deployments`` (None: every deployment)."""
    name_param = {"name": "name", "in": "path", "required": True,
                  "schema": {"type": "string", **({"enum": deployments} if deployments else {})},
                  "description": "deployment name"}
    security = [{"token": []}] if secured else []

    def post(summary: str, request_ref: str, answer_ref: str, with_name: bool,
             ok: str = "200", done: str = "predictions") -> dict:
        op: dict[str, Any] = {
            "summary": summary,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{request_ref}"}}}},
            "responses": {ok: {"description": done, "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{answer_ref}"}}}},
                **_errors(400, 404, 413, 415, 500, *((401,) if secured else ()))},
        }
        if with_name:
            op["parameters"] = [name_param]
        if security:
            op["security"] = security
        return {"post": op}

    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Lakebook model serving", "version": __version__,
                 "description": "Online predictions of Lakebook deployments; MLflow's scoring "
                                "protocol on /invocations."},
        "paths": {
            "/health": {"get": {"summary": "liveness and what is served", "responses": {
                "200": {"description": "ok", "content": {"application/json": {
                    "schema": {"type": "object"}}}}}}},
            "/deployments/{name}/predict": post(
                "predict for entities (keys) with optional request-time features",
                "PredictRequest", "PredictAnswer", True),
            "/deployments/{name}/neighbors": post(
                "the nearest entities of the deployment's view, with predictions",
                "NeighborsRequest", "NeighborsAnswer", True),
            "/deployments/{name}/invocations": post(
                "MLflow scoring protocol for one deployment", "MLflowRequest", "MLflowAnswer",
                True),
            "/deployments/{name}/outcomes": post(
                "log what really happened after predictions (by request_id, or keys and at)",
                "OutcomesRequest", "OutcomesWritten", True, ok="201", done="outcomes written"),
            "/invocations": post("MLflow scoring protocol (a server serving one deployment)",
                                 "MLflowRequest", "MLflowAnswer", False),
        },
        "components": {"schemas": {
            "Error": ERROR, "PredictRequest": LAKEBOOK_REQUEST, "MLflowRequest": MLFLOW_REQUEST,
            "PredictAnswer": PREDICT_ANSWER, "MLflowAnswer": MLFLOW_ANSWER,
            "NeighborsRequest": NEIGHBORS_REQUEST, "NeighborsAnswer": NEIGHBORS_ANSWER,
            "OutcomesRequest": OUTCOMES_REQUEST, "OutcomesWritten": OUTCOMES_ANSWER}},
    }
    if secured:
        doc["components"]["securitySchemes"] = {
            "token": {"type": "http", "scheme": "bearer"}}
    return doc
