"""Prepare the lakehouse the browser test opens, through Lakebook's own Python API.

Usage: ``python prepare_lakehouse.py <server root>``; the lakehouse is ``$LAKEBOOK_HOME``.
Writes ``<server root>/fti.ipynb`` (a notebook with a feature step and a training step) and
``<server root>/plain.ipynb`` (no steps), then fills the lakehouse with: two feature groups
with rows, a model with two versions and aliases, a deployment, a schedule, a finished run of
the notebook's feature step, a named pipeline and, when the monitoring part is installed,
two monitors with results (the drifting one with an open alert). Prints a JSON summary of what it made (the test checks the sidebar against it).
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd

import kernel_magics
from kernel_magics.lakehouse import connect


def notebook(path: Path, cells: list) -> Path:
    """Write a notebook; a cell is its source, or ``(source, tags)``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    nb.cells = []
    for cell in cells:
        source, tags = cell if isinstance(cell, tuple) else (cell, [])
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": tags} if tags else {}))
    nbformat.write(nb, path)
    return path


def main(root: Path) -> dict:
    lh = connect()
    made: dict = {"home": str(lh.home), "areas": []}

    # -- notebooks ---------------------------------------------------------------------------
    # `pause` lets the test start a run that lasts long enough to watch and cancel
    fti = notebook(root / "fti.ipynb", [
        "%load_ext kernel_magics",
        ("pause = 0", ["parameters"]),
        "import time\nimport pandas as pd\ntime.sleep(pause)",
        "%%feature clicks --key user --event-time ts\n"
        "pd.DataFrame({'user': [1, 2, 3], 'clicks': [5, 7, 11],\n"
        "              'ts': pd.to_datetime(['2024-05-01', '2024-05-02', '2024-05-03'], utc=True)})",
        "%%training fraud --view fraud_view --label is_fraud\nmodel = None",
        # code after the last step: a run of the whole notebook runs it (cells:tail)
        "summary = 'clicks and fraud are ready'",
    ])
    notebook(root / "plain.ipynb", ["import math", "math.pi"])

    # -- feature groups ----------------------------------------------------------------------
    rng = np.random.default_rng(7)
    n = 500
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    # the first 300 rows fall in May 1-4; the last 200 (May 5-8) drift: larger amounts,
    # mostly online
    minutes = np.concatenate([rng.integers(0, 60 * 24 * 4, 300),
                              rng.integers(60 * 24 * 4, 60 * 24 * 7, n - 300)])
    amounts = np.concatenate([rng.gamma(2.0, 30.0, 300), rng.gamma(2.0, 90.0, n - 300)])
    categories = np.concatenate([
        rng.choice(["grocery", "travel", "online", "fuel"], 300),
        rng.choice(["grocery", "travel", "online", "fuel"], n - 300, p=[0.1, 0.1, 0.7, 0.1])])
    tx = pd.DataFrame({
        "cc_num": rng.integers(1000, 1100, n),
        "amount": np.round(amounts, 2),
        "category": categories,
        "ts": [start + timedelta(minutes=int(m)) for m in minutes],
    })
    fg = lh.create_feature_group("transactions", key="cc_num", event_time="ts", online=True,
                                 description="Card transactions", checks=["amount >= 0"])
    fg.insert(tx.iloc[:300])
    fg.insert(tx.iloc[300:])
    cards = pd.DataFrame({"cc_num": np.arange(1000, 1100),
                          "limit": rng.integers(500, 5000, 100).astype(float),
                          "ts": [start] * 100})
    lh.create_feature_group("cards", key="cc_num", event_time="ts").insert(cards)
    # an embedding group (issue 19): merchants in three clusters of 8-d description vectors
    centres = np.eye(8)[:3] * 3
    kinds = np.array(["grocery", "travel", "fuel"])[np.arange(60) % 3]
    vecs = (centres[np.arange(60) % 3] + 0.3 * rng.normal(size=(60, 8))).astype("float32")
    lh.create_feature_group(
        "merchants", key="merchant_id", event_time="ts", online=True,
        embeddings={"desc_vec": {"dim": 8, "metric": "cosine"}},
        description="Merchants with description embeddings").insert(pd.DataFrame({
            "merchant_id": np.arange(60), "category": kinds, "desc_vec": list(vecs),
            "ts": [start] * 60}))
    made["feature_groups"] = {"transactions": {"rows": n, "online": True, "commits": 2},
                              "cards": {"rows": 100, "online": False, "commits": 1},
                              "merchants": {"rows": 60, "online": True, "commits": 1,
                                            "category_of_7": str(kinds[7])}}
    made["areas"].append("features")

    # -- models ------------------------------------------------------------------------------
    from sklearn.linear_model import LogisticRegression
    X = pd.DataFrame({"amount": tx["amount"], "hour": [t.hour for t in tx["ts"]]})
    y = (tx["amount"] > 90).astype(int)
    reg = lh.registry
    v1 = reg.register(LogisticRegression(max_iter=200, C=0.01).fit(X, y), "fraud",
                      metrics={"accuracy": 0.81, "roc_auc": 0.84}, input_example=X.head(3),
                      task="classification")
    v2 = reg.register(LogisticRegression(max_iter=200).fit(X, y), "fraud",
                      metrics={"accuracy": 0.93, "roc_auc": 0.95}, input_example=X.head(3),
                      task="classification")
    reg.set_alias("fraud", "production", v1.version, reason="prepared by the browser test")
    reg.set_alias("fraud", "champion", v2.version, reason="prepared by the browser test")
    made["models"] = {"fraud": {"versions": 2, "aliases": {"production": 1, "champion": 2}}}
    made["areas"].append("models")

    # -- deployments -------------------------------------------------------------------------
    dep = lh.deploy("fraud_online", model="fraud", alias="production")
    # a model without a view takes full input rows: two requests for the serving statistics
    for rows in (X.head(2), X.tail(3)):
        dep.predict(rows.to_dict("records"))
    # business results (issue 18): a 50/50 split, outcomes of its answers and a KPI
    dep = lh.deploy("fraud_online", model="fraud", alias="production",
                    split={"production": 0.5, "champion": 0.5})
    for i, row in enumerate(X.head(20).to_dict("records")):
        answer = dep.predict_body({"inputs": [row]})
        dep.log_outcome(answer.request_id, int(y.iloc[i]), value=float(row["amount"]))
    dep.flush()
    dep.kpi("money_saved", "sum(value) FILTER (WHERE y_pred AND y_true)")
    made["deployments"] = {"fraud_online": {"model": "fraud", "version": 1, "requests": 22,
                                            "kpi": "money_saved"}}
    made["areas"].append("deployments")

    # -- pipelines: a finished run and a schedule ----------------------------------------------
    run = lh.pipelines.run(str(fti), step="clicks")
    made["runs"] = {"finished": {"id": run.id, "status": run.status}}
    sched = lh.pipelines.schedules.create(notebook=str(fti), step="clicks", cron="0 6 * * *",
                                          tz="Europe/Amsterdam")
    made["schedules"] = {sched.name: {"cron": sched.cron, "tz": sched.timezone}}
    # a named pipeline (its steps in run order) that the sidebar lists and can run
    lh.pipelines.create("daily_clicks", steps=[f"{fti}::clicks"])
    made["pipelines"] = {"daily_clicks": {"steps": ["fti.ipynb::clicks"]}}
    made["areas"].append("pipelines")

    # -- monitoring (when that part has landed) ------------------------------------------------
    try:
        made.update(prepare_monitoring(lh, X, root))
        made["areas"].append("monitoring")
    except (ImportError, AttributeError) as exc:  # the monitoring part is not installed
        made["monitoring_skipped"] = f"{type(exc).__name__}: {exc}"

    lh.deployments.close()
    return made


