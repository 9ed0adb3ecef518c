"""``%lakebook monitor NAME``: an ipywidgets view of one monitor.

The verdict of the latest result, a per-column drift chart over the result history (an SVG
line chart drawn here: no plotting library is needed in the kernel), open alerts, and the full
Evidently report served by the server extension — opened only in a sandboxed frame, never as
a page of the Jupyter origin, and never inlined into the notebook (it is 4 MB).
"""
from __future__ import annotations

import math
import os
from html import escape
from typing import Any

from ...shared.script_json import json_for_html
from ...render.html import badge, card, table
from ...monitoring.monitors import STATUS_COLOURS, MonitorResult

PALETTE = ["#1976d2", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457",
           "#558b2f", "#4e342e", "#283593"]


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


def drift_chart(results: list[MonitorResult], width: int = 560, height: int = 220,
                cap: float = 3.0) -> str:
    """An SVG line chart: one line per column of its drift ratio across results (oldest
    left), the threshold as a dashed line at 1."""
    points = [r for r in reversed(results) if r.columns]
    if not points:
        return "<div style='opacity:.7'>No results with drift scores yet.</div>"
    columns = sorted({c for r in points for c in r.columns})
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
            label = escape((r.window_end or r.created_at or "")[:10])
            parts.append(f"<text x='{x(i):.1f}' y='{height - 8}' text-anchor='middle' "
                         f"fill='currentColor'>{label}</text>")
    for k, name in enumerate(columns):
        colour = PALETTE[k % len(PALETTE)]
        coords = [(x(i), y(v)) for i, r in enumerate(points)
                  if name in r.columns and (v := drift_ratio(r.columns[name])) is not None]
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


def monitor_html(lh: Any, name: str) -> str:
    """The view's HTML (also what the widget shows)."""
    monitor = lh.monitoring.get(name)
    results = monitor.results(limit=30)
    latest = next((r for r in results if r.status != "running"), None)
    rows: list[tuple[str, Any]] = [("watches", monitor.source)]
    if latest is None:
        rows.append(("verdict", "never run — run it with %lakebook monitor run " + name))
    else:
        rows.append(("verdict", badge(latest.status, STATUS_COLOURS.get(latest.status, "#555"))))
        if latest.drift_share is not None:
            rows.append(("drifted", f"{len(latest.drifted_columns)} of {len(latest.columns)} "
                                    f"columns ({latest.drift_share:.0%}; alert at "
                                    f"{monitor.spec['drift_share']:.0%})"))
        if latest.reason:
            rows.append(("reason", latest.reason))
        if latest.report_url:
            from ...render.html import Raw
            rows.append(("report", Raw(report_html(name, latest.report_url))))
    html = card(f"monitor {name}", rows, subtitle=monitor.kind)
    html += drift_chart(results)
    open_alerts = monitor.alerts(acknowledged=False)
    if open_alerts:
        html += table(["alert", "kind", "message", "action"], (
            (f"#{a['id']}", a["kind"], a["message"],
             (a.get("action") or {}).get("retrain", "-")) for a in open_alerts[:10]))
    return html


def monitor_view(lh: Any, name: str) -> Any:
    """An ipywidgets box with the view and a *Run now* button."""
    import ipywidgets as widgets
    body = widgets.HTML(monitor_html(lh, name))
    button = widgets.Button(description="Run now", icon="play", layout={"width": "110px"})

    def run(_):
        button.disabled = True
        try:
            lh.monitoring.run(name)
        finally:
            button.disabled = False
            body.value = monitor_html(lh, name)

    button.on_click(run)
    return widgets.VBox([body, button])
