"""Issue 24, finding 3 (the request's half): a passed field that differs from a known column
only by case (``{"X": 1}`` beside ``x``, ``K`` beside key ``k``) or that clashes with the
inference log's own columns (``Source``) is refused with a 400 naming it, so it can never
reach the log as a second, case-insensitively equal column and stop its flushes."""
from __future__ import annotations

import pandas as pd
import pytest
from deltalake import DeltaTable
from sklearn.linear_model import LogisticRegression

from deployments_fixtures import ServeProcess

REFUSED = [
    ({"entries": [{"k": 1}], "features": [{"X": 1.0}]}, "'X' differs only by case from column 'x'"),
    ({"entries": [{"k": 1, "K": 2}]}, "'K' differs only by case from column 'k'"),
    ({"entries": [{"k": 1}], "features": [{"Source": "web"}]},
     "'Source' differs only by case from the inference log's column 'source'"),
    ({"entries": [{"k": 1}], "features": [{"prediction": 1}]},
     "'prediction' is the inference log's column 'prediction'"),
    ({"dataframe_records": [{"k": 1, "X": 1.0}]}, "'X' differs only by case from column 'x'"),
    ({"dataframe_split": {"columns": ["x", "Source"], "data": [[1.0, "web"]]}},
     "inference log's column 'source'"),
]


@pytest.fixture
def served(home, lh):
    ts = pd.Timestamp("2024-01-01", tz="UTC")
    fg = lh.create_feature_group("g", key="k", event_time="ts", online=True)
    fg.insert(pd.DataFrame({"k": range(20), "ts": [ts] * 20, "x": [float(i) for i in range(20)],
                            "y": [i % 2 for i in range(20)]}))
    fv = lh.create_feature_view("v", spine=fg, label="y")
    X, _, y, _ = fv.train_test_split()
    mv = lh.registry.register(LogisticRegression().fit(X, y), "m", view=fv, input_example=X)
    lh.registry.set_alias("m", "production", mv.version)
    lh.deploy("d", model="m")
    lh.deployments.close()
    server = ServeProcess(home)
    try:
        yield server
    finally:
        server.stop()


def test_case_and_log_clashes_are_refused_and_the_log_keeps_flushing(served, home):
    for body, words in REFUSED:
        path = "/invocations" if "entries" not in body else "/deployments/d/predict"
        r = served.post(path, json=body)
        assert r.status_code == 400, (body, r.text)
        assert words in r.json()["error"], (body, r.json())
    ok = served.post("/deployments/d/predict",
                     json={"entries": [{"k": 1}, {"k": 2}], "features": [{"x": 5.0}, {}]})
    assert ok.status_code == 200, ok.text
    assert served.terminate() == 0
    log = DeltaTable(str(home / "tables" / "inference_log_d")).to_pandas()
    assert len(log) == 2 and sorted(log["x"]) == [2.0, 5.0]
    lowered = [c.lower() for c in log.columns]
    assert len(lowered) == len(set(lowered))  # no two columns equal but for case
    import kernel_magics
    stats = kernel_magics.connect(home).deployments.get("d").stats()
    assert (stats["requests"], stats["errors"]) == (1, len(REFUSED))
