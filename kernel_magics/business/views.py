"""What a deployment's business results look like: the chart data and spec, one place.

:func:`business_view` gathers the KPIs, the open and past KPI alerts and the arms'
comparison into plain data (JSON-ready), with the Vega-Lite spec of
:mod:`~kernel_magics.render.business`; the REST door serves it, the widget door shows it and
:class:`BusinessChart` renders it in a notebook.

The notebook widget (``dep.business()``) lives with the other widgets (a door); it is
registered here by name so the core never imports a door.
"""
from __future__ import annotations

from typing import Any

from ..render.business import MIMETYPE, chart_spec, comparison_html
from ..shared.jsonsafe import plain
from ..shared.plugins import Registry

#: notebook views of business results (imported when first shown)
VIEWS: Registry[Any] = Registry("business view")
VIEWS.register("widget", "kernel_magics.doors.widgets.business:business_widget")


def business_view(lh: Any, deployment: str, every: Any = "1w", start: Any = None,
                  end: Any = None) -> dict[str, Any]:
    """``{"deployment", "every", "kpis": [...], "alerts": [...], "comparison", "headline",
    "spec"}`` for deployment ``deployment``."""
    frame = lh.business.kpis.values(deployment, every=every, start=start, end=end)
    rows = plain(frame.assign(window_start=frame["window_start"].map(
        lambda t: t.isoformat())).to_dict("records")) if len(frame) else []
    alerts = [a for a in lh.monitoring.alerts.list(monitor=f"deployment {deployment}", limit=200)
              if str(a.get("kind", "")).startswith("kpi:")]
    comparison = None
    if len({(r["version"], r["arm"], r["shadow"]) for r in rows}) > 1:
        try:
            comparison = lh.business.compare_arms(deployment, start=start, end=end)
        except Exception as exc:  # a view still shows the KPIs
            comparison = {"error": str(exc)}
    return {"deployment": deployment, "every": str(every), "kpis": rows,
            "alerts": plain(alerts), "comparison": plain(comparison),
            "headline": headline(lh, deployment, rows),
            "spec": chart_spec(deployment, rows, alerts)}


_HEADLINES: dict[tuple[str, str], tuple[float, Any]] = {}
#: seconds a deployment's headline is reused (the sidebar asks on every refresh)
HEADLINE_TTL_S = 30.0


def deployment_headline(lh: Any, deployment: str) -> dict[str, Any] | None:
    """The headline KPI of ``deployment`` over weekly windows (None when it has no KPI
    defined: nothing to headline), computed at most every :data:`HEADLINE_TTL_S` seconds
    per process; a failure is reported in the headline, never raised."""
    import time
    if not lh.business.kpis.list(deployment):
        return None
    key = (str(lh.home), deployment)
    cached = _HEADLINES.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < HEADLINE_TTL_S:
        return cached[1]
    try:
        frame = lh.business.kpis.values(deployment, every="1w")
        rows = plain(frame.assign(window_start=frame["window_start"].map(
            lambda t: t.isoformat())).to_dict("records")) if len(frame) else []
        value = headline(lh, deployment, rows)
    except Exception as exc:  # a list of deployments still shows
        value = {"kpi": None, "value": None, "trend": None, "error": str(exc)[:200]}
    _HEADLINES[key] = (now, value)
    return value


def headline(lh: Any, deployment: str, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The deployment's headline KPI (its first user KPI, else the first metric): its value
    in the latest window for the series that carried most traffic (not a shadow), and the
    trend against that series' window before."""
    if not rows:
        return None
    defined = [k.name for k in lh.business.kpis.list(deployment) if k.sql]
    name = defined[0] if defined else rows[0]["kpi"]
    mine = [r for r in rows if r["kpi"] == name and not r["shadow"] and r["value"] is not None]
    if not mine:
        return {"kpi": name, "value": None, "trend": None}
    latest = max(r["window_start"] for r in mine)
    top = max((r for r in mine if r["window_start"] == latest), key=lambda r: r["n"])
    before = [r for r in mine if r["window_start"] < latest and r["version"] == top["version"]
              and r["arm"] == top["arm"]]
    previous = max(before, key=lambda r: r["window_start"])["value"] if before else None
    value = top["value"]
    trend = None if previous is None else ("up" if value > previous else
                                           "down" if value < previous else "flat")
    return {"kpi": name, "value": value, "previous": previous, "trend": trend,
            "window_start": latest, "version": top["version"], "arm": top["arm"]}


class BusinessChart:
    """The business view's chart in a notebook: Vega-Lite for JupyterLab, HTML otherwise."""

    def __init__(self, view: dict[str, Any]) -> None:
        self.view = view

    @property
    def spec(self) -> dict[str, Any]:
        return self.view["spec"]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {MIMETYPE: self.spec, "text/html": self._repr_html_(),
                "text/plain": repr(self)}

    def _repr_html_(self) -> str:
        return comparison_html(self.view.get("comparison")) or \
            f"<p>Business results of {self.view['deployment']}: {len(self.view['kpis'])} rows.</p>"

    def __repr__(self) -> str:
        return f"BusinessChart({self.view['deployment']!r}, every={self.view['every']!r})"
