"""HTTP through ``lakebook serve``: one entity per request, load generator on loopback.

Targets (issue 5): p50 <= 2 ms and p99 <= 5 ms at concurrency 1; >= 500 requests/s at
concurrency 8 (2 cores). The server is a real subprocess (``lakebook
serve``) serving deployment ``fraud`` (online SQLite features,
LogisticRegression); the load generator is Python threads with ``http.client`` keep-alive
connections, bounded by a request count and a time limit. The baseline printed beside it is
the in-process ``deployment.predict`` of the same entities, measured in this process.

    .venv/bin/python benchmarks/bench_serve.py                          # 2,000 / 4,000 requests
    LAKEBOOK_BENCH_FULL=1 .venv/bin/python benchmarks/bench_serve.py    # 10,000 / 40,000
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_predict import ENTITIES, build_lakehouse  # noqa: E402

FULL = os.environ.get("LAKEBOOK_BENCH_FULL") == "1"
TIME_LIMIT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(port: int, n: int, concurrency: int) -> tuple[list[float], float, int]:
    """Send ``n`` requests over ``concurrency`` keep-alive connections; latencies (s), wall
    time (s), errors."""
    per = n // concurrency
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    deadline = time.time() + TIME_LIMIT_S
    start_gate = threading.Barrier(concurrency + 1)

    def worker(w: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        rng = np.random.default_rng(w)
        bodies = [json.dumps({"entries": [{"cc_num": int(k)}]}).encode()
                  for k in rng.integers(0, ENTITIES, 256)]
        headers = {"Content-Type": "application/json"}
        start_gate.wait()
        out = latencies[w]
        for i in range(per):
            if time.time() > deadline:
                break
            t0 = time.perf_counter()
            conn.request("POST", "/deployments/fraud/predict", bodies[i % 256], headers)
            resp = conn.getresponse()
            resp.read()
            out.append(time.perf_counter() - t0)
            if resp.status != 200:
                errors[w] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
    for t in threads:
        t.start()
    start_gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return [x for lat in latencies for x in lat], wall, sum(errors)


def main() -> int:
    n1, n8 = (10_000, 40_000) if FULL else (2_000, 4_000)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "lh"
        lh, deployment, model, fv = build_lakehouse(home)
        # in-process baseline on the same entities
        keys = np.random.default_rng(3).integers(0, ENTITIES, 2000)
        for k in keys[:200]:
            deployment.predict({"cc_num": int(k)})
        base = []
        for k in keys:
            t0 = time.perf_counter()
            deployment.predict({"cc_num": int(k)})
            base.append(time.perf_counter() - t0)
        deployment.close()
        port = free_port()
        env = {**os.environ, "LAKEBOOK_HOME": str(home)}
        proc = subprocess.Popen([str(Path(sys.executable).parent / "lakebook"), "serve",
                                 "--port", str(port), "--deployment", "fraud"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for _ in range(600):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    c.request("GET", "/health")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            load(port, 400, 2)  # warm up
            lat1, wall1, err1 = load(port, n1, 1)
            lat8, wall8, err8 = load(port, n8, 8)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        p = lambda xs, q: float(np.percentile(np.asarray(xs) * 1000, q))  # noqa: E731
        print(f"lakebook serve, POST /deployments/fraud/predict, one entity per request "
              f"({os.cpu_count()} cores)")
        print(f"  in-process deployment.predict baseline: p50 {p(base, 50):.3f} ms  "
              f"p99 {p(base, 99):.3f} ms")
        print(f"  concurrency 1: {len(lat1)} requests, {err1} errors, p50 {p(lat1, 50):.3f} ms "
              f"(target <= 2), p99 {p(lat1, 99):.3f} ms (target <= 5), "
              f"{len(lat1) / wall1:.0f} req/s; p50 HTTP/in-process {p(lat1, 50) / p(base, 50):.1f}x")
        print(f"  concurrency 8: {len(lat8)} requests, {err8} errors, "
              f"{len(lat8) / wall8:.0f} req/s (target >= 500), p50 {p(lat8, 50):.3f} ms "
              f"p99 {p(lat8, 99):.3f} ms")
        ok = p(lat1, 50) <= 2 and p(lat1, 99) <= 5 and len(lat8) / wall8 >= 500
        print(f"  verdict: {'OK' if ok else 'MISSED'}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
