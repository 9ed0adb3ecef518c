"""Batch scoring: rows scored and written vs bare ``model.predict`` + ``write_deltalake``.

Target (issue 5): 1M rows scored and written in under 2x the time of bare
``model.predict(X)`` plus ``write_deltalake`` of (keys, event time, prediction). Lakebook's
path (``deployment.batch(df=...)``) writes more — probabilities, model name/version, run id
to ``predictions_<name>`` *and* the inputs and outputs to the inference log — with both Delta
writes running at the same time. The frame has the shape ``view.batch_data`` returns (keys,
event time, features); reading it is the feature view's cost and is not timed here.

    .venv/bin/python benchmarks/bench_batch.py                          # 100,000 rows
    LAKEBOOK_BENCH_FULL=1 .venv/bin/python benchmarks/bench_batch.py    # 1,000,000 rows
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import write_deltalake

sys.path.insert(0, str(Path(__file__).parent))
from bench_predict import build_lakehouse  # noqa: E402

FULL = os.environ.get("LAKEBOOK_BENCH_FULL") == "1"


def frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame({
        "cc_num": rng.integers(0, 100_000, n),
        "ts": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n), "s"),
        "amount": rng.gamma(2.0, 30.0, n), "age": rng.integers(18, 90, n).astype(float),
        "velocity": rng.normal(size=n), "distance": rng.exponential(5.0, n)})


def main() -> int:
    n = 1_000_000 if FULL else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        lh, deployment, model, fv = build_lakehouse(Path(tmp) / "lh")
        df = frame(n)
        features = fv.features
        runs = 3
        bare, ours = [], []
        for r in range(runs):
            t0 = time.perf_counter()
            pred = model.predict(df[features])
            out = pa.table({"cc_num": df["cc_num"].to_numpy(), "ts": df["ts"],
                            "prediction": pred})
            write_deltalake(str(Path(tmp) / f"bare_{r}"), out, mode="append")
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = deployment.batch(df=df, output=f"predictions_run{r}")
            ours.append(time.perf_counter() - t0)
            assert result.rows == n
        b, o = min(bare), min(ours)
        print(f"batch scoring of {n:,} rows ({len(features)} features, "
              f"{type(model).__name__}), best of {runs}")
        print(f"  bare model.predict + write_deltalake: {b:.3f} s")
        print(f"  deployment.batch (predictions + inference log): {o:.3f} s "
              f"({n / o:,.0f} rows/s)")
        print(f"  ratio {o / b:.2f}x (target < 2x): {'OK' if o / b < 2 else 'MISSED'}")
        deployment.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
