"""The scheduler inside the Jupyter server: a daemon thread ticking ``Scheduler`` for the
server's lakehouse, stopped when the server shuts down.

Set ``LAKEBOOK_SCHEDULER=0`` to leave it off (e.g. when a standalone ``lakebook scheduler``
runs, or in tests that start servers for other reasons). Several servers and standalone
schedulers may run against one lakehouse: the catalog makes each due run start once.
"""
from __future__ import annotations

import atexit
import os
import threading
from typing import Any

_scheduler: Any = None
_thread: threading.Thread | None = None


def enabled() -> bool:
    return os.environ.get("LAKEBOOK_SCHEDULER", "1").strip().lower() not in ("0", "false", "no", "off")


def start(server_app: Any) -> None:
    """Start the in-server scheduler (idempotent)."""
    global _scheduler, _thread
    if not enabled():
        server_app.log.info("Lakebook: in-server scheduler disabled (LAKEBOOK_SCHEDULER=0)")
        return
    if _thread is not None and _thread.is_alive():
        return
    from ...pipelines.scheduler import Scheduler
    from .base import server_lakehouse
    try:
        lh = server_lakehouse()
    except Exception as exc:  # a broken lakehouse must not stop Jupyter from starting
        server_app.log.error("Lakebook: scheduler not started: %s", exc)
        return
    poll = float(os.environ.get("LAKEBOOK_SCHEDULER_POLL", "0") or 0) or None
    _scheduler = Scheduler(lh, poll=poll)
    _thread = threading.Thread(target=_scheduler.run_forever, name="lakebook-scheduler", daemon=True)
    _thread.start()
    atexit.register(stop)
    _hook_shutdown(server_app)
    server_app.log.info("Lakebook: scheduler running (poll %ss)", _scheduler.poll)


def _hook_shutdown(server_app: Any) -> None:
    """Stop the thread when the server cleans up its extensions."""
    original = getattr(server_app, "cleanup_extensions", None)
    if original is None:
        return

    async def cleanup_extensions(*args: Any, **kwargs: Any) -> Any:
        stop()
        result = original(*args, **kwargs)
        if hasattr(result, "__await__"):
            result = await result
        return result

    try:
        server_app.cleanup_extensions = cleanup_extensions
    except Exception:  # traitlets may refuse: atexit still stops it
        pass


def stop(timeout: float = 5.0) -> None:
    global _thread
    if _scheduler is not None:
        _scheduler.stop()
    if _thread is not None:
        _thread.join(timeout)
        _thread = None


def status() -> dict[str, Any]:
    if _scheduler is None:
        return {"running": False, "enabled": enabled()}
    return {**_scheduler.status(), "enabled": enabled(),
            "running": _thread is not None and _thread.is_alive()}
