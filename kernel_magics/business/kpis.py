"""KPIs: model metrics and the user's own business measures, per window, version and arm.

Every KPI is one SQL aggregate over the rows of ``business.joined`` (predictions, their
outcomes and the view's features) plus two columns derived for classifiers:

- ``y_true``: the outcome is the positive class (null while no outcome arrived);
- ``y_pred``: the prediction is positive: ``score >= threshold`` when the deployment has a
  ``threshold`` and the model gives probabilities, else ``prediction`` is the positive class.

The model metrics are such aggregates too (:data:`CLASSIFIER_METRICS`, :data:`REGRESSOR_METRICS`),
computed over the predictions that have an outcome; average precision needs a ranking and is
computed by a window query. A user KPI (``dep.kpi("money_saved", "sum(value) FILTER (WHERE
y_pred AND y_true)")``) is validated when defined — DuckDB binds it against the joined
columns, so an unknown column or a syntax error is named and nothing is stored — and runs on
the sandboxed connection (no files, no network, no ATTACH, configuration locked).

Each result row carries ``n`` (predictions in the window) and ``coverage`` (those with an
outcome yet). Precision and recall carry a 95 % Wilson interval (``ci_low``, ``ci_high``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ..shared.errors import InvalidInput
from ..shared.names import validate_name
from ..shared.quoting import quote_ident as q
from . import joined as J

KINDS = ("total", "rate")
BETTER = ("higher", "lower")
ON_ALERT = (None, "retrain")
ROWS = "kpi_rows"

#: model metrics of a classifier: name -> SQL aggregate over kpi_rows
CLASSIFIER_METRICS = {
    "precision": "count(*) FILTER (WHERE y_pred AND y_true)::DOUBLE / "
                 "NULLIF(count(*) FILTER (WHERE y_pred AND has_outcome), 0)",
    "recall": "count(*) FILTER (WHERE y_pred AND y_true)::DOUBLE / "
              "NULLIF(count(*) FILTER (WHERE y_true), 0)",
    "f1": "2 * count(*) FILTER (WHERE y_pred AND y_true)::DOUBLE / NULLIF("
          "count(*) FILTER (WHERE has_outcome AND (y_pred OR y_true)) + "
          "count(*) FILTER (WHERE y_pred AND y_true), 0)",
}
#: the counts behind precision and recall (for their Wilson intervals)
_PROPORTIONS = {
    "precision": ("count(*) FILTER (WHERE y_pred AND y_true)",
                  "count(*) FILTER (WHERE y_pred AND has_outcome)"),
    "recall": ("count(*) FILTER (WHERE y_pred AND y_true)",
               "count(*) FILTER (WHERE y_true)"),
}
REGRESSOR_METRICS = {
    "mae": "avg(abs(prediction::DOUBLE - outcome::DOUBLE)) FILTER (WHERE has_outcome)",
    "rmse": "sqrt(avg(power(prediction::DOUBLE - outcome::DOUBLE, 2)) "
            "FILTER (WHERE has_outcome))",
}
#: what compares best when higher (the rest, errors, when lower)
LOWER_IS_BETTER = {"mae", "rmse"}
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Kpi:
    """A KPI a user defined on a deployment."""

    deployment: str
    name: str
    sql: str
    #: ``total`` (grows with traffic: compared between arms per prediction) or ``rate``
    kind: str = "total"
    better: str = "higher"
    below: float | None = None
    above: float | None = None
    on_alert: str | None = None
    description: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Kpi":
        return cls(**{k: row[k] for k in cls.__dataclass_fields__ if k in row})

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def metric_names(plan: J.Plan) -> list[str]:
    """The model metrics of the deployment's task."""
    if plan.positive is None:
        return list(REGRESSOR_METRICS)
    return [*CLASSIFIER_METRICS, "average_precision"]


def builtin_kind(name: str) -> tuple[str, str]:
    """(kind, better) of a model metric."""
    return "rate", "lower" if name in LOWER_IS_BETTER else "higher"


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


def _is_positive(column: str, positive: Any) -> str:
    if isinstance(positive, (bool, int, float, np.integer, np.floating)):
        return f"TRY_CAST({column} AS DOUBLE) = {_literal(positive)}"
    return f"CAST({column} AS VARCHAR) = {_literal(positive)}"


def add_rows_view(con: duckdb.DuckDBPyConnection, plan: J.Plan,
                  threshold: float | None) -> None:
    """``kpi_rows``: ``joined`` with ``y_true`` and ``y_pred`` (see the module docstring)."""
    if plan.positive is None:
        con.execute(f"CREATE TEMP VIEW {ROWS} AS SELECT *, NULL::BOOLEAN AS y_true, "
                    f"NULL::BOOLEAN AS y_pred FROM {J.TABLE}")
        return
    y_true = f"CASE WHEN has_outcome THEN {_is_positive('outcome', plan.positive)} END"
    y_pred = _is_positive("prediction", plan.positive)
    if threshold is not None:
        y_pred = f"COALESCE(score >= {float(threshold)!r}, {y_pred})"
    con.execute(f"CREATE TEMP VIEW {ROWS} AS SELECT *, {y_true} AS y_true, "
                f"COALESCE({y_pred}, FALSE) AS y_pred FROM {J.TABLE}")


