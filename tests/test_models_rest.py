"""``/lakebook/api/models`` through a real Jupyter server on a real registry."""
from __future__ import annotations

import numpy as np
import requests
from sklearn.linear_model import LinearRegression


def _register(lh, n=3):
    X = np.arange(40.0).reshape(20, 2)
    m = LinearRegression().fit(X, X[:, 0] * 2)
    for i in range(n):
        lh.registry.register(m, "price", metrics={"rmse": 10.0 - i, "r2": 0.5 + i / 10},
                             input_example=X[:3])


def test_list_detail_and_version(jupyter_server, lh):
    _register(lh)
    lh.registry.set_alias("price", "production", 2, who="test")
    answer = jupyter_server.get("models")
    assert answer.status_code == 200
    [model] = answer.json()["models"]
    assert model["name"] == "price" and model["versions"] == 3 and model["latest_version"] == 3
    assert model["aliases"] == {"production": 2}
    assert model["latest_metrics"]["rmse"] == 8.0

    detail = jupyter_server.get("models/price").json()
    assert [v["version"] for v in detail["versions"]] == [1, 2, 3]
    assert detail["versions"][1]["aliases"] == ["production"]
    assert detail["aliases"] == {"production": 2}
    assert detail["alias_history"][0]["to_version"] == 2

    one = jupyter_server.get("models/price/versions/3").json()
    assert one["version"] == 3 and one["metrics"] == {"rmse": 8.0, "r2": 0.7}
    assert one["signature"]["input_kind"] == "ndarray"
    assert one["libraries"]["scikit-learn"]


def test_alias_move_with_jupyter_auth(jupyter_server, lh):
    _register(lh)
    moved = jupyter_server.post("models/price/aliases/production", json={"version": 3})
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"name": "price", "alias": "production", "version": 3,
                            "previous": None}
    assert lh.registry.get("price", alias="production").version == 3
    [entry] = lh.registry.alias_history("price", "production")
    assert entry["to_version"] == 3 and entry["who"]  # the Jupyter user

    again = jupyter_server.post("models/price/aliases/production", json={"version": 1})
    assert again.json()["previous"] == 3
    jupyter_server.post("models/price/aliases/staging", json={"version": 2})
    removed = requests.delete(jupyter_server.api("models/price/aliases/staging"),
                              headers=jupyter_server.auth, timeout=30)
    assert removed.status_code == 200 and lh.registry.aliases("price") == {"production": 1}
    assert lh.registry.alias_history("price", "staging")[-1]["to_version"] is None

    # without the token: refused, nothing moved
    anon = requests.post(jupyter_server.api("models/price/aliases/production"),
                         json={"version": 2}, timeout=30)
    assert anon.status_code == 403
    assert requests.get(jupyter_server.api("models"), timeout=30).status_code == 403
    assert lh.registry.get("price", alias="production").version == 1


def test_client_mistakes_answer_json(jupyter_server, lh):
    _register(lh)
    lh.registry.delete("price", 2)
    cases = [
        (jupyter_server.get("models/nope"), 404, "No model named 'nope'"),
        (jupyter_server.get("models/price/versions/9"), 404, "no version 9"),
        (jupyter_server.get("models/price/versions/two"), 400, "not a version number"),
        (jupyter_server.post("models/price/aliases/production", json={"version": 9}), 404,
         "no version 9"),
        (jupyter_server.post("models/price/aliases/production", json={"version": 2}), 409,
         "deleted"),
        (jupyter_server.post("models/price/aliases/production", json={}), 400,
         "needs the version"),
        (requests.post(jupyter_server.api("models/price/aliases/production"), data="{oops",
                       headers={**jupyter_server.auth, "Content-Type": "application/json"},
                       timeout=30), 400, "not valid JSON"),
    ]
    for answer, status, text in cases:
        assert answer.status_code == status, answer.text
        body = answer.json()
        assert text in body["error"] and "Traceback" not in answer.text
    assert lh.registry.aliases("price") == {}


def test_detail_sends_each_metrics_direction(jupyter_server, lh):
    """The sidebar marks the best version by the direction the registry uses: `neg_` scorers
    are higher-is-better (scikit-learn's convention) though their names hold "error"/"loss"."""
    X = np.arange(40.0).reshape(20, 2)
    m = LinearRegression().fit(X, X[:, 0] * 2)
    for i, (neg_mse, rmse) in enumerate([(-4.0, 2.0), (-1.0, 1.0)]):
        lh.registry.register(m, "price", metrics={"neg_mean_squared_error": neg_mse,
                                                  "rmse": rmse, "r2": 0.5 + i / 10},
                             input_example=X[:3])
    detail = jupyter_server.get("models/price").json()
    assert detail["metric_directions"] == {"neg_mean_squared_error": "higher", "r2": "higher",
                                           "rmse": "lower"}
    best = lh.registry.best("price", "neg_mean_squared_error")
    assert best.version == 2  # -1.0 beats -4.0: the direction the sidebar is sent
