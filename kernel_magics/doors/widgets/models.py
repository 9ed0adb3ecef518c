"""``%lakebook registry [MODEL]``: an ipywidgets view of the model registry.

Models, their versions with metrics and aliases, a bar chart of one metric across versions
(an SVG drawn here: no plotting library is needed) and controls that move an alias through
:meth:`ModelRegistry.set_alias` — the same call the Python API and the REST API make.
"""
from __future__ import annotations

from html import escape
from typing import Any

import ipywidgets as widgets

from ...shared.errors import LakebookError
from ...registry.evaluation import higher_is_better
from ...render.html import Raw, badge, table

_ALIAS_CHOICES = ("production", "staging", "champion", "challenger")
_BLUE, _GREEN = "#1976d2", "#2e7d32"


def metric_chart_svg(points: list[tuple[int, float, list[str]]], metric: str,
                     width: int = 520, height: int = 200) -> str:
    """An SVG bar chart of ``metric`` per version: ``points`` are (version, value, aliases).

    The best version (by the metric's direction) is drawn in green. Bars start from zero, so
    negative values (``neg_…`` scorers) hang below the axis; positive values close together
    start from a labelled axis just below them, so small differences stay visible.
    """
    if not points:
        return (f"<div style='opacity:.7'>No version has metric {escape(metric)}.</div>")
    values = [v for _, v, _ in points]
    lo, hi = min(0.0, *values), max(0.0, *values)
    zoomed = False
    if min(values) > 0 and (max(values) - min(values)) < 0.5 * max(values):
        # close positive values (accuracy 0.90 vs 0.91): start the axis near them, and say so
        spread = max(values) - min(values)
        lo = max(0.0, min(values) - (spread if spread else 0.05 * min(values)))
        zoomed = lo > 0
    span = (hi - lo) or 1.0
    top, bottom, left = 18, 34, 8
    plot_h = height - top - bottom
    slot = (width - left * 2) / len(points)
    bar_w = max(4.0, min(48.0, slot * 0.6))
    best = (max if higher_is_better(metric) else min)(values)
    base = lo if zoomed else 0.0  # where bars start
    zero_y = top + plot_h * ((hi - base) / span)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"role='img' aria-label='{escape(metric)} by version' "
             "style='font-family: var(--jp-ui-font-family, sans-serif); font-size: 11px'>",
             f"<title>{escape(metric)} by version</title>",
             f"<line x1='{left}' x2='{width - left}' y1='{zero_y:.1f}' y2='{zero_y:.1f}' "
             "stroke='currentColor' stroke-opacity='.4'/>"]
    if zoomed:
        parts.append(f"<text x='{left}' y='{zero_y - 3:.1f}' fill='currentColor' "
                     f"fill-opacity='.6'>axis from {lo:.4g}</text>")
    for i, (version, value, aliases) in enumerate(points):
        x = left + slot * i + (slot - bar_w) / 2
        y_val = top + plot_h * ((hi - value) / span)
        y, h = min(y_val, zero_y), max(abs(zero_y - y_val), 1.0)
        colour = _GREEN if value == best else _BLUE
        cx = x + bar_w / 2
        parts.append(f"<rect class='bar' data-version='{version}' x='{x:.1f}' y='{y:.1f}' "
                     f"width='{bar_w:.1f}' height='{h:.1f}' fill='{colour}'>"
                     f"<title>v{version}: {value:.6g}</title></rect>")
        label_y = y - 4 if value >= 0 else y + h + 12
        parts.append(f"<text x='{cx:.1f}' y='{label_y:.1f}' text-anchor='middle' "
                     f"fill='currentColor'>{value:.4g}</text>")
        parts.append(f"<text x='{cx:.1f}' y='{height - bottom + 14}' text-anchor='middle' "
                     f"fill='currentColor'>v{version}</text>")
        if aliases:
            parts.append(f"<text x='{cx:.1f}' y='{height - bottom + 27}' text-anchor='middle' "
                         f"fill='{_GREEN}'>{escape(', '.join(aliases))}</text>")
    parts.append("</svg>")
    return "".join(parts)


class RegistryView(widgets.VBox):
    """The registry widget. ``refresh()`` re-reads the catalog."""

    def __init__(self, lh: Any, model: str | None = None) -> None:
        self.lh = lh
        names = [m["name"] for m in lh.registry.models()]
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
        names = [m["name"] for m in self.lh.registry.models()]
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
        rows = []
        for v in reversed(self._versions):
            rows.append([f"v{v.version}", v.created_at[:19].replace("T", " "),
                         v.task or "", *[f"{v.metrics[m]:.4g}" if m in v.metrics else "–"
                                         for m in metrics],
                         Raw(" ".join(badge(a, _GREEN) for a in v.aliases)),
                         (v.view or {}).get("name", "")])
        return table(["version", "created", "task", *metrics, "aliases", "view"], rows)

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
            self.status.value = f"<span style='color:#c62828'>{escape(str(exc))}</span>"
            return
        self.status.value = (f"<span style='color:{_GREEN}'>{escape(alias)} → "
                             f"v{version}</span>")
        self.refresh()


def registry_view(lh: Any, model: str | None = None) -> RegistryView:
    """The widget ``%lakebook registry [MODEL]`` shows."""
    return RegistryView(lh, model)
