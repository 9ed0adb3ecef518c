"""Scheduler and worker timings from ``[scheduler]`` in lakebook.toml (kept apart from
``execute`` so the scheduler can start without importing papermill and nbformat)."""
from __future__ import annotations

from typing import Any


def settings(lh: Any) -> dict[str, float]:
    """Scheduler/worker timings from ``[scheduler]`` in lakebook.toml."""
    raw = lh.config.raw.get("scheduler", {})
    lease = float(raw.get("lease_seconds", 30))
    return {"lease_s": lease,
            "heartbeat_s": float(raw.get("heartbeat_seconds", min(1.0, lease / 4))),
            "poll_s": float(raw.get("poll_seconds", 5)),
            "misfire_grace_s": float(raw.get("misfire_grace_seconds", 60))}
