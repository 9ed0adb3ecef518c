"""Time windows of a monitor: what "current" and "reference" mean at a given moment.

Accepted specs (strings are case-insensitive):

- ``"last 1d"`` / ``"last 6h"`` / ``"last 2w"``: the duration ending at the run's time.
- ``"previous 7d"``: the duration ending where the current window starts (reference only).
- ``{"start": ISO, "end": ISO}``, ``(start, end)`` or ``"ISO/ISO"``: an explicit window;
  either end may be ``None`` (open).
- ``"training"``: the model version's training set (deployment monitors' reference only).
- ``"all"``: every row (no time filter).

A window is half-open, ``start <= t < end``, in UTC.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..shared.durations import parse_duration
from ..shared.errors import InvalidInput
from ..shared.times import iso, parse_time

_RELATIVE = re.compile(r"^\s*(last|previous)\s+(.+)$", re.I)

WINDOW_HINT = ('Use "last 1d" (also s, m, h, w), "previous 7d" (reference only), "all", '
               '{"start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z"} or '
               '"<start>/<end>" in ISO-8601.')


@dataclass(frozen=True)
class Window:
    """A resolved half-open time window ``[start, end)``; ``None`` means open-ended."""

    start: datetime | None
    end: datetime | None

    def to_dict(self) -> dict[str, str | None]:
        return {"start": iso(self.start), "end": iso(self.end)}

    def __str__(self) -> str:
        return f"[{iso(self.start) or '-inf'}, {iso(self.end) or 'now'})"


def validate(spec: Any, role: str) -> Any:
    """Check a window spec at create time (so a bad spec writes nothing); returns it in its
    JSON form."""
    if isinstance(spec, (tuple, list)) and len(spec) == 2:
        spec = {"start": spec[0], "end": spec[1]}
    if isinstance(spec, dict):
        unknown = set(spec) - {"start", "end"}
        if unknown:
            raise InvalidInput(f"The {role} window has unknown keys {sorted(unknown)}.",
                               WINDOW_HINT)
        start, end = parse_time(spec.get("start"), f"{role} start"), parse_time(
            spec.get("end"), f"{role} end")
        if start and end and start >= end:
            raise InvalidInput(f"The {role} window starts ({iso(start)}) at or after it ends "
                               f"({iso(end)}).", "Swap start and end.")
        return {"start": iso(start), "end": iso(end)}
    if not isinstance(spec, str):
        raise InvalidInput(f"The {role} window {spec!r} is not understood.", WINDOW_HINT)
    text = spec.strip().lower()
    if text == "training":
        if role != "reference":
            raise InvalidInput('"training" can only be the reference of a monitor.',
                               'Use e.g. current="last 1d".')
        return "training"
    if text == "all":
        return "all"
    if "/" in text:
        start, end = spec.split("/", 1)
        return validate({"start": start or None, "end": end or None}, role)
    match = _RELATIVE.match(text)
    if not match:
        raise InvalidInput(f"The {role} window {spec!r} is not understood.", WINDOW_HINT)
    kind, duration = match.group(1), match.group(2)
    parse_duration(duration)
    if kind == "previous" and role != "reference":
        raise InvalidInput(f'"previous ..." only fits the reference window, not {role}.',
                           'Use e.g. current="last 1d", reference="previous 7d".')
    return f"{kind} {duration.strip()}"


def resolve(spec: Any, now: datetime, current: Window | None = None) -> Window:
    """The concrete window of a validated spec at time ``now`` (the run's window end)."""
    if isinstance(spec, dict):
        return Window(parse_time(spec.get("start")), parse_time(spec.get("end")))
    if spec == "all":
        return Window(None, None)
    match = _RELATIVE.match(spec)
    if not match:
        raise InvalidInput(f"The window {spec!r} cannot be resolved to times.", WINDOW_HINT)
    length = parse_duration(match.group(2))
    if match.group(1).lower() == "previous":
        end = current.start if current is not None and current.start is not None else now
        return Window(end - length, end)
    return Window(now - length, now)
