"""The doors of similarity search (issue 19): a deployment answering neighbours with
predictions (a vector, or a text through a registered embedding function), and the REST
routes inside a real Jupyter server."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import requests
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from conftest import JupyterServer
from kernel_magics.shared.errors import InvalidInput

TS = pd.Timestamp("2024-01-01", tz="UTC")
WORDS = {
    "grocery": "fresh fruit vegetables bread milk organic market",
    "travel": "flights hotel airline booking trip luggage airport",
    "fuel": "petrol diesel station pump car wash garage",
}


def merchants(n: int = 90, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kinds = np.array(list(WORDS))[np.arange(n) % 3]
    texts = [" ".join(rng.choice(WORDS[k].split(), 4)) + f" shop {i}"
             for i, k in enumerate(kinds)]
    return pd.DataFrame({"mid": np.arange(n), "ts": TS, "category": kinds,
                         "description": texts, "risk": (kinds == "travel") * 0.8 +
                         rng.random(n) * 0.2})


@pytest.fixture
def world(lh):
    """Merchants with description embeddings (TF-IDF + SVD, fitted and registered as the
    embedding function), labels, a view, a fraud model and a deployment."""
    df = merchants()
    embedder = make_pipeline(TfidfVectorizer(), TruncatedSVD(8, random_state=0))
    vectors = embedder.fit_transform(df["description"]).astype(np.float32)
    lh.registry.register(embedder, "merchant_embedder")  # a transformer: no predict()
    fg = lh.create_feature_group("merchants", key="mid", event_time="ts", online=True,
                                 embeddings={"desc_vec": {"dim": 8, "metric": "cosine"}})
    fg.insert(df.assign(desc_vec=list(vectors)))
    fg.build_index()  # the insert leaves the graph to a background build: have it saved now
    labels = lh.create_feature_group("merchant_labels", key="mid", event_time="ts")
    labels.insert(pd.DataFrame({"mid": df["mid"], "ts": TS + pd.Timedelta(days=1),
                                "is_fraud": (df["category"] == "travel").astype(int)}))
    fv = lh.create_feature_view("merchant_risk", spine=labels, join=[fg.select(["risk"])],
                                label="is_fraud")
    X_train, X_test, y_train, y_test = fv.train_test_split(test_size=0.2)
    model = LogisticRegression().fit(X_train, y_train)
    mv = lh.registry.register(model, "fraud", view=fv, input_example=X_train.head(3))
    lh.registry.set_alias("fraud", "production", mv)
    dep = lh.deploy("merchant_fraud", model="fraud", view=fv)
    return {"fg": fg, "fv": fv, "dep": dep, "vectors": vectors, "df": df,
            "embedder": embedder}


def test_a_deployment_answers_neighbours_with_predictions(world):
    dep, vectors = world["dep"], world["vectors"]
    answer = dep.neighbors(vector=vectors[4], k=5)
    rows = answer["neighbors"]
    assert len(rows) == 5 and rows[0]["mid"] == 4 and rows[0]["distance"] < 1e-5
    assert all(r["prediction"] in (0, 1) and set(r["probabilities"]) == {"0", "1"}
               for r in rows)
    assert rows[0]["features"]["risk"] == pytest.approx(world["df"]["risk"][4])
    assert answer["model"] == {"name": "fraud", "version": 1}
    # a text, embedded by the registered embedding function (no download)
    by_text = dep.neighbors(text=world["df"]["description"][7], embedder="merchant_embedder",
                            k=3)
    assert by_text["neighbors"][0]["mid"] == 7
    travel = dep.neighbors(text="airline flights hotel", embedder="merchant_embedder", k=4)
    kinds = world["df"].set_index("mid")["category"]
    assert {kinds[r["mid"]] for r in travel["neighbors"]} == {"travel"}
    assert all(r["prediction"] == 1 for r in travel["neighbors"])
    with pytest.raises(InvalidInput, match="either a vector or a text"):
        dep.neighbors()
    with pytest.raises(InvalidInput, match="needs an embedding function"):
        dep.neighbors(text="x")
    with pytest.raises(InvalidInput, match="has no transform"):
        dep.neighbors(text="hotel", embedder="fraud")


def test_the_view_finds_neighbours_with_its_features(world):
    fv, vectors = world["fv"], world["vectors"]
    near = fv.find_neighbors(vectors[10], k=3)
    assert list(near.columns) == ["mid", "risk", "_found", "distance"]
    assert int(near["mid"][0]) == 10
    exact = fv.find_neighbors(vectors[10], k=3, exact=True)
    assert list(exact["mid"]) == list(near["mid"])


@pytest.fixture
def server(home, world, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    srv = JupyterServer(home, root, extra_env={"LAKEBOOK_SCHEDULER": "0"})
    try:
        yield srv
    finally:
        srv.stop()


def test_rest_routes_for_neighbours(server, world):
    api = f"{server.url}/lakebook/api"
    headers = {"Authorization": f"token {server.token}"}
    detail = requests.get(f"{api}/feature-groups/merchants", headers=headers, timeout=60).json()
    assert detail["embeddings"] == {"desc_vec": {"dim": 8, "metric": "cosine"}}
    status = detail["embedding_index"][0]
    assert status["dim"] == 8 and status["indexed"] == 90 and status["state"] == "saved"
    got = requests.post(f"{api}/feature-groups/merchants/neighbors", headers=headers,
                        json={"key": 5, "k": 4}, timeout=60)
    assert got.status_code == 200, got.text
    body = got.json()
    assert len(body["neighbors"]) == 4 and 5 not in [r["mid"] for r in body["neighbors"]]
    assert "desc_vec" not in body["columns"] and body["columns"][-1] == "distance"
    kinds = world["df"].set_index("mid")["category"]
    assert {kinds[r["mid"]] for r in body["neighbors"]} == {kinds[5]}
    filtered = requests.post(f"{api}/feature-groups/merchants/neighbors", headers=headers,
                             json={"vector": world["vectors"][5].tolist(), "k": 3,
                                   "filter": "category = 'fuel'"}, timeout=60).json()
    assert {r["category"] for r in filtered["neighbors"]} == {"fuel"}
    dep = requests.post(f"{api}/deployments/merchant_fraud/neighbors", headers=headers,
                        json={"text": "petrol station pump", "embedder": "merchant_embedder",
                              "k": 3}, timeout=60)
    assert dep.status_code == 200, dep.text
    assert all("prediction" in r for r in dep.json()["neighbors"])
    for path, body, status_code, text in [
        ("feature-groups/merchants/neighbors", {"key": 5, "vector": [1]}, 400, "either"),
        ("feature-groups/merchants/neighbors", {"key": 9999}, 404, "no vector"),
        ("feature-groups/merchants/neighbors", {"vector": [1, 2]}, 400, "8 values"),
        ("feature-groups/merchants/neighbors", {"key": 5, "k": "many"}, 400, "k="),
        ("feature-groups/merchants/neighbors", {"key": 5, "colour": 1}, 400, "Unknown"),
        ("feature-groups/merchant_labels/neighbors", {"key": 5}, 400, "no embedding"),
        ("deployments/merchant_fraud/neighbors", {"vector": "x"}, 400, "list of numbers"),
        ("deployments/merchant_fraud/neighbors", {"vector": [1] * 8, "filter": "nope ="},
         400, "Filter"),
    ]:
        r = requests.post(f"{api}/{path}", headers=headers, json=body, timeout=60)
        assert r.status_code == status_code and text in r.json()["error"], (path, r.text)
    spec = requests.get(f"{api}/openapi.json", headers=headers, timeout=60).json()
    assert "/deployments/{name}/neighbors" in spec["paths"]
    assert "/feature-groups/{name}/neighbors" in spec["paths"]
    assert "/feature-groups/{name}/delete-rows" in spec["paths"]


def test_rest_deletes_rows_and_the_server_stops_finding_them(server, world):
    api = f"{server.url}/lakebook/api"
    headers = {"Authorization": f"token {server.token}"}
    vector = world["vectors"][6].tolist()
    near = requests.post(f"{api}/feature-groups/merchants/neighbors", headers=headers,
                         json={"vector": vector, "k": 1}, timeout=60).json()
    assert near["neighbors"][0]["mid"] == 6
    fg = world["fg"]
    version = fg.delta_version()
    for body, text in [({}, "needs keys"), ({"keys": 6}, "must be a list"),
                       ({"where": ""}, "not a SQL predicate"), ({"where": 1}, "must be a string"),
                       ({"keys": [{"merchant": 6}]}, "no key column"), ({"why": 1}, "Unknown")]:
        r = requests.post(f"{api}/feature-groups/merchants/delete-rows", headers=headers,
                          json=body, timeout=60)
        assert r.status_code == 400 and text in r.json()["error"], (body, r.text)
    assert fg.delta_version() == version  # bad input wrote nothing
    got = requests.post(f"{api}/feature-groups/merchants/delete-rows", headers=headers,
                        json={"keys": [6, 7]}, timeout=60)
    assert got.status_code == 200, got.text
    info = got.json()
    from kernel_magics.doors.rest.contract import check
    check("RowsDeleted", info)  # the answer the contract (and openapi.json) describes
    assert (info["mode"], info["rows"], info["delta_version"]) == ("delete", 2, version + 1)
    near = requests.post(f"{api}/feature-groups/merchants/neighbors", headers=headers,
                         json={"vector": vector, "k": 10}, timeout=60).json()
    assert not {6, 7} & {r["mid"] for r in near["neighbors"]}
    missing = requests.post(f"{api}/feature-groups/nowhere/delete-rows", headers=headers,
                            json={"keys": [1]}, timeout=60)
    assert missing.status_code == 404


def test_lakebook_serve_answers_neighbours(home, world):
    from deployments_fixtures import ServeProcess
    server = ServeProcess(home, ["--deployment", "merchant_fraud"])
    try:
        got = requests.post(f"{server.url}/deployments/merchant_fraud/neighbors",
                            json={"vector": world["vectors"][4].tolist(), "k": 3}, timeout=60)
        assert got.status_code == 200, got.text
        rows = got.json()["neighbors"]
        assert rows[0]["mid"] == 4 and all("prediction" in r for r in rows)
        bad = requests.post(f"{server.url}/deployments/merchant_fraud/neighbors",
                            json={"vector": [1, 2]}, timeout=60)
        assert bad.status_code == 400 and "8 values" in bad.json()["error"]
        spec = requests.get(f"{server.url}/openapi.json", timeout=60).json()
        assert "/deployments/{name}/neighbors" in spec["paths"]
    finally:
        server.stop()
