"""Outcomes: what really happened after a prediction, one Delta table per deployment.

An outcome names the prediction it is about in one of two ways:

- by ``request_id``: the id every online answer carries (its ``request_id`` field and the
  ``X-Request-Id`` header); it joins every row that request logged (shadow rows too), or only
  the rows of the entity ``keys`` it also gives;
- by the deployment view's keys and an event time ``at``: it joins, per model version and
  arm, the latest prediction for those keys made at or before ``at`` (never a later one) and
  no earlier than ``at - window`` (see ``business.joined``).

Table ``<home>/tables/outcomes_<deployment>`` (open Delta; any engine reads it):

=============  ==========================================================================
``request_id`` string, null when the outcome is joined by keys and time
key columns    the view's keys (null when joined by request id alone)
``at``         timestamp[us, UTC]: when it happened (defaults to when it was logged)
``outcome``    what happened: a class (1 = fraud confirmed) or a number (a regressor's truth)
``value``      float64, optional: e.g. the amount of money at stake
``logged_at``  timestamp[us, UTC]: when Lakebook received it (a later outcome for the same
               prediction replaces an earlier one)
=============  ==========================================================================

Late outcomes are appended whenever they arrive; KPIs are computed from the table as it is
when read, so the KPIs of past windows update as outcomes come in.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..shared.errors import InvalidInput
from ..shared.times import parse_time

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse
    from ..storage.location import Location

PREFIX = "outcomes_"
OWN = ("request_id", "at", "outcome", "value", "logged_at")


def outcomes_path(lh: "Lakehouse", deployment: str) -> "Location":
    """Where the outcomes of ``deployment`` are kept."""
    return lh.tables_dir / f"{PREFIX}{deployment}"


def prepare(deployment: str, keys: list[str], df: pd.DataFrame) -> pa.Table:
    """``df`` checked and shaped as rows of the outcomes table. Each row needs an
    ``outcome`` and either a ``request_id`` or every key; ``at`` defaults to now. Anything
    wrong is refused before a row is written, naming the rows and columns."""
    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"Outcomes of deployment {deployment!r} must be a DataFrame, not "
                           f"{type(df).__name__}.",
                           "Pass columns outcome and request_id, or the keys "
                           f"({', '.join(keys) or 'none'}) and at.")
    allowed = set(OWN) | set(keys)
    unknown = [c for c in df.columns if c not in allowed]
    if unknown:
        raise InvalidInput(
            f"Outcomes of deployment {deployment!r} have unknown column(s) "
            f"{', '.join(map(repr, unknown[:5]))}.",
            f"An outcome has request_id, {', '.join(keys) + ', ' if keys else ''}at, outcome "
            "and value (the money at stake, optional); features come from the view.")
    if "outcome" not in df.columns:
        raise InvalidInput(f"Outcomes of deployment {deployment!r} have no 'outcome' column.",
                           "Name what happened 'outcome' (e.g. 1 for a confirmed fraud).")
    n = len(df)
    if not n:
        return pa.table({})
    _check_values(deployment, keys, df)
    missing_outcome = df["outcome"].isna().to_numpy()
    if missing_outcome.any():
        rows = np.flatnonzero(missing_outcome)[:5].tolist()
        raise InvalidInput(f"Outcomes of deployment {deployment!r}: row(s) {rows} have no "
                           "outcome.", "Drop rows whose outcome is not known yet; log them "
                           "when it is (late outcomes are welcome).")
    rid = df["request_id"].astype("string") if "request_id" in df.columns else \
        pd.Series(pd.NA, index=df.index, dtype="string")
    by_request = rid.notna().to_numpy()
    present = [k for k in keys if k in df.columns]
    has_keys = np.ones(n, dtype=bool) if present == keys and keys else np.zeros(n, dtype=bool)
    for k in present:
        has_keys &= df[k].notna().to_numpy()
    orphan = ~(by_request | has_keys)
    if orphan.any():
        rows = np.flatnonzero(orphan)[:5].tolist()
        raise InvalidInput(
            f"Outcomes of deployment {deployment!r}: row(s) {rows} name no prediction.",
            "Give each outcome the request_id of the answer it is about, or the keys "
            f"({', '.join(keys) or 'the deployment has no view, so request ids only'}) "
            "and its time 'at'.")
    now = pd.Timestamp.now(tz="UTC")
    at = _times(df["at"], deployment) if "at" in df.columns else \
        pd.Series(now, index=df.index)
    at = at.fillna(now)
    outcome = df["outcome"]
    if pd.api.types.is_bool_dtype(outcome):
        outcome = outcome.astype("int64")
    cols: dict[str, Any] = {"request_id": pa.array(rid, pa.string(), from_pandas=True)}
    for k in keys:
        cols[k] = pa.array(df[k], from_pandas=True) if k in df.columns else \
            pa.nulls(n, pa.string())
    cols["at"] = pa.array(at.dt.tz_convert("UTC").astype("datetime64[us, UTC]"),
                          pa.timestamp("us", "UTC"))
    try:
        cols["outcome"] = pa.array(outcome, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise InvalidInput(f"Outcomes of deployment {deployment!r}: 'outcome' mixes types.",
                           "Use one type: classes (0/1, labels) or numbers.") from None
    if "value" in df.columns:
        try:
            value = pd.to_numeric(df["value"], errors="raise").astype("float64")
        except (TypeError, ValueError):
            raise InvalidInput(f"Outcomes of deployment {deployment!r}: 'value' must be a "
                               "number (e.g. the amount at stake).") from None
        cols["value"] = pa.array(value, pa.float64(), from_pandas=True)
    else:
        cols["value"] = pa.nulls(n, pa.float64())
    cols["logged_at"] = pa.repeat(pa.scalar(now.to_pydatetime(), pa.timestamp("us", "UTC")), n)
    return pa.table(cols)


#: the fields of one outcome in a JSON body (besides the deployment's keys)
BODY_FIELDS = ("request_id", "at", "outcome", "value")


def records_of_body(deployment: str, payload: Any) -> list[dict[str, Any]]:
    """The outcome objects of a JSON body, as both HTTP servers take it: ``{"outcomes":
    [{...}, ...]}`` or one outcome object (InvalidInput naming what is wrong)."""
    hint = ('Send {"outcomes": [{"request_id": "...", "outcome": 1, "value": 12.5}, ...]} or '
            "one outcome object; each names its prediction by request_id, or by the view's "
            "keys and 'at'.")
    if not isinstance(payload, dict) or not payload:
        what = "an empty object" if isinstance(payload, dict) else \
            "null" if payload is None else type(payload).__name__
        raise InvalidInput(f"The outcomes of deployment {deployment!r} must be a JSON object, "
                           f"not {what}.", hint)
    if "outcomes" in payload:
        extra = [k for k in payload if k != "outcomes"]
        if extra:
            raise InvalidInput(f"The outcomes body of deployment {deployment!r} has unknown "
                               f"field(s) {', '.join(map(repr, extra[:5]))}.", hint)
        items = payload["outcomes"]
    else:
        items = [payload]
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"'outcomes' of deployment {deployment!r} must be a non-empty list "
                           "of outcome objects.", hint)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInput(f"Outcome {i} of deployment {deployment!r} is not an object.",
                               hint)
    return items


def _check_values(deployment: str, keys: list[str], df: pd.DataFrame) -> None:
    """Refuse a field that is no single value (a list, an object), a number that is not
    finite and a request id that is not text, naming the column and the rows."""
    def refuse(col: str, rows: np.ndarray, what: str, hint: str | None = None) -> None:
        raise InvalidInput(f"Outcomes of deployment {deployment!r}: {col!r} of row(s) "
                           f"{rows[:5].tolist()} {what}.", hint)

    for col in ("request_id", "outcome", "value", *keys):
        if col not in df.columns:
            continue
        series = df[col]
        if series.dtype == object:
            nested = np.flatnonzero(series.map(
                lambda v: isinstance(v, (list, dict, tuple, set))).to_numpy())
            if nested.size:
                refuse(col, nested, "holds a list or an object",
                       "Each field of an outcome is one value.")
        if pd.api.types.is_float_dtype(series):
            infinite = np.flatnonzero(np.isinf(series.to_numpy(dtype="float64")))
            if infinite.size:
                refuse(col, infinite, "is not a finite number")
    if "request_id" in df.columns:
        wrong = np.flatnonzero(df["request_id"].map(
            lambda v: not pd.isna(v) and not (isinstance(v, str) and v.strip())).to_numpy())
        if wrong.size:
            refuse("request_id", wrong, "is not a request id",
                   "Use the request_id an answer returned (text).")


def _times(values: pd.Series, deployment: str) -> pd.Series:
    try:
        out = pd.to_datetime(values, utc=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"Outcomes of deployment {deployment!r}: 'at' holds a value that is "
                           f"not a time ({exc}).", "Give times as datetimes or ISO "
                           "strings (naive times are read as UTC).") from None
    return out


def one(deployment: str, keys: list[str], request_id: str | None, outcome: Any,
        value: Any = None, at: Any = None, key_values: dict[str, Any] | None = None
        ) -> pa.Table:
    """The table row of one outcome (``dep.log_outcome``)."""
    if request_id is None and not key_values:
        raise InvalidInput(f"An outcome of deployment {deployment!r} needs the request_id of "
                           "the answer it is about (or keys=... and at=...).")
    row: dict[str, Any] = {"outcome": [outcome], "value": [value],
                           "at": [parse_time(at, "at")] if at is not None else [None]}
    if request_id is not None:
        if not isinstance(request_id, str) or not request_id:
            raise InvalidInput(f"{request_id!r} is not a request id.",
                               "Use the request_id an answer returned.")
        row["request_id"] = [request_id]
    unknown = [k for k in (key_values or {}) if k not in keys]
    if unknown:
        raise InvalidInput(f"Deployment {deployment!r} has no key {', '.join(unknown)}.",
                           f"Its keys: {', '.join(keys) or 'none'}.")
    for k, v in (key_values or {}).items():
        row[k] = [v]
    frame = pd.DataFrame(row)
    if value is None:
        frame = frame.drop(columns="value")
    return prepare(deployment, keys, frame)


def write(path: "Location", table: pa.Table) -> int:
    """Append outcome rows in one Delta commit (columns new to the table are merged); the
    types of columns the table has are kept (a refused cast writes nothing)."""
    from ..storage import delta
    if not table.num_rows:
        return 0
    table = table.select([f.name for f in table.schema if not pa.types.is_null(f.type)])
    existing = delta.schema(path)
    if existing is not None:
        for i, f in enumerate(table.schema):
            j = existing.get_field_index(f.name)
            if j >= 0 and existing.field(j).type != f.type:
                want = existing.field(j).type
                try:
                    col = table.column(i).cast(want)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise InvalidInput(f"Column {f.name!r} of these outcomes holds {f.type} "
                                       f"values; the outcomes logged before hold {want}.",
                                       "Log outcomes of one type.") from None
                table = table.set_column(i, pa.field(f.name, want), col)
    delta.write(path, table, mode="append", schema_mode="merge")
    return table.num_rows
