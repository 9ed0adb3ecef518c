"""``dep.business()``: an ipywidgets view of a deployment's business results.

The KPI chart (the Vega-Lite spec of ``render.business``, rendered by JupyterLab), the arms'
comparison and a window picker. The data is ``business.views.business_view``'s; this is the
widget around it.
"""
from __future__ import annotations

from typing import Any

from ...business.views import BusinessChart, business_view
from ...render.business import comparison_html


def business_widget(lh: Any, deployment: str, every: Any = "1w", start: Any = None,
                    end: Any = None) -> Any:
    """A VBox: a title, the window picker (day / week), the chart and the comparison."""
    import ipywidgets as widgets
    from IPython.display import display

    title = widgets.HTML(f"<h4>Business results of {deployment}</h4>")
    picker = widgets.ToggleButtons(options=[("day", "1d"), ("week", "1w")],
                                   value="1d" if every in ("1d", "day") else "1w")
    chart = widgets.Output()
    arms = widgets.HTML()

    def show(window: str) -> None:
        view = business_view(lh, deployment, every=window, start=start, end=end)
        chart.clear_output(wait=True)
        with chart:
            display(BusinessChart(view))
        arms.value = comparison_html(view.get("comparison"))

    picker.observe(lambda change: show(change["new"]), names="value")
    show(picker.value)
    box = widgets.VBox([title, picker, chart, arms])
    box.add_class("lakebook-business")
    return box
