"""Execute one run: papermill over the sliced copy, never the user's file.

The copy goes to ``runs/<run_id>/input.ipynb`` of the storage and the executed notebook to
``output.ipynb`` (``output-<n>-<notebook>.ipynb`` when a pipeline needs several kernels). A
``lakebook`` papermill engine adds what plain papermill lacks: per-cell progress written to
the run record, the kernel's environment (``LAKEBOOK_HOME``, ``LAKEBOOK_RUN_ID``), and a handle
on the kernel so a watcher thread can stop it on cancel or timeout. The watcher also keeps the
run's lease alive (heartbeat), which is how a dead worker is told from a slow one.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.exceptions import PapermillExecutionError
from papermill.utils import merge_kwargs, remove_args

from ..shared.errors import LakebookError
from . import records
from . import runs as R
from ..shared.times import parse_time
from .slicing import kernel_and_language, slice_notebook
from .targets import Stage, resolve

log = logging.getLogger("kernel_magics.pipelines")


class Watch:
    """The worker's companion thread: heartbeats, cancel requests, the run's timeout."""

    def __init__(self, lh: Any, run: R.Run, worker: str) -> None:
        self.lh, self.run, self.worker = lh, run, worker
        self.lease_s, self.interval = lh.config.lease_s, lh.config.heartbeat_seconds
        self.reason: str | None = None   # "cancelled" | "timed_out" once the kernel was stopped
        self.client: Any = None          # the running PapermillNotebookClient
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lakebook-watch-{run.id}",
                                        daemon=True)

    def __enter__(self) -> "Watch":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                cancel = records.heartbeat(self.lh.catalog, self.run.id, self.worker, self.lease_s)
            except Exception:  # a busy catalog must not kill the run; the next beat retries
                log.exception("heartbeat of run %s failed", self.run.id)
                continue
            if self.reason:
                continue
            if cancel:
                self.stop_kernel("cancelled")
            elif self.run.timeout_s and time.monotonic() - self.started > self.run.timeout_s:
                self.stop_kernel("timed_out")

    def stop_kernel(self, reason: str) -> None:
        self.reason = reason
        client = self.client
        km = getattr(client, "km", None)
        pid = getattr(getattr(km, "provisioner", None), "pid", None)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def check(self) -> None:
        """Between stages: stop before the next kernel when cancelled or out of time."""
        if self.reason:
            raise _Stopped()
        if self.run.timeout_s and time.monotonic() - self.started > self.run.timeout_s:
            self.reason = "timed_out"
            raise _Stopped()


class _Stopped(Exception):
    pass


class LakebookEngine(NBClientEngine):
    """papermill's nbclient engine plus progress hooks, kernel env and a kernel handle."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                 stderr_file=None, start_timeout=60, execution_timeout=None,
                                 **kwargs):
        watch: Watch | None = kwargs.pop("lakebook_watch", None)
        progress = kwargs.pop("lakebook_progress", None)
        env = kwargs.pop("lakebook_env", None)
        extra_arguments = kwargs.pop("lakebook_kernel_args", None)
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                             kernel_name=kernel_name, log=logging.getLogger("papermill"),
                             log_output=log_output, stdout_file=stdout_file,
                             stderr_file=stderr_file)
        if extra_arguments:
            final["extra_arguments"] = extra_arguments
        if progress is not None:
            final["on_cell_start"] = progress.cell_start
            final["on_cell_executed"] = progress.cell_done
        client = PapermillNotebookClient(nb_man, **final)
        if watch is not None:
            watch.client = client
            if watch.reason:  # cancelled while the previous stage ended
                raise _Stopped()
        return client.execute(**({"env": env} if env else {}))


papermill_engines.register("lakebook", LakebookEngine)


