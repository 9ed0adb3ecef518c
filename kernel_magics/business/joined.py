"""Predictions joined to their outcomes, point in time, as one DuckDB table ``joined``.

Predictions come from what deployments already keep: the online inference log
(``inference_log_<name>``: a ``request_id`` per answer, the prediction time ``ts``, the
features the model saw, ``arm`` and ``shadow`` when traffic is split) and the batch
predictions tables (keys, the row's event time, ``model_version``). Outcomes come from the
deployment's outcomes table and, when the deployment names one (``outcomes="fraud_labels"``),
from a feature group whose rows are outcomes (keys, event time, a label column).

The join, per outcome (see ``business.outcomes`` for how one names its prediction):

- by request id: every row logged for that request (of those keys, when the outcome gives
  them), served and shadow alike;
- by keys and time: in each stream of predictions (a model version, arm and shadow flag),
  DuckDB's ``ASOF JOIN`` finds the latest prediction for the keys made at or before the
  outcome's time, and keeps it when it is no older than the outcome ``window``. An outcome
  therefore joins the prediction it is about, never a later one.

A prediction that several outcomes name takes the last one logged (a correction replaces a
first report). Every prediction stays (a left join): ``outcome`` is null until one arrives,
which is what a KPI's ``coverage`` counts.

Columns of ``joined``: ``source`` (online | batch), ``request_id``, ``ts`` (when the
prediction was made; for a batch row, its event time), ``version``, ``arm``, ``shadow``, the
view's keys, ``prediction``, ``score`` (the positive class's probability, classifiers),
``proba_<class>``, the features logged with the prediction (or rebuilt for batch rows when a
KPI asks for one), ``outcome``, ``value`` and ``has_outcome``.

It all runs on :func:`~kernel_magics.shared.sql_sandbox.sandboxed_connection`, the connection
user SQL (KPIs) may run on: the tables are registered Arrow datasets, nothing is read by path.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from ..shared.quoting import quote_ident as q
from ..shared.sql_sandbox import sandboxed_connection
from ..storage import delta as storage
from .outcomes import outcomes_path

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse

#: the columns ``joined`` always has (keys, features and proba_<class> come on top)
FIXED = {"source": "VARCHAR", "request_id": "VARCHAR", "ts": "TIMESTAMPTZ",
         "version": "BIGINT", "arm": "VARCHAR", "shadow": "BOOLEAN", "prediction": "DOUBLE",
         "score": "DOUBLE", "outcome": "DOUBLE", "value": "DOUBLE", "has_outcome": "BOOLEAN"}
TABLE = "joined"


@dataclass
class Plan:
    """What a join needs to know about a deployment (read once per call)."""

    deployment: str
    keys: list[str]
    event_time: str | None
    features: list[str]
    #: the positive class of a classifier (None: a regressor)
    positive: Any
    #: the model's classes (None: a regressor)
    classes: tuple | None
    #: the outcome window of key-and-time joins
    window: timedelta
    #: a feature group whose rows are outcomes: {"feature_group", "outcome", "value"}
    source: dict[str, Any] | None = None
    #: the feature types of the view (for validating KPIs before any prediction exists)
    feature_types: dict[str, str] = field(default_factory=dict)


def connection() -> duckdb.DuckDBPyConnection:
    """A sandboxed connection whose times are UTC (windows are UTC days and weeks)."""
    return sandboxed_connection(TimeZone="UTC")


def plan_of(lh: "Lakehouse", deployment: str) -> Plan:
    """The join plan of ``deployment``: its view's keys and features, its model's positive
    class, its outcome source and window (``spec["outcomes"]``)."""
    from ..shared.durations import parse_duration
    dep = lh.deployments.get(deployment)
    served = dep.served
    spec = lh.deployments.definition(deployment)["spec"]
    source = spec.get("outcomes") or {}
    classes = served.model.classes
    features = list(served.view.features) if served.view is not None else \
        list(served.model.input_columns or [])
    return Plan(deployment=deployment, keys=list(served.keys), event_time=served.event_time,
                features=features, positive=classes[-1] if classes else None,
                classes=tuple(classes) if classes else None,
                window=parse_duration(source.get("window", "30d"), "outcome window"),
                source=source if source.get("feature_group") else None)


def _sources(lh: "Lakehouse", deployment: str) -> list[tuple[str, Any]]:
    """(kind, pyarrow dataset) of every prediction table of the deployment that exists."""
    from ..deployments.inference_log import log_path
    found = []
    path = log_path(lh, deployment)
    if storage.exists(path):
        found.append(("online", storage.dataset(path)))
    for path in lh.deployments.output_tables(deployment):
        if storage.exists(path):
            found.append(("batch", storage.dataset(path)))
    return found


def _time_bounds(column: str, start: datetime | None, end: datetime | None) -> str:
    conds = []
    if start is not None:
        conds.append(f"{column} >= TIMESTAMPTZ '{start.isoformat()}'")
    if end is not None:
        conds.append(f"{column} < TIMESTAMPTZ '{end.isoformat()}'")
    return " AND ".join(conds) or "TRUE"


def _prediction_columns(kind: str, names: list[str], plan: Plan, wanted: set[str],
                        probas: bool, start: datetime | None, end: datetime | None
                        ) -> tuple[dict[str, str], str]:
    """One source's columns shaped as ``joined``'s prediction columns (name -> expression;
    ``proba_<class>`` only when ``probas`` or a KPI names it: each is a column to copy), and
    its rows' condition (made in ``[start, end)``)."""
    has = set(names)
    if kind == "online":
        time_col, rid = "ts", "request_id"
    else:
        time_col = plan.event_time if plan.event_time in has else "scored_at"
        rid = "NULL::VARCHAR"
    cols = {"source": f"'{kind}'", "request_id": rid, "ts": f"{q(time_col)}::TIMESTAMPTZ",
            "version": "model_version::BIGINT",
            "arm": "COALESCE(arm, '')::VARCHAR" if "arm" in has else "''::VARCHAR",
            "shadow": "COALESCE(shadow, FALSE)" if "shadow" in has else "FALSE"}
    for k in plan.keys:
        if k in has:
            cols[k] = q(k)
    cols["prediction"] = "prediction"
    pos = f"proba_{plan.positive}"
    cols["score"] = f"{q(pos)}::DOUBLE" if pos in has else "NULL::DOUBLE"
    for c in names:
        if c.startswith("proba_") and (probas or c in wanted):
            cols[c] = q(c)
    for f in plan.features:
        if f in wanted and f in has and f not in plan.keys:
            cols[f] = q(f)
    return cols, _time_bounds(q(time_col), start, end)


