"""Business results (issue 18): KPI computation, and the cost of a split and a shadow.

1. ``dep.kpis(every="1d")`` (model metrics + two user KPIs) over N batch predictions joined
   to M outcomes by keys and time, against a hand-written DuckDB query over the same Parquet
   files doing the same ASOF join and aggregates. Target: <= 1.5 s and <= 1.3x at 10M / 1M.
2. ``deployment.predict`` with a 90/10 split vs without (same deployment, re-routed;
   alternating calls). Target: the split adds <= 0.02 ms.
3. With a shadow vs without: the answered request's p50. Target: nothing measurable.

    .venv/bin/python benchmarks/bench_business.py           # 1M predictions, 100k outcomes
    LAKEBOOK_BENCH_FULL=1 .venv/bin/python benchmarks/bench_business.py   # 10M / 1M
"""
from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from bench_predict import build_lakehouse  # noqa: E402

FULL = os.environ.get("LAKEBOOK_BENCH_FULL") == "1"
N = 10_000_000 if FULL else 1_000_000
M = 1_000_000 if FULL else 100_000
CALLS = 20_000 if FULL else 3_000
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def write_tables(lh, deployment: str, n: int, m: int) -> None:
    """``predictions_<deployment>``: n predictions of 100k cards over 28 days (as batch runs
    write them); ``outcomes_<deployment>``: m outcomes naming predictions by card and time."""
    from deltalake import write_deltalake
    rng = np.random.default_rng(1)
    cards = rng.integers(0, 100_000, n)
    ts = T0.value // 1000 + np.sort(rng.integers(0, 28 * 86_400_000_000, n))
    p1 = rng.random(n)
    table = pa.table({
        "cc_num": cards, "ts": pa.array(ts, pa.timestamp("us", "UTC")),
        "prediction": (p1 > 0.8).astype(np.int64), "proba_0": 1 - p1, "proba_1": p1,
        "model": pa.repeat(pa.scalar("fraud"), n), "model_version": np.full(n, 1, np.int64),
        "scored_at": pa.repeat(pa.scalar(T0.to_pydatetime(), pa.timestamp("us", "UTC")), n),
        "run_id": pa.repeat(pa.scalar("bench"), n)})
    write_deltalake(str(lh.tables_dir / f"predictions_{deployment}"), table)
    pick = rng.choice(n, m, replace=False)
    outcomes = pa.table({
        "request_id": pa.nulls(m, pa.string()), "cc_num": cards[pick],
        "at": pa.array(ts[pick], pa.timestamp("us", "UTC")),
        "outcome": (rng.random(m) < p1[pick] * 0.3).astype(np.int64),
        "value": rng.gamma(2.0, 40.0, m),
        "logged_at": pa.array(ts[pick] + 86_400_000_000, pa.timestamp("us", "UTC"))})
    write_deltalake(str(lh.tables_dir / f"outcomes_{deployment}"), outcomes)


def hand_written(lh, deployment: str) -> pd.DataFrame:
    """What a data engineer would write: DuckDB over the tables' Parquet files (times as
    epoch microseconds: TIMESTAMPTZ arithmetic goes through ICU and is far slower)."""
    import duckdb
    from deltalake import DeltaTable
    files = {}
    for kind in ("predictions", "outcomes"):
        path = lh.tables_dir / f"{kind}_{deployment}"
        files[kind] = DeltaTable(str(path)).file_uris()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TEMP TABLE p AS SELECT row_number() OVER () AS id, * FROM "
                f"read_parquet({files['predictions']})")
    return con.execute(f"""
        WITH o AS (SELECT * FROM read_parquet({files['outcomes']})),
        m AS (SELECT p.id, arg_max(o.outcome, o.logged_at) AS outcome,
                     arg_max(o.value, o.logged_at) AS value
              FROM o ASOF JOIN p ON o.cc_num = p.cc_num AND o."at" >= p.ts
              WHERE epoch_us(p.ts) >= epoch_us(o."at") - 2592000000000 GROUP BY p.id),
        j AS (SELECT p.*, m.outcome, m.value, m.id IS NOT NULL AS has_outcome,
                     m.outcome = 1 AS y_true, p.prediction = 1 AS y_pred
              FROM p LEFT JOIN m USING (id))
        SELECT epoch_us(ts) // 86400000000 AS w, model_version, count(*) AS n,
               count(*) FILTER (WHERE has_outcome) AS coverage,
               count(*) FILTER (WHERE y_pred AND y_true) / count(*) FILTER (WHERE y_pred AND has_outcome) AS prec,
               count(*) FILTER (WHERE y_pred AND y_true) / count(*) FILTER (WHERE y_true) AS rec,
               sum(value) FILTER (WHERE y_pred AND y_true) AS saved,
               count(*) FILTER (WHERE y_pred) * 2.5 AS cost
        FROM j GROUP BY ALL""").df()