def check_sql(deployment: str, name: str, sql: Any) -> str:
    """The KPI's SQL if it is one aggregate expression (else InvalidInput naming it)."""
    if not isinstance(sql, str) or not sql.strip():
        raise InvalidInput(f"KPI {name!r} of deployment {deployment!r} needs its SQL, e.g. "
                           "\"sum(value) FILTER (WHERE y_pred AND y_true)\".")
    text = f"SELECT ({sql}) AS value FROM {ROWS}"
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        raise InvalidInput(f"KPI {name!r} of deployment {deployment!r} is not valid SQL: "
                           f"{_first_line(exc)}", _HINT) from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise InvalidInput(f"KPI {name!r} of deployment {deployment!r} is not a single SQL "
                           "expression.", "Remove the ';' and write one aggregate.")
    return sql.strip()


_HINT = ("A KPI is one SQL aggregate over the joined rows: prediction, score, y_pred, outcome, "
         "y_true, value, has_outcome, version, arm, ts, the view's keys and features; e.g. "
         "\"sum(value) FILTER (WHERE y_pred AND y_true)\".")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def validate(lh: Any, plan: J.Plan, threshold: float | None, deployment: str, name: str,
             sql: str) -> None:
    """Bind and run the KPI over the joined columns (no rows): an unknown column, a type
    error or a forbidden function (files, network) is refused now, naming the KPI."""
    plan.feature_types = feature_types(lh, deployment)
    con = J.connection()
    try:
        epoch = datetime(1970, 1, 1, tzinfo=_utc())
        J.build(lh, plan, epoch, epoch, wanted=set(plan.features), con=con)
        add_rows_view(con, plan, threshold)
        con.execute(f"SELECT version, arm, ({sql}) AS value FROM {ROWS} GROUP BY ALL")\
            .fetchall()
    except duckdb.Error as exc:
        raise InvalidInput(f"KPI {name!r} of deployment {deployment!r} does not run: "
                           f"{_first_line(exc)}", _HINT) from None
    finally:
        con.close()


def _utc():
    from datetime import timezone
    return timezone.utc


def feature_types(lh: Any, deployment: str) -> dict[str, str]:
    """DuckDB types of the view's keys and features (from an empty read of the view)."""
    try:
        served = lh.deployments.get(deployment).served
        if served.view is None:
            return {}
        far = pd.Timestamp("2999-01-01", tz="UTC")
        empty = served.view.batch_data(far, far + pd.Timedelta(seconds=1))
        con = duckdb.connect()
        try:
            con.register("e", empty)
            return {r[0]: r[1] for r in con.execute("DESCRIBE e").fetchall()}
        finally:
            con.close()
    except Exception:  # no rows yet, a group gone: types default (DOUBLE) in validation
        return {}


