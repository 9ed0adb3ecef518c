"""``%%feature`` end to end on a 10k-row frame in a real IPython shell.

    flock /tmp/lakebook-heavy.lock .venv/bin/python benchmarks/bench_feature_magic.py
    LAKEBOOK_BENCH_FULL=1 ...   # 30 repetitions instead of 10

End to end = parse the magic line, run the cell (building the frame), validate, run checks,
compute statistics, one Delta commit, catalog record, HTML summary. Target: <= 300 ms. The
baseline, measured in the same process, is the same cell run plainly plus a bare
``write_deltalake`` of its frame.
"""
from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

FULL = os.environ.get("LAKEBOOK_BENCH_FULL") == "1"
REPS = 30 if FULL else 10
ROWS = 10_000
TARGET_MS = 300

CELL = f"""
import numpy as np
import pandas as pd
rng = np.random.default_rng(1)
df = pd.DataFrame({{"cc_num": np.arange({ROWS}),
                    "ts": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 86400, {ROWS}), "s"),
                    "amount": rng.gamma(2.0, 30.0, {ROWS}),
                    "merchant": rng.choice(["a", "b", "c"], {ROWS})}})
df
"""


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="lakebook-bench-magic-"))
    os.environ["LAKEBOOK_HOME"] = str(work / "home")
    from deltalake import write_deltalake
    from IPython.testing.globalipapp import start_ipython
    shell = start_ipython()
    shell.run_line_magic("load_ext", "kernel_magics")
    line = 'tx --key cc_num --event-time ts --check "amount >= 0"'
    try:
        shell.run_cell_magic("feature", line, CELL)  # warm-up: imports, group creation
        magic, plain = [], []
        for rep in range(REPS):
            started = time.perf_counter()
            info = shell.run_cell_magic("feature", line, CELL)
            info._repr_html_()
            magic.append(time.perf_counter() - started)
            started = time.perf_counter()
            shell.run_cell(CELL, silent=True)
            write_deltalake(str(work / f"plain{rep}"), shell.user_ns["df"])
            plain.append(time.perf_counter() - started)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    m, p = statistics.median(magic) * 1000, statistics.median(plain) * 1000
    ok = m <= TARGET_MS
    print(f"%%feature on {ROWS:,} rows, median of {REPS}: {m:.0f} ms (target <= {TARGET_MS} ms) "
          f"{'ok' if ok else 'OVER'}; plain cell + write_deltalake {p:.0f} ms, ratio {m / p:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
