"""HTML of monitoring's objects (from their ``to_dict()``): results, monitors, the monitor
list and alerts, the drift chart (an SVG drawn here: no plotting library is needed in the
kernel), and how a report is offered — only ever in a sandboxed frame."""
from __future__ import annotations

import math
import os
from html import escape
from typing import Any

from ..shared.routes import report_path
from ..shared.script_json import json_for_html
from .colours import GREY, PALETTE, RESULT_STATUS
from .html import Raw, badge, card, table


def _verdict(status: str) -> Raw:
    return badge(status, RESULT_STATUS.get(status, "#555"))


def result_html(d: dict[str, Any]) -> str:
    """One result (``MonitorResult.to_dict()``): verdict, drift, rows, window, performance,
    alerts raised, per-column scores."""
    drifted = [c for c, v in d["columns"].items() if v.get("drifted")]
    rows: list[tuple[str, Any]] = [("status", _verdict(d["status"]))]
    if d["reason"]:
        rows.append(("reason", d["reason"]))
    if d["drift_share"] is not None:
        rows.append(("drifted columns", f"{len(drifted)} of {len(d['columns'])}"
                                        f" ({d['drift_share']:.0%})"))
    if d["current_rows"] is not None:
        rows.append(("rows", f"current {d['current_rows']:,} / reference "
                             f"{d['reference_rows'] or 0:,}"))
    rows.append(("window", f"{d['window_start'] or '-'} .. {d['window_end'] or '-'}"))
    metrics = (d.get("performance") or {}).get("metrics")
    if metrics:
        rows.append(("performance", ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())))
    if d["alerts"]:
        rows.append(("alerts", ", ".join(f"#{a}" for a in d["alerts"])))
    if d["report_html"]:
        url = report_path(d["monitor"], d["id"])
        rows.append(("report", Raw(f"<a href='/{escape(url)}' target='_blank'>"
                                   "Evidently report</a>")))
    html = card(f"monitor {d['monitor']} · result {d['id']}", rows,
                subtitle=d["created_at"] or "")
    if d["columns"]:
        html += table(["column", "method", "score", "threshold", "drifted"], (
            (c, v.get("method"), f"{v.get('score', 0):.4g}", v.get("threshold"),
             badge("drift", RESULT_STATUS["drift"]) if v.get("drifted") else "no")
            for c, v in d["columns"].items()))
    return html


def _source(spec: dict[str, Any]) -> str:
    if spec.get("deployment"):
        return f"deployment {spec['deployment']}"
    return f"feature group {spec.get('feature_group')}"


def monitor_html(d: dict[str, Any], latest: dict[str, Any] | None, open_alerts: int) -> str:
    """One monitor (``Monitor.to_dict()``), its latest result and how many alerts are open."""
    spec = d["spec"]
    rows: list[tuple[str, Any]] = [("watches", _source(spec)),
                                   ("reference", spec.get("reference")),
                                   ("current", spec.get("current")),
                                   ("drift share alert", f"{spec.get('drift_share'):.0%}"),
                                   ("schedule", spec.get("schedule") or "-")]
    if spec.get("on_drift"):
        rows.append(("on drift", spec["on_drift"]))
    if latest is not None:
        rows.append(("latest", _verdict(latest["status"])))
        if latest["drift_share"] is not None:
            rows.append(("drift share", f"{latest['drift_share']:.0%}"))
    if open_alerts:
        rows.append(("open alerts", open_alerts))
    return card(f"monitor {d['name']}", rows, subtitle=d["kind"])


def monitors_html(summary: list[dict[str, Any]]) -> str:
    """Every monitor with its latest verdict (``Monitoring.summary()``)."""
    if not summary:
        return ("<div>No monitors yet. Create one with <code>%lakebook monitor create NAME "
                "--deployment D</code> or <code>lh.create_monitor(name, deployment=...)</code>."
                "</div>")
    return table(["monitor", "watches", "status", "drift share", "open alerts"], (
        (m["name"], m["spec"].get("deployment") or m["spec"].get("feature_group"),
         badge(m["status"], RESULT_STATUS.get(m["status"], GREY)),
         "-" if not m["latest"] or m["latest"]["drift_share"] is None
         else f"{m['latest']['drift_share']:.0%}", m["open_alerts"]) for m in summary))


def alerts_html(alerts: list[dict[str, Any]]) -> str:
    """Alerts, newest first."""
    if not alerts:
        return "<div>No alerts.</div>"
    return table(["id", "monitor", "kind", "message", "action", "acknowledged", "at"], (
        (a["id"], a["monitor"], a["kind"], a["message"],
         (a.get("action") or {}).get("run_id") or (a.get("action") or {}).get("retrain", "-"),
         "yes" if a["acknowledged"] else "no", a["created_at"][:19]) for a in alerts))


def acknowledged_html(alert_id: int) -> str:
    return f"<small>Alert #{int(alert_id)} acknowledged.</small>"


def drift_ratio(column: dict[str, Any]) -> float | None:
    """A column's score on one scale for all tests: 1.0 is the threshold, above is drift.

    Distances (Wasserstein, Jensen-Shannon…) drift when ``score >= threshold``: ratio =
    score / threshold. p-values drift when ``p < threshold``: ratio = log p / log threshold.
    """
    score, threshold = column.get("score"), column.get("threshold")
    if score is None or not threshold:
        return None
    if "p_value" in str(column.get("method", "")):
        p = max(float(score), 1e-300)
        return math.log(p) / math.log(float(threshold)) if threshold < 1 else None
    return float(score) / float(threshold)


