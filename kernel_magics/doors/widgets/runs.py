"""``%lakebook runs``: an ipywidgets table of recent runs with status colours and links to
the executed notebooks, refreshable in place."""
from __future__ import annotations

from typing import Any

from ...render.pipelines import runs_html


def runs_view(lh: Any, limit: int = 20, status: str | None = None) -> Any:
    """A widget listing recent runs; the button refreshes it."""
    import ipywidgets as w
    out = w.HTML()
    button = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="110px"))

    def refresh(_: Any = None) -> None:
        runs = lh.pipelines.runs.list(status=status, limit=limit)
        out.value = runs_html([r.to_dict() for r in runs])

    button.on_click(refresh)
    refresh()
    box = w.VBox([button, out])
    box.refresh = refresh  # type: ignore[attr-defined]
    return box
