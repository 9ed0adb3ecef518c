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
#: ``kpi_rows`` of the predictions that have an outcome
KNOWN_ROWS = "kpi_known"

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
    """``kpi_rows``: ``joined`` with ``y_true`` and ``y_pred`` (see the module docstring);
    ``kpi_known``: the same over ``joined_known``."""
    if plan.positive is None:
        for view, table in ((ROWS, J.TABLE), (KNOWN_ROWS, J.KNOWN)):
            con.execute(f"CREATE TEMP VIEW {view} AS SELECT *, NULL::BOOLEAN AS y_true, "
                        f"NULL::BOOLEAN AS y_pred FROM {table}")
        return
    y_true = f"CASE WHEN has_outcome THEN {_is_positive('outcome', plan.positive)} END"
    y_pred = _is_positive("prediction", plan.positive)
    if threshold is not None:
        y_pred = f"COALESCE(score >= {float(threshold)!r}, {y_pred})"
    for view, table in ((ROWS, J.TABLE), (KNOWN_ROWS, J.KNOWN)):
        con.execute(f"CREATE TEMP VIEW {view} AS SELECT *, {y_true} AS y_true, "
                    f"COALESCE({y_pred}, FALSE) AS y_pred FROM {table}")


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
    """The KPI rows in one DuckDB query: the aggregates per window and stream over
    ``kpi_rows`` (one pass), average precision over ``kpi_known`` (the predictions with an
    outcome: a few), the Wilson intervals, and the long shape; only the answer (windows x
    streams x KPIs rows) comes to pandas."""
    classifier = plan.positive is not None
    metrics = CLASSIFIER_METRICS if classifier else REGRESSOR_METRICS
    exprs: dict[str, str] = {**metrics, **{k.name: k.sql for k in kpis}}
    select = "".join(f", ({sql})::DOUBLE AS {q('k_' + name)}" for name, sql in exprs.items())
    if classifier:
        select += "".join(f", ({sql})::DOUBLE AS {q(f'c_{m}__{i}')}"
                          for m, pair in _PROPORTIONS.items() for i, sql in enumerate(pair))
    bucket = _bucket(every)
    stream = "window_start, version, arm, shadow"
    ctes = [f"wide AS MATERIALIZED (SELECT {bucket} AS window_start, version, arm, shadow, "
            f"count(*) AS n, count(*) FILTER (WHERE has_outcome) AS coverage{select} "
            f"FROM {ROWS} GROUP BY ALL)"]
    names = list(exprs)
    source = "wide"
    if classifier:
        # precision at each distinct score (ties share a threshold, as scikit-learn's),
        # summed over the positives: cumulative sums over the sorted scores
        ctes.append(
            f"ap AS (SELECT {stream}, sum(pos * cum_pos / cum_n) / NULLIF(sum(pos), 0) AS "
            f"k_average_precision FROM (SELECT *, sum(pos) OVER w AS cum_pos, sum(cnt) OVER w "
            f"AS cum_n FROM (SELECT {bucket} AS window_start, version, arm, shadow, score, "
            f"count(*) FILTER (WHERE y_true) AS pos, count(*) AS cnt FROM {KNOWN_ROWS} "
            f"WHERE score IS NOT NULL GROUP BY ALL) WINDOW w AS (PARTITION BY {stream} "
            "ORDER BY score DESC ROWS UNBOUNDED PRECEDING)) GROUP BY ALL)")
        ctes.append(f"scored AS MATERIALIZED (SELECT * FROM wide LEFT JOIN ap USING ({stream}))")
        names = [*metrics, "average_precision", *(k.name for k in kpis)]
        source = "scored"
    parts = []
    for i, name in enumerate(names):
        if classifier and name in _PROPORTIONS:
            k, n = q(f"c_{name}__0"), q(f"c_{name}__1")
            ci = f"{_wilson_sql(k, n, -1)} AS ci_low, {_wilson_sql(k, n, 1)} AS ci_high"
        else:
            ci = "NULL::DOUBLE AS ci_low, NULL::DOUBLE AS ci_high"
        parts.append(f"SELECT window_start, version, NULLIF(arm, '') AS arm, shadow, "
                     f"{_literal(name)} AS kpi, {q('k_' + name)} AS value, coverage, n, "
                     f"{ci}, {i} AS _o FROM {source}")
    out = con.execute(
        f"WITH {', '.join(ctes)} SELECT make_timestamp(window_start)::TIMESTAMPTZ AS "
        f"window_start, version, arm, shadow, kpi, value, coverage, n, ci_low, ci_high FROM "
        f"({' UNION ALL '.join(parts)}) ORDER BY window_start, version, arm NULLS FIRST, "
        "shadow, _o").df()
    if out.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    return out.astype({"window_start": "datetime64[ns, UTC]", "version": "int64",
                       "coverage": "int64", "n": "int64", "value": "float64",
                       "ci_low": "float64", "ci_high": "float64"})


COLUMNS = ["window_start", "version", "arm", "shadow", "kpi", "value", "coverage", "n",
           "ci_low", "ci_high"]


def _wilson_sql(successes: str, trials: str, sign: int, z: float = Z95) -> str:
    """One bound (``sign`` -1: low, +1: high) of the Wilson score interval of the proportion
    ``successes / trials`` in SQL: ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``;
    NULL without trials."""
    n = f"NULLIF({trials}, 0)"
    p = f"({successes} / {n})"
    z2 = z * z
    return (f"(({p} + {z2!r} / (2 * {n})) {'+' if sign > 0 else '-'} {z!r} * sqrt({p} * "
            f"(1 - {p}) / {n} + {z2!r} / (4 * {n} * {n}))) / (1 + {z2!r} / {n})")


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
