"""``%lakebook registry [MODEL]``: an ipywidgets view of the model registry.

Models, their versions with metrics and aliases, a bar chart of one metric across versions
(``render.registry``) and controls that move an alias through
:meth:`ModelRegistry.set_alias` — the same call the Python API and the REST API make.
"""
from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ...registry.evaluation import higher_is_better
from ...render import registry as render
from ...shared.errors import LakebookError

_ALIAS_CHOICES = ("production", "staging", "champion", "challenger")


def metric_chart_svg(points: list[tuple[int, float, list[str]]], metric: str,
                     width: int = 520, height: int = 200) -> str:
    """The bar chart of ``metric`` per version (``render.registry.metric_chart_svg``), the
    best bar by the registry's rule of which way the metric is better."""
    return render.metric_chart_svg(points, metric, higher_is_better(metric), width, height)


class RegistryView(widgets.VBox):
    """The registry widget. ``refresh()`` re-reads the catalog."""

    def __init__(self, lh: Any, model: str | None = None) -> None:
        self.lh = lh
        names = [m["name"] for m in lh.registry.list()]
        if model is not None:
            lh.registry.versions(model)  # an unknown model is a NotFound naming it
        self.model_select = widgets.Dropdown(options=names, value=model or (names[0] if names
                                                                            else None),
                                             description="Model")
        self.metric_select = widgets.Dropdown(options=[], description="Metric")
        self.versions_html = widgets.HTML()
        self.chart = widgets.HTML()
        self.alias_input = widgets.Combobox(options=_ALIAS_CHOICES, value="production",
                                            description="Alias", ensure_option=False)
        self.version_select = widgets.Dropdown(options=[], description="Version")
        self.move_button = widgets.Button(description="Move alias", button_style="primary",
                                          icon="arrow-right")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.status = widgets.HTML()
        self.model_select.observe(lambda _: self.refresh(), names="value")
        self.metric_select.observe(lambda _: self._draw_chart(), names="value")
        self.move_button.on_click(lambda _: self.move_alias())
        self.refresh_button.on_click(lambda _: self.refresh())
        self._versions: list[Any] = []
        header = widgets.HBox([self.model_select, self.refresh_button])
        controls = widgets.HBox([self.alias_input, self.version_select, self.move_button])
        super().__init__([header, self.versions_html, self.metric_select, self.chart,
                          controls, self.status])
        if not names:
            self.versions_html.value = ("<i>No models registered yet: train one with "
                                        "<code>%%training</code> or lh.registry.register().</i>")
        self.refresh()

    @property
    def model(self) -> str | None:
        return self.model_select.value

    def refresh(self) -> None:
        """Re-read models, versions and aliases from the catalog."""
        names = [m["name"] for m in self.lh.registry.list()]
        if list(self.model_select.options) != names:
            current = self.model_select.value
            self.model_select.options = names
            self.model_select.value = current if current in names else (names[0] if names
                                                                        else None)
            return  # the value observer (or the line below) redraws
        if self.model is None:
            return
        self._versions = self.lh.registry.versions(self.model)
        metrics = list(dict.fromkeys(m for v in self._versions for m in v.metrics))
        keep = self.metric_select.value
        self.metric_select.options = metrics
        if metrics:
            self.metric_select.value = keep if keep in metrics else metrics[0]
        self.version_select.options = [(f"v{v.version}", v.version)
                                       for v in reversed(self._versions)]
        aliases = self.lh.registry.aliases(self.model)
        self.alias_input.options = tuple(dict.fromkeys([*aliases, *_ALIAS_CHOICES]))
        self.versions_html.value = self._versions_table(metrics)
        self._draw_chart()

    def _versions_table(self, metrics: list[str]) -> str:
        return render.versions_table([v.to_dict() for v in reversed(self._versions)], metrics)

    def _draw_chart(self) -> None:
        metric = self.metric_select.value
        if not metric:
            self.chart.value = "<i>These versions have no metrics to compare.</i>"
            return
        points = [(v.version, v.metrics[metric], v.aliases) for v in self._versions
                  if metric in v.metrics]
        self.chart.value = metric_chart_svg(points, metric)

    def move_alias(self) -> None:
        """Point the chosen alias at the chosen version (as set_alias does)."""
        alias, version = (self.alias_input.value or "").strip(), self.version_select.value
        try:
            self.lh.registry.set_alias(self.model, alias, version,
                                       reason="moved in the registry widget")
        except LakebookError as exc:
            self.status.value = render.error_html(str(exc))
            return
        self.status.value = render.alias_moved_html(alias, version)
        self.refresh()


def registry_view(lh: Any, model: str | None = None) -> RegistryView:
    """The widget ``%lakebook registry [MODEL]`` shows."""
    return RegistryView(lh, model)
