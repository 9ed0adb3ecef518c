"""Deployments inside Jupyter, behind its auth:

* ``GET /lakebook/api/deployments``: every deployment with its endpoint, the model version it
  serves, request/error counts and last latency figures (from ``deployment_stats``);
* ``GET /lakebook/api/deployments/<name>``: one deployment;
* ``POST /lakebook/api/deployments/<name>/predict``: ``{"entries": [...], "features": [...]}``
  (or an MLflow format) answering ``{"predictions": [...], "model": {"name", "version"}}``;
* ``POST /lakebook/api/deployments/<name>/neighbors``: ``{"vector": [...]}`` or ``{"text": "...",
  "embedder": "NAME"}`` (plus ``k``, ``filter``, ``col``) answering ``{"neighbors": [{keys,
  "distance", "prediction", "features"}], "model": {...}}``.
"""
from __future__ import annotations

import tornado.web

from ...shared.names import NAME_SEGMENT
from ...shared.routes import predict_path
from ..http import answer_prediction
from .base import LakebookHandler


class DeploymentsHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        from ...business.views import deployment_headline
        self.reply({"deployments": [{**d.to_dict(), "endpoint": predict_path(d.name),
                                     "headline": deployment_headline(self.lh, d.name)}
                                    for d in self.lh.deployments.list()]})


class DeploymentHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        self.reply(self.lh.deployments.get(name).describe())

    @tornado.web.authenticated
    def delete(self, name: str) -> None:
        self.lh.deployments.delete(name)
        self.reply({"deleted": name})


class PredictHandler(LakebookHandler):
    @tornado.web.authenticated
    def post(self, name: str) -> None:
        answer_prediction(self, self.lh.deployments.get(name), self.json_body())


class NeighborsHandler(LakebookHandler):
    @tornado.web.authenticated
    def post(self, name: str) -> None:
        from ...deployments.neighbors import parse_body
        deployment = self.lh.deployments.get(name)
        self.reply(deployment.neighbors(**parse_body(self.json_body())))


ROUTES = [
    (r"deployments/?", DeploymentsHandler),
    (rf"deployments/{NAME_SEGMENT}/?", DeploymentHandler),
    (rf"deployments/{NAME_SEGMENT}/predict/?", PredictHandler),
    (rf"deployments/{NAME_SEGMENT}/neighbors/?", NeighborsHandler),
]
