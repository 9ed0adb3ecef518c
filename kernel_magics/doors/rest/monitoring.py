"""REST doors onto ``lh.monitoring`` (all behind Jupyter's auth).

=====================================================  =========================================
``GET  /lakebook/api/monitors``                        monitors with latest verdict, drift share,
                                                       open alerts and a ``colour`` for the UI
``POST /lakebook/api/monitors``                        create (JSON: the ``Monitoring.create``
                                                       keyword arguments plus ``name``)
``GET  /lakebook/api/monitors/<name>``                 the monitor and its results history
``DELETE /lakebook/api/monitors/<name>``               delete it (results stay)
``POST /lakebook/api/monitors/<name>/run``             run now; answers the result
``GET  /lakebook/api/monitors/<name>/reports/<id>.html``  the full Evidently report (HTML)
``GET  /lakebook/api/alerts``                          alerts (``?monitor=``, ``?open=1``)
``POST /lakebook/api/alerts/<id>/acknowledge``         acknowledge one
=====================================================  =========================================
"""
from __future__ import annotations


import tornado.ioloop
import tornado.web

from ...shared.errors import InvalidInput, NotFound
from ...render.colours import monitor_colour
from ...shared.names import NAME_SEGMENT
from ...shared.routes import report_path
from .base import LakebookHandler, text_field, whole_number

def with_report_url(monitor: str, result: dict | None) -> dict | None:
    """A result (or a summary's latest result) with the URL of its report, relative to the
    server's base_url (None when it compared nothing)."""
    if result is None:
        return None
    url = report_path(monitor, result["id"]) if result.get("report_html") else None
    return {**result, "report_url": url}


_CREATE_KEYS = {"deployment", "feature_group", "reference", "current", "schedule",
                "drift_share", "threshold", "columns", "performance_margin", "on_drift",
                "labels", "time_column", "tz", "replace"}


class MonitorsHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.reply({"monitors": [
            {**m, "latest": with_report_url(m["name"], m["latest"]),
             # what the UI colours a monitor by (its traffic light)
             "colour": monitor_colour(m["latest"] and m["latest"]["status"], m["open_alerts"])}
            for m in self.lh.monitoring.summary()]})

    @tornado.web.authenticated
    def post(self) -> None:
        body = self.json_object()
        if not isinstance(body.get("name"), str):
            raise InvalidInput("The body must be a JSON object with the monitor's name.",
                               'E.g. {"name": "m", "deployment": "scorer"}.')
        unknown = set(body) - _CREATE_KEYS - {"name"}
        if unknown:
            raise InvalidInput(f"Unknown monitor settings: {', '.join(sorted(unknown))}.",
                               f"Use: {', '.join(sorted(_CREATE_KEYS))}.")
        name = body.pop("name")
        monitor = self.lh.monitoring.create(name, **body)
        self.reply(monitor.to_dict(), 201)


class MonitorHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        monitor = self.lh.monitoring.get(name)
        limit = self.int_argument("limit", 50)
        self.reply({**monitor.to_dict(),
                    "results": [with_report_url(name, r.to_dict())
                                for r in monitor.results(limit=limit)],
                    "alerts": [a.to_dict() for a in monitor.alerts()]})

    @tornado.web.authenticated
    def delete(self, name: str) -> None:
        self.lh.monitoring.delete(name)
        self.reply({"deleted": name})


class MonitorRunHandler(LakebookHandler):
    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        self.lh.monitoring.get(name)  # 404 before any work
        now = text_field(self.json_object(), "now")
        # Evidently takes seconds: keep the server's event loop free meanwhile
        result = await tornado.ioloop.IOLoop.current().run_in_executor(
            None, lambda: self.lh.monitoring.run(name, now=now))
        self.reply(with_report_url(name, result.to_dict()))


#: how every report is served: its own scripts (Evidently's charts) run, but in an opaque
#: origin — never the Jupyter origin, so nothing in it can use the user's cookies or XSRF
#: token — and only framed by Jupyter's own pages
REPORT_CSP = "sandbox allow-scripts; frame-ancestors 'self'"


class ReportHandler(LakebookHandler):
    """The stored Evidently HTML of one result, sandboxed (see :data:`REPORT_CSP`)."""

    @property
    def content_security_policy(self) -> str:
        return REPORT_CSP

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Security-Policy", REPORT_CSP)
        self.set_header("X-Content-Type-Options", "nosniff")

    @tornado.web.authenticated
    def get(self, name: str, result_id: str) -> None:
        result = self.lh.monitoring.results.get(name, whole_number(result_id, "the result id"))
        self.finish(self.lh.monitoring.results.report(result, "html"),
                    set_content_type="text/html; charset=utf-8")


class AlertsHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        monitor = self.get_argument("monitor", None)
        open_only = self.get_argument("open", "") in ("1", "true", "yes")
        self.reply({"alerts": [a.to_dict() for a in self.lh.monitoring.alerts.list(
            monitor, acknowledged=False if open_only else None)]})


class AcknowledgeHandler(LakebookHandler):
    @tornado.web.authenticated
    def post(self, alert_id: str) -> None:
        alert = self.lh.monitoring.alerts.acknowledge(whole_number(alert_id, "the alert id"))
        self.reply(alert.to_dict())


ROUTES = [
    (r"monitors/?", MonitorsHandler),
    (rf"monitors/{NAME_SEGMENT}/run", MonitorRunHandler),
    (rf"monitors/{NAME_SEGMENT}/reports/(\d+)\.html", ReportHandler),
    (rf"monitors/{NAME_SEGMENT}/?", MonitorHandler),
    (r"alerts/?", AlertsHandler),
    (r"alerts/(\d+)/acknowledge", AcknowledgeHandler),
]
