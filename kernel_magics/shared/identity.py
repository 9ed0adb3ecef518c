"""Who and where: the identity Lakebook records as lineage with every write — the notebook and
cell being run (in a kernel), the run (in a scheduled run), the user and host, and for a marked
cell its code hash and step."""
from __future__ import annotations

import getpass
import hashlib
import os
import socket
from contextlib import contextmanager
from typing import Any, Iterator

_current_cell_id: str | None = None
#: the marked cell being run in this process: {"step": "kind:name", "code_hash", "reads"}
_current_step: dict[str, Any] | None = None


def remember_cell_id(info: Any) -> None:
    """IPython ``pre_run_cell`` hook: keep the id of the cell being run (ipykernel sends it)."""
    global _current_cell_id
    _current_cell_id = getattr(info, "cell_id", None)


def current_cell_id() -> str | None:
    return _current_cell_id


@contextmanager
def running_step(kind: str, name: str, code: str,
                 reads: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """While a step cell runs, every read and write it makes (through any API call) is
    recorded against that step. ``reads``: inputs the magic line declared (``--reads``)."""
    global _current_step
    previous = _current_step
    _current_step = {"step": f"{kind}:{name}", "code_hash": code_hash(code),
                     "reads": list(reads or [])}
    try:
        yield _current_step
    finally:
        _current_step = previous


def current_step() -> dict[str, Any] | None:
    """The step cell being run in this process (None outside one)."""
    return _current_step


def code_hash(code: str) -> str:
    """A stable hash of a cell's code (whitespace at the ends ignored)."""
    return hashlib.sha256(code.strip().encode()).hexdigest()[:16]


def notebook_path(namespace: dict[str, Any] | None = None) -> str | None:
    """The notebook this kernel runs: papermill runs inject ``lakebook_notebook``; Jupyter
    sets ``JPY_SESSION_NAME`` for its kernels."""
    if namespace and namespace.get("lakebook_notebook"):
        return str(namespace["lakebook_notebook"])
    return os.environ.get("JPY_SESSION_NAME") or None


def step_identity(code: str, namespace: dict[str, Any] | None = None,
                  step: str | None = None) -> dict[str, Any]:
    """Lineage of a step: where the code came from and which run executed it."""
    return {**caller_identity(namespace), "code_hash": code_hash(code), "step": step}


def caller_identity(namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Lineage known without a marked cell: the notebook and cell being run (in a kernel),
    the run (in a scheduled run), who and where. Plain API calls record this."""
    ns = namespace or {}
    step = _current_step or {}
    return {
        "notebook": notebook_path(ns),
        "cell_id": current_cell_id(),
        "run_id": ns.get("lakebook_run_id") or os.environ.get("LAKEBOOK_RUN_ID"),
        "user": user_name(),
        "host": _host(),
        "step": step.get("step"),
        "code_hash": step.get("code_hash"),
    }


_HOST: str | None = None


def _host() -> str:
    global _HOST
    if _HOST is None:
        _HOST = socket.gethostname()
    return _HOST


def user_name() -> str:
    """Who this process writes as: ``LAKEBOOK_USER``, else the OS user. (The Jupyter server
    extension passes each signed-in user explicitly instead: ``Lakehouse.as_user``.)"""
    if os.environ.get("LAKEBOOK_USER"):
        return os.environ["LAKEBOOK_USER"]
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER", "unknown")
