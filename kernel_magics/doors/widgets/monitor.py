"""``%lakebook monitor NAME``: an ipywidgets view of one monitor.

The verdict of the latest result, a per-column drift chart over the result history, open
alerts, and the full Evidently report served by the server extension — opened only in a
sandboxed frame, never as a page of the Jupyter origin, and never inlined into the notebook
(it is 4 MB). The HTML is ``render.monitoring``'s; this is the widget around it.
"""
from __future__ import annotations

from typing import Any

from ...render.monitoring import monitor_view_html

def monitor_html(lh: Any, name: str) -> str:
    """The view's HTML (also what the widget shows)."""
    monitor = lh.monitoring.get(name)
    return monitor_view_html(monitor.to_dict(), [r.to_dict() for r in monitor.results(limit=30)],
                             monitor.alerts(acknowledged=False))


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