def prepare_monitoring(lh, X: pd.DataFrame, root: Path) -> dict:
    """Two feature monitors over fixed windows: one that drifts, one that does not."""
    mon = lh.monitoring
    mon.create("transactions_drift", feature_group="transactions",
               reference="2024-05-01T00:00:00Z/2024-05-04T00:00:00Z",
               current="2024-05-05T00:00:00Z/2024-05-08T00:00:00Z", schedule=None,
               columns=["amount", "category"])
    mon.create("transactions_stable", feature_group="transactions",
               reference="2024-05-01T00:00:00Z/2024-05-02T12:00:00Z",
               current="2024-05-02T12:00:00Z/2024-05-04T00:00:00Z", schedule=None,
               columns=["amount", "category"])
    drift = mon.run("transactions_drift")
    stable = mon.run("transactions_stable")
    hostile = prepare_hostile_reports(lh, root)
    return {"alerts": [a["id"] for a in mon.alerts.list(acknowledged=False)], "hostile": hostile, "monitors": {
        "transactions_drift": {"status": drift.status, "drift_share": drift.drift_share,
                               "result": drift.id},
        "transactions_stable": {"status": stable.status, "drift_share": stable.drift_share,
                                "result": stable.id}}}


#: what an attacker puts in a monitored column (issue 24): it ends Evidently's data block,
#: reports that it ran, then tries to read a file through the Jupyter API with the user's
#: cookie and reports what it got
PAYLOAD = ("</script><script>window.__pwned=1;fetch('/xss-beacon/ran').catch(()=>0);"
           "fetch('/api/contents/top-secret.txt?content=1',{credentials:'include'})"
           ".then(r=>r.text()).then(t=>fetch('/xss-beacon/leak?d='+encodeURIComponent("
           "t.slice(0,200))).catch(()=>0)).catch(e=>fetch('/xss-beacon/blocked')"
           ".catch(()=>0))</script>")