class Progress:
    """Per-cell progress of one stage, written to the run record (the sidebar reads it)."""

    def __init__(self, lh: Any, run_id: str, stage: int, stages: int, output: str,
                 outputs: list[str]) -> None:
        self.lh, self.run_id = lh, run_id
        self.state: dict[str, Any] = {"stage": stage, "stages": stages, "cell": None,
                                      "cells": None, "done": 0, "outputs": outputs}
        self.output = output

    def _write(self) -> None:
        try:
            records.set_progress(self.lh.catalog, self.run_id, self.state, self.output)
        except Exception:
            log.exception("progress of run %s not recorded", self.run_id)

    def cell_start(self, cell: Any, cell_index: int, **_: Any) -> None:
        nb_cells = getattr(self, "cells", None)
        self.state.update(cell=cell_index, cells=nb_cells,
                          source_index=cell.get("metadata", {}).get("lakebook", {}).get("source_index"))
        self._write()

    def cell_done(self, cell: Any, cell_index: int, **_: Any) -> None:
        self.state["done"] = cell_index + 1
        self._write()


def _error_from(exc: PapermillExecutionError, output: Path, stage: Stage) -> dict[str, Any]:
    """The user's cell (index in their notebook, id) behind an executed-cell error."""
    source_index, cell_id = None, None
    try:
        out_nb = nbformat.read(output, as_version=4)
        for cell in out_nb.cells:
            if any(o.get("output_type") == "error" for o in cell.get("outputs", []) or []):
                meta = cell.get("metadata", {}).get("lakebook", {})
                source_index = meta.get("source_index")
                cell_id = cell.get("id")
                break
    except Exception:
        pass
    return {"cell_index": source_index, "cell_id": cell_id, "executed_index": exc.cell_index,
            "ename": exc.ename, "evalue": exc.evalue, "traceback": list(exc.traceback or [])[-20:],
            "notebook": stage.notebook, "steps": stage.names}


def _window_text(value: str | None) -> str | None:
    dt = parse_time(value)
    return None if dt is None else dt.isoformat()


def run_parameters(run: R.Run, notebook: str) -> dict[str, Any]:
    """What the injected parameters cell sets (ISO strings for the window, UTC)."""
    return {**run.params, "lakebook_run_id": run.id, "lakebook_notebook": notebook,
            "window_start": _window_text(run.window_start),
            "window_end": _window_text(run.window_end)}


