"""JSON-safe values: the one rule for turning Python, numpy, pandas and Arrow values into
what JSON can hold, for REST answers, catalog records, statistics, descriptors and logs.

- ``None``, booleans, strings stay; numpy scalars become Python numbers;
- floats that are not finite (NaN, infinities) become ``None`` (JSON has no such numbers);
- datetimes, dates and times become ISO-8601 strings; ``Decimal`` a float (its text when
  ``exact``); bytes base64 text; paths and anything else their ``str`` (or what the caller's
  ``describe`` says);
- dicts (keys as strings), lists, tuples and sets are converted all the way down.

:func:`default` is the ``json.dumps(default=...)`` hook for the values JSON cannot hold;
:func:`plain` converts a whole value; :func:`dumps` is ``json.dumps`` of :func:`plain`.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from pathlib import PurePath
from typing import Any, Callable


def default(value: Any, exact: bool = False) -> Any:
    """A JSON value for something ``json.dumps`` cannot write (see the module docstring)."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value) if exact else float(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, type):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()  # numpy scalars
        except (TypeError, ValueError):  # an array of several values
            pass
    if hasattr(value, "tolist"):
        return value.tolist()  # numpy arrays
    return str(value)


def plain(value: Any, describe: Callable[[Any], Any] = str, depth: int = 32) -> Any:
    """``value`` as plain JSON data (see the module docstring); ``describe`` gives the JSON
    form of an object that is no data (an estimator, a function), ``depth`` how deep
    containers are followed before ``describe`` takes over."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, type):  # a class (np.float64 has .dtype and .item too)
        return describe(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        if depth <= 0:
            return describe(value)
        return {str(k): plain(v, describe, depth - 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        if depth <= 0:
            return describe(value)
        return [plain(v, describe, depth - 1) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time, decimal.Decimal, bytes, bytearray,
                          memoryview, PurePath)):
        if isinstance(value, dt.datetime) and value != value:  # pandas NaT
            return None
        return plain(default(value), describe, depth)
    if hasattr(value, "dtype") and hasattr(value, "item"):  # numpy scalars and arrays
        return plain(default(value), describe, depth)
    return describe(value)


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`plain` (never writes NaN or Infinity)."""
    return json.dumps(plain(value), allow_nan=False, **kwargs)
