"""XGBoost, LightGBM and ONNX models through the whole path: ``%%training`` detects the
flavour, evaluates and registers the model in the library's own format; the registry loads
it back as data; a deployment scores it online and in batch with probabilities; ``lakebook
serve`` answers MLflow's scoring client; a missing library names its extra."""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable
from IPython.core.error import UsageError

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")

import kernel_magics  # noqa: E402
from deployments_fixtures import ServeProcess  # noqa: E402
from kernel_magics.shared.errors import InvalidInput  # noqa: E402

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _lakehouse(lh, n: int = 600, entities: int = 60, labels=None):
    """An online group ``tx`` (cc_num, ts, four features, label is_fraud) and view."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"cc_num": np.arange(n) % entities,
                       "ts": T0 + pd.to_timedelta(np.arange(n), "min"),
                       "amount": rng.gamma(2.0, 30.0, n), "velocity": rng.normal(size=n),
                       "age": rng.integers(18, 80, n).astype("float64"),
                       "hour": rng.integers(0, 24, n).astype("float64")})
    fraud = ((df.amount > 70) & (df.velocity > 0)) ^ (rng.random(n) < 0.05)
    df["is_fraud"] = fraud.astype(int) if labels is None else np.where(fraud, *labels)
    fg = lh.create_feature_group("tx", key="cc_num", event_time="ts", online=True)
    fg.insert(df)
    return lh.create_feature_view("tx_view", spine=fg, label="is_fraud"), df


CELLS = {
    "xgboost": "import xgboost as xgb\n"
               "model = xgb.XGBClassifier(n_estimators=30, max_depth=3).fit(X_train, y_train)",
    "lightgbm": "import lightgbm as lgb\n"
                "model = lgb.LGBMClassifier(n_estimators=30, verbose=-1).fit(X_train, y_train)",
    "lightgbm-booster": "import lightgbm as lgb\n"
                        "model = lgb.train({'objective': 'binary', 'verbose': -1},\n"
                        "                  lgb.Dataset(X_train, y_train), 30)",
    "xgboost-booster": "import xgboost as xgb\n"
                       "model = xgb.train({'objective': 'binary:logitraw', 'max_depth': 3},\n"
                       "                  xgb.DMatrix(X_train, y_train), 30)",
    "onnx": "from skl2onnx import to_onnx\n"
            "from sklearn.ensemble import RandomForestClassifier\n"
            "rf = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0)"
            ".fit(X_train, y_train)\n"
            "model = to_onnx(rf, X_train[:1].to_numpy('float32'), options={'zipmap': False})",
}


def _reference_proba(kind: str, model, X: pd.DataFrame) -> np.ndarray:
    """P(class 1) from the framework itself, as its users would compute it."""
    if kind == "lightgbm-booster":
        return model.predict(X)
    if kind == "xgboost-booster":
        margin = model.predict(xgb.DMatrix(X), output_margin=True)
        return 1 / (1 + np.exp(-margin))
    if kind == "onnx":
        import onnxruntime as ort
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return sess.run(["probabilities"], {"X": X.to_numpy("float32")})[0][:, 1]
    return model.predict_proba(X)[:, 1]


@pytest.mark.parametrize("kind", list(CELLS))
def test_training_detects_the_flavour_and_the_version_serves_what_was_evaluated(
        ipython_shell, lh, kind):
    view, df = _lakehouse(lh)
    result = ipython_shell.run_cell_magic("training", "fraud --view tx_view", CELLS[kind])
    mv = result.model_version
    flavour = kind.split("-")[0]
    assert mv.flavour == flavour and mv.task == "classification"
    assert {"accuracy", "f1", "roc_auc"} <= set(mv.metrics) and mv.metrics["roc_auc"] > 0.8
    # the framework and its version are recorded with the version
    assert mv.libraries["framework"] == flavour
    module = {"xgboost": xgb, "lightgbm": lgb, "onnx": onnx}[flavour]
    assert mv.libraries[flavour] == module.__version__
    files = sorted(p.name for p in mv.artifact_path.iterdir())
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".skops"))]
    # a fresh process's view: the registry loads the artifact back from its data format
    fresh = kernel_magics.connect(lh.home).registry.get("fraud", mv.version)
    X = ipython_shell.user_ns["X_test"]
    want = _reference_proba(kind, ipython_shell.user_ns["model"], X)
    got = fresh.predict_proba(X)
    assert got.shape == (len(X), 2)
    np.testing.assert_allclose(got[:, 1], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(fresh.predict(X), (got[:, 1] > 0.5).astype(int))
    # the held-out metrics are those of the model the registry serves
    from sklearn.metrics import roc_auc_score
    assert mv.metrics["roc_auc"] == pytest.approx(
        roc_auc_score(ipython_shell.user_ns["y_test"], got[:, 1]))


def test_regressors_and_multiclass_boosters(lh):
    view, df = _lakehouse(lh)
    X_train, X_test, y_train, y_test = view.train_test_split()
    y_amount = X_train["amount"] * 2 + X_train["velocity"]
    reg = xgb.XGBRegressor(n_estimators=20).fit(X_train, y_amount)
    mv = lh.registry.register(reg, "amount_xgb", input_example=X_train)
    assert (mv.flavour, mv.signature.get("classes")) == ("xgboost", None)
    np.testing.assert_allclose(lh.registry.get("amount_xgb").predict(X_test),
                               reg.predict(X_test), rtol=1e-6)
    assert not hasattr(lh.registry.get("amount_xgb").load(), "predict_proba")
    three = np.asarray(X_train["hour"] // 8, dtype=int)
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1},
                        lgb.Dataset(X_train, three), 10)
    mv = lh.registry.register(booster, "hour_lgb", input_example=X_train)
    assert mv.flavour == "lightgbm" and mv.signature["classes"] == [0, 1, 2]
    loaded = lh.registry.get("hour_lgb")
    np.testing.assert_allclose(loaded.predict_proba(X_test), booster.predict(X_test))
    softmax = xgb.train({"objective": "multi:softmax", "num_class": 3},
                        xgb.DMatrix(X_train, three), 10)
    mv = lh.registry.register(softmax, "hour_xgb", input_example=X_train)
    got = lh.registry.get("hour_xgb")
    # labels from the booster, probabilities from its margins (softmax)
    np.testing.assert_array_equal(got.predict(X_test),
                                  softmax.predict(xgb.DMatrix(X_test)).astype(int))
    np.testing.assert_allclose(got.predict_proba(X_test).sum(axis=1), 1.0)


def test_string_labels_survive_the_lightgbm_text(lh):
    view, df = _lakehouse(lh, labels=("fraud", "ok"))
    X_train, X_test, y_train, y_test = view.train_test_split()
    clf = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(X_train, y_train)
    lh.registry.register(clf, "labels", input_example=X_train)
    got = lh.registry.get("labels")
    assert got.signature["classes"] == ["fraud", "ok"]
    assert got.predict(X_test).tolist() == clf.predict(X_test).tolist()


def test_flavour_flag_overrides_detection_and_is_checked_first(ipython_shell, lh):
    view, df = _lakehouse(lh)
    cell = ("from sklearn.ensemble import RandomForestClassifier\n"
            "model = RandomForestClassifier(n_estimators=10, random_state=0)"
            ".fit(X_train, y_train)")
    result = ipython_shell.run_cell_magic("training", "rf --view tx_view --flavour onnx", cell)
    mv = result.model_version
    assert mv.flavour == "onnx" and (mv.artifact_path / "model.onnx").is_file()
    X = ipython_shell.user_ns["X_test"]
    np.testing.assert_allclose(lh.registry.get("rf").predict_proba(X),
                               ipython_shell.user_ns["model"].predict_proba(X), atol=1e-5)
    before = lh.catalog.scalar("SELECT COUNT(*) FROM model_versions")
    ipython_shell.user_ns.pop("model")
    with pytest.raises(UsageError, match="Unknown model flavour 'catboost'"):
        ipython_shell.run_cell_magic("training", "rf --view tx_view --flavour catboost",
                                     "raise SystemExit('the cell must not run')")
    assert lh.catalog.scalar("SELECT COUNT(*) FROM model_versions") == before
    with pytest.raises(UsageError, match="not fitted"):
        ipython_shell.run_cell_magic("training", "rf --view tx_view",
                                     "import xgboost as xgb\nmodel = xgb.XGBClassifier()")
    assert lh.catalog.scalar("SELECT COUNT(*) FROM model_versions") == before


def test_deployments_score_boosters_online_and_in_batch(lh, home):
    view, df = _lakehouse(lh)
    X_train, X_test, y_train, y_test = view.train_test_split()
    clf = lgb.LGBMClassifier(n_estimators=40, verbose=-1).fit(X_train, y_train)
    mv = lh.registry.register(clf, "fraud", view=view, input_example=X_train)
    lh.registry.set_alias("fraud", "production", mv.version)
    dep = lh.deploy("fraud_online", model="fraud")
    latest = df.sort_values("ts").groupby("cc_num").tail(1).set_index("cc_num")
    answer = dep.predict({"cc_num": 7})
    row = latest.loc[[7], view.features]
    assert answer["prediction"] == int(clf.predict(row)[0]) and answer["found"]
    assert answer["probabilities"]["1"] == pytest.approx(clf.predict_proba(row)[0, 1])
    result = dep.batch()
    batch = view.batch_data()
    assert result.rows == len(batch)
    table = DeltaTable(str(result.path)).to_pandas().sort_values(["cc_num", "ts"])
    want = clf.predict_proba(batch.sort_values(["cc_num", "ts"])[view.features])[:, 1]
    np.testing.assert_allclose(table["proba_1"].to_numpy(), want, rtol=1e-6)
    dep.flush()
    log = DeltaTable(str(home / "tables" / "inference_log_fraud_online")).to_pandas()
    assert len(log) == 1 and log["prediction"].tolist() == [answer["prediction"]]
    lh.deployments.close()


def test_lakebook_serve_answers_mlflow_clients_for_an_xgboost_model(lh, home):
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient
    view, df = _lakehouse(lh)
    X_train, X_test, y_train, y_test = view.train_test_split()
    clf = xgb.XGBClassifier(n_estimators=30, max_depth=3).fit(X_train, y_train)
    mv = lh.registry.register(clf, "fraud", view=view, input_example=X_train)
    lh.registry.set_alias("fraud", "production", mv.version)
    lh.deploy("fraud_online", model="fraud")
    lh.deployments.close()
    server = ServeProcess(home, wait=False)
    try:
        client = ScoringServerClient("127.0.0.1", server.port)
        client.wait_server_ready(timeout=90, scoring_server_proc=server.proc)
        X = X_test.head(5)
        out = client.invoke(X).get_predictions()
        got = (out.iloc[:, 0] if isinstance(out, pd.DataFrame) else pd.Series(out)).tolist()
        assert got == clf.predict(X).tolist()
        r = server.post("/deployments/fraud_online/predict", json={"entries": [{"cc_num": 3}]})
        assert r.status_code == 200
        latest = df.sort_values("ts").groupby("cc_num").tail(1).set_index("cc_num")
        assert r.json()["predictions"][0]["probabilities"]["1"] == pytest.approx(
            float(clf.predict_proba(latest.loc[[3], view.features])[0, 1]), rel=1e-6)
        assert server.terminate() == 0
    finally:
        server.stop()


def test_a_missing_framework_names_its_extra(lh, monkeypatch):
    view, df = _lakehouse(lh)
    X_train, X_test, y_train, y_test = view.train_test_split()
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X_train, y_train), 5)
    lh.registry.register(booster, "fraud", input_example=X_train)
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # import lightgbm now fails
    with pytest.raises(InvalidInput, match=r"pip install 'lakebook\[lightgbm\]'"):
        kernel_magics.connect(lh.home).registry.get("fraud").load()


def test_a_pytorch_export_is_served_through_the_onnx_flavour(lh):
    """PyTorch's conventions (one input matrix, logits out) without PyTorch installed: the
    fixture was exported by tests/fixtures/make_torch_onnx.py."""
    import kernel_magics as kb
    from pathlib import Path
    fixtures = Path(__file__).with_name("fixtures")
    X = pd.DataFrame(np.arange(12, dtype="float64").reshape(3, 4) / 10,
                     columns=["amount", "velocity", "age", "hour"])
    model = kb.onnx_model(fixtures / "torch_mlp.onnx", classes=["ok", "fraud"], logits=True)
    mv = lh.registry.register(model, "mlp", input_example=X)
    assert mv.flavour == "onnx" and mv.signature["classes"] == ["ok", "fraud"]
    logits = np.load(fixtures / "torch_mlp.expected.npy").astype("float64")
    want = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    got = kernel_magics.connect(lh.home).registry.get("mlp")
    np.testing.assert_allclose(got.predict_proba(X), want, rtol=1e-5)
    assert got.predict(X).tolist() == np.array(["ok", "fraud"])[want.argmax(axis=1)].tolist()


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_text_columns_trained_as_categories(lh, library):
    """The view gives text; the booster was trained on pandas categories. The flavour maps
    the labels to the booster's own codes (a label it never saw is missing)."""
    rng = np.random.default_rng(4)
    n = 800
    df = pd.DataFrame({"cc_num": np.arange(n) % 80, "ts": T0 + pd.to_timedelta(np.arange(n), "min"),
                       "amount": rng.gamma(2.0, 30.0, n),
                       "category": rng.choice(["food", "travel", "online", "fuel"], n),
                       "segment": rng.choice(["retail", "premium"], n)})
    df["is_fraud"] = ((df.category == "online") & (df.amount > 50)).astype(int)
    fg = lh.create_feature_group("tx", key="cc_num", event_time="ts", online=True)
    fg.insert(df)
    view = lh.create_feature_view("tx_view", spine=fg, label="is_fraud")
    X_train, X_test, y_train, y_test = view.train_test_split()
    cats = {"category": "category", "segment": "category"}
    if library == "lightgbm":
        clf = lgb.LGBMClassifier(n_estimators=30, verbose=-1).fit(X_train.astype(cats), y_train)
    else:
        clf = xgb.XGBClassifier(n_estimators=30, enable_categorical=True,
                                tree_method="hist").fit(X_train.astype(cats), y_train)
    lh.registry.register(clf, "fraud", view=view, input_example=X_train)
    got = kernel_magics.connect(lh.home).registry.get("fraud")
    # one row at a time (the online path) and all at once (the batch path)
    want = clf.predict_proba(X_test.astype(cats))
    np.testing.assert_allclose(got.predict_proba(X_test), want, rtol=1e-6)
    one = X_test.head(1)
    np.testing.assert_allclose(got.predict_proba(one), clf.predict_proba(one.astype(cats)),
                               rtol=1e-6)
    unseen = one.assign(category="crypto")
    assert np.isfinite(got.predict_proba(unseen)).all()
    lh.registry.set_alias("fraud", "production", 1)
    answer = lh.deploy("fraud_online", model="fraud").predict({"cc_num": 3})
    latest = df.sort_values("ts").groupby("cc_num").tail(1).set_index("cc_num")
    assert answer["probabilities"]["1"] == pytest.approx(
        float(clf.predict_proba(latest.loc[[3], view.features].astype(cats))[0, 1]), rel=1e-6)
    lh.deployments.close()