def drift_chart(results: list[dict[str, Any]], width: int = 560, height: int = 220,
                cap: float = 3.0) -> str:
    """An SVG line chart: one line per column of its drift ratio across results
    (``MonitorResult.to_dict()`` each, newest first; drawn oldest left), the threshold as a
    dashed line at 1."""
    points = [r for r in reversed(results) if r["columns"]]
    if not points:
        return "<div style='opacity:.7'>No results with drift scores yet.</div>"
    columns = sorted({c for r in points for c in r["columns"]})
    left, right, top, bottom = 40, 120, 10, 28
    w, h = width - left - right, height - top - bottom
    n = len(points)

    def x(i: int) -> float:
        return left + (w / 2 if n == 1 else i * w / (n - 1))

    def y(v: float) -> float:
        return top + h - min(v, cap) / cap * h

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"role='img' aria-label='drift per column over time' style='font: 10px sans-serif'>"]
    for tick in (0, 1, 2, 3):
        dash = "stroke-dasharray='4 3'" if tick == 1 else ""
        parts.append(f"<line x1='{left}' x2='{left + w}' y1='{y(tick):.1f}' y2='{y(tick):.1f}' "
                     f"stroke='#999' stroke-opacity='{0.9 if tick == 1 else 0.2}' {dash}/>"
                     f"<text x='{left - 6}' y='{y(tick) + 3:.1f}' text-anchor='end' "
                     f"fill='currentColor'>{tick}{'+' if tick == cap else ''}</text>")
    parts.append(f"<text x='{left + w + 4}' y='{y(1) - 3:.1f}' fill='#999'>threshold</text>")
    for i, r in enumerate(points):
        if i in (0, n - 1) or n <= 6:
            label = escape((r["window_end"] or r["created_at"] or "")[:10])
            parts.append(f"<text x='{x(i):.1f}' y='{height - 8}' text-anchor='middle' "
                         f"fill='currentColor'>{label}</text>")
    for k, name in enumerate(columns):
        colour = PALETTE[k % len(PALETTE)]
        coords = [(x(i), y(v)) for i, r in enumerate(points)
                  if name in r["columns"] and (v := drift_ratio(r["columns"][name])) is not None]
        if not coords:
            continue
        path = " ".join(f"{'M' if j == 0 else 'L'}{cx:.1f},{cy:.1f}" for j, (cx, cy) in
                        enumerate(coords))
        parts.append(f"<path d='{path}' fill='none' stroke='{colour}' stroke-width='1.8'/>")
        parts.extend(f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='2.5' fill='{colour}'>"
                     f"<title>{escape(name)}</title></circle>" for cx, cy in coords)
        parts.append(f"<text x='{left + w + 4}' y='{top + 12 + k * 13}' fill='{colour}'>"
                     f"{escape(name[:18])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def base_url() -> str:
    """The Jupyter server's base URL as the kernel knows it (``JUPYTERHUB_SERVICE_PREFIX``
    under JupyterHub, else ``/``)."""
    prefix = os.environ.get("LAKEBOOK_BASE_URL") or os.environ.get(
        "JUPYTERHUB_SERVICE_PREFIX") or "/"
    return prefix if prefix.endswith("/") else prefix + "/"


#: the sandbox of a report frame: its scripts run in an opaque origin (no same-origin)
REPORT_SANDBOX = "allow-scripts"


def report_html(monitor: str, report_url: str) -> str:
    """How the view offers the full report: only ever in a sandboxed frame. In JupyterLab
    the button opens the sidebar's sandboxed report tab; anywhere, the report can be
    unfolded in place in a sandboxed iframe (loaded only when unfolded). There is no plain
    link: a report opened as a page of the Jupyter origin could act with the user's rights."""
    url = escape(base_url() + report_url)
    args = escape(json_for_html({"monitor": monitor, "url": report_url}))
    return (f"<button type='button' class='lakebook-open-report' "
            f"data-commandlinker-command='lakebook:open-report' "
            f"data-commandlinker-args='{args}'>open the Evidently report</button>"
            f"<details class='lakebook-report-inline'><summary>show it here</summary>"
            f"<iframe sandbox='{REPORT_SANDBOX}' referrerpolicy='no-referrer' loading='lazy' "
            f"src='{url}' title='Evidently report of monitor {escape(monitor)}' "
            f"style='width:100%;height:640px;border:0'></iframe></details>")


def monitor_view_html(monitor: dict[str, Any], results: list[dict[str, Any]],
                      open_alerts: list[dict[str, Any]]) -> str:
    """The monitor view (``%lakebook monitor NAME``): the latest verdict, the report (in a
    sandboxed frame), the drift chart over ``results`` (newest first) and open alerts."""
    name = monitor["name"]
    latest = next((r for r in results if r["status"] != "running"), None)
    rows: list[tuple[str, Any]] = [("watches", _source(monitor["spec"]))]
    if latest is None:
        rows.append(("verdict", "never run — run it with %lakebook monitor run " + name))
    else:
        rows.append(("verdict", _verdict(latest["status"])))
        if latest["drift_share"] is not None:
            drifted = [c for c, v in latest["columns"].items() if v.get("drifted")]
            rows.append(("drifted", f"{len(drifted)} of {len(latest['columns'])} columns "
                                    f"({latest['drift_share']:.0%}; alert at "
                                    f"{monitor['spec']['drift_share']:.0%})"))
        if latest["reason"]:
            rows.append(("reason", latest["reason"]))
        if latest["report_html"]:
            rows.append(("report", Raw(report_html(name, report_path(name, latest["id"])))))
    html = card(f"monitor {name}", rows, subtitle=monitor["kind"])
    html += drift_chart(results)
    if open_alerts:
        html += table(["alert", "kind", "message", "action"], (
            (f"#{a['id']}", a["kind"], a["message"],
             (a.get("action") or {}).get("retrain", "-")) for a in open_alerts[:10]))
    return html
