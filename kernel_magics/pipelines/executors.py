"""Executors: where a claimed run's papermill execution happens.

One interface (``free_slots``, ``submit``, ``poll``, ``cancel``, ``shutdown``), chosen by
``[scheduler] executor`` in lakebook.toml:

* ``LocalExecutor`` (default): a pool of at most ``concurrency`` worker processes on this
  machine, one per run (``python -m kernel_magics.pipelines.worker``). A worker runs in its own
  session, so a scheduler that stops (SIGTERM) lets in-flight runs finish, and a killed worker
  is noticed through its lapsed lease.
* ``DaskExecutor``: tasks on a Dask distributed cluster (``dask_address``); each task runs
  the same ``execute_run`` on a Dask worker. The task carries the lakehouse's settings (its
  catalog and storage), since a worker does not see the client's environment or
  lakebook.toml; with a team catalog and storage the workers share nothing else.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from ..shared.errors import InvalidInput
from ..shared.plugins import Registry

log = logging.getLogger("kernel_magics.pipelines")


class Executor(ABC):
    """Runs claimed runs somewhere; the scheduler only hands over as many as fit."""

    @abstractmethod
    def free_slots(self) -> int:
        """How many more runs can start now."""

    @abstractmethod
    def submit(self, run_id: str, claimed_by: str | None = None) -> None:
        """Start a run; ``claimed_by`` names the scheduler that claimed it (status running,
        lease held), else the worker claims the queued run itself."""

    def poll(self) -> None:
        """Forget finished work (called every tick)."""

    def running(self) -> list[str]:
        return []

    def cancel(self, run_id: str) -> bool:
        """Stop a run at once when this executor holds it (the run's own watcher is the
        usual path: it sees ``cancel_requested`` on its next heartbeat)."""
        return False

    def wait(self, timeout: float | None = None) -> None:
        """Block until submitted runs have finished."""

    def shutdown(self) -> None:
        """Stop taking work; in-flight runs keep going."""


def worker_command(home: Path, run_id: str, claimed_by: str | None = None) -> list[str]:
    extra = ["--claimed-by", claimed_by] if claimed_by else []
    return [sys.executable, "-m", "kernel_magics.pipelines.worker", "--home", str(home), *extra,
            run_id]


def spawn_worker(home: Path, run_id: str, log_dir: Path | None = None,
                 claimed_by: str | None = None) -> subprocess.Popen:
    """A worker process for one (already claimed) run, in its own session."""
    out: Any = subprocess.DEVNULL
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        out = open(log_dir / "worker.log", "ab")
    try:
        return subprocess.Popen(worker_command(home, run_id, claimed_by), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "LAKEBOOK_HOME": str(home)})
    finally:
        if out is not subprocess.DEVNULL:
            out.close()


class LocalExecutor(Executor):
    """A process pool of worker processes on this machine."""

    def __init__(self, lh: Any, concurrency: int | None = None) -> None:
        self.lh = lh
        self.concurrency = int(concurrency or lh.config.executor_concurrency or 1)
        if self.concurrency < 1:
            raise InvalidInput("The executor's concurrency must be at least 1.",
                               "Set [scheduler] concurrency = 2 in lakebook.toml.")
        self._procs: dict[str, subprocess.Popen] = {}

    def free_slots(self) -> int:
        self.poll()
        return max(0, self.concurrency - len(self._procs))

    def submit(self, run_id: str, claimed_by: str | None = None) -> None:
        self._procs[run_id] = spawn_worker(self.lh.home, run_id,
                                           self.lh.local_folder(f"runs/{run_id}"), claimed_by)

    def poll(self) -> None:
        for run_id, proc in list(self._procs.items()):
            if proc.poll() is not None:
                del self._procs[run_id]

    def running(self) -> list[str]:
        self.poll()
        return list(self._procs)

    def cancel(self, run_id: str) -> bool:
        proc = self._procs.get(run_id)
        if proc is None or proc.poll() is not None:
            return False
        os.killpg(proc.pid, signal.SIGTERM)
        return True

    def wait(self, timeout: float | None = None) -> None:
        for proc in list(self._procs.values()):
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.poll()

    def shutdown(self) -> None:
        self.poll()


def _dask_task(home: str, run_id: str, claimed_by: str | None,
               settings: dict[str, Any] | None = None, who: str | None = None) -> str:
    """Runs on a Dask worker: open the lakehouse with the submitter's settings (its catalog
    and storage: the worker's environment is not the client's) and execute the run."""
    from ..config import Config
    from ..lakehouse import Lakehouse, connect
    from .papermill_run import execute_run
    if settings is None:
        lh = connect(home, create=False)
    else:
        from ..config import CONFIG_FILE, write_settings
        Path(home).mkdir(parents=True, exist_ok=True)
        if not (Path(home) / CONFIG_FILE).exists():  # the run's kernels read it there
            write_settings(Path(home), settings)
        lh = Lakehouse(Path(home), Config(home=Path(home), **settings)).as_user(who)
    return execute_run(lh, run_id, claimed_by=claimed_by).status


class DaskExecutor(Executor):
    """Runs on a Dask distributed cluster at ``address`` (``[scheduler] dask_address``)."""

    def __init__(self, lh: Any, address: str | None = None, client: Any = None) -> None:
        self.lh = lh
        self.address = address or lh.config.dask_address
        if client is None:
            if not self.address:
                raise InvalidInput("The dask executor needs the scheduler's address.",
                                   'Set dask_address = "tcp://host:8786" under [scheduler] '
                                   "in lakebook.toml.")
            from distributed import Client
            try:
                client = Client(self.address, timeout=10)
            except OSError as exc:
                raise InvalidInput(f"Cannot reach the Dask scheduler at {self.address} ({exc}).",
                                   "Start it (`dask scheduler`) or fix dask_address.") from None
        self.client = client
        self._futures: dict[str, Any] = {}

    def _capacity(self) -> int:
        workers = self.client.scheduler_info().get("workers", {})
        return sum(int(w.get("nthreads", 1)) for w in workers.values())

    def free_slots(self) -> int:
        self.poll()
        return max(0, self._capacity() - len(self._futures))

    def submit(self, run_id: str, claimed_by: str | None = None) -> None:
        self._futures[run_id] = self.client.submit(
            _dask_task, str(self.lh.home), run_id, claimed_by, self.lh.config.settings(),
            self.lh.who, key=f"lakebook-run-{run_id}", pure=False)

    def poll(self) -> None:
        for run_id, fut in list(self._futures.items()):
            if fut.done():
                if fut.status == "error":  # execute_run records failures; this is the worker dying
                    log.error("dask task of run %s failed: %s", run_id, fut.exception())
                del self._futures[run_id]

    def running(self) -> list[str]:
        self.poll()
        return list(self._futures)

    def wait(self, timeout: float | None = None) -> None:
        from distributed import wait
        if self._futures:
            wait(list(self._futures.values()), timeout=timeout)
        self.poll()

    def shutdown(self) -> None:
        self.client.close()


#: where runs execute, chosen by ``[scheduler] executor`` in lakebook.toml
EXECUTORS: Registry[type[Executor]] = Registry("executor", "scheduler", "executor")
EXECUTORS.register("local", LocalExecutor)
EXECUTORS.register("dask", DaskExecutor)


def make_executor(lh: Any, kind: str | None = None) -> Executor:
    """The executor named ``kind`` (default: the configured one) for ``lh``."""
    return EXECUTORS.get(kind or lh.config.executor)(lh)