def bench_kpis(home: Path) -> None:
    lh, dep, model, fv = build_lakehouse(home)
    lh.deploy("bulk", model="fraud", kind="batch")
    bulk = lh.deployments.get("bulk")
    t = time.perf_counter()
    write_tables(lh, "bulk", N, M)
    print(f"wrote {N:,} predictions and {M:,} outcomes in {time.perf_counter() - t:.1f}s")
    bulk.kpi("money_saved", "sum(value) FILTER (WHERE y_pred AND y_true)")
    bulk.kpi("review_cost", "count(*) FILTER (WHERE y_pred) * 2.5", better="lower")
    ours, base = [], []
    for _ in range(3):
        gc.collect()
        t = time.perf_counter()
        frame = bulk.kpis(every="1d")
        ours.append(time.perf_counter() - t)
        gc.collect()
        t = time.perf_counter()
        ref = hand_written(lh, "bulk")
        base.append(time.perf_counter() - t)
    a, b = min(ours), min(base)
    print(f"kpis over {N:,} predictions / {M:,} outcomes: {a:.2f}s (best of 3), hand-written "
          f"DuckDB (no average precision) {b:.2f}s, ratio {a / b:.2f} (targets: <= 1.5 s, "
          f"<= 1.3x at 10M / 1M); {len(frame)} rows, {len(ref)} windows")
    got = frame[frame.kpi == "money_saved"].set_index("window_start")["value"]
    want = ref.set_index(pd.to_datetime(ref["w"] * 86400, unit="s", utc=True))["saved"]
    assert np.allclose(got.sort_index().to_numpy(), want.sort_index().to_numpy()), "differ"
    lh.deployments.close()


def p50(samples: list[float]) -> float:
    return float(np.percentile(samples, 50)) * 1000


def bench_routing(home: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    lh, dep, model, fv = build_lakehouse(home)
    X_train, _, y_train, _ = fv.train_test_split()
    mv2 = lh.registry.register(LogisticRegression(C=0.1, max_iter=500).fit(X_train, y_train),
                               "fraud", view=fv, input_example=X_train.head(5))
    lh.registry.set_alias("fraud", "challenger", mv2.version)
    plain = lh.deploy("plain", model="fraud")
    split = lh.deploy("split", model="fraud", split={"production": 0.9, "challenger": 0.1})
    shadow = lh.deploy("shadow", model="fraud", shadow="challenger")
    keys = [{"cc_num": int(k)} for k in np.random.default_rng(2).integers(0, 1000, CALLS)]
    for d in (plain, split, shadow):  # warm: models loaded, lookups planned
        for k in keys[:200]:
            d.predict(k)
    times: dict[str, list[float]] = {"plain": [], "split": [], "shadow": []}
    deps = {"plain": plain, "split": split, "shadow": shadow}
    order = list(deps)
    for i, k in enumerate(keys):
        for name in order[i % 3:] + order[:i % 3]:  # rotate: no deployment always first
            d = deps[name]
            t = time.perf_counter()
            d.predict(k)
            times[name].append(time.perf_counter() - t)
        if len(times["plain"]) % 500 == 0:
            time.sleep(0.02)  # let the shadow thread and the log writer breathe
    base = p50(times["plain"])
    route = router_cost(split)
    print(f"predict p50 over {CALLS:,} alternating calls: plain {base:.3f} ms, 90/10 split "
          f"{p50(times['split']):.3f} ms (+{p50(times['split']) - base:.3f} ms; the routing "
          f"itself {route * 1000:.4f} ms per call; target <= 0.02 ms), shadow "
          f"{p50(times['shadow']):.3f} ms (+{p50(times['shadow']) - base:.3f} ms; target: "
          "nothing measurable)")
    lh.deployments.close()


def router_cost(dep) -> float:
    """Seconds per call of what the split adds: the arm's hash and the rows' grouping."""
    served = dep.served
    entries = [{"cc_num": 42}]
    n = 100_000
    t = time.perf_counter()
    for _ in range(n):
        dep._route(served, [0], entries, "r")
    return (time.perf_counter() - t) / n


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if os.environ.get("LAKEBOOK_BENCH_ONLY") != "kpis":
            bench_routing(Path(tmp) / "routing")
        bench_kpis(Path(tmp) / "kpis")


if __name__ == "__main__":
    main()