SECRET = "TOP-SECRET-CONTENT-42"


def prepare_hostile_reports(lh, root: Path) -> dict:
    """A monitor over a column holding :data:`PAYLOAD`, with two reports: one as Lakebook
    writes it now (its data escaped) and one as Evidently writes it raw (what an earlier
    Lakebook kept on disk), which only the sandbox contains. A secret file in the server root
    is what the payload tries to read."""
    from kernel_magics.monitoring.drift import detect_drift
    from kernel_magics.monitoring.sources import load
    from kernel_magics.doors.widgets.monitor import monitor_html
    (root / "top-secret.txt").write_text(SECRET)  # in the server root: /api/contents serves it
    rng = np.random.default_rng(11)
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    frames = []
    for day in range(8):
        share = 0.05 if day < 4 else 0.7
        frames.append(pd.DataFrame({
            "id": np.arange(100), "note": rng.choice(["fine", "ok", PAYLOAD], 100,
                                                     p=[(1 - share) / 2, (1 - share) / 2, share]),
            "ts": [start + timedelta(days=day, minutes=int(m)) for m in range(100)]}))
    fg = lh.create_feature_group("comments", key="id", event_time="ts")
    for frame in frames:
        fg.insert(frame)
    mon = lh.monitoring
    name = "hostile_notes"
    mon.create(name, feature_group="comments", schedule=None, columns=["note"],
               reference="2024-05-01T00:00:00Z/2024-05-04T00:00:00Z",
               current="2024-05-05T00:00:00Z/2024-05-08T00:00:00Z")
    sealed = mon.run(name)
    legacy = mon.run(name)
    sides = load(lh, mon.get(name).spec, datetime(2024, 5, 8, tzinfo=timezone.utc))
    raw = detect_drift(sides.reference, sides.current, ["note"], drift_share=0.5)
    raw.snapshot.save_html(legacy.report_html)       # Evidently's own, unescaped
    return {"monitor": name, "sealed": sealed.id, "legacy": legacy.id, "secret": SECRET,
            "widget_html": monitor_html(lh, name)}


if __name__ == "__main__":
    summary = main(Path(sys.argv[1]).resolve())
    # the answer the lineage tab's 500-node test is served (see wide_lineage.py)
    sys.path.insert(0, str(Path(__file__).parent))
    from wide_lineage import validated
    summary["wide_lineage"] = validated()
    summary["lakebook_version"] = getattr(kernel_magics, "__version__", "")
    print(json.dumps(summary, default=str))
