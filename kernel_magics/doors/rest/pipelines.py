"""REST doors onto ``lh.pipelines``: steps, pipelines, schedules and runs.

``GET  steps?path=``                       steps under a folder or in a notebook
``GET  pipelines`` / ``POST pipelines``    list / create {name, steps, replace}
``GET  pipelines/<name>``                  one pipeline with its run order
``GET  schedules`` / ``POST schedules``    list / create {notebook, step | pipeline, cron, tz, ...}
``POST schedules/<id>/(pause|resume)``     ``DELETE schedules/<id>``
``GET  runs?status=&limit=`` / ``POST runs``  list / run now {notebook, step(s) | pipeline, params, window}
``GET  runs/<id>``, ``GET runs/<id>/output``, ``POST runs/<id>/(cancel|rerun)``
``GET  scheduler``                         the in-server scheduler's state
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tornado.web

from ...shared.errors import InvalidInput, NotFound
from ...shared.names import NAME_SEGMENT
from .base import LakebookHandler, inside, text_field, whole_number


def _server_root(handler: LakebookHandler) -> Path:
    root = handler.settings.get("server_root_dir") or "."
    return Path(root).expanduser().resolve()


def _path(handler: LakebookHandler, value: Any, field: str = "path") -> Path:
    """A path from a client (``field`` names where it came from): relative to the server's
    root; never outside it (symlinks followed)."""
    root = _server_root(handler)
    if value is not None and not isinstance(value, str) or isinstance(value, str) and \
            "\x00" in value:
        raise InvalidInput(f"{field} must be a path (a string), not {value!r:.60}.",
                           "Give a path relative to the folder JupyterLab shows.")
    p = Path(value or ".")
    full = (p if p.is_absolute() else root / p).resolve()
    if not inside(full, root):
        raise InvalidInput(f"{value} is outside the Jupyter server's folder.",
                           "Give a path relative to the folder JupyterLab shows.")
    return full


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"'{name}' must be true or false, not {value!r:.40}.")
    return value


def _skip(body: dict[str, Any]) -> bool:
    value = body.get("skip_up_to_date")
    if not isinstance(value, bool):
        raise InvalidInput(f"'skip_up_to_date' must be true or false, not {value!r:.40}.")
    return value


class StepsHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        path = _path(self, self.get_query_argument("path", "."))
        # a symlink under the root that points out of it is not followed
        steps = self.lh.pipelines.steps.list(path, within=_server_root(self))
        out = [s.to_dict() for s in steps]
        tails: list[dict] = []
        if self.get_query_argument("why", "0") in ("1", "true"):  # the sidebar's reasons
            for d, s in zip(out, steps):
                answer = self.lh.pipelines.why(s)
                d["up_to_date"], d["reasons"] = answer.up_to_date, answer.reasons
            # the cells after each notebook's last step: what a whole-notebook run re-runs
            for notebook in dict.fromkeys(s.notebook for s in steps):
                tail = self.lh.pipelines.steps.tail(notebook)
                if tail is not None:
                    answer = self.lh.pipelines.why(tail)
                    tails.append({"notebook": tail.notebook, "first_index": tail.args["first"],
                                  "index": tail.index, "ref": tail.ref,
                                  "up_to_date": answer.up_to_date, "reasons": answer.reasons})
        self.reply({"steps": out, "tails": tails})


class PipelinesHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.reply({"pipelines": [p.to_dict() for p in self.lh.pipelines.list()]})

    @tornado.web.authenticated
    def post(self) -> None:
        body = self.json_object()
        refs = body.get("steps") or []
        if not isinstance(refs, list):
            raise InvalidInput(f"'steps' must be a list, not {refs!r:.60}.",
                               'Send "steps": ["nb.ipynb::step", {"notebook": ..., "step": ...}].')
        steps = []
        for i, ref in enumerate(refs):
            if isinstance(ref, dict):
                step = text_field(ref, "step", required=True)
                steps.append({"notebook": str(_path(self, ref.get("notebook"),
                                                    f"steps[{i}].notebook")), "step": step})
            elif isinstance(ref, str):
                nb, _, name = ref.partition("::")
                where = f"steps[{i}]"
                steps.append(f"{_path(self, nb, where)}::{name}" if name
                             else str(_path(self, nb, where)))
            else:
                raise InvalidInput(f"steps[{i}] must be 'notebook::step' or an object, not "
                                   f"{ref!r:.60}.")
        p = self.lh.pipelines.create(text_field(body, "name") or "", steps=steps,
                                     replace=_flag(body, "replace"))
        self.reply(p.to_dict(), 201)


class PipelineHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        self.reply(self.lh.pipelines.get(name).to_dict())

    @tornado.web.authenticated
    def delete(self, name: str) -> None:
        self.lh.pipelines.delete(name)
        self.reply({"deleted": name})


def _number(body: dict, key: str, kind: type) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if kind is int:
        return whole_number(value, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InvalidInput(f"{key} must be a positive number of seconds, not {value!r:.60}.",
                           f"Send {key} as a number.")
    return float(value)


def _flag(body: dict, key: str) -> bool:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise InvalidInput(f"{key!r} must be true or false, not {value!r:.60}.")
    return bool(value)


def _params(body: dict) -> dict:
    value = body.get("params")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"'params' must be an object of parameter names to values, not "
                           f"{value!r:.60}.", 'E.g. "params": {"threshold": 0.5}.')
    return value


class SchedulesHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.reply({"schedules": [s.to_dict() for s in self.lh.pipelines.schedules.list()]})

    @tornado.web.authenticated
    def post(self) -> None:
        body = self.json_object()
        nb = body.get("notebook")
        s = self.lh.pipelines.schedules.create(
            notebook=str(_path(self, nb, "notebook")) if nb else None,
            step=text_field(body, "step"), pipeline=text_field(body, "pipeline"),
            cron=text_field(body, "cron") or "",
            tz=text_field(body, "tz") or text_field(body, "timezone") or "UTC",
            catchup=text_field(body, "catchup") or "latest", params=_params(body),
            timeout=_number(body, "timeout", float), retries=_number(body, "retries", int) or 0,
            name=text_field(body, "name"), kernel=text_field(body, "kernel"),
            skip_up_to_date=_skip(body) if "skip_up_to_date" in body else True,
            replace=True)  # a POST of a schedule that exists redefines it, as it always did
        self.reply(s.to_dict(), 201)


class ScheduleHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self, key: str) -> None:
        self.reply(self.lh.pipelines.schedules.get(key).to_dict())

    @tornado.web.authenticated
    def delete(self, key: str) -> None:
        self.lh.pipelines.schedules.delete(key)
        self.reply({"deleted": key})


class ScheduleActionHandler(LakebookHandler):
    @tornado.web.authenticated
    def post(self, key: str, action: str) -> None:
        schedules = self.lh.pipelines.schedules
        fn = schedules.pause if action == "pause" else schedules.resume
        self.reply(fn(key).to_dict())


class RunsHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        limit = self.int_argument("limit", 50)
        runs = self.lh.pipelines.runs.list(status=self.get_query_argument("status", None),
                                           limit=limit)
        self.reply({"runs": [r.to_dict() for r in runs]})

    @tornado.web.authenticated
    def post(self) -> None:
        """Run now: queued, then started by the in-server scheduler or a worker process."""
        body = self.json_object()
        if body.get("pipeline"):
            what: Any = text_field(body, "pipeline")
            step = None
        elif body.get("notebook"):
            what = str(_path(self, body["notebook"], "notebook"))
            step = body.get("steps") or text_field(body, "step")
            if isinstance(step, list) and all(isinstance(s, str) for s in step):
                pass
            elif step is not None and not isinstance(step, str):
                raise InvalidInput(f"'steps' must be a step name or a list of them, not "
                                   f"{step!r:.60}.")
        else:
            raise InvalidInput("A run needs a notebook or a pipeline.", "Send {\"notebook\": ..., \"step\": ...}.")
        window = body.get("window")
        if window is not None and not (isinstance(window, list) and len(window) == 2
                                       and all(isinstance(t, str) for t in window)):
            raise InvalidInput(f"'window' must be [start, end] as two ISO times, not "
                               f"{window!r:.60}.", 'E.g. "window": ["2024-05-01", "2024-05-02"].')
        run = self.lh.pipelines.submit(
            what, step=step, params=_params(body),
            window=tuple(window) if window is not None else None,
            timeout=_number(body, "timeout", float), retries=_number(body, "retries", int) or 0,
            kernel=text_field(body, "kernel"), force=_flag(body, "force"))
        self.lh.pipelines.dispatch(run.id)
        self.reply(run.to_dict(), 201)


class RunHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self, run_id: str) -> None:
        self.reply(self.lh.pipelines.runs.get(run_id).to_dict())


class RunOutputHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self, run_id: str) -> None:
        run = self.lh.pipelines.runs.get(run_id)
        text = self.lh.pipelines.runs.notebook(run_id)
        if self.get_query_argument("download", None):
            self.set_header("Content-Type", "application/x-ipynb+json")
            self.set_header("Content-Disposition", f'attachment; filename="{run_id}.ipynb"')
            self.finish(text)
            return
        self.reply({"run_id": run_id, "path": run.output_path, "notebook": json.loads(text)})


class RunActionHandler(LakebookHandler):
    @tornado.web.authenticated
    def post(self, run_id: str, action: str) -> None:
        if action == "cancel":
            self.reply(self.lh.pipelines.cancel(run_id).to_dict())
        else:
            self.reply(self.lh.pipelines.rerun(run_id).to_dict(), 201)


class SchedulerHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        from . import background
        self.reply(background.status())


ROUTES = [
    (r"steps/?", StepsHandler),
    (r"pipelines/?", PipelinesHandler),
    (rf"pipelines/{NAME_SEGMENT}/?", PipelineHandler),
    (r"schedules/?", SchedulesHandler),
    (r"schedules/([^/]+)/(pause|resume)/?", ScheduleActionHandler),
    (r"schedules/([^/]+)/?", ScheduleHandler),
    (r"runs/?", RunsHandler),
    (r"runs/([^/]+)/output/?", RunOutputHandler),
    (r"runs/([^/]+)/(cancel|rerun)/?", RunActionHandler),
    (r"runs/([^/]+)/?", RunHandler),
    (r"scheduler/?", SchedulerHandler),
]
