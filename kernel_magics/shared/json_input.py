"""Decoding the JSON a client sends: one set of rules for every REST door (the Jupyter
server's ``/lakebook/api`` handlers and ``lakebook serve``).

A body that cannot be a sensible request is the client's mistake, answered 400 with the
place named (``entries[0].amount``): not UTF-8, not JSON, nested deeper than
:data:`MAX_DEPTH`, an integer of more digits than Python converts (4300), a number too
large for a double (``1e309``, ``10**400``) or infinite. ``NaN`` (not JSON, but what
Python's ``json.dumps`` writes for a missing float) is read as ``null``.
"""
from __future__ import annotations

import json
import math
import sys
from typing import Any

from .errors import InvalidInput

#: deepest nesting a request may have (objects and lists)
MAX_DEPTH = 32
_FLOAT_MAX = sys.float_info.max


def _constant(name: str) -> Any:
    if name == "NaN":
        return None
    return float(name)  # Infinity / -Infinity: refused by check() with the place named


def loads(body: bytes | str, what: str = "The request body") -> Any:
    """The decoded body, or :class:`InvalidInput` naming what is wrong and where."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start}).",
                               "Send JSON encoded as UTF-8.") from None
    try:
        value = json.loads(body, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column "
                           f"{exc.colno}).", "Send JSON with Content-Type: application/json.") \
            from None
    except RecursionError:
        raise InvalidInput(f"{what} is nested too deeply to read.",
                           f"Send at most {MAX_DEPTH} levels of objects and lists.") from None
    except ValueError:  # an integer past Python's 4300-digit conversion limit
        raise InvalidInput(f"{what} holds an integer of more than "
                           f"{sys.get_int_max_str_digits()} digits.",
                           "Send numbers that fit in a double.") from None
    check(value)
    return value


def check(value: Any, where: str = "", depth: int = 0) -> None:
    """Refuse infinite or out-of-range numbers and excessive nesting in a decoded value,
    naming the place (``where``) in the client's terms."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"{_name(where)} is not a finite number.",
                               "Send a finite number (or null).")
        return
    if isinstance(value, int):
        if abs(value) > _FLOAT_MAX:
            raise InvalidInput(f"{_name(where)} is too large to be a number "
                               f"({len(str(abs(value)))} digits).",
                               "Send numbers that fit in a double (below 1.8e308).")
        return
    if depth >= MAX_DEPTH:
        raise InvalidInput(f"{_name(where)} is nested more than {MAX_DEPTH} levels deep.",
                           "Send a flatter body.")
    if isinstance(value, dict):
        for key, item in value.items():
            check(item, f"{where}.{key}" if where else str(key), depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check(item, f"{where}[{i}]", depth + 1)


def _name(where: str) -> str:
    return where or "The request body"
