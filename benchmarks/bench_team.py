"""The team lakehouse: catalog operations on PostgreSQL vs SQLite, inserts to S3 vs a bare
``write_deltalake`` to the same endpoint, and training data from S3 vs DuckDB ASOF over the
same files read through Arrow.

    flock /tmp/lakebook-heavy.lock .venv/bin/python benchmarks/bench_team.py
    LAKEBOOK_BENCH_FULL=1 ...   # the issue's sizes: 10M-row insert, 10M x 1M training data
    LAKEBOOK_BENCH_OPS=5 LAKEBOOK_BENCH_ROWS=2000 ...   # a tiny run: proves it runs only

It starts its own services as the tests do (a throwaway PostgreSQL 15 cluster, moto's S3
server) and prints same-run ratios. Targets (issue 16): insert <= 1.3x write_deltalake,
training data <= 1.3x DuckDB ASOF.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import team_stack  # noqa: E402  (the tests' service starters)

FULL = os.environ.get("LAKEBOOK_BENCH_FULL") == "1"
OPS = int(os.environ.get("LAKEBOOK_BENCH_OPS", 200))
#: LAKEBOOK_BENCH_ROWS=N: a smaller run (N-row inserts and features, N/10 spine rows), e.g. to
#: prove the script runs; its figures mean nothing at tiny sizes
ROWS = int(os.environ.get("LAKEBOOK_BENCH_ROWS", 0))
INSERT_ROWS = ROWS or (10_000_000 if FULL else 1_000_000)
FEATURE_ROWS = ROWS or (10_000_000 if FULL else 1_000_000)
SPINE_ROWS = max(1, ROWS // 10) if ROWS else (1_000_000 if FULL else 100_000)
KEYS = 100_000
REPS = 3


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def catalog_ops(lh) -> dict[str, list[float]]:
    """Latency of the catalog operations a team makes all day (one process)."""
    from kernel_magics.features import records as features
    from kernel_magics.pipelines import records as pipelines
    from sklearn.linear_model import LogisticRegression
    out: dict[str, list[float]] = {"create group": [], "commit record": [], "alias move": [],
                                   "claim a run": []}
    fg = lh.create_feature_group("base", key="k", event_time="ts")
    for i in range(2):
        lh.registry.register(LogisticRegression().fit([[0], [1]], [0, 1]), "m")
    for i in range(OPS):
        out["create group"].append(timed(
            lambda: lh.create_feature_group(f"g{i}", key="k", event_time="ts")))
        out["commit record"].append(timed(lambda: features.record_commit(
            lh.catalog, fg.id, i, {"seq": i, "mode": "append", "rows": 10}, False)))
        out["alias move"].append(timed(
            lambda: lh.registry.set_alias("m", "production", 1 + i % 2)))
        pipelines.add_run(lh.catalog, target={"notebook": "x.ipynb"})
        out["claim a run"].append(timed(
            lambda: pipelines.claim_next(lh.catalog, "bench", 30.0)))
    return out


def frame(rows: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    return pd.DataFrame({"cc_num": rng.integers(0, KEYS, rows),
                         "ts": start + pd.to_timedelta(rng.integers(0, 90 * 86400, rows), "s"),
                         "amount": rng.gamma(2.0, 30.0, rows),
                         "tx_count_1d": rng.integers(0, 40, rows).astype("int32")})


def main() -> int:
    import kernel_magics
    from deltalake import write_deltalake

    from kernel_magics.storage import delta
    work = Path(tempfile.mkdtemp(prefix="lakebook-bench-team-"))
    pg = team_stack.PostgresCluster()
    s3 = team_stack.MotoS3(work)
    failed = False
    try:
        laptop = kernel_magics.connect(work / "laptop")
        (work / "team").mkdir()
        (work / "team" / "lakebook.toml").write_text(
            f'[catalog]\nurl = "{pg.new_database()}"\n' + s3.toml(s3.new_prefix()))
        team = kernel_magics.connect(work / "team")

        print(f"catalog operations: {OPS} each, one process (p50 / p99, ms)")
        sqlite_ops, pg_ops = catalog_ops(laptop), catalog_ops(team)
        for name in sqlite_ops:
            a, b = sqlite_ops[name], pg_ops[name]
            print(f"  {name:14s} SQLite {pct(a, 50):6.2f} / {pct(a, 99):6.2f}   PostgreSQL "
                  f"{pct(b, 50):6.2f} / {pct(b, 99):6.2f}   ratio p50 "
                  f"{pct(b, 50) / pct(a, 50):4.2f}")

        df = frame(INSERT_ROWS)
        bare, ours = [], []
        for rep in range(REPS):
            loc = team.storage.location(f"bare/t{rep}")
            bare.append(timed(lambda: write_deltalake(loc.uri, df,
                                                      storage_options=loc.delta_options)))
            fg = team.create_feature_group(f"insert{rep}", key="cc_num", event_time="ts")
            ours.append(timed(lambda: fg.insert(df, statistics=False)))
        b, o = statistics.median(bare), statistics.median(ours)
        ok = o / b <= 1.3
        failed |= not ok
        print(f"insert to S3 (moto), {INSERT_ROWS:,} rows, median of {REPS}: write_deltalake "
              f"{b:.2f} s, fg.insert {o:.2f} s, ratio {o / b:.2f} (target <= 1.3) "
              f"{'ok' if ok else 'OVER'}")

        spine = team.create_feature_group("tx", key="cc_num", event_time="ts")
        spine.insert(frame(SPINE_ROWS, 1)[["cc_num", "ts", "amount"]], statistics=False)
        feats = team.create_feature_group("feats", key="cc_num", event_time="ts")
        feats.insert(frame(FEATURE_ROWS, 2).rename(columns={"amount": "avg"}),
                     statistics=False)
        view = team.create_feature_view("v", spine=spine, join=[feats.select(
            ["avg", "tx_count_1d"])], label="amount")
        import duckdb

        def asof() -> pd.DataFrame:
            con = duckdb.connect()
            con.register("s", delta.dataset(spine.table_path))
            con.register("f", delta.dataset(feats.table_path))
            return con.sql("SELECT s.cc_num, s.ts, s.amount, f.avg, f.tx_count_1d FROM s "
                           "ASOF LEFT JOIN f ON s.cc_num = f.cc_num AND s.ts >= f.ts"
                           ).to_arrow_table().to_pandas()
        view.training_data()  # the tie check, remembered for the pinned versions
        duck, lake = [], []
        for _ in range(REPS):
            duck.append(timed(asof))
            lake.append(timed(view.training_data))
        d, lk = min(duck), min(lake)
        ok = lk / d <= 1.3
        failed |= not ok
        print(f"training data from S3 (moto), {FEATURE_ROWS:,} x {SPINE_ROWS:,}, best of "
              f"{REPS}: DuckDB ASOF over Arrow {d:.2f} s, view.training_data {lk:.2f} s, "
              f"ratio {lk / d:.2f} (target <= 1.3) {'ok' if ok else 'OVER'}")
    finally:
        s3.stop()
        pg.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