class _QuietLakebookParams(logging.Filter):
    """papermill warns about parameters a notebook does not declare, and about notebooks
    without a ``parameters`` cell (ours go at the top then); both are expected here."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if msg.startswith("Input notebook does not contain a cell with tag 'parameters'"):
            return False
        return not (msg.startswith("Passed unknown parameter: ")
                    and msg.split(": ", 1)[1] in ("lakebook_run_id", "lakebook_notebook",
                                                  "window_start", "window_end"))


logging.getLogger("papermill").addFilter(_QuietLakebookParams())


def execute_stages(lh: Any, run: R.Run, stages: list[Stage], watch: Watch | None,
                   planner: Any = None, on_start: Any = None) -> str | None:
    """Run each stage's sliced copy through papermill; returns the last output path (None:
    the ``planner`` found every step up to date, and no kernel was started). ``on_start`` is
    called once, before the first kernel starts."""
    import papermill as pm
    # papermill writes local files: made in a local folder (the run's own on a laptop, a
    # cache on a team) and kept in the storage's runs/<id>/, where every home reads them
    relative = f"runs/{run.id}"
    run_dir, kept = lh.local_folder(relative), lh.location(relative)
    outputs: list[str] = []
    last = None
    # the run's kernels write as the lakehouse's user (on a Dask worker: the submitter's)
    env = {**os.environ, "LAKEBOOK_HOME": str(lh.home), "LAKEBOOK_RUN_ID": run.id,
           "LAKEBOOK_USER": lh.who}
    for i, planned in enumerate(stages, start=1):
        if watch is not None:
            watch.check()
        # decided now, not at submit: an earlier stage of this run may have moved its inputs
        stage = planner.choose(planned) if planner is not None else planned
        if stage is None:
            continue
        if last is None:
            run_dir.mkdir(parents=True, exist_ok=True)
            if on_start is not None:
                on_start()
        nb = nbformat.read(stage.notebook, as_version=4)
        sliced = slice_notebook(nb, stage.steps, stage.skip)
        kernel, language = kernel_and_language(nb, run.kernel)
        suffix = "" if len(stages) == 1 else f"-{i}-{Path(stage.notebook).stem}"
        in_path, out_path = run_dir / f"input{suffix}.ipynb", run_dir / f"output{suffix}.ipynb"
        nbformat.write(sliced, in_path)
        last = (kept / out_path.name).uri
        outputs.append(last)
        progress = Progress(lh, run.id, i, len(stages), last, outputs)
        progress.cells = len(sliced.cells) + 1  # + the injected parameters cell
        try:
            _execute_stage(pm, lh, run, stage, in_path, out_path, kernel, language, watch,
                           progress, planner, env, last)
        finally:  # the run record is kept whatever happened to the stage
            lh.publish(relative, [p for p in (in_path, out_path) if p.exists()])
        if planner is not None:
            planner.succeeded(stage)
    return last


def _execute_stage(pm: Any, lh: Any, run: R.Run, stage: Stage, in_path: Path, out_path: Path,
                   kernel: str, language: str, watch: Watch | None, progress: Progress,
                   planner: Any, env: dict[str, str], last: str) -> None:
    """One stage through papermill (a kernel that died while starting is started again)."""
    for start_try in range(1, KERNEL_START_TRIES + 1):
        try:
            pm.execute_notebook(
                str(in_path), str(out_path), parameters=run_parameters(run, stage.notebook),
                engine_name="lakebook", kernel_name=kernel, language=language,
                progress_bar=False, cwd=str(Path(stage.notebook).parent),
                start_timeout=KERNEL_START_TIMEOUT_S,
                lakebook_watch=watch, lakebook_progress=progress,
                lakebook_env={**env, "JPY_SESSION_NAME": stage.notebook},
                lakebook_kernel_args=_quiet_kernel_args(language))
            break
        except PapermillExecutionError as exc:
            error = _error_from(exc, out_path, stage)
            if planner is not None:
                planner.failed(stage, error.get("cell_index"))
            raise _CellFailed(error, last) from None
        except RuntimeError as exc:
            # A kernel that died before answering, or never answered within the start
            # timeout (nbclient has shut it down), ran none of the user's code: typically
            # two kernels starting at once raced for the same free TCP port, or a machine
            # starting several kernels at once was too busy. Start it again rather than fail
            # the run. Anything else is the run's failure.
            if (not str(exc).startswith(_KERNEL_NEVER_ANSWERED)
                    or start_try == KERNEL_START_TRIES
                    or progress.state["cell"] is not None
                    or (watch is not None and watch.reason)):
                raise
            log.warning("run %s: kernel did not start (%s; try %d of %d); starting another",
                        run.id, exc, start_try, KERNEL_START_TRIES)
            time.sleep(0.5 * start_try)


KERNEL_START_TRIES = 3
#: seconds a starting kernel has to answer ``kernel_info`` (papermill's default)
KERNEL_START_TIMEOUT_S = 60
#: nbclient's errors for a kernel that never answered ``kernel_info``: it died first, or the
#: start timeout passed
_KERNEL_NEVER_ANSWERED = ("Kernel died before replying to kernel_info",
                          "Kernel didn't respond in")


def _quiet_kernel_args(language: str) -> list[str]:
    """ipykernel logs a warning about TCP on every start (kernels here listen on loopback
    only); a run's record is the notebook, so its kernel logs errors only."""
    return ["--IPKernelApp.log_level=ERROR"] if language == "python" else []


