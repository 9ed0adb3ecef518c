"""Start-up cost of the first commands a user runs (issue 14).

Each command is a fresh process started the way a user starts it: the installed ``lakebook``
script for ``--version``, ``--help`` and ``status`` (on a small lakehouse), and a Python that
loads the Jupyter server extension the way Jupyter does (its routes and the in-server
scheduler). The baseline, measured in the same run and interleaved with the others, is
``python -c pass`` from the same interpreter, so the ratio is what Lakebook adds over starting
Python at all.

Targets: ``--version`` and ``--help`` <= 0.25 s, ``status`` <= 0.6 s.

Run: ``flock /tmp/lakebook-heavy.lock .venv/bin/python benchmarks/bench_startup.py``
(``LAKEBOOK_BENCH_FULL=1`` for 30 repetitions instead of 10).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPS = 30 if os.environ.get("LAKEBOOK_BENCH_FULL") else 10
LAKEBOOK = str(Path(sys.executable).parent / "lakebook")
TARGETS = {"lakebook --version": 0.25, "lakebook --help": 0.25, "lakebook status": 0.6}

LOAD_EXTENSION = """
import logging, tornado.web, kernel_magics
class App:
    web_app = tornado.web.Application(base_url="/")
    log = logging.getLogger("bench")
kernel_magics._load_jupyter_server_extension(App())
from kernel_magics.doors.rest import background
background.stop()
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "lakehouse"
        import kernel_magics
        kernel_magics.connect(home).catalog.close()
        env = {**os.environ, "LAKEBOOK_HOME": str(home), "LAKEBOOK_SCHEDULER": "1"}
        commands = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "lakebook --version": [LAKEBOOK, "--version"],
            "lakebook --help": [LAKEBOOK, "--help"],
            "lakebook status": [LAKEBOOK, "status"],
            "server extension load": [sys.executable, "-c", LOAD_EXTENSION],
            "import jupyter_server handlers (floor)": [
                sys.executable, "-c", "import tornado.web, jupyter_server.base.handlers"],
        }
        for cmd in commands.values():  # warm the OS page cache once
            timed(cmd, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(REPS):  # interleaved: load on the machine hits every command alike
            for name, cmd in commands.items():
                times[name].append(timed(cmd, env))
    base = statistics.median(times["python -c pass (baseline)"])
    print(f"{REPS} repetitions, median wall time per fresh process")
    print(f"{'command':44} {'median':>8} {'min':>8} {'over baseline':>14}  target")
    for name, values in times.items():
        med, low = statistics.median(values), min(values)
        target = TARGETS.get(name)
        verdict = "" if target is None else f"<= {target:.2f} s {'met' if med <= target else 'MISSED'}"
        print(f"{name:44} {med:8.3f} {low:8.3f} {med - base:+13.3f}s  {verdict}")


if __name__ == "__main__":
    main()
