"""``%lakebook runs``: an ipywidgets table of recent runs with status colours and links to
the executed notebooks, refreshable in place."""
from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

from ...render.html import Raw, badge, table


def _link(path: str | None, run_id: str) -> Raw | str:
    """A JupyterLab link when the executed notebook is under the server's folder, else the
    REST download of it."""
    if not path:
        return "-"
    try:
        rel = Path(path).resolve().relative_to(Path.cwd().resolve())
        href = f"lab/tree/{rel.as_posix()}"
    except ValueError:
        href = f"lakebook/api/runs/{run_id}/output?download=1"
    base = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    return Raw(f"<a href='{escape(base.rstrip('/') + '/' + href)}' target='_blank'>"
               f"{escape(Path(path).name)}</a>")


def runs_html(runs: list[Any]) -> str:
    from ...pipelines.runs import COLOURS
    rows = []
    for r in runs:
        progress = ""
        if r.status == "running" and r.progress.get("cells"):
            progress = f" {r.progress.get('done', 0)}/{r.progress['cells']}"
        err = (f"cell {r.error.get('cell_index')}: {r.error.get('ename')}: {r.error.get('evalue')}"
               if r.error else "")
        rows.append([r.id, badge(r.status + progress, COLOURS.get(r.status, "#757575")), r.label,
                     f"{r.attempt}/{r.max_attempts}", r.window_end or "",
                     f"{r.duration_s:.1f}s" if r.duration_s else "", _link(r.output_path, r.id),
                     err[:200]])
    return table(["run", "status", "target", "attempt", "window end", "duration", "notebook",
                  "error"], rows)


def runs_view(lh: Any, limit: int = 20, status: str | None = None) -> Any:
    """A widget listing recent runs; the button refreshes it."""
    import ipywidgets as w
    out = w.HTML()
    button = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="110px"))

    def refresh(_: Any = None) -> None:
        out.value = runs_html(lh.pipelines.runs(status=status, limit=limit))

    button.on_click(refresh)
    refresh()
    box = w.VBox([button, out])
    box.refresh = refresh  # type: ignore[attr-defined]
    return box