class _CellFailed(Exception):
    def __init__(self, error: dict[str, Any], output: str) -> None:
        super().__init__(error.get("evalue"))
        self.error, self.output = error, output


def execute_run(lh: Any, run_id: str, claimed_by: str | None = None,
                worker: str | None = None) -> R.Run:
    """Execute run ``run_id``: claim it (or take it over from ``claimed_by``, the scheduler
    that claimed it for us), run it, record the outcome.

    Never raises for a failure inside the notebook: the run record says what happened.
    """
    worker = worker or R.worker_name()
    lease_s = lh.config.lease_s
    if claimed_by is not None:
        if not records.take_over(lh.catalog, run_id, claimed_by, worker, lease_s):
            return R.get_run(lh, run_id)  # reaped or cancelled meanwhile
    elif not records.claim(lh.catalog, run_id, worker, lease_s):
        return R.get_run(lh, run_id)  # someone else has it, or it was cancelled
    run = R.get_run(lh, run_id)
    lh = lh.as_user(run.created_by)  # the run writes as whoever queued it
    status, error, output = "succeeded", None, None
    started: list[bool] = []

    def announce() -> None:  # OpenLineage START, once a kernel is about to run
        started.append(True)
        emit_run_event(lh, run, "START")

    with Watch(lh, run, worker) as watch:
        try:
            if run.target.get("monitor"):  # a monitor's schedule: no notebook to execute
                announce()
                status, error = _run_monitor(lh, run)
            else:
                from .incremental import Planner
                stages = resolve(lh, run.target)
                output = execute_stages(lh, run, stages, watch, Planner(lh, run), announce)
                if output is None:
                    status = "up_to_date"
        except _CellFailed as exc:
            status, error, output = "failed", exc.error, exc.output
        except LakebookError as exc:
            status, error = "failed", {"cell_index": None, "ename": type(exc).__name__,
                                       "evalue": str(exc)}
        except BaseException as exc:  # dead kernel, stopped, anything else: recorded, not raised
            if watch.reason:
                status = watch.reason
                error = {"cell_index": watch.client and _current_cell(lh, run_id),
                         "ename": "Cancelled" if status == "cancelled" else "Timeout",
                         "evalue": ("cancelled on request" if status == "cancelled" else
                                    f"the run took longer than its timeout of {run.timeout_s}s")}
            else:
                status, error = "failed", {"cell_index": None, "ename": type(exc).__name__,
                                           "evalue": str(exc)}
                log.exception("run %s failed outside the notebook", run_id)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                records.finish(lh.catalog, run_id, "cancelled", error, output)
                raise
    _, retry = records.finish(lh.catalog, run_id, status, error, output)
    lh.catalog.record_event(f"run.{status}", run_id, {"retry": retry, "worker": worker})
    if started:
        from ..lineage.openlineage import FINAL_STATES
        reads, writes = lh.lineage.run_io(run_id)
        emit_run_event(lh, run, FINAL_STATES.get(status, "OTHER"), reads, writes, error)
    return R.get_run(lh, run_id)


def emit_run_event(lh: Any, run: R.Run, state: str, reads: list | None = None,
                   writes: list | None = None, error: dict | None = None) -> None:
    from ..lineage.openlineage import emit_run_event as emit
    emit(lh, run, state, reads, writes, error)


def _run_monitor(lh: Any, run: R.Run) -> tuple[str, dict[str, Any] | None]:
    """Run target ``{"monitor": name}``: the monitor records its own result (it never raises
    for bad data); the run mirrors it — skipped and failed results carry their reason."""
    result = lh.monitoring.run(run.target["monitor"], run_id=run.id, now=run.window_end)
    if result.status in ("skipped", "failed"):
        return result.status, {"cell_index": None, "ename": f"Monitor{result.status.title()}",
                               "evalue": result.reason or result.status}
    return "succeeded", None


def _current_cell(lh: Any, run_id: str) -> int | None:
    return R.get_run(lh, run_id).progress.get("source_index")
