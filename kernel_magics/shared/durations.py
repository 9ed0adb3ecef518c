"""Durations: one grammar for every window length, ttl and look-back.

A duration is a positive number and a unit: ``30s``, ``15m`` or ``15min``, ``6h``, ``1d``,
``2w`` (case and spaces between number and unit do not matter, ``1.5h`` is fine). Where the
API also takes a ``timedelta`` it is used as given.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from .errors import InvalidInput

UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|m|h|d|w)\s*$", re.I)
HINT = "Write a number and a unit: 30s, 15m (or 15min), 6h, 1d or 2w."


def parse_duration(value: Any, what: str = "duration") -> timedelta:
    """``value`` (a string in the grammar above, or a ``timedelta``) as a positive
    ``timedelta``; anything else is :class:`InvalidInput` naming ``what``."""
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise InvalidInput(f"The {what} {value} must be positive.", HINT)
        return value
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise InvalidInput(f"{value!r} is not a {what}.", HINT)
    number, unit = float(match.group(1)), match.group(2).lower()
    if number <= 0:
        raise InvalidInput(f"The {what} {value!r} must be positive.", HINT)
    return timedelta(seconds=number * UNITS[unit])