def _readme_namespace(lh) -> dict:
    """What the README's framework section starts from: ``lh``, ``fv`` and its split (the
    transactions carry a text ``category``)."""
    rng = np.random.default_rng(8)
    n = 600
    df = pd.DataFrame({"cc_num": np.arange(n) % 60, "ts": T0 + pd.to_timedelta(np.arange(n), "min"),
                       "amount": rng.gamma(2.0, 30.0, n), "velocity": rng.normal(size=n),
                       "category": rng.choice(["food", "travel", "online"], n)})
    df["is_fraud"] = ((df.amount > 70) & (df.category == "online")).astype(int)
    fg = lh.create_feature_group("transactions", key="cc_num", event_time="ts", online=True)
    fg.insert(df)
    fv = lh.create_feature_view("fraud_view", spine=fg, label="is_fraud")
    X_train, X_test, y_train, y_test = fv.train_test_split(test_size=0.2)
    return {"lh": lh, "fv": fv, "X_train": X_train, "X_test": X_test, "y_train": y_train,
            "y_test": y_test}


def test_the_readme_framework_example_runs(lh):
    from readme import code_blocks
    blocks = code_blocks("Any framework: XGBoost, LightGBM, ONNX, PyTorch", "python")
    assert len(blocks) == 2, "README lost its framework examples"
    namespace = _readme_namespace(lh)
    exec(compile(blocks[0], "README.md (Any framework)", "exec"), namespace)
    assert [lh.registry.get(m).flavour for m in ("fraud_lgbm", "fraud_xgb", "fraud_rf")] == \
        ["lightgbm", "xgboost", "onnx"]
    assert lh.registry.get("fraud_lgbm").predict_proba(namespace["X_test"]).shape[1] == 2
