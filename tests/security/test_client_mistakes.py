"""Issue 24, finding 6: a client's mistake is a 4xx naming the field, on ``lakebook serve``
and on the REST API inside Jupyter (the probe's cases, one by one; the fuzz tests in
``test_rest_fuzz.py`` and ``tests/test_serve_fuzz.py`` look for more)."""
from __future__ import annotations

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from conftest import JupyterServer
from deployments_fixtures import ServeProcess, register_clf

BIG = "1" + "0" * 400
DIGITS = "9" * 5000


@pytest.fixture
def lakehouse(lh):
    """A model-only deployment ``scorer`` (columns a, b) and ``viewdep`` on an online view."""
    register_clf(lh)
    lh.deploy("scorer", model="clf")
    t = pd.to_datetime(["2024-01-01"] * 3, utc=True)
    fg = lh.create_feature_group("tx", key="cc_num", event_time="ts", online=True)
    fg.insert(pd.DataFrame({"cc_num": [1, 2, 3], "a": [0.1, 0.2, 0.3], "b": [1.0, 2.0, 3.0],
                            "ts": t}))
    labels = lh.create_feature_group("lab", key="cc_num", event_time="ts")
    labels.insert(pd.DataFrame({"cc_num": [1, 2, 3], "y": [0, 1, 0], "ts": t + pd.Timedelta("1D")}))
    fv = lh.create_feature_view("v", spine=labels, join=[fg], label="y")
    X = fv.training_data()
    mv = lh.registry.register(LogisticRegression().fit(X[["a", "b"]], X["y"]), "vm", view=fv,
                              input_example=X[["a", "b"]].head(3))
    lh.registry.set_alias("vm", "production", mv.version)
    lh.deploy("viewdep", model="vm")
    return lh


SERVE_CASES = [
    ("null where a number is expected (the model raises)", "/deployments/scorer/predict",
     '{"entries": [{"a": null, "b": 1}]}', "'a' is null"),
    ("NaN where a number is expected", "/deployments/scorer/predict",
     '{"entries": [{"a": NaN, "b": 1}]}', "'a' is null"),
    ("a string where a number is expected", "/deployments/scorer/predict",
     '{"entries": [{"a": "x", "b": 1}]}', "'a'"),
    ("MLflow split with a null", "/deployments/scorer/invocations",
     '{"dataframe_split": {"columns": ["a", "b"], "data": [[null, 1]]}}', "'a' is null"),
    ("an integer of 5000 digits", "/deployments/scorer/predict",
     '{"entries": [{"a": ' + DIGITS + ', "b": 1}]}', "4300 digits"),
    ("10**400", "/deployments/scorer/predict", '{"entries": [{"a": ' + BIG + ', "b": 1}]}',
     "entries[0].a"),
    ("1e309", "/deployments/scorer/predict", '{"entries": [{"a": 1e309, "b": 1}]}',
     "entries[0].a"),
    ("NaN as an entity key", "/deployments/viewdep/predict", '{"entries": [{"cc_num": NaN}]}',
     "'cc_num' is null"),
]
#: not a mistake: a null passed for a feature is a gap (the store's value stays), so an entity
#: the store does not know, sent with only gaps, is answered "not found" with no prediction
#: (README: an unknown key gives nulls and a flag, never a crash)
UNKNOWN_WITH_GAPS = ('{"entries": [{"cc_num": 9}], "features": [{"a": null, "b": null}]}')


def test_serve_answers_client_mistakes_with_4xx_naming_the_field(lakehouse, home):
    server = ServeProcess(home)
    try:
        for what, path, body, named in SERVE_CASES:
            r = server.post(path, data=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 400, (what, r.status_code, r.text[:300])
            assert named in r.json()["error"], (what, r.text[:300])
        ok = server.post("/deployments/scorer/predict", json={"entries": [{"a": 1, "b": 2}]})
        assert ok.status_code == 200
        # a null passed feature is "not given" (MLflow clients send DataFrame gaps as NaN):
        # an entity the store does not know then answers found=False, never a 5xx
        gap = server.post("/deployments/viewdep/predict", data=UNKNOWN_WITH_GAPS,
                          headers={"Content-Type": "application/json"})
        assert gap.status_code == 200, gap.text[:300]
        assert gap.json()["predictions"][0] == {"cc_num": 9, "prediction": None,
                                                "found": False}
        assert server.terminate() == 0  # SIGTERM: stats and the log are flushed
    finally:
        server.stop()
    # a refused request is counted as an error and never logged as a prediction
    stats = lakehouse.deployments.get("scorer").stats()
    assert stats["errors"] >= 4 and stats["requests"] == 1, stats


JUPYTER_CASES = [
    ("deep nesting", "post", "runs", "[" * 100_000 + "]" * 100_000, "nested"),
    ("deep objects", "post", "monitors", '{"a": ' * 40 + "1" + "}" * 40, "nested"),
    ("1e309", "post", "schedules", '{"cron": "0 * * * *", "timeout": 1e309}', "timeout"),
    ("[] for an object", "post", "pipelines", "[]", "JSON object"),
    ("[] for an object", "post", "monitors", "[]", "JSON object"),
    ("[] for an object", "post", "models/clf/aliases/staging", "[]", "JSON object"),
    ("wrong type in notebook", "post", "runs", '{"notebook": 5}', "notebook"),
    ("wrong type in notebook", "post", "schedules", '{"notebook": ["a"], "cron": "0 * * * *"}',
     "notebook"),
    ("wrong type in a step's notebook", "post", "pipelines",
     '{"name": "p", "steps": [{"notebook": 7, "step": "s"}]}', "steps[0].notebook"),
    ("wrong type in columns", "post", "monitors",
     '{"name": "m", "feature_group": "tx", "reference": "previous 1d", "columns": 5}',
     "columns"),
    ("wrong type in columns", "post", "monitors",
     '{"name": "m", "feature_group": "tx", "reference": "previous 1d", "columns": [1]}',
     "columns"),
    ("huge id", "post", "alerts/99999999999999999999999/acknowledge", "", "alert id"),
    ("huge version", "get", "models/clf/versions/99999999999999999999999", None, "version"),
    ("huge version", "get", "feature-groups/tx?version=99999999999999999999999", None,
     "version"),
    ("huge version", "get", "feature-views/v/99999999999999999999999", None, "version"),
    ("huge limit", "get", "runs?limit=99999999999999999999999", None, "limit"),
    ("huge result id", "get", "monitors/m/reports/99999999999999999999999.html", None,
     "result id"),
    ("huge alias version", "post", "models/clf/aliases/staging", '{"version": ' + BIG + "}",
     "version"),
]


def test_jupyter_rest_answers_client_mistakes_with_4xx_naming_the_field(lakehouse, home,
                                                                        tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    server = JupyterServer(home, root, extra_env={"LAKEBOOK_SCHEDULER": "0"})
    try:
        for what, method, path, body, named in JUPYTER_CASES:
            kw = {} if body is None else {"data": body.encode(),
                                           "headers": {**server.auth,
                                                       "Content-Type": "application/json"}}
            if method == "get":
                r = server.get(path)
            else:
                import requests
                r = requests.post(server.api(path), timeout=60, **(kw or {"headers": server.auth}))
            assert 400 <= r.status_code < 500, (what, path, r.status_code, r.text[:300])
            assert named in r.json()["error"], (what, path, r.text[:300])
        assert server.get("status").status_code == 200
    finally:
        server.stop()
