"""Request bodies a deployment understands, parsed into one internal :class:`PredictRequest`.

Two families of formats are accepted:

* Lakebook's own: ``{"entries": [{key: value, ...}], "features": [{name: value, ...}]}`` —
  entries name the entities (the view's keys); the optional ``features`` list, one object per
  entry, carries request-time features (values the caller knows that the store does not).
* MLflow's scoring protocol, so clients written for ``mlflow models serve`` work unchanged:
  ``dataframe_split`` (``{"columns": [...], "data": [[...]]}``), ``dataframe_records``
  (``[{...}, ...]``), ``instances`` (rows) and ``inputs`` (rows, or ``{column: [values]}``).
  What a row means (the model's input as sent, or an entity to look up with request-time
  overrides) is decided by the deployment: see :mod:`~kernel_magics.deployments.inputs`.

Every problem raises :class:`~kernel_magics.shared.errors.InvalidInput` naming what was wrong and
where (which field, which row), so a front door can answer 400 with it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..shared import json_input
from ..shared.errors import InvalidInput

MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
LAKEBOOK_FORMAT = "entries"
#: Extra top-level fields a client may send next to its data (MLflow 2.x ``params``).
_ALLOWED_EXTRA = {"params"}

_SCALARS = (str, int, float, bool, type(None))


@dataclass
class PredictRequest:
    """One scoring request, whatever format it came in.

    ``rows`` hold, per entity, the fields the caller sent (keys and request-time features);
    ``positional`` rows (lists without column names, from ``instances``/``inputs``) are
    matched to the deployment's input columns by position. ``single`` marks a request for one
    entity given as a bare object (the answer is then one object, not a list).
    """

    fmt: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    positional: list[list[Any]] | None = None
    single: bool = False
    params: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.positional) if self.positional is not None else len(self.rows)


def parse_json(body: bytes | str) -> Any:
    """Decode a JSON body; a malformed one is the client's mistake."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"The request body is not UTF-8 text ({exc.reason} at byte "
                               f"{exc.start}).", "Send a JSON object encoded as UTF-8.") from None
    if not body.strip():
        raise InvalidInput("The request body is empty.",
                           'Send a JSON object such as {"entries": [{"id": 1}]}.')
    return json_input.loads(body)  # the rules every REST door shares


def parse_request(payload: Any, *, allow_lakebook: bool = True,
                  allow_mlflow: bool = True) -> PredictRequest:
    """Turn a decoded JSON body into a :class:`PredictRequest` (or raise InvalidInput)."""
    if not isinstance(payload, dict):
        raise InvalidInput(f"The request body must be a JSON object, not {_kind(payload)}.",
                           _formats_hint(allow_lakebook, allow_mlflow))
    present = [k for k in (LAKEBOOK_FORMAT, *MLFLOW_FORMATS) if k in payload]
    if not allow_lakebook and LAKEBOOK_FORMAT in present:
        present.remove(LAKEBOOK_FORMAT)
    if not allow_mlflow:
        present = [k for k in present if k not in MLFLOW_FORMATS]
    if not present:
        got = ", ".join(repr(k) for k in list(payload)[:5]) or "no fields"
        raise InvalidInput(f"The request body has {got}; none of them holds the data to score.",
                           _formats_hint(allow_lakebook, allow_mlflow))
    if len(present) > 1:
        raise InvalidInput(f"The request body has more than one data field "
                           f"({', '.join(present)}).", "Send exactly one of them.")
    fmt = present[0]
    allowed = {fmt, *_ALLOWED_EXTRA} | ({"features"} if fmt == LAKEBOOK_FORMAT else set())
    unknown = [k for k in payload if k not in allowed]
    if unknown:
        raise InvalidInput(f"Unknown field(s) {', '.join(repr(k) for k in unknown)} in the "
                           "request body.", _formats_hint(allow_lakebook, allow_mlflow))
    params = payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise InvalidInput(f"'params' must be an object, not {_kind(params)}.")
    if fmt == LAKEBOOK_FORMAT:
        req = _parse_lakebook(payload)
    else:
        req = _PARSERS[fmt](payload[fmt])
    req.params = params
    return req


def _parse_lakebook(payload: dict[str, Any]) -> PredictRequest:
    entries, single = payload["entries"], False
    if isinstance(entries, dict):
        entries, single = [entries], True
    if not isinstance(entries, list):
        raise InvalidInput(f"'entries' must be a list of objects, not {_kind(entries)}.",
                           'Example: {"entries": [{"cc_num": 42}]}.')
    features = payload.get("features")
    if isinstance(features, dict) and single:
        features = [features]
    if features is not None:
        if not isinstance(features, list):
            raise InvalidInput(f"'features' must be a list of objects (one per entry), not "
                               f"{_kind(features)}.")
        if len(features) != len(entries):
            raise InvalidInput(f"'features' has {len(features)} item(s) but 'entries' has "
                               f"{len(entries)}.", "Send one features object per entry, in "
                               "the same order (use {} for an entry without any).")
    rows: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        _check_object(entry, f"entries[{i}]")
        row = dict(entry)
        if features is not None:
            extra = features[i]
            if extra is None:
                extra = {}
            _check_object(extra, f"features[{i}]")
            for name, value in extra.items():
                if name in row:
                    raise InvalidInput(f"features[{i}] repeats {name!r}, which entries[{i}] "
                                       "already gives.", "Give each field once.")
                row[name] = value
        rows.append(row)
    return PredictRequest(fmt="lakebook", rows=rows, single=single)