def _is_literal(expr: str) -> bool:
    """A constant expression of :func:`_prediction_columns` ('batch', NULL::VARCHAR, FALSE)."""
    return re.fullmatch(r"'[a-z]*'(::VARCHAR)?|NULL::[A-Z]+|FALSE", expr) is not None


def _prediction_union(sources: list[tuple[str, dict[str, str], str]]
                      ) -> tuple[str, list[str], dict[str, str]]:
    """The SELECT copying every source's predictions into ``_p``, ``joined``'s prediction
    columns in order, and the columns left out of the copy (every source gives them the same
    constant, e.g. ``source`` and ``request_id`` of batch rows): the view adds them back."""
    order = list(dict.fromkeys(c for _, cols, _ in sources for c in cols))
    constant = {}
    for c in order:
        exprs = {cols.get(c) for _, cols, _ in sources}
        if len(exprs) == 1 and None not in exprs and _is_literal(next(iter(exprs))):
            constant[c] = next(iter(exprs))
    selects = []
    for name, cols, where in sources:
        kept = [f"{e} AS {q(c)}" for c, e in cols.items() if c not in constant]
        selects.append(f"SELECT {', '.join(kept)} FROM {name} WHERE {where}")
    return " UNION ALL BY NAME ".join(selects), order, constant