def compute(lh: Any, plan: J.Plan, kpis: list[Kpi], threshold: float | None,
            every: timedelta, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    """One row per window, version, arm and KPI: ``window_start, version, arm, shadow, kpi,
    value, coverage, n, ci_low, ci_high`` (model metrics first, then the user's KPIs)."""
    con = J.connection()
    try:
        J.build(lh, plan, start, end, wanted=J.referenced([k.sql for k in kpis], plan),
                con=con)
        add_rows_view(con, plan, threshold)
        return _compute(con, plan, kpis, every)
    finally:
        con.close()


#: windows start at multiples of their width from a Monday (2000-01-03, DuckDB's
#: time_bucket origin): days at midnight UTC, weeks on Mondays
ORIGIN_US = 946_857_600_000_000


def _bucket(every: timedelta) -> str:
    """The window of ``ts`` in epoch microseconds (integer arithmetic: time_bucket on a
    TIMESTAMPTZ goes through ICU and costs 8x as much)."""
    width = int(every.total_seconds() * 1_000_000)
    return f"(((epoch_us(ts) - {ORIGIN_US}) // {width}) * {width} + {ORIGIN_US})"


def _compute(con: duckdb.DuckDBPyConnection, plan: J.Plan, kpis: list[Kpi],
             every: timedelta) -> pd.DataFrame:
    metrics = REGRESSOR_METRICS if plan.positive is None else CLASSIFIER_METRICS
    exprs: dict[str, str] = dict(metrics)
    for k in kpis:
        exprs[k.name] = k.sql
    counts = {f"{m}__{i}": sql for m, pair in _PROPORTIONS.items() if plan.positive is not None
              for i, sql in enumerate(pair)}
    select = ", ".join(f"({sql})::DOUBLE AS {q('k_' + name)}" for name, sql in exprs.items())
    select += "".join(f", ({sql})::DOUBLE AS {q('c_' + name)}" for name, sql in counts.items())
    wide = con.execute(
        f"SELECT {_bucket(every)} AS window_start, version, arm, shadow, count(*) AS n, "
        f"count(*) FILTER (WHERE has_outcome) AS coverage, {select} FROM {ROWS} "
        "GROUP BY ALL ORDER BY ALL").df()
    if plan.positive is not None:
        ap = con.execute(
            f"SELECT window_start, version, arm, shadow, sum(prec) FILTER (WHERE y_true) / "
            "NULLIF(count(*) FILTER (WHERE y_true), 0) AS ap FROM (SELECT "
            f"{_bucket(every)} AS window_start, version, arm, shadow, y_true, "
            "count(*) FILTER (WHERE y_true) OVER w / count(*) OVER w AS prec "
            f"FROM {ROWS} WHERE has_outcome AND score IS NOT NULL WINDOW w AS (PARTITION BY "
            f"{_bucket(every)}, version, arm, shadow ORDER BY score DESC RANGE BETWEEN "
            "UNBOUNDED PRECEDING AND CURRENT ROW)) GROUP BY ALL").df()
        wide = wide.merge(ap, on=["window_start", "version", "arm", "shadow"], how="left")
        exprs = {**metrics, "average_precision": "", **{k.name: k.sql for k in kpis}}
        wide = wide.rename(columns={"ap": "k_average_precision"})
    return _long(wide, list(exprs), plan)


COLUMNS = ["window_start", "version", "arm", "shadow", "kpi", "value", "coverage", "n",
           "ci_low", "ci_high"]


def _long(wide: pd.DataFrame, names: list[str], plan: J.Plan) -> pd.DataFrame:
    if wide.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    parts = []
    for name in names:
        part = wide[["window_start", "version", "arm", "shadow", "coverage", "n"]].copy()
        part["kpi"] = name
        part["value"] = wide[f"k_{name}"].astype("float64")
        if name in _PROPORTIONS and plan.positive is not None:
            low, high = wilson(wide[f"c_{name}__0"].to_numpy(), wide[f"c_{name}__1"].to_numpy())
            part["ci_low"], part["ci_high"] = low, high
        else:
            part["ci_low"] = part["ci_high"] = np.nan
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["arm"] = out["arm"].replace("", None)
    out["window_start"] = pd.to_datetime(out["window_start"].astype("int64"), unit="us",
                                         utc=True)
    out["version"] = out["version"].astype("int64")
    out["n"] = out["n"].astype("int64")
    out["coverage"] = out["coverage"].astype("int64")
    order = {n: i for i, n in enumerate(names)}
    out = out.assign(_o=out["kpi"].map(order)).sort_values(
        ["window_start", "version", "arm", "shadow", "_o"], na_position="first")
    return out.drop(columns="_o")[COLUMNS].reset_index(drop=True)


def wilson(successes: np.ndarray, trials: np.ndarray, z: float = Z95
           ) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of proportions (NaN where there are no trials)."""
    k = np.asarray(successes, dtype="float64")
    n = np.asarray(trials, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low, high = centre - half, centre + half
    bad = ~(n > 0)
    low[bad] = np.nan
    high[bad] = np.nan
    return low, high


def check_definition(deployment: str, name: str, kind: str, better: str, below: Any,
                     above: Any, on_alert: Any) -> tuple[float | None, float | None]:
    """The KPI's settings checked (names what is wrong); returns (below, above) as floats."""
    validate_name(name, "KPI")
    builtin = {*CLASSIFIER_METRICS, "average_precision", *REGRESSOR_METRICS}
    if name in builtin:
        raise InvalidInput(f"{name!r} is a model metric Lakebook computes for deployment "
                           f"{deployment!r}.", "Pick another name for your KPI; alert on the "
                           f"metric with dep.kpi({name!r}, below=...) and no SQL.")
    if kind not in KINDS:
        raise InvalidInput(f"KPI {name!r}: kind must be 'total' (a sum or count: grows with "
                           f"traffic) or 'rate', not {kind!r}.")
    if better not in BETTER:
        raise InvalidInput(f"KPI {name!r}: better must be 'higher' or 'lower', not {better!r}.")
    return check_thresholds(deployment, name, below, above, on_alert)


def check_thresholds(deployment: str, name: str, below: Any, above: Any, on_alert: Any
                     ) -> tuple[float | None, float | None]:
    """A KPI's (or model metric's) alert settings checked; (below, above) as floats."""
    if on_alert not in ON_ALERT:
        raise InvalidInput(f"KPI {name!r}: on_alert must be None or 'retrain', not "
                           f"{on_alert!r}.")
    out = []
    for what, value in (("below", below), ("above", above)):
        if value is None:
            out.append(None)
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"KPI {name!r}: {what} must be a number, not {value!r}.") \
                from None
        if math.isnan(number):
            raise InvalidInput(f"KPI {name!r}: {what} cannot be NaN.")
        out.append(number)
    if on_alert and out == [None, None]:
        raise InvalidInput(f"KPI {name!r}: on_alert needs a threshold (below= or above=).")
    return out[0], out[1]
