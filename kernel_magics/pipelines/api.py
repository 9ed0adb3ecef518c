"""``lh.pipelines``: steps, pipelines, runs and schedules — the one API every door uses.

Pipelines are got and listed on ``lh.pipelines`` itself (``get``, ``list``, ``create``,
``delete``); the other kinds each have their collection with the same verbs:
``lh.pipelines.steps``, ``lh.pipelines.runs`` and ``lh.pipelines.schedules``."""
from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

from ..catalog import Duplicate
from ..shared.durations import parse_duration
from ..shared.errors import AlreadyExists, InvalidInput, NotFound
from ..shared.names import validate_name
from ..shared.record import Record
from . import records
from . import runs as R
from ..shared.times import catalog_time, parse_time, utcnow
from . import cron as S
from .steps import TAIL_KIND, TAIL_NAME, Step, discover, notebook_steps, notebook_tail
from .targets import match_step, validate

StepLike = Any  # Step | "nb.ipynb::name" | "nb.ipynb" | pipeline name | list of those
Why = Any        # incremental.Why (imported when asked for)


class Pipeline(Record):
    """A named pipeline. From :meth:`Pipelines.get` / ``create``: ``name``, ``steps`` (each
    step's description, in run order), ``stages`` (the notebooks run one after another),
    ``created_at``, ``updated_at``; from :meth:`Pipelines.list`: ``name``, ``steps`` (their
    references), ``updated_at``."""

    noun = "pipeline"


class Steps:
    """``lh.pipelines.steps``: the ``%%feature``/``%%training``/``%%inference`` cells of
    notebooks (read with nbformat; no kernel is started)."""

    def get(self, name: str, notebook: str | Path | None = None) -> Step:
        """The step called ``name`` (or ``kind:name``), in ``notebook`` or under the current
        folder."""
        if notebook is not None:
            return match_step(notebook_steps(notebook), name, str(notebook))
        kind, _, bare = name.rpartition(":") if ":" in name else ("", "", name)
        found = [s for s in discover(".") if s.name == bare and (not kind or s.kind == kind)]
        if not found:
            raise NotFound(f"No step {name!r} in the notebooks under {Path.cwd()}.",
                           "Pass notebook=... or check the name after the %%magic.")
        if len(found) > 1:
            where = ", ".join(f"{Path(s.notebook).name} ({s.kind})" for s in found)
            raise InvalidInput(f"Step {name!r} is in several notebooks: {where}.",
                               "Pass notebook=... to say which.")
        return found[0]

    def list(self, path: str | Path = ".", within: str | Path | None = None) -> list[Step]:
        """Every step in a notebook or folder. ``within``: only notebooks whose real path is
        inside that folder (symlinks out of it are not followed)."""
        return discover(path, within=None if within is None else Path(within))

    def tail(self, notebook: str | Path) -> Step | None:
        """The code cells after ``notebook``'s last step (``NOTEBOOK::cells:tail``): a run of
        the whole notebook executes and fingerprints them, a run of chosen steps does not;
        None when there are none."""
        return notebook_tail(notebook)


