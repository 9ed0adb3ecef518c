"""REST doors onto ``lh.lineage`` and the incremental side of ``lh.pipelines``.

================================================  ==============================================
``GET /lakebook/api/lineage``                     the graph (``?kind=&name=&version=`` of one
                                                  object, ``?upstream=0``, ``?downstream=0``,
                                                  ``?depth=N``): ``{"nodes", "edges"}``
``GET /lakebook/api/stale``                       steps, views, models, deployments behind
``GET /lakebook/api/why``                         why a step would re-run (``?notebook=&step=``)
================================================  ==============================================
"""
from __future__ import annotations

import tornado.web

from ...shared.errors import InvalidInput
from .base import LakebookHandler
from .pipelines import _path


def _flag(handler: LakebookHandler, name: str) -> bool:
    value = handler.get_query_argument(name, "1")
    if value not in ("0", "1", "true", "false"):
        raise InvalidInput(f"{name} must be 0 or 1, not {value!r:.40}.", f"E.g. ?{name}=0.")
    return value in ("1", "true")


class LineageHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        name = self.get_query_argument("name", None)
        kind = self.get_query_argument("kind", None)
        version = self.get_query_argument("version", None)
        depth = self.int_argument("depth", None)
        obj = None
        if name:
            obj = (kind, name, version) if kind else name
        elif kind or version:
            raise InvalidInput("kind and version need a name.", "E.g. ?kind=model_version&name=fraud.")
        graph = self.lh.lineage(obj, upstream=_flag(self, "upstream"),
                                downstream=_flag(self, "downstream"), depth=depth)
        self.reply(graph.to_dict())


class StaleHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.reply({"stale": self.lh.pipelines.stale()})


class WhyHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        notebook = _path(self, self.get_query_argument("notebook", None), "notebook")
        step = self.get_query_argument("step", None)
        if not step:
            raise InvalidInput("Say which step: ?notebook=...&step=NAME.", "E.g. step=transactions.")
        self.reply(self.lh.pipelines.why(f"{notebook}::{step}").to_dict())


ROUTES = [
    (r"lineage/?", LineageHandler),
    (r"stale/?", StaleHandler),
    (r"why/?", WhyHandler),
]
