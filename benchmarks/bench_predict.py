"""In-process ``deployment.predict`` of one entity vs bare ``model.predict`` on the same row.

Target (issue 5): the overhead of ``deployment.predict({"cc_num": k})`` — online feature
lookup (SQLite online store), input frame, prediction *and* probabilities, JSON answer,
inference-log append — over ``model.predict(row)`` is <= 0.5 ms at p99.

Calls alternate (deployment, bare, deployment, ...) so both see the same machine load.

    .venv/bin/python benchmarks/bench_predict.py            # 3,000 calls each
    LAKEBOOK_BENCH_FULL=1 .venv/bin/python benchmarks/bench_predict.py   # 20,000
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

FULL = os.environ.get("LAKEBOOK_BENCH_FULL") == "1"
ENTITIES = 1_000


def build_lakehouse(home: Path, entities: int = ENTITIES, rows: int = 5_000):
    """A lakehouse with an online feature group, a view, a LogisticRegression registered on
    it with alias production, and deployment ``fraud`` following that alias."""
    from sklearn.linear_model import LogisticRegression

    import kernel_magics as kb
    lh = kb.connect(home)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "cc_num": np.arange(rows) % entities,
        "ts": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(rows), "min"),
        "amount": rng.gamma(2.0, 30.0, rows), "age": rng.integers(18, 90, rows).astype(float),
        "velocity": rng.normal(size=rows), "distance": rng.exponential(5.0, rows)})
    df["is_fraud"] = ((df.amount > 90) & (df.velocity > 0.5)).astype(int)
    fg = lh.create_feature_group("tx", key="cc_num", event_time="ts", online=True)
    fg.insert(df)
    fv = lh.create_feature_view("tx_view", spine=fg, label="is_fraud")
    X_train, X_test, y_train, y_test = fv.train_test_split()
    model = LogisticRegression(max_iter=500).fit(X_train, y_train)
    mv = lh.registry.register(model, "fraud", view=fv, input_example=X_train.head(5))
    lh.registry.set_alias("fraud", "production", mv.version)
    deployment = lh.deploy("fraud", model="fraud", alias="production")
    return lh, deployment, model, fv


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def main() -> int:
    n = 20_000 if FULL else 3_000
    with tempfile.TemporaryDirectory() as tmp:
        lh, deployment, model, fv = build_lakehouse(Path(tmp) / "lh")
        keys = [int(k) for k in np.random.default_rng(1).integers(0, ENTITIES, n)]
        rows = {k: fv.feature_vectors([{"cc_num": k}])[fv.features] for k in set(keys)}
        for k in keys[:200]:  # warm up both paths
            deployment.predict({"cc_num": k})
            model.predict(rows[k])
        dep_t, bare_t = [], []
        gc.disable()
        try:
            for k in keys:
                t0 = time.perf_counter()
                deployment.predict({"cc_num": k})
                t1 = time.perf_counter()
                model.predict(rows[k])
                t2 = time.perf_counter()
                dep_t.append(t1 - t0)
                bare_t.append(t2 - t1)
        finally:
            gc.enable()
        deployment.close()
        out = {q: (percentile(dep_t, q), percentile(bare_t, q)) for q in (50, 90, 99)}
        print(f"in-process predict of one entity, {n} calls "
              f"(model {type(model).__name__}, {len(fv.features)} features, SQLite online)")
        for q, (d, b) in out.items():
            print(f"  p{q}: deployment.predict {d:.3f} ms  bare model.predict {b:.3f} ms  "
                  f"overhead {d - b:.3f} ms  ratio {d / b:.2f}x")
        overhead = out[99][0] - out[99][1]
        verdict = "OK" if overhead <= 0.5 else "MISSED"
        print(f"  p99 overhead {overhead:.3f} ms (target <= 0.5 ms): {verdict}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