class Runs:
    """``lh.pipelines.runs``: runs, newest first."""

    def __init__(self, lh: Any) -> None:
        self.lh = lh

    def get(self, run_id: str) -> R.Run:
        """Run ``run_id`` (NotFound when there is none)."""
        return R.get_run(self.lh, run_id)

    def list(self, status: str | None = None, limit: int = 50,
             schedule: Any = None) -> list[R.Run]:
        """Runs, newest first (of one ``status``, of one ``schedule``)."""
        schedule_id = None if schedule is None else self.lh.pipelines.schedules.get(schedule).id
        return R.list_runs(self.lh, status=status, limit=limit, schedule_id=schedule_id)

    def notebook(self, run_id: str) -> str:
        """The executed notebook of run ``run_id`` (its JSON text), read from the
        lakehouse's storage, where every home of a team finds it; NotFound while the run
        has none (or what it records is not among the lakehouse's run records)."""
        run = self.get(run_id)
        found = self.lh.storage.find(run.output_path, "runs")
        if found is None and run.output_path:
            raise NotFound(f"The executed notebook of run {run_id} is not in the lakehouse.",
                           "Only notebooks under its runs/ folder are served.")
        try:
            if found is not None:
                return found.read_text()
        except FileNotFoundError:
            pass
        raise NotFound(f"Run {run_id} has no executed notebook yet (status {run.status}).",
                       "Wait until it has started, then ask again.")

    def statuses(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        """``{run id: {status, target, started_at, finished_at}}`` of several runs at once."""
        return records.run_statuses(self.lh.catalog, list(run_ids))


class Schedules:
    """``lh.pipelines.schedules``: the schedules of steps, pipelines and monitors: create,
    get, list, pause, resume and delete them."""

    def __init__(self, lh: Any) -> None:
        self.lh = lh

    def get(self, name_or_id: Any) -> S.Schedule:
        """The schedule named ``name_or_id`` (or with that id); NotFound when there is none."""
        if isinstance(name_or_id, S.Schedule):
            name_or_id = name_or_id.id
        key = str(name_or_id)
        row = records.schedule_row(self.lh.catalog, key)
        if row is None:
            raise NotFound(f"No schedule {name_or_id!r}.",
                           "List them with lh.pipelines.schedules.list().")
        return S.Schedule.from_row(row)

    def list(self) -> list[S.Schedule]:
        """Every schedule."""
        return [S.Schedule.from_row(r) for r in records.schedule_rows(self.lh.catalog)]

    def create(self, notebook: str | Path | None = None, step: str | None = None,
               cron: str = "", tz: str = "UTC", catchup: str = "latest",
               params: dict[str, Any] | None = None, timeout: float | None = None,
               retries: int = 0, name: str | None = None, pipeline: str | None = None,
               backoff: float = 30.0, kernel: str | None = None,
               skip_up_to_date: bool = True, replace: bool = False) -> S.Schedule:
        """Create a schedule of a step, notebook or pipeline: :class:`AlreadyExists` when
        one has that ``name`` (default: from the notebook and steps, or ``pipeline-<name>``),
        unless ``replace=True`` redefines it (its windows start over).

        The cron expression (5 fields) is read in ``tz``; each run gets the window from the
        previous fire time to its own. Everything is checked before the schedule is saved.
        ``skip_up_to_date=False``: its runs execute every step even when up to date.
        """
        cron = S.check_cron(cron)
        tz = str(S.check_timezone(tz))
        S.check_catchup(catchup)
        if pipeline:
            target = {"pipeline": pipeline}
        elif notebook is not None:
            target = self.lh.pipelines.target(str(notebook), step)
        elif step is not None:
            target = self.lh.pipelines.target(step)
        else:
            raise InvalidInput("A schedule needs a notebook (and step) or a pipeline.",
                               "E.g. lh.pipelines.schedules.create(notebook='fti.ipynb', step='transactions', cron='0 * * * *').")
        params = dict(params or {})
        validate(self.lh, target, params, kernel)
        if int(retries) < 0 or (timeout is not None and float(timeout) <= 0):
            raise InvalidInput("retries must be >= 0 and timeout positive.", "E.g. retries=2, timeout=600.")
        if name is None:
            if target.get("pipeline"):
                name = f"pipeline-{target['pipeline']}"
            else:
                stem = Path(target["notebook"]).stem
                steps = target.get("steps")
                name = f"{stem}-{'-'.join(s.split(':')[-1] for s in steps)}" if steps else stem
        try:
            records.save_schedule(self.lh.catalog, name, target, cron, tz, catchup, params,
                                  timeout, int(retries), float(backoff), kernel,
                                  S.initial_next_run(cron, tz),
                                  skip_up_to_date=bool(skip_up_to_date), replace=replace)
        except Duplicate:
            raise AlreadyExists(f"Schedule {name!r} exists already.",
                                f"See it with lh.pipelines.schedules.get({name!r}); pass "
                                "replace=True to redefine it, or another name=.") from None
        self.lh.catalog.record_event("schedule.save", name, {"cron": cron, "tz": tz, "target": target})
        return self.get(name)

    def keep(self, name: str, target: dict[str, Any], cron: str | None,
             tz: str = "UTC") -> S.Schedule | None:
        """The schedule another area keeps for one of its objects (a monitor's
        ``monitor-<name>``, target ``{"monitor": name}``): created or re-timed to ``cron``
        (read in ``tz``) and resumed; deleted, with its queued runs, when ``cron`` is None."""
        if cron is None:
            records.delete_schedule_named(self.lh.catalog, name)
            return None
        cron = S.check_cron(cron)
        tz = str(S.check_timezone(tz))
        records.save_owned_schedule(self.lh.catalog, name, target, cron, tz,
                                    S.initial_next_run(cron, tz))
        return self.get(name)

    def ensure(self, step: str, cron: str, tz: str | None = None,
               notebook: str | None = None, run_id: str | None = None) -> S.Schedule | None:
        """The schedule of ``step`` as its own magic line asks (``--schedule CRON --tz TZ``,
        the tz UTC by default) in ``notebook``, the notebook the step's kernel runs: created,
        or redefined when it exists (idempotent by design: the cell runs again). Inside a
        run (``run_id``) nothing is done and None is answered: the run was started by that
        schedule, which must not be re-created by its own runs."""
        if run_id:
            return None
        if not notebook:
            raise InvalidInput(f"Cannot schedule step {step!r}: this kernel does not know its "
                               "notebook path.", "Save the notebook in JupyterLab, or create the "
                               "schedule with lh.pipelines.schedules.create(...).")
        return self.create(notebook=notebook, step=step, cron=cron, tz=tz or "UTC",
                           replace=True)

    def pause(self, name_or_id: Any) -> S.Schedule:
        """Pause a schedule (its runs already queued still run)."""
        s = self.get(name_or_id)
        records.pause_schedule(self.lh.catalog, s.id)
        return self.get(s.id)

    def resume(self, name_or_id: Any) -> S.Schedule:
        """Resume a paused schedule from now on (windows missed while paused are not run)."""
        s = self.get(name_or_id)
        records.resume_schedule(self.lh.catalog, s.id, S.initial_next_run(s.cron, s.timezone))
        return self.get(s.id)

    def delete(self, name_or_id: Any) -> None:
        """Delete a schedule (NotFound when there is none); its past runs stay."""
        s = self.get(name_or_id)
        records.delete_schedule(self.lh.catalog, s.id)
        self.lh.catalog.record_event("schedule.delete", s.name, {})


class Pipelines:
    """Steps found in notebooks, named pipelines, runs and schedules of one lakehouse."""

    def __init__(self, lh: Any) -> None:
        self.lh = lh

    @cached_property
    def steps(self) -> Steps:
        """The steps of notebooks: ``steps.get(name, notebook)``, ``steps.list(path)``."""
        return Steps()

    @cached_property
    def runs(self) -> Runs:
        """The runs: ``runs.get(id)``, ``runs.list(status=...)``."""
        return Runs(self.lh)

    @cached_property
    def schedules(self) -> Schedules:
        """The schedules: ``schedules.create(...)``, ``get(name_or_id)``, ``list()``,
        ``delete(name_or_id)``."""
        return Schedules(self.lh)


    # -- pipelines ---------------------------------------------------------------------------
    def _step_refs(self, steps: Iterable[StepLike]) -> list[dict[str, str]]:
        refs: list[dict[str, str]] = []
        for item in steps:
            if isinstance(item, Step):
                refs.append({"notebook": item.notebook, "step": f"{item.kind}:{item.name}"})
            elif isinstance(item, dict):
                refs.append({"notebook": str(Path(item["notebook"]).resolve()), "step": item["step"]})
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                refs.append({"notebook": str(Path(item[0]).resolve()), "step": str(item[1])})
            elif isinstance(item, (str, Path)) and "::" in str(item):
                nb, _, name = str(item).partition("::")
                refs.append({"notebook": str(Path(nb).resolve()), "step": name})
            elif isinstance(item, (str, Path)) and (str(item).endswith(".ipynb") or Path(item).is_dir()):
                refs += [{"notebook": s.notebook, "step": f"{s.kind}:{s.name}"}
                         for s in discover(item)]
            elif isinstance(item, str):
                s = self.steps.get(item)
                refs.append({"notebook": s.notebook, "step": f"{s.kind}:{s.name}"})
            else:
                raise InvalidInput(f"{item!r} does not name a step.",
                                   "Use a Step, 'notebook.ipynb::name' or (notebook, name).")
        for ref in refs:  # every step must exist now, not at 3 a.m.
            match_step(notebook_steps(ref["notebook"]), ref["step"], ref["notebook"])
        return refs

    def create(self, name: str, steps: Iterable[StepLike], replace: bool = False) -> Pipeline:
        """A named pipeline of steps; runs order them by their data dependencies."""
        validate_name(name, "pipeline")
        refs = self._step_refs(steps)
        if not refs:
            raise InvalidInput(f"Pipeline {name!r} has no steps.", "Pass at least one step.")
        if not records.save_pipeline(self.lh.catalog, name, refs, replace):
            raise AlreadyExists(f"Pipeline {name!r} exists already.", "Pass replace=True to redefine it.")
        return self.get(name)

    def get(self, name: str) -> Pipeline:
        """A pipeline with its steps in run order."""
        from .targets import stages_of, pipeline_steps
        row = records.pipeline_row(self.lh.catalog, name)
        if row is None:
            raise NotFound(f"No pipeline {name!r}.", "Create it with lh.pipelines.create(name, steps=[...]).")
        stages = stages_of(pipeline_steps(self.lh, name), self.lh)
        return Pipeline({
            "name": name, "created_at": row["created_at"], "updated_at": row["updated_at"],
            "steps": [s.to_dict() for st in stages for s in (st.steps or [])],
            "stages": [{"notebook": st.notebook, "steps": st.names} for st in stages]})

    def list(self) -> list[Pipeline]:
        """Every named pipeline, with its step references."""
        return [Pipeline({"name": r["name"], "steps": r["steps"], "updated_at": r["updated_at"]})
                for r in records.pipeline_rows(self.lh.catalog)]

    def delete(self, name: str) -> None:
        """Delete pipeline ``name`` (NotFound when there is none); its runs stay."""
        self.get(name)
        records.delete_pipeline(self.lh.catalog, name)

    # -- targets -----------------------------------------------------------------------------
    def target(self, what: StepLike, step: str | None = None) -> dict[str, Any]:
        """The catalog form of what a run or schedule executes."""
        if isinstance(what, Step):
            return {"notebook": what.notebook, "steps": [f"{what.kind}:{what.name}"]}
        if isinstance(what, (list, tuple)) and what and all(isinstance(s, Step) for s in what):
            notebooks = {s.notebook for s in what}
            if len(notebooks) == 1:
                return {"notebook": what[0].notebook, "steps": [f"{s.kind}:{s.name}" for s in what]}
            raise InvalidInput("Steps of several notebooks form a pipeline.",
                               "Create one with lh.pipelines.create(name, steps=[...]) and run it.")
        text = str(what)
        if "::" in text:
            nb, _, name = text.partition("::")
            return {"notebook": str(Path(nb).resolve()), "steps": [name]}
        if text.endswith(".ipynb") or Path(text).is_file():
            steps = [step] if isinstance(step, str) else (list(step) if step else None)
            return {"notebook": str(Path(text).resolve()), "steps": steps}
        if records.pipeline_row(self.lh.catalog, text) is not None:
            return {"pipeline": text}
        s = self.steps.get(text)
        return {"notebook": s.notebook, "steps": [f"{s.kind}:{s.name}"]}

    @staticmethod
    def _window(window: Any) -> tuple[str | None, str | None]:
        if window is None:
            return None, None
        try:
            start, end = window
        except (TypeError, ValueError):
            raise InvalidInput("window must be a (start, end) pair.", "E.g. window=('2024-05-01', '2024-05-02').") from None
        s, e = parse_time(start, "window start"), parse_time(end, "window end")
        if s and e and e <= s:
            raise InvalidInput(f"The window ends ({e}) before it starts ({s}).", "Swap start and end.")
        return catalog_time(s), catalog_time(e)

    # -- runs --------------------------------------------------------------------------------
    def submit(self, what: StepLike, params: dict[str, Any] | None = None, window: Any = None,
               timeout: float | None = None, retries: int = 0, backoff: float = 30.0,
               kernel: str | None = None, step: str | None = None, force: bool = False,
               resume_of: str | None = None) -> R.Run:
        """Validate and queue a run (no execution); raises before queuing on bad input."""
        target = what if isinstance(what, dict) and what.get("ordered") else \
            self.target(what, step)
        params = dict(params or {})
        validate(self.lh, target, params, kernel)
        if timeout is not None and float(timeout) <= 0:
            raise InvalidInput(f"timeout must be positive seconds, not {timeout!r}.", "E.g. timeout=600.")
        if int(retries) < 0:
            raise InvalidInput("retries cannot be negative.", "Use 0 for no retries.")
        ws, we = self._window(window)
        rid = records.add_run(self.lh.catalog, target=target, params=params, window_start=ws,
                              window_end=we, timeout_s=timeout, retries=int(retries),
                              backoff_s=float(backoff), kernel=kernel, force=bool(force),
                              resume_of=resume_of)
        return R.get_run(self.lh, rid)

    def run(self, what: StepLike, params: dict[str, Any] | None = None, window: Any = None,
            wait: bool = True, timeout: float | None = None, retries: int = 0,
            backoff: float = 30.0, kernel: str | None = None, step: str | None = None,
            force: bool = False) -> R.Run:
        """Run a step, a notebook's steps, a whole notebook or a pipeline with papermill.

        A step whose fingerprint (code, parameters, window, input versions, packages) equals
        its last successful run's is skipped; when every step is, the run ends
        ``up_to_date`` without starting a kernel. ``force=True`` runs them anyway.
        ``wait=True`` executes here and returns the final attempt (retries included);
        ``wait=False`` starts a worker process and returns the queued run at once.
        """
        run = self.submit(what, params=params, window=window, timeout=timeout, retries=retries,
                          backoff=backoff, kernel=kernel, step=step, force=force)
        if not wait:
            self.start_worker(run.id)
            return run
        return self.execute_here(run.id)

    def execute_here(self, run_id: str) -> R.Run:
        """Execute a queued run in this process, following its retries to the end."""
        from .papermill_run import execute_run
        current = R.get_run(self.lh, run_id)
        while True:
            if current.status == "queued":
                if current.not_before:
                    delay = (parse_time(current.not_before) - utcnow()).total_seconds()
                    if delay > 0:
                        time.sleep(delay)
                current = execute_run(self.lh, current.id)
            if current.status == "running":  # another process claimed it: wait for that one
                current = current.wait()
            nxt = current.latest()
            if nxt.id == current.id:
                return current
            current = nxt

    def dispatch(self, run_id: str) -> None:
        """Start queued run ``run_id`` now: the scheduler running in this process (the
        Jupyter server's) takes it on a tick woken for it, else a worker process of its own
        executes it."""
        from .scheduler import running_scheduler
        scheduler = running_scheduler(self.lh.home)
        if scheduler is None:
            self.start_worker(run_id)
        else:
            scheduler.wake()

    def start_worker(self, run_id: str) -> None:
        """Execute a queued run in a worker process of its own (``wait=False``)."""
        from .executors import spawn_worker
        spawn_worker(self.lh.home, run_id, self.lh.local_folder(f"runs/{run_id}"))

    def backfill(self, step: StepLike, start: Any, end: Any, every: str | timedelta = "1d",
                 params: dict[str, Any] | None = None, notebook: str | None = None,
                 timeout: float | None = None, retries: int = 0) -> list[R.Run]:
        """Run ``step`` over the past windows [start, start+every), … up to ``end``, in order."""
        s, e = parse_time(start, "start"), parse_time(end, "end")
        if s is None or e is None or e <= s:
            raise InvalidInput(f"The backfill range {start} .. {end} is empty.", "Give end after start.")
        delta = parse_duration(every, "window length")
        what = f"{notebook}::{step}" if notebook and isinstance(step, str) else step
        windows = []
        t = s
        while t < e:
            windows.append((t, min(t + delta, e)))
            t += delta
        if len(windows) > 10_000:
            raise InvalidInput(f"The backfill has {len(windows)} windows.", "Use a longer --every.")
        queued = [self.submit(what, params=params, window=w, timeout=timeout, retries=retries)
                  for w in windows]
        return [self.execute_here(r.id) for r in queued]

    def cancel(self, run_id: str) -> R.Run:
        """Cancel a queued or running run (a running one stops within a heartbeat)."""
        return R.request_cancel(self.lh, run_id)

    def rerun(self, run_id: str, wait: bool = False) -> R.Run:
        """A new run with the same target, parameters and window as ``run_id``, executed
        even when its steps are up to date (asking again is asking to run)."""
        old = R.get_run(self.lh, run_id)
        validate(self.lh, old.target, old.params, old.kernel)
        rid = records.add_run(self.lh.catalog, target=old.target, params=old.params,
                              window_start=old.window_start, window_end=old.window_end,
                              timeout_s=old.timeout_s, retries=old.max_attempts - 1,
                              backoff_s=old.backoff_s, kernel=old.kernel, force=True)
        if wait:
            return self.execute_here(rid)
        self.start_worker(rid)
        return R.get_run(self.lh, rid)

    def resume_run(self, run: Any = None, wait: bool = True, what: StepLike = None) -> R.Run:
        """Re-run a failed run (``run``: its id or the Run; default the last failed run of
        ``what``) with its parameters and window, skipping the steps that succeeded in it
        whose fingerprints still match."""
        if run is None:
            if what is None:
                raise InvalidInput("Say which run to resume.",
                                   "Pass the run id, or what= the step or notebook it ran.")
            target = self.target(what)
            failed = [r for r in R.list_runs(self.lh, status=None, limit=500)
                      if r.target == target and r.status in ("failed", "timed_out", "cancelled")]
            if not failed:
                raise NotFound(f"No failed run of {what} to resume.",
                               "List runs with lh.pipelines.runs.list(status='failed').")
            old = failed[0]
        else:
            old = R.get_run(self.lh, getattr(run, "id", run))
        if old.status not in ("failed", "timed_out", "cancelled"):
            raise InvalidInput(f"Run {old.id} {old.status.replace('_', ' ')}; only a failed run "
                               "is resumed.", "Run it again with lh.pipelines.run(...).")
        validate(self.lh, old.target, old.params, old.kernel)
        rid = records.add_run(self.lh.catalog, target=old.target, params=old.params,
                              window_start=old.window_start, window_end=old.window_end,
                              timeout_s=old.timeout_s, retries=old.max_attempts - 1,
                              backoff_s=old.backoff_s, kernel=old.kernel, force=old.force,
                              resume_of=old.retry_of or old.id if old.attempt == 1 else old.id)
        if wait:
            return self.execute_here(rid)
        self.start_worker(rid)
        return R.get_run(self.lh, rid)

    # -- incremental -------------------------------------------------------------------------
    def _one_step(self, step: StepLike) -> Step:
        if isinstance(step, Step):
            return step
        text = str(step)
        if "::" in text:
            nb, _, name = text.partition("::")
            if name == f"{TAIL_KIND}:{TAIL_NAME}":  # the cells after the notebook's last step
                tail = self.steps.tail(nb)
                if tail is None:
                    raise NotFound(f"{Path(nb).name} has no code after its last step.",
                                   "cells:tail names the cells after a notebook's last step.")
                return tail
            return match_step(notebook_steps(nb), name, nb)
        return self.steps.get(text)

    def why(self, step: StepLike, params: dict[str, Any] | None = None,
            window: Any = None) -> "Why":
        """What changed since ``step``'s last successful run (for a run now with ``params``
        and ``window``): code lines (a unified diff), inputs that moved (with the rows
        added), models, parameters, the window, packages."""
        from .incremental import why
        return why(self.lh, self._one_step(step), params, self._window(window))

    def fingerprint(self, step: StepLike, params: dict[str, Any] | None = None,
                    window: Any = None) -> str:
        """The fingerprint ``step`` would have in a run now."""
        from .incremental import decide
        return decide(self.lh, self._one_step(step), params, self._window(window)).fingerprint

    def stale(self) -> list[dict[str, Any]]:
        """Steps, views, training sets, models and deployments now behind the data they
        were made from (trained on or reading older versions), each with its reason."""
        return self.lh.lineage.stale()

    def downstream(self, step: StepLike) -> list[dict[str, str]]:
        """``step`` and the steps after it in dependency order across notebooks, from the
        lineage graph (``[{"notebook", "step"}]``); a cycle is refused, naming it."""
        from .incremental import downstream_steps
        return downstream_steps(self.lh, self._one_step(step))

    def run_downstream(self, step: StepLike, params: dict[str, Any] | None = None,
                       window: Any = None, force: bool = False, wait: bool = True) -> R.Run:
        """Run ``step`` and the steps after it (:meth:`downstream`) in one run; the ones up
        to date are skipped."""
        order = self.downstream(step)
        return self.run({"ordered": order}, params=params, window=window, force=force,
                        wait=wait)

    def reap(self) -> list[str]:
        """Mark runs whose worker died failed (and retry them per their policy)."""
        return R.reap_stale(self.lh)

    def count(self) -> dict[str, int]:
        """How many schedules and runs there are."""
        return records.counts(self.lh.catalog)

    def scheduler(self, **kwargs: Any):
        """A :class:`~kernel_magics.pipelines.scheduler.Scheduler` for this lakehouse."""
        from .scheduler import Scheduler
        return Scheduler(self.lh, **kwargs)