def _outcome_select(name: str, names: list[str], plan: Plan, rid: bool = True) -> str:
    has = set(names)
    cols = ["request_id" if rid and "request_id" in has else "NULL::VARCHAR AS request_id"]
    cols += [q(k) if k in has else f"NULL AS {q(k)}" for k in plan.keys]
    cols += ["\"at\"::TIMESTAMPTZ AS \"at\"", "outcome",
             "value::DOUBLE AS value" if "value" in has else "NULL::DOUBLE AS value",
             "logged_at::TIMESTAMPTZ AS logged_at" if "logged_at" in has else
             "\"at\"::TIMESTAMPTZ AS logged_at"]
    return f"SELECT {', '.join(cols)} FROM {name}"


def referenced(sql_texts: list[str], plan: Plan) -> set[str]:
    """The view's features and ``proba_<class>`` columns that some KPI's SQL mentions (only
    those are read, rebuilt or copied)."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", " ".join(sql_texts)))
    words |= set(re.findall(r'"((?:[^"]|"")+)"', " ".join(sql_texts)))
    return {f for f in plan.features if f in words} | \
        {w for w in words if w.startswith("proba_")}


#: ``joined`` restricted to the predictions that have an outcome (average precision)
KNOWN = "joined_known"


def build(lh: "Lakehouse", plan: Plan, start: datetime | None, end: datetime | None,
          wanted: set[str] | None = None, con: duckdb.DuckDBPyConnection | None = None,
          probas: bool = False) -> duckdb.DuckDBPyConnection:
    """A sandboxed connection holding views ``joined`` (the deployment's predictions made in
    ``[start, end)`` with their outcomes, see the module docstring) and ``joined_known``
    (those with an outcome). ``wanted``: the view features and ``proba_<class>`` columns to
    bring (those KPIs use); ``probas``: every ``proba_<class>`` column.

    Why it is shaped so: the predictions are copied once, only the columns asked for
    (DuckDB's ``rowid`` of the copy names a prediction: no ``row_number()`` pass); the
    outcomes (few) are matched to them in one ASOF join, and the views join the small table
    of matches back to the copy where they are read."""
    con = con or connection()
    wanted = set(wanted or ())
    sources = []
    for i, (kind, ds) in enumerate(_sources(lh, plan.deployment)):
        name = f"_pred{i}"
        names = ds.schema.names
        # batch inputs are per commit: stored inline, or by reference to pinned view
        # versions (null in the table): monitoring's reader puts each commit's back
        needed = {f for f in wanted if f in plan.features and f not in plan.keys}
        if kind == "batch" and needed:
            ds = _batch_with_inputs(lh, plan, start, end)
            if ds is None:
                continue
            names = ds.schema.names
        con.register(name, ds)
        cols, where = _prediction_columns(kind, names, plan, wanted, probas, start, end)
        sources.append((name, cols, where))
    if not sources:
        _empty(con, plan, wanted)
        return con
    union, order, constant = _prediction_union(sources)
    con.execute(f"CREATE TEMP TABLE _p AS {union}")
    # every prediction column in order (constants added back), and the prediction's id
    # a key no source holds (predictions logged without it) is null: the joins name it
    absent = [f", NULL::{plan.feature_types.get(k, 'VARCHAR')} AS {q(k)}"
              for k in plan.keys if k not in order]
    con.execute("CREATE TEMP VIEW _pv AS SELECT rowid AS _pid, " + ", ".join(
        f"{constant[c]} AS {q(c)}" if c in constant else q(c) for c in order)
        + "".join(absent) + " FROM _p")
    extra = _missing_columns(con, "_pv", plan, wanted)
    outs = _outcomes(lh, plan, con, start, end)
    if outs is None:
        for view, where in ((TABLE, ""), (KNOWN, " WHERE FALSE")):
            con.execute(f"CREATE TEMP VIEW {view} AS SELECT * EXCLUDE (_pid), NULL::DOUBLE AS "
                        f"outcome, NULL::DOUBLE AS value, FALSE AS has_outcome{extra} FROM _pv"
                        f"{where}")
        return con
    matches = " UNION ALL ".join(_matches(con, plan))
    con.execute("CREATE TEMP TABLE _m AS SELECT _pid, arg_max(outcome, logged_at) AS outcome, "
                f"arg_max(value, logged_at) AS value FROM ({matches}) GROUP BY _pid")
    # the matches are at most one per outcome and stream: small; the predictions are joined
    # to them where they are read (views), not copied once more
    con.execute(f"CREATE TEMP VIEW {TABLE} AS SELECT p.* EXCLUDE (_pid), m.outcome, m.value, "
                f"m._pid IS NOT NULL AS has_outcome{extra} FROM _pv p LEFT JOIN _m m "
                "USING (_pid)")
    con.execute(f"CREATE TEMP VIEW {KNOWN} AS SELECT p.* EXCLUDE (_pid), m.outcome, m.value, "
                f"TRUE AS has_outcome{extra} FROM _m m JOIN _pv p USING (_pid)")
    return con


def _matches(con: duckdb.DuckDBPyConnection, plan: Plan) -> list[str]:
    """SELECTs of (prediction id, outcome, value, logged_at): one per outcome naming its
    request, and per outcome and stream (version, arm, shadow) the prediction its keys and
    time join (see the module docstring)."""
    keys = plan.keys
    parts = []
    if con.execute("SELECT count(*) FROM _o WHERE request_id IS NOT NULL").fetchone()[0]:
        key_match = " AND ".join(f"(o.{q(k)} IS NULL OR o.{q(k)} = p.{q(k)})" for k in keys)
        parts.append("SELECT p._pid, o.outcome, o.value, o.logged_at FROM _o o JOIN _pv p ON "
                     f"o.request_id = p.request_id{' AND ' + key_match if keys else ''} "
                     "WHERE o.request_id IS NOT NULL")
    if keys:
        eq = " AND ".join(f"o.{q(k)} = p.{q(k)}" for k in keys)
        micros = int(plan.window.total_seconds() * 1_000_000)
        # one stream (no split, no shadow: the usual case) needs no stream columns in the
        # join; min/max tell it without a DISTINCT over every prediction
        one_stream = con.execute(
            "SELECT count(*) = 0 OR (count(version) = count(*) AND min(version) = max(version) "
            "AND min(arm) = max(arm) AND bool_and(shadow) = bool_or(shadow)) FROM _pv"
        ).fetchone()[0]
        if not one_stream:  # each outcome meets the latest prediction of every stream
            left = ("(SELECT o.*, s.version, s.arm, s.shadow FROM _o o, (SELECT DISTINCT "
                    "version, arm, shadow FROM _pv) s WHERE o.request_id IS NULL)")
            eq += " AND o.version = p.version AND o.arm = p.arm AND o.shadow = p.shadow"
        else:
            left = "(SELECT * FROM _o WHERE request_id IS NULL)"
        parts.append(
            f"SELECT p._pid, o.outcome, o.value, o.logged_at FROM {left} o "
            f"ASOF JOIN _pv p ON {eq} AND o.\"at\" >= p.ts "
            # epoch arithmetic: TIMESTAMPTZ - INTERVAL goes through ICU, 40x slower
            f"WHERE epoch_us(p.ts) >= epoch_us(o.\"at\") - {micros}")
    return parts or ["SELECT NULL::BIGINT AS _pid, outcome, value, logged_at FROM _o "
                     "WHERE FALSE"]


def _outcomes(lh: "Lakehouse", plan: Plan, con: duckdb.DuckDBPyConnection,
              start: datetime | None, end: datetime | None) -> str | None:
    """Register every outcome that could join a prediction of ``[start, end)`` as ``_o``;
    None when there are none."""
    selects = []
    path = outcomes_path(lh, plan.deployment)
    late_end = end + plan.window if end is not None else None
    if storage.exists(path):
        ds = storage.dataset(path)
        con.register("_out_table", ds)
        # request-id outcomes match whatever their time; key-and-time ones only in reach
        bounds = _time_bounds('"at"', start, late_end)
        selects.append(f"{_outcome_select('_out_table', ds.schema.names, plan)} WHERE "
                       f"request_id IS NOT NULL OR ({bounds})")
    src = plan.source
    if src:
        fg = lh.features.groups.get(src["feature_group"])
        cols = [*plan.keys, fg.event_time, src["outcome"], *([src["value"]] if src.get("value")
                                                              else [])]
        table = fg.read(columns=list(dict.fromkeys(cols)), start=start, end=late_end,
                        output="arrow")
        renamed = {fg.event_time: "at", src["outcome"]: "outcome"}
        if src.get("value"):
            renamed[src["value"]] = "value"
        table = table.rename_columns([renamed.get(c, c) for c in table.column_names])
        if pa.types.is_boolean(table.schema.field("outcome").type):
            table = table.set_column(table.schema.get_field_index("outcome"), "outcome",
                                     table.column("outcome").cast(pa.int64()))
        con.register("_out_group", table)
        selects.append(_outcome_select("_out_group", table.column_names, plan, rid=False))
    if not selects:
        return None
    con.execute(f"CREATE TEMP TABLE _o AS {' UNION ALL BY NAME '.join(selects)}")
    return "_o"


def _batch_with_inputs(lh: "Lakehouse", plan: Plan, start, end) -> pa.Table | None:
    """Batch predictions with the model's inputs rebuilt from the pinned view versions (the
    one rule for that is monitoring's, which reads them the same way)."""
    from ..monitoring.batch_rows import read_batch_rows
    from ..monitoring.windows import Window
    rows = read_batch_rows(lh, plan.deployment, "ts", Window(start, end))
    if rows is None:
        return None
    if plan.event_time and plan.event_time != "ts" and plan.event_time not in rows.column_names:
        rows = rows.append_column(plan.event_time, rows.column("ts"))
    return rows


def _empty(con: duckdb.DuckDBPyConnection, plan: Plan, wanted: set[str]) -> None:
    """An empty ``joined`` with every column a KPI may name (for validation, and for a
    deployment that predicted nothing yet)."""
    cols = [f"NULL::{t} AS {q(c)}" for c, t in FIXED.items()]
    cols += [f"NULL::{plan.feature_types.get(k, 'VARCHAR')} AS {q(k)}" for k in plan.keys]
    cols += [f"NULL::DOUBLE AS {q(f'proba_{c}')}" for c in plan.classes or ()]
    con.execute(f"CREATE TEMP TABLE _empty AS SELECT {', '.join(cols)} LIMIT 0")
    extra = _missing_columns(con, "_empty", plan, set(plan.features) | wanted)
    con.execute(f"CREATE TEMP VIEW {TABLE} AS SELECT *{extra} FROM _empty")
    con.execute(f"CREATE TEMP VIEW {KNOWN} AS SELECT * FROM {TABLE}")


def _missing_columns(con: duckdb.DuckDBPyConnection, table: str, plan: Plan,
                     wanted: set[str]) -> str:
    """``, NULL::type AS col`` for each column a KPI may name that no source had (typed as
    the view types it)."""
    have = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    have |= {"outcome", "value", "has_outcome"}
    out = ""
    for f in dict.fromkeys([*plan.keys, *sorted(wanted)]):
        if f not in have:
            out += f", NULL::{plan.feature_types.get(f, 'DOUBLE')} AS {q(f)}"
    return out
