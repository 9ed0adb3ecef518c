"""The registry widget on a real registry, and ``%lakebook registry`` building it."""
from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from kernel_magics.doors.widgets.models import RegistryView, metric_chart_svg, registry_view


def _register(lh):
    X = np.arange(40.0).reshape(20, 2)
    m = LinearRegression().fit(X, X[:, 0])
    for rmse, r2 in [(9.0, 0.4), (7.0, 0.6), (8.0, 0.5)]:
        lh.registry.register(m, "price", metrics={"rmse": rmse, "r2": r2})
    lh.registry.set_alias("price", "production", 1)


def _bars(svg):
    """{version: fill colour} of the chart's bars."""
    return {int(v): colour for v, colour in re.findall(
        r"<rect class='bar' data-version='(\d+)'[^>]*fill='([^']+)'", svg)}


def test_widget_shows_versions_chart_and_moves_alias(lh):
    _register(lh)
    view = registry_view(lh, "price")
    assert isinstance(view, RegistryView) and view.model == "price"
    assert "v3" in view.versions_html.value and "production" in view.versions_html.value
    assert set(view.metric_select.options) == {"rmse", "r2"}
    view.metric_select.value = "rmse"
    # rmse: lower is better, so v2 is the green bar
    colours = _bars(view.chart.value)
    assert set(colours) == {1, 2, 3} and colours[2] == "#2e7d32" and colours[1] == "#1976d2"
    view.metric_select.value = "r2"
    assert _bars(view.chart.value)[2] == "#2e7d32"

    view.alias_input.value, view.version_select.value = "production", 2
    view.move_button.click()
    assert lh.registry.get("price", alias="production").version == 2
    assert "production → v2" in view.status.value
    assert lh.registry.alias_history("price")[-1]["reason"] == "moved in the registry widget"

    lh.registry.delete("price", 3)
    view.refresh()
    assert [v for _, v in view.version_select.options] == [2, 1]
    view.version_select.value = 1
    view.alias_input.value = "not valid!"
    view.move_button.click()
    assert "not a valid alias" in view.status.value
    assert lh.registry.get("price", alias="production").version == 2


def test_chart_handles_negative_values():
    svg = metric_chart_svg([(1, -0.5, []), (2, -0.2, ["production"])], "neg_log_loss")
    assert svg.count("class='bar'") == 2 and "production" in svg
    assert "No version" in metric_chart_svg([], "rmse")


def test_lakebook_registry_magic_builds_the_widget(ipython_shell, lh):
    _register(lh)
    view = ipython_shell.run_line_magic("lakebook", "registry price")
    assert isinstance(view, RegistryView) and view.model == "price"
    assert isinstance(ipython_shell.run_line_magic("lakebook", "registry"), RegistryView)
    from IPython.core.error import UsageError
    with pytest.raises(UsageError, match="No model named 'nope'"):
        ipython_shell.run_line_magic("lakebook", "registry nope")
