"""Business results of a deployment inside Jupyter, behind its auth:

* ``GET /lakebook/api/deployments/<name>/kpis?every=1d&start=&end=``: the KPI rows
  (``window_start, version, arm, shadow, kpi, value, coverage, n, ci_low, ci_high``);
* ``GET /lakebook/api/deployments/<name>/business?every=1w``: the business view (KPI rows,
  KPI alerts, the arms' comparison, the headline KPI and the Vega-Lite spec the sidebar draws);
* ``GET /lakebook/api/deployments/<name>/arms?kpi=``: the arms' comparison;
* ``POST /lakebook/api/deployments/<name>/outcomes``: ``{"outcomes": [{"request_id" | keys +
  "at", "outcome", "value"}, ...]}`` (or one such object); answers ``{"written": n}``;
* ``POST /lakebook/api/deployments/<name>/promote``: ``{"arm": "challenger"}``.
"""
from __future__ import annotations

from typing import Any

import tornado.web

from ...business.views import business_view
from ...shared.jsonsafe import plain
from ...shared.names import NAME_SEGMENT
from ..http import answer_outcomes
from .base import LakebookHandler, text_field


class _Business(LakebookHandler):
    def window(self) -> dict[str, Any]:
        return {"start": self.get_query_argument("start", None),
                "end": self.get_query_argument("end", None)}


class KpisHandler(_Business):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        frame = self.lh.deployments.get(name).kpis(
            every=self.get_query_argument("every", "1d"), **self.window())
        rows = frame.assign(window_start=frame["window_start"].map(lambda t: t.isoformat())) \
            if len(frame) else frame
        self.reply({"deployment": name, "kpis": plain(rows.to_dict("records"))})


class BusinessHandler(_Business):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        self.lh.deployments.definition(name)  # 404 naming it
        self.reply(business_view(self.lh, name, every=self.get_query_argument("every", "1w"),
                                 **self.window()))


class ArmsHandler(_Business):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        self.reply(plain(self.lh.deployments.get(name).compare_arms(
            kpi=self.get_query_argument("kpi", None), **self.window())))


class OutcomesHandler(LakebookHandler):
    @tornado.web.authenticated
    def post(self, name: str) -> None:
        answer_outcomes(self, self.lh, name, self.json_body())


class PromoteHandler(LakebookHandler):
    @tornado.web.authenticated
    def post(self, name: str) -> None:
        arm = text_field(self.json_object(), "arm", required=True)
        deployment = self.lh.deployments.promote(name, arm)
        self.reply(deployment.describe())


ROUTES = [
    (rf"deployments/{NAME_SEGMENT}/kpis/?", KpisHandler),
    (rf"deployments/{NAME_SEGMENT}/business/?", BusinessHandler),
    (rf"deployments/{NAME_SEGMENT}/arms/?", ArmsHandler),
    (rf"deployments/{NAME_SEGMENT}/outcomes/?", OutcomesHandler),
    (rf"deployments/{NAME_SEGMENT}/promote/?", PromoteHandler),
]
