"""Online lookups: the SQLite store in-process and Redis over loopback.

Each figure is measured beside a baseline in the same process: a bare SQLite primary-key
``SELECT`` + ``json.loads`` and a bare Redis ``GET``, so the ratio shows what Lakebook adds.
``fv.feature_vector`` (the whole view path: catalog-free lookup of every joined group) is
reported too.

    python benchmarks/bench_online.py                 # 10k keys, 20k lookups
    LAKEBOOK_BENCH_FULL=1 python benchmarks/...       # 100k keys, 100k lookups

Targets (issue 3): SQLite single key p50 <= 0.1 ms, p99 <= 0.2 ms; 100 keys <= 2 ms;
Redis single key p99 <= 0.5 ms.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

FULL = os.environ.get("LAKEBOOK_BENCH_FULL") == "1"
KEYS = 100_000 if FULL else 10_000
LOOKUPS = 100_000 if FULL else 20_000
BATCHES = 2_000 if FULL else 500


def percentiles(samples: list[float]) -> tuple[float, float]:
    arr = np.asarray(samples) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def timed(fn, args_list) -> list[float]:
    out = []
    perf = time.perf_counter
    for args in args_list:
        t = perf()
        fn(*args)
        out.append(perf() - t)
    return out


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir",
                             str(folder), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis
    for _ in range(200):
        try:
            if redis.Redis(port=port).ping():
                break
        except redis.ConnectionError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def setup(home: Path):
    import kernel_magics
    from kernel_magics.features.views import Join

    lh = kernel_magics.connect(home)
    rng = np.random.default_rng(0)
    ts = pd.Timestamp.now(tz="UTC").floor("s") - pd.to_timedelta(rng.integers(0, 86_400, KEYS),
                                                                    unit="s")
    prof = lh.create_feature_group("profile", key="cc_num", event_time="ts", online=True)
    prof.insert(pd.DataFrame({"cc_num": np.arange(KEYS), "ts": ts,
                              "avg_amount": rng.normal(size=KEYS),
                              "n_tx": rng.integers(0, 100, KEYS),
                              "city": rng.choice(["Oslo", "Lima", "Pune"], KEYS)}))
    tx = lh.create_feature_group("tx", key="cc_num", event_time="ts")
    tx.insert(pd.DataFrame({"cc_num": [0], "ts": [ts[0]], "amount": [1.0], "y": [0]}))
    fv = lh.create_feature_view("online", spine=tx, join=[Join(prof)], label="y")
    return lh, fv


def bench_backend(name: str, lh, fv, baseline_get) -> dict:
    store = lh.online_store
    rng = np.random.default_rng(1)
    keys = rng.integers(0, KEYS, LOOKUPS).tolist()
    for k in keys[:1000]:  # warm up caches and connections
        store.get("profile_v1", ["cc_num"], [(k,)])
        baseline_get(k)
    base = timed(baseline_get, [(k,) for k in keys])
    single = timed(lambda k: store.get("profile_v1", ["cc_num"], [(k,)]), [(k,) for k in keys])
    vector = timed(lambda k: fv.feature_vector({"cc_num": k}), [(k,) for k in keys[:5000]])
    many_keys = [[(int(k),) for k in rng.integers(0, KEYS, 100)] for _ in range(BATCHES)]
    many = timed(lambda ks: store.get("profile_v1", ["cc_num"], ks), [(ks,) for ks in many_keys])
    assert store.get("profile_v1", ["cc_num"], [(keys[0],)])[0]["cc_num"] == keys[0]
    b50, b99 = percentiles(base)
    s50, s99 = percentiles(single)
    v50, v99 = percentiles(vector)
    m50, m99 = percentiles(many)
    return {"backend": name, "baseline_p50": b50, "baseline_p99": b99, "p50": s50, "p99": s99,
            "vector_p50": v50, "vector_p99": v99, "many_p50": m50, "many_p99": m99}


def main() -> None:
    import kernel_magics

    print(f"online lookups: {KEYS:,} keys, {LOOKUPS:,} single-key lookups, {BATCHES} x 100 keys "
          f"({'full' if FULL else 'small; LAKEBOOK_BENCH_FULL=1 for full'})")
    ok = True
    with tempfile.TemporaryDirectory(prefix="lakebook-bench-") as tmp:
        tmp = Path(tmp)
        # SQLite, in-process
        lh, fv = setup(tmp / "sqlite")
        conn = sqlite3.connect(tmp / "sqlite" / "online.db")
        loads = json.loads

        def sqlite_baseline(k):
            row = conn.execute('SELECT v FROM "profile_v1" WHERE k = ?', (f"[{k}]",)).fetchone()
            return loads(row[0])

        r = bench_backend("sqlite", lh, fv, sqlite_baseline)
        passed = r["p50"] <= 0.1 and r["p99"] <= 0.2 and r["many_p99"] <= 2.0
        ok &= passed
        report(r, "p50 <= 0.1, p99 <= 0.2, 100 keys <= 2 ms", passed)

        # Redis over loopback
        proc, url = start_redis(tmp)
        try:
            home = tmp / "redis"
            home.mkdir()
            (home / "lakebook.toml").write_text(
                f'[online]\nbackend = "redis"\nredis_url = "{url}"\n')
            lh, fv = setup(home)
            import redis
            raw = redis.Redis.from_url(url)

            def redis_baseline(k):
                return raw.get(f"lakebook:online:profile_v1:[{k}]")

            r = bench_backend("redis", lh, fv, redis_baseline)
            passed = r["p99"] <= 0.5
            ok &= passed
            report(r, "p99 <= 0.5 ms", passed)
        finally:
            proc.terminate()
            proc.wait(10)
    kernel_magics  # noqa: B018 - imported for the side effect of a warm package
    sys.exit(0 if ok else 1)


def report(r: dict, target: str, passed: bool) -> None:
    print(f"{r['backend']}: single key p50 {r['p50']:.3f} ms, p99 {r['p99']:.3f} ms "
          f"(bare baseline p50 {r['baseline_p50']:.3f} / p99 {r['baseline_p99']:.3f} ms; ratio "
          f"p50 {r['p50'] / r['baseline_p50']:.2f}) | 100 keys p50 {r['many_p50']:.3f} ms, "
          f"p99 {r['many_p99']:.3f} ms | fv.feature_vector p50 {r['vector_p50']:.3f} ms, "
          f"p99 {r['vector_p99']:.3f} ms | target {target} -> {'OK' if passed else 'MISS'}")


if __name__ == "__main__":
    main()
