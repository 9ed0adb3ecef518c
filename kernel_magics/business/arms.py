"""Comparing traffic arms (A/B split, shadow) on one KPI, with a bootstrap interval.

The method is a Poisson bootstrap (:data:`RESAMPLES` resamples; each row of an arm appears
``k ~ Poisson(1)`` times in a resample, drawn from a hash of the row and the resample so the
result is reproducible), run in DuckDB on the KPI's own SQL. An arm's value is the KPI per
prediction for a ``total`` KPI (sums and counts grow with the arm's share of traffic, so a
90/10 split is compared fairly) and the KPI itself for a ``rate``. The interval is the 95 %
percentile interval; the difference between the best arm and the runner-up is significant
when its interval (from paired resamples) excludes zero.
"""
from __future__ import annotations

from typing import Any

import duckdb
import numpy as np

from .kpis import ROWS

RESAMPLES = 200
#: rows per arm the resamples draw from (beyond it, a deterministic subsample)
MAX_ROWS = 50_000
METHOD = f"Poisson bootstrap, {RESAMPLES} resamples, 95% percentile interval"
#: Poisson(1) cumulative probabilities: k is the number of these a uniform draw exceeds
_POISSON_CDF = (0.36787944, 0.73575888, 0.91969860, 0.98101184, 0.99634015, 0.99940582,
                0.99991676)


def _group() -> str:
    return ("CASE WHEN arm = '' THEN 'v' || version::VARCHAR ELSE arm END || "
            "CASE WHEN shadow THEN ' (shadow)' ELSE '' END")


def _multiplicity(seed: str) -> str:
    u = f"((hash({seed}) % 1000000007)::DOUBLE / 1000000007)"
    return " + ".join(f"({u} > {p})::INTEGER" for p in _POISSON_CDF)


def compare(con: duckdb.DuckDBPyConnection, name: str, sql: str, kind: str,
            better: str) -> dict[str, Any]:
    """Every arm's value of KPI ``sql`` with its interval, the best arm, and whether it beats
    the runner-up significantly (see the module docstring). ``con`` holds ``kpi_rows``."""
    per = "/ count(*)" if kind == "total" else ""
    con.execute(f"CREATE TEMP TABLE _arms AS SELECT {_group()} AS arm_label, "
                f"row_number() OVER () AS _rid, * FROM {ROWS}")
    point = con.execute(
        f"SELECT arm_label, min(version), count(*), count(*) FILTER (WHERE has_outcome), "
        f"(({sql})::DOUBLE {per}) FROM _arms GROUP BY ALL ORDER BY 1").fetchall()
    arms = [{"arm": a, "version": int(v), "n": int(n), "coverage": int(c),
             "value": None if val is None or np.isnan(val) else float(val)}
            for a, v, n, c, val in point]
    out: dict[str, Any] = {"kpi": name, "kind": kind, "better": better, "method": METHOD,
                           "per": "prediction" if kind == "total" else "window",
                           "arms": arms, "best": None, "significant": False}
    if not arms:
        out["verdict"] = f"No predictions to compare on {name}."
        return out
    reps = con.execute(
        f"WITH s AS (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY arm_label ORDER "
        f"BY hash(_rid)) AS _k FROM _arms) WHERE _k <= {MAX_ROWS}), "
        f"r AS (SELECT s.*, b FROM s, range({RESAMPLES}) t(b)), "
        f"m AS (SELECT *, unnest(range({_multiplicity('_rid, b')})) AS _copy FROM r) "
        f"SELECT arm_label, b, (({sql})::DOUBLE {per}) FROM m GROUP BY ALL").fetchall()
    by_arm: dict[str, np.ndarray] = {}
    for arm in arms:
        values = np.full(RESAMPLES, np.nan)
        by_arm[arm["arm"]] = values
    for label, b, value in reps:
        by_arm[label][int(b)] = np.nan if value is None else value
    for arm in arms:
        values = by_arm[arm["arm"]]
        ok = values[~np.isnan(values)]
        arm["ci_low"], arm["ci_high"] = (float(np.percentile(ok, 2.5)),
                                         float(np.percentile(ok, 97.5))) if len(ok) else \
            (None, None)
    scored = [a for a in arms if a["value"] is not None]
    if not scored:
        out["verdict"] = f"No arm has a value of {name} yet (no outcomes?)."
        return out
    sign = 1 if better == "higher" else -1
    ranked = sorted(scored, key=lambda a: sign * a["value"], reverse=True)
    best = ranked[0]
    out["best"] = best["arm"]
    if len(ranked) == 1:
        out["verdict"] = f"Only {best['arm']} has a value of {name}."
        return out
    second = ranked[1]
    diff = by_arm[best["arm"]] - by_arm[second["arm"]]
    diff = diff[~np.isnan(diff)]
    out["runner_up"] = second["arm"]
    out["difference"] = best["value"] - second["value"]
    if len(diff):
        low, high = float(np.percentile(diff, 2.5)), float(np.percentile(diff, 97.5))
        out["difference_ci"] = [low, high]
        out["significant"] = bool(low > 0 or high < 0)
    unit = " per prediction" if kind == "total" else ""
    out["verdict"] = (
        f"{best['arm']} is better on {name} ({best['value']:.4g} vs {second['value']:.4g}"
        f"{unit}); the difference is "
        f"{'significant' if out['significant'] else 'not significant'} at 95% with "
        f"{best['n']} and {second['n']} predictions.")
    return out
