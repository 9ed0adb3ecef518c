"""Times: every time Lakebook reads or records is a timezone-aware UTC ``datetime``.

One reader (:func:`parse_time`) for every door and area: a ``datetime`` or pandas
``Timestamp`` (naive means UTC), a ``date`` (midnight UTC), or a string in ISO-8601
(``2024-05-01``, ``2024-05-01 12:00``, ``2024-05-01T12:00:00Z``, with an offset), and, as a
last resort, what pandas reads as a time. Two writers: :func:`iso` (ISO-8601 as
``datetime.isoformat`` gives it, for answers and windows) and :func:`catalog_time` (fixed
width with microseconds, so catalog times sort as text).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from .errors import InvalidInput

TIME_HINT = "Pass a datetime or an ISO-8601 string such as 2024-05-01T00:00:00Z."


def utcnow() -> datetime:
    """The current time (aware, UTC)."""
    return datetime.now(timezone.utc)


def catalog_time(value: datetime | None) -> str | None:
    """``value`` in the catalog's format: ISO-8601 in UTC with microseconds (naive = UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def now_utc() -> str:
    """The current time in the catalog's format (:func:`catalog_time`)."""
    return catalog_time(utcnow())  # type: ignore[return-value]


def iso(value: datetime | None) -> str | None:
    """``value`` as ISO-8601 in UTC (``2024-05-01T00:00:00+00:00``); None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


def parse_time(value: Any, what: str = "time") -> datetime | None:
    """``value`` as an aware UTC datetime (see the module docstring); None or an empty
    string is None. Anything else that is not a time is :class:`InvalidInput` naming
    ``what``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        if value != value:  # pandas NaT
            raise InvalidInput(f"{what} is empty (NaT).", f"Pass a time for {what}.")
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
    elif isinstance(value, date):
        value = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        value = _from_text(value, what)
    elif type(value).__name__ == "datetime64":
        import pandas as pd
        return parse_time(pd.Timestamp(value), what)
    else:
        raise InvalidInput(f"{what} {value!r} is not a time.", TIME_HINT)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _from_text(text: str, what: str) -> datetime:
    stripped = text.strip()
    if stripped[-1:] in ("Z", "z"):
        stripped = stripped[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(stripped)
    except ValueError:
        pass
    try:  # what pandas reads as a time ("2024-05-01 12:00 UTC", "1 May 2024")
        import pandas as pd
        ts = pd.Timestamp(text.strip())
    except (ValueError, TypeError, OverflowError):
        ts = None
    if ts is None or ts is pd.NaT:
        raise InvalidInput(f"{what} {text!r} is not a time.", TIME_HINT) from None
    return ts.to_pydatetime()
