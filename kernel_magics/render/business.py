"""The business view of a deployment as a Vega-Lite spec (and its HTML frame).

One spec is drawn everywhere: JupyterLab renders ``application/vnd.vegalite.v5+json``
natively in notebooks, and the sidebar hands the same spec (from ``GET
/lakebook/api/deployments/<name>/business``) to ``vega-embed``. Nothing is drawn by hand.

The chart: one row per KPI (independent y scales), a line per version/arm over the windows,
points whose tooltip gives the value, coverage and count; a "coverage" row (share of
predictions with an outcome yet); red rules where an alert of that KPI was raised.
"""
from __future__ import annotations

from typing import Any

from html import escape as esc

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
MIMETYPE = "application/vnd.vegalite.v5+json"


def series_label(version: Any, arm: Any, shadow: Any) -> str:
    """How a line is named: ``v2``, ``v2 challenger``, ``v2 challenger (shadow)``."""
    label = f"v{version}"
    if arm:
        label += f" {arm}"
    if shadow:
        label += " (shadow)"
    return label


def chart_spec(deployment: str, rows: list[dict[str, Any]],
               alerts: list[dict[str, Any]] | None = None, width: int = 520) -> dict[str, Any]:
    """A Vega-Lite spec of ``rows`` (the records of ``dep.kpis()``) and ``alerts`` (with
    ``details.kpi`` and ``details.window_start``)."""
    values: list[dict[str, Any]] = []
    coverage: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        series = series_label(r.get("version"), r.get("arm"), r.get("shadow"))
        start = r["window_start"]
        values.append({"type": "kpi", "kpi": r["kpi"], "window_start": start,
                       "series": series, "value": r.get("value"),
                       "coverage": r.get("coverage"), "n": r.get("n"),
                       "ci_low": r.get("ci_low"), "ci_high": r.get("ci_high")})
        key = (start, series)
        if key not in coverage and r.get("n"):
            coverage[key] = {"type": "kpi", "kpi": "coverage", "window_start": start,
                             "series": series, "value": r["coverage"] / r["n"],
                             "coverage": r["coverage"], "n": r["n"]}
    values += list(coverage.values())
    for a in alerts or []:
        d = a.get("details") or {}
        if d.get("kpi") and d.get("window_start"):
            values.append({"type": "alert", "kpi": d["kpi"], "window_start": d["window_start"],
                           "message": a.get("message", "")})
    order = list(dict.fromkeys([*(v["kpi"] for v in values if v["type"] == "kpi"
                                  and v["kpi"] != "coverage"), "coverage"]))
    x = {"field": "window_start", "type": "temporal", "title": None}
    tooltip = [{"field": "series", "title": "version / arm"},
               {"field": "window_start", "type": "temporal", "title": "window"},
               {"field": "value", "format": ".4~g"},
               {"field": "coverage", "title": "with outcome"}, {"field": "n"}]
    kpi_only = {"filter": "datum.type === 'kpi'"}
    return {
        "$schema": SCHEMA,
        "description": f"Business results of deployment {deployment}",
        "data": {"values": values},
        "facet": {"row": {"field": "kpi", "type": "nominal", "sort": order,
                          "title": None, "header": {"labelAngle": 0, "labelAlign": "left",
                                                    "labelFontWeight": "bold"}}},
        "spec": {"width": width, "height": 90, "layer": [
            {"transform": [kpi_only], "mark": {"type": "line", "interpolate": "monotone"},
             "encoding": {"x": x, "y": {"field": "value", "type": "quantitative",
                                        "title": None},
                          "color": {"field": "series", "type": "nominal",
                                    "title": "version / arm"}}},
            {"transform": [kpi_only], "mark": {"type": "point", "filled": True},
             "encoding": {"x": x, "y": {"field": "value", "type": "quantitative"},
                          "color": {"field": "series", "type": "nominal"},
                          "tooltip": tooltip}},
            {"transform": [{"filter": "datum.type === 'alert'"}],
             "mark": {"type": "rule", "color": "#d62728", "strokeDash": [4, 3]},
             "encoding": {"x": x, "tooltip": [{"field": "message", "title": "alert"}]}},
        ]},
        "resolve": {"scale": {"y": "independent"}},
    }


def comparison_html(result: dict[str, Any] | None) -> str:
    """The arms' comparison as a small table with its verdict."""
    if not result or not result.get("arms"):
        return ""
    rows = "".join(
        f"<tr><td>{esc(a['arm'])}</td><td>v{a['version']}</td><td>{a['n']}</td>"
        f"<td>{a['coverage']}</td><td>{_num(a.get('value'))}</td>"
        f"<td>{_num(a.get('ci_low'))} – {_num(a.get('ci_high'))}</td></tr>"
        for a in result["arms"])
    return (f"<div class='lakebook-arms'><b>{esc(result['kpi'])}</b> by arm "
            f"({esc(result['method'])})<table><tr><th>arm</th><th>version</th><th>n</th>"
            f"<th>with outcome</th><th>value</th><th>95% interval</th></tr>{rows}</table>"
            f"<p>{esc(result.get('verdict', ''))}</p></div>")


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.4g}"
