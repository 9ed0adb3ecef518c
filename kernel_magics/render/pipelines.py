"""HTML of pipelines' objects (from their ``to_dict()``): runs, schedules, steps."""
from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

from ..shared.routes import run_output_path
from .colours import BLUE, GREY, RUN_STATUS
from .html import Raw, badge, card, table


def run_html(d: dict[str, Any]) -> str:
    """One run (``Run.to_dict()``)."""
    rows: list[tuple[str, Any]] = [
        ("status", badge(d["status"], RUN_STATUS.get(d["status"], GREY))),
        ("target", d["label"]), ("attempt", f"{d['attempt']}/{d['max_attempts']}"),
        ("duration", f"{d['duration_s']}s" if d["duration_s"] else "-"),
        ("output", d["output_path"] or "-")]
    error = d.get("error")
    if error:
        rows.append(("error", f"cell {error.get('cell_index')}: {error.get('ename')}: "
                              f"{error.get('evalue')}"))
    return card(f"Run {d['id']}", rows)


def _link(path: str | None, run_id: str) -> Raw | str:
    """A JupyterLab link when the executed notebook is under the server's folder (the
    working directory), else the REST download of it."""
    if not path:
        return "-"
    try:
        rel = Path(path).resolve().relative_to(Path.cwd().resolve())
        href = f"lab/tree/{rel.as_posix()}"
    except ValueError:
        href = run_output_path(run_id)
    base = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    return Raw(f"<a href='{escape(base.rstrip('/') + '/' + href)}' target='_blank'>"
               f"{escape(Path(path).name)}</a>")


def runs_html(runs: list[dict[str, Any]]) -> str:
    """Runs (``Run.to_dict()`` each) with status colours and links to the executed
    notebooks."""
    rows = []
    for r in runs:
        progress = ""
        if r["status"] == "running" and (r.get("progress") or {}).get("cells"):
            progress = f" {r['progress'].get('done', 0)}/{r['progress']['cells']}"
        e = r.get("error")
        err = f"cell {e.get('cell_index')}: {e.get('ename')}: {e.get('evalue')}" if e else ""
        rows.append([r["id"], badge(r["status"] + progress, RUN_STATUS.get(r["status"], GREY)),
                     r["label"], f"{r['attempt']}/{r['max_attempts']}", r["window_end"] or "",
                     f"{r['duration_s']:.1f}s" if r["duration_s"] else "",
                     _link(r["output_path"], r["id"]), err[:200]])
    return table(["run", "status", "target", "attempt", "window end", "duration", "notebook",
                  "error"], rows)


def schedule_html(d: dict[str, Any]) -> str:
    """One schedule (``Schedule.to_dict()``)."""
    return card(f"Schedule {d['name']}", [
        ("target", d["target"]), ("cron", f"{d['cron']} ({d['timezone']})"),
        ("catch-up", d["catchup"]), ("paused", d["paused"]),
        ("next run", d["next_run_at"] or "-")])


def scheduled_html(kind: str, step: str, schedule: dict[str, Any]) -> str:
    """What a step magic's ``--schedule`` shows once the schedule is saved."""
    return (f"<small>Scheduled <b>{escape(step)}</b> ({escape(kind)}) "
            f"<code>{escape(schedule['cron'])}</code> {escape(schedule['timezone'])}: next run "
            f"{escape(schedule.get('next_run_at') or '')}</small>")


def step_html(d: dict[str, Any]) -> str:
    """One step (``Step.to_dict()``)."""
    return card(f"{d['kind']} step {d['name']}", [("notebook", d["notebook"]),
                                                  ("cell", f"#{d['index']} ({d['cell_id']})"),
                                                  ("schedule", d["schedule"] or "-")])


def steps_html(steps: list[dict[str, Any]]) -> str:
    """Steps found in notebooks (``Step.to_dict()`` each)."""
    return table(["type", "name", "notebook", "cell"],
                 ([s["kind"], s["name"], s["notebook"], s["cell_id"]] for s in steps))


def why_html(d: dict[str, Any]) -> str:
    """Why a step would re-run (``Why.to_dict()``): its reasons and the code diff."""
    state = ("up to date", RUN_STATUS["up_to_date"]) if d["up_to_date"] else ("would run", BLUE)
    rows: list[tuple[str, Any]] = [("status", badge(*state)),
                                   ("notebook", Path(d["notebook"]).name),
                                   ("last successful run", d.get("last_run") or "-")]
    rows += [("reason", r) for r in d["reasons"]]
    body = card(f"Why {d['step']}", rows)
    if d.get("diff"):
        body += f"<pre style='font-size:12px'>{escape(d['diff'])}</pre>"
    return body
