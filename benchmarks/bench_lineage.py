"""Lineage and incremental runs (issue 17): what recording costs, and how fast a step is found
up to date.

* fingerprint of a 50-cell notebook step (``lh.pipelines.fingerprint``: reads the notebook,
  hashes code, parameters, window, input versions, packages) — target <= 50 ms;
* deciding that a step is up to date end to end (``lh.pipelines.run`` answering
  ``up_to_date``: validation, run record, fingerprint, no kernel) against running it
  (``force=True``) — target <= 0.2 s against about 1.2 s;
* what recording adds to ``fg.insert`` at 1M rows (recording on vs. ``Lineage.record``
  replaced by a no-op, interleaved in the same process) — target <= 2 %;
* what it adds to an online ``deployment.predict`` (same comparison) — target <= 0.01 ms;
* ``lh.lineage`` of the demo's own lakehouse — target <= 50 ms: ``lakebook demo`` (the
  installed script, as the README runs it) builds it in a temporary folder, then the whole
  graph and the demo's closing call (the production model's upstream) are timed; a small
  lakehouse built in process is timed beside it as the baseline.

Run: ``flock /tmp/lakebook-heavy.lock .venv/bin/python benchmarks/bench_lineage.py``
(``LAKEBOOK_BENCH_ROWS=...`` for the insert size, default 1,000,000; ``LAKEBOOK_BENCH_FULL=1``
for more repetitions; ``LAKEBOOK_BENCH_DEMO_SIZE`` for the demo's ``--size``, default its own).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

FULL = bool(os.environ.get("LAKEBOOK_BENCH_FULL"))
ROWS = int(os.environ.get("LAKEBOOK_BENCH_ROWS", 1_000_000))
REPS = 7 if FULL else 3
DEMO_SIZE = os.environ.get("LAKEBOOK_BENCH_DEMO_SIZE")


def abba(reps: int) -> list[bool]:
    """Recording on/off in on, off, off, on order: each side as often first as second (a
    plain alternation put every "on" first in its pair, and the table each insert grows made
    the second of a pair slower, a 6 % bias of its own)."""
    return [True, False, False, True] * reps


def median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    import kernel_magics as kb
    from kernel_magics.lineage import api as lineage_api
    from kernel_magics.demo.run import MODEL
    from pipelines_fixtures import code, write_notebook

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "lakehouse"
        os.environ["LAKEBOOK_HOME"] = str(home)
        lh = kb.connect(home)

        # -- fingerprint of a 50-cell step, and deciding it is up to date --------------------
        cells = [code("%load_ext kernel_magics"), code("n = 5", tags=["parameters"]),
                 code("import pandas as pd")]
        cells += [code(f"x{i} = {i} * n  # a plain cell\ny{i} = x{i} + 1") for i in range(46)]
        cells.append(code("%%feature tx --key k --event-time ts\n"
                          "pd.DataFrame({'k': range(n), 'ts': pd.Timestamp('2024-01-01', "
                          "tz='UTC'), 'v': range(n)})"))
        nb = write_notebook(root / "fifty.ipynb", cells)
        ref = f"{nb}::tx"
        ran = lh.pipelines.run(ref)
        assert ran.status == "succeeded", ran.error
        lh.pipelines.fingerprint(ref)  # warm: nbformat's schema, the module map cache
        fp = median_time(lambda: lh.pipelines.fingerprint(ref), REPS * 10)
        skip = median_time(lambda: lh.pipelines.run(ref), REPS * 3)
        assert lh.pipelines.run(ref).status == "up_to_date"
        run_s = median_time(lambda: lh.pipelines.run(ref, force=True), REPS)

        # -- insert at ROWS rows: recording on vs off -------------------------------------
        rng = np.random.default_rng(0)
        df = pd.DataFrame({"k": rng.integers(0, 100_000, ROWS),
                           "ts": pd.Timestamp("2024-01-01", tz="UTC")
                           + pd.to_timedelta(rng.integers(0, 10**6, ROWS), unit="s"),
                           "amount": rng.random(ROWS)})
        fg = lh.create_feature_group("big", key=["k"], event_time="ts")
        fg.insert(df.head(1000))
        real = lineage_api.Lineage.record
        on, off = [], []
        for recording in abba(REPS):
            lineage_api.Lineage.record = real if recording else (lambda *a, **k: None)
            t0 = time.perf_counter()
            fg.insert(df)
            (on if recording else off).append(time.perf_counter() - t0)
        lineage_api.Lineage.record = real
        insert_on, insert_off = statistics.median(on), statistics.median(off)

        # -- online predict: recording on vs off ----------------------------------------------
        from deployments_fixtures import fraud_lakehouse
        lh2 = kb.connect(root / "serving")
        _fg, fv, _model, _df = fraud_lakehouse(lh2)
        dep = lh2.deploy("scorer", model="fraud", view=fv)
        for k in range(200):
            dep.predict({"cc_num": k % 50})
        pon, poff = [], []
        for recording in abba(REPS):
            lineage_api.Lineage.record = real if recording else (lambda *a, **k: None)
            t0 = time.perf_counter()
            for k in range(500):
                dep.predict({"cc_num": k % 50})
            (pon if recording else poff).append((time.perf_counter() - t0) / 500)
        lineage_api.Lineage.record = real
        lh2.deployments.close()

        # -- lh.lineage() of a demo-sized lakehouse ------------------------------------------
        for i in range(4):
            lh2.features.groups.get("tx").insert(_df.assign(ts=_df.ts + pd.Timedelta(days=30 * (i + 1))))
        for v in range(3):
            split = fv.train_test_split(test_size=0.3, seed=v)
            from sklearn.linear_model import LogisticRegression
            mv = lh2.registry.register(LogisticRegression().fit(split[0], split[2]), "fraud",
                                       view=fv, training_versions=split[0].attrs.get(
                                           "lakebook_versions"))
            lh2.registry.set_alias("fraud", "production", mv)
        lh2.create_monitor("drift", deployment="scorer", reference="training", current="last 1d",
                    schedule=None)
        nodes = len(lh2.lineage())
        graph_s = median_time(lambda: lh2.lineage(), REPS * 10)
        lh2.deployments.close()

        # -- lh.lineage of the demo's lakehouse, made by the installed script ----------------
        demo_dir = root / "demo"
        demo_dir.mkdir()
        script = Path(sys.executable).with_name("lakebook")
        env = {k: v for k, v in os.environ.items() if k != "LAKEBOOK_HOME"}
        argv = [str(script), "demo"] + (["--size", DEMO_SIZE] if DEMO_SIZE else [])
        subprocess.run(argv, cwd=demo_dir, env=env, check=True, stdout=subprocess.DEVNULL)
        lh3 = kb.connect(demo_dir / ".lakebook", create=False)
        prod = lh3.registry.versions(MODEL)[-1]
        whole = lh3.lineage()
        demo_nodes, demo_edges = len(whole), len(whole.to_dict()["edges"])
        demo_up = len(lh3.lineage(prod, downstream=False))
        demo_s = median_time(lambda: lh3.lineage(), REPS * 10)
        demo_prod_s = median_time(lambda: lh3.lineage(prod, downstream=False), REPS * 10)
        lh3.deployments.close()

    print(f"fingerprint of a 50-cell step: {fp * 1000:.1f} ms (target <= 50 ms)")
    print(f"deciding up to date (lh.pipelines.run -> up_to_date): {skip:.3f} s vs running it "
          f"{run_s:.2f} s (ratio {skip / run_s:.3f}; target <= 0.2 s)")
    print(f"fg.insert of {ROWS:,} rows: {insert_on:.3f} s recording vs {insert_off:.3f} s not "
          f"({(insert_on / insert_off - 1) * 100:+.1f} %; target <= 2 %)")
    print(f"online predict: {statistics.median(pon) * 1000:.3f} ms recording vs "
          f"{statistics.median(poff) * 1000:.3f} ms not "
          f"({(statistics.median(pon) - statistics.median(poff)) * 1000:+.4f} ms; "
          "target <= 0.01 ms)")
    print(f"lh.lineage() of a small lakehouse ({nodes} nodes, the baseline): "
          f"{graph_s * 1000:.1f} ms")
    print(f"lh.lineage() of the demo's lakehouse ({demo_nodes} nodes, {demo_edges} edges): "
          f"{demo_s * 1000:.1f} ms, {demo_s / graph_s:.1f}x the baseline (target <= 50 ms)")
    print(f"lh.lineage(production model, downstream=False), the demo's closing call "
          f"({demo_up} nodes): {demo_prod_s * 1000:.1f} ms (target <= 50 ms)")


if __name__ == "__main__":
    main()