def _parse_split(value: Any) -> PredictRequest:
    if not isinstance(value, dict):
        raise InvalidInput(f"'dataframe_split' must be an object with 'columns' and 'data', "
                           f"not {_kind(value)}.",
                           'Example: {"dataframe_split": {"columns": ["a"], "data": [[1]]}}.')
    unknown = [k for k in value if k not in ("columns", "data", "index")]
    if unknown:
        raise InvalidInput(f"Unknown field(s) {', '.join(map(repr, unknown))} in "
                           "'dataframe_split'.", "It takes 'columns', 'data' and 'index'.")
    if "data" not in value:
        raise InvalidInput("'dataframe_split' has no 'data'.",
                           "Add 'data': a list of rows, each a list of values.")
    columns, data = value.get("columns"), value["data"]
    if not isinstance(data, list):
        raise InvalidInput(f"'dataframe_split.data' must be a list of rows, not {_kind(data)}.")
    if columns is None:
        rows = []
        for i, row in enumerate(data):
            if not isinstance(row, list):
                raise InvalidInput(f"'dataframe_split.data[{i}]' must be a list, not "
                                   f"{_kind(row)}.")
            _check_values(row, f"dataframe_split.data[{i}]")
            rows.append(row)
        return PredictRequest(fmt="dataframe_split", positional=rows)
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidInput("'dataframe_split.columns' must be a list of column names.")
    if len(set(columns)) != len(columns):
        raise InvalidInput("'dataframe_split.columns' names a column twice.")
    out = []
    for i, row in enumerate(data):
        if not isinstance(row, list):
            raise InvalidInput(f"'dataframe_split.data[{i}]' must be a list, not {_kind(row)}.")
        if len(row) != len(columns):
            raise InvalidInput(f"'dataframe_split.data[{i}]' has {len(row)} value(s) but "
                               f"'columns' names {len(columns)}.")
        _check_values(row, f"dataframe_split.data[{i}]", columns)
        out.append(dict(zip(columns, row)))
    return PredictRequest(fmt="dataframe_split", rows=out)


def _parse_records(value: Any) -> PredictRequest:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise InvalidInput(f"'dataframe_records' must be a list of objects, not {_kind(value)}.",
                           'Example: {"dataframe_records": [{"a": 1}]}.')
    for i, row in enumerate(value):
        _check_object(row, f"dataframe_records[{i}]")
    return PredictRequest(fmt="dataframe_records", rows=[dict(r) for r in value])


def _rows_or_positional(value: Any, fmt: str) -> PredictRequest:
    if isinstance(value, dict):
        # columnar: {"col": [v, ...]} (or one row {"col": v})
        if value and all(isinstance(v, list) for v in value.values()):
            lengths = {len(v) for v in value.values()}
            if len(lengths) != 1:
                raise InvalidInput(f"The columns of '{fmt}' have different lengths "
                                   f"({', '.join(f'{k}: {len(v)}' for k, v in value.items())}).",
                                   "Give every column the same number of values.")
            n = lengths.pop()
            rows = [{k: v[i] for k, v in value.items()} for i in range(n)]
        else:
            rows = [value]
        for i, row in enumerate(rows):
            _check_object(row, f"{fmt}[{i}]")
        return PredictRequest(fmt=fmt, rows=rows)
    if not isinstance(value, list):
        raise InvalidInput(f"'{fmt}' must be a list of rows or an object of columns, not "
                           f"{_kind(value)}.")
    if not value:
        return PredictRequest(fmt=fmt, rows=[])
    if all(isinstance(r, dict) for r in value):
        for i, row in enumerate(value):
            _check_object(row, f"{fmt}[{i}]")
        return PredictRequest(fmt=fmt, rows=[dict(r) for r in value])
    if all(isinstance(r, list) for r in value):
        for i, row in enumerate(value):
            _check_values(row, f"{fmt}[{i}]")
        return PredictRequest(fmt=fmt, positional=[list(r) for r in value])
    if all(isinstance(r, _SCALARS) and not isinstance(r, (dict, list)) for r in value):
        # one positional row per scalar (a model with a single input column)
        return PredictRequest(fmt=fmt, positional=[[r] for r in value])
    raise InvalidInput(f"'{fmt}' mixes objects, lists and values.",
                       "Send a list of objects (one per row) or a list of lists.")


_PARSERS = {
    "dataframe_split": _parse_split,
    "dataframe_records": _parse_records,
    "instances": lambda v: _rows_or_positional(v, "instances"),
    "inputs": lambda v: _rows_or_positional(v, "inputs"),
}


def _check_object(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} must be an object of field names to values, not "
                           f"{_kind(value)}.")
    for name, item in value.items():
        if not isinstance(item, _SCALARS):
            raise InvalidInput(f"{where}.{name} is {_kind(item)}; only single values "
                               "(number, string, boolean or null) are accepted.")
        if isinstance(item, float) and math.isinf(item):
            raise InvalidInput(f"{where}.{name} is infinite.", "Send a finite number or null.")


def _check_values(values: list[Any], where: str, columns: list[str] | None = None) -> None:
    for i, item in enumerate(values):
        if not isinstance(item, _SCALARS) or (isinstance(item, float) and math.isinf(item)):
            name = columns[i] if columns else f"[{i}]"
            raise InvalidInput(f"{where} value for {name} is {_kind(item)}; only single "
                               "finite values (number, string, boolean or null) are accepted.")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "infinite" if isinstance(value, float) and math.isinf(value) else "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _formats_hint(allow_lakebook: bool, allow_mlflow: bool) -> str:
    parts = []
    if allow_lakebook:
        parts.append('{"entries": [{...keys}], "features": [{...}]}')
    if allow_mlflow:
        parts.append("one of MLflow's " + ", ".join(repr(f) for f in MLFLOW_FORMATS))
    return "Send " + " or ".join(parts) + "."
