"""Vector features (issue 19): Lakebook's online index against usearch used directly and
against exact search, in the same process, on the same vectors.

    flock /tmp/lakebook-heavy.lock .venv/bin/python benchmarks/bench_similarity.py
    LAKEBOOK_BENCH_FULL=1 ...          # 1M x 128 and 100k x 768 (the issue's sizes)

Data: clustered float32 vectors (a Gaussian mixture with n/1000 centres, noise 0.75x, queries
from the same mixture; i.i.d. random directions have no neighbourhoods and no HNSW reaches
the recall target on them, see research-ann). Truth: exact numpy top-10 by cosine.

Targets: recall@10 >= 0.95; p50 <= 0.5 ms, p99 <= 2 ms (128-d), p99 <= 3 ms (768-d);
build <= 1.5x usearch's own; insert of 10% more rows into an indexed online group <= 2x the
Delta write alone; filtered (10%) recall >= 0.95, p99 <= 5 ms; index memory <= 1.5x raw.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

FULL = os.environ.get("LAKEBOOK_BENCH_FULL") == "1"
SIZES = [(1_000_000, 128), (100_000, 768)] if FULL else [(200_000, 128), (20_000, 768)]
QUERIES = 500
K = 10
TS = pd.Timestamp("2024-01-01", tz="UTC")


def clustered(n: int, dim: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    labels = rng.integers(0, len(centres), n)
    return (centres[labels] + 0.75 * rng.normal(size=(n, dim)) / np.sqrt(dim)).astype(np.float32)


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def exact_top(base_unit: np.ndarray, queries: np.ndarray, k: int,
              allowed: np.ndarray | None = None) -> np.ndarray:
    out = []
    for q in unit(queries):
        s = base_unit @ q
        if allowed is not None:
            s = np.where(allowed, s, -np.inf)
        out.append(np.argpartition(-s, k)[:k])
    return np.array(out)


def pct(samples: list[float]) -> tuple[float, float]:
    a = np.asarray(samples) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(n: int, dim: int, root: Path) -> dict:
    import kernel_magics
    from deltalake import write_deltalake
    from usearch.index import Index

    from kernel_magics.similarity.index import CONNECTIVITY, EXPANSION_ADD, EXPANSION_SEARCH

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(max(2, n // 1000), dim)).astype(np.float32)
    base = clustered(n, dim, rng, centres)
    queries = clustered(QUERIES, dim, rng, centres)
    category = np.where(rng.random(n) < 0.1, "grocery", "other")  # 10% selectivity
    base_unit = unit(base)
    truth = exact_top(base_unit, queries, K)
    truth_f = exact_top(base_unit, queries, K, category == "grocery")
    out: dict = {"n": n, "dim": dim, "raw_mb": base.nbytes / 2**20}
    threads = os.cpu_count() or 1

    # -- usearch used directly ---------------------------------------------------------------
    t = time.perf_counter()
    direct = Index(ndim=dim, metric="ip", dtype="f16", connectivity=CONNECTIVITY,
                   expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)
    direct.add(np.arange(n, dtype=np.uint64), base_unit, threads=threads)
    out["direct_build_s"] = time.perf_counter() - t
    lat, hits = [], 0
    for i, q in enumerate(unit(queries)):
        t = time.perf_counter()
        m = direct.search(q, K, threads=1)
        lat.append(time.perf_counter() - t)
        hits += len(set(m.keys.tolist()) & set(truth[i].tolist()))
    out["direct_recall"] = hits / truth.size
    out["direct_p50"], out["direct_p99"] = pct(lat)
    out["direct_memory_mb"] = direct.memory_usage / 2**20
    del direct

    # -- Lakebook ------------------------------------------------------------------------------
    home = root / f"lh_{n}_{dim}"
    lh = kernel_magics.connect(home)
    fg = lh.create_feature_group("items", key="item", event_time="ts", online=True,
                                 embeddings={"vec": {"dim": dim, "metric": "cosine"}})
    first = int(n * 10 / 11)  # the rest is the "insert 10% more" step
    df = pd.DataFrame({"item": np.arange(n), "ts": TS, "category": category,
                       "vec": list(base)})
    t = time.perf_counter()
    fg.insert(df.iloc[:first])
    out["first_insert_s"] = time.perf_counter() - t  # Delta + online store + index build
    before = rss_mb()
    t = time.perf_counter()
    fg.rebuild_index()
    out["lakebook_rebuild_s"] = time.perf_counter() - t
    out["rebuild_rows"] = first
    index = lh.similarity.get(fg, "vec")
    out["lakebook_memory_mb"] = index._graph.memory_usage / 2**20
    out["rss_growth_mb"] = rss_mb() - before

    # insert 10% more into the indexed group vs the Delta write alone (same rows, new table)
    more = df.iloc[first:]
    table = __import__("pyarrow").Table.from_pandas(more, preserve_index=False)
    t = time.perf_counter()
    write_deltalake(str(root / f"bare_{n}_{dim}"), table)
    out["delta_write_s"] = time.perf_counter() - t
    t = time.perf_counter()
    fg.insert(more)
    out["lakebook_insert_s"] = time.perf_counter() - t
    out["tail_rows"] = index.status()["pending"]

    def measure(prefix: str, filter_: str | None, truth_ids: np.ndarray) -> None:
        lat, hits = [], 0
        for i, q in enumerate(queries):
            t = time.perf_counter()
            found = fg.find_neighbors(q, k=K, filter=filter_)
            lat.append(time.perf_counter() - t)
            hits += len(set(found["item"].tolist()) & set(truth_ids[i].tolist()))
        out[f"{prefix}_recall"] = hits / truth_ids.size
        out[f"{prefix}_p50"], out[f"{prefix}_p99"] = pct(lat)

    measure("tail", None, truth)   # right after the insert: graph + exactly searched tail
    t = time.perf_counter()
    fg.build_index()
    out["merge_s"] = time.perf_counter() - t
    measure("lakebook", None, truth)
    measure("filtered", "category = 'grocery'", truth_f)
    t = time.perf_counter()
    for q in queries[:3]:
        fg.find_neighbors(q, k=K, exact=True)
    out["duckdb_exact_s"] = (time.perf_counter() - t) / 3
    lh.deployments.close()
    shutil.rmtree(home, ignore_errors=True)
    return out


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="lakebook-bench-sim-"))
    try:
        for n, dim in SIZES:
            r = run(n, dim, root)
            print(f"\n== {n:,} x {dim} (raw {r['raw_mb']:.0f} MB), {QUERIES} queries, k={K}, "
                  f"{os.cpu_count()} cores ==")
            print(f"build: usearch {r['direct_build_s']:.1f} s; Lakebook rebuild from Delta of "
                  f"{r['rebuild_rows']:,} rows {r['lakebook_rebuild_s']:.1f} s "
                  f"(ratio per row {r['lakebook_rebuild_s'] / r['rebuild_rows'] / (r['direct_build_s'] / n):.2f}x)")
            print(f"recall@10: usearch {r['direct_recall']:.3f}; Lakebook {r['lakebook_recall']:.3f}"
                  f" (with a {r['tail_rows']:,}-row tail: {r['tail_recall']:.3f}); "
                  f"filtered 10%: {r['filtered_recall']:.3f}")
            print(f"latency p50/p99 ms: usearch {r['direct_p50']:.2f}/{r['direct_p99']:.2f}; "
                  f"Lakebook {r['lakebook_p50']:.2f}/{r['lakebook_p99']:.2f}; with tail "
                  f"{r['tail_p50']:.2f}/{r['tail_p99']:.2f}; filtered "
                  f"{r['filtered_p50']:.2f}/{r['filtered_p99']:.2f}; DuckDB exact "
                  f"{r['duckdb_exact_s'] * 1000:.0f} ms")
            print(f"insert {n - r['rebuild_rows']:,} rows into the indexed group: "
                  f"{r['lakebook_insert_s']:.2f} s vs Delta write alone {r['delta_write_s']:.2f} s "
                  f"(ratio {r['lakebook_insert_s'] / r['delta_write_s']:.1f}x); merge into the "
                  f"graph afterwards {r['merge_s']:.1f} s")
            print(f"index memory: {r['lakebook_memory_mb']:.0f} MB "
                  f"({r['lakebook_memory_mb'] / (r['raw_mb'] * r['rebuild_rows'] / n):.2f}x raw"
                  f" vectors); usearch direct {r['direct_memory_mb']:.0f} MB; "
                  f"process RSS growth on rebuild {r['rss_growth_mb']:.0f} MB")
            sys.stdout.flush()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
