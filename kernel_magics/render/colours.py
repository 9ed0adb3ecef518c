"""The colours of Lakebook's notebook views: one place for what a status looks like."""
from __future__ import annotations

GOOD, BAD, WARN, GREY, BLUE = "#2e7d32", "#c62828", "#ef6c00", "#757575", "#1976d2"

#: a run's status
RUN_STATUS = {"queued": GREY, "running": BLUE, "succeeded": GOOD, "failed": BAD,
              "timed_out": WARN, "cancelled": "#6d4c41", "skipped": "#9e9e9e",
              "up_to_date": "#558b2f"}
#: a monitor result's verdict
RESULT_STATUS = {"ok": GOOD, "drift": BAD, "skipped": GREY, "failed": WARN, "running": BLUE}
#: one line per column in charts
PALETTE = ["#1976d2", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457",
           "#558b2f", "#4e342e", "#283593"]


def monitor_colour(status: str | None, open_alerts: int) -> str:
    """The traffic light of a monitor: red on drift or open alerts, amber on a failure,
    green when the latest result is fine, grey before its first run."""
    if status == "drift" or open_alerts:
        return "red"
    if status == "failed":
        return "amber"
    return "green" if status == "ok" else "grey"
