"""``lakebook export-model``: a version becomes an MLflow model directory written by MLflow's
own flavour (sklearn, xgboost, lightgbm, onnx), which MLflow's ``mlflow.pyfunc.load_model``
loads and whose predictions are the registry's; the directory carries the version's input
schema, input example, requirements pinned at the recorded versions and its provenance, and
never a pickle. A flavour MLflow has none for, an occupied directory or an unknown model is
refused with nothing written. (PyTorch: ``test_frameworks_torch.py``.)"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")
pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")
mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc")

import kernel_magics  # noqa: E402
from conftest import lakebook_script  # noqa: E402
from kernel_magics.shared.errors import InvalidInput  # noqa: E402
from test_frameworks import _lakehouse  # noqa: E402

pytestmark = pytest.mark.timeout(600)


class Models:
    """One lakehouse with a model of each flavour MLflow has, on the same view."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "lakehouse"
        lh = kernel_magics.connect(self.home)
        view, _ = _lakehouse(lh)
        X_train, self.X_test, y_train, _ = view.train_test_split()
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LinearRegression
        forest = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0)
        register = lh.registry.register
        register(forest.fit(X_train, y_train), "forest", view=view, input_example=X_train)
        register(xgb.XGBClassifier(n_estimators=20, max_depth=3).fit(X_train, y_train),
                 "xgb", view=view, input_example=X_train)
        register(xgb.train({"objective": "binary:logistic", "max_depth": 3},
                           xgb.DMatrix(X_train, y_train), 20), "xgb_booster", view=view,
                 input_example=X_train)
        register(lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(X_train, y_train),
                 "lgbm", view=view, input_example=X_train)
        register(forest, "forest_onnx", view=view, input_example=X_train, flavour="onnx")
        register(LinearRegression().fit(X_train, X_train["amount"]), "amount_pickle",
                 input_example=X_train, flavour="pickle")
        self.lh = lh

    def export(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([lakebook_script(), "--home", str(self.home), "export-model",
                               *argv], capture_output=True, text=True, timeout=300)


def said(done: subprocess.CompletedProcess) -> str:
    """The command's error output on one line (the console wraps long messages)."""
    return " ".join(done.stderr.split())


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Models:
    return Models(tmp_path_factory.mktemp("export"))


# model name -> (MLflow flavour, packages pinned in requirements.txt)
EXPORTS = {"forest": ("sklearn", ["scikit-learn", "skops"]),
           "xgb": ("xgboost", ["xgboost"]),
           "xgb_booster": ("xgboost", ["xgboost"]),
           "lgbm": ("lightgbm", ["lightgbm"]),
           "forest_onnx": ("onnx", ["onnx", "onnxruntime"])}


@pytest.mark.parametrize("name", list(EXPORTS))
def test_mlflow_loads_the_export_and_predicts_what_the_registry_does(models, name):
    out = models.root / f"mlflow_{name}"
    done = models.export(name, "--version", "1", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Model {name!r} version 1" in done.stdout and str(out) in done.stdout
    flavour, packages = EXPORTS[name]
    mlmodel = yaml.safe_load((out / "MLmodel").read_text())
    assert flavour in mlmodel["flavors"] and "python_function" in mlmodel["flavors"]
    mv = models.lh.registry.get(name, 1)
    # the version's input schema, its input example, its provenance
    inputs = json.loads(mlmodel["signature"]["inputs"])
    assert [c["name"] for c in inputs] == mv.input_features
    assert {c["type"] for c in inputs} == {"double"}
    example = json.loads((out / "input_example.json").read_text())
    assert example["columns"] == mv.input_features and len(example["data"]) == 5
    assert mlmodel["metadata"]["lakebook"]["model"] == name
    assert mlmodel["metadata"]["lakebook"]["artifact_sha256"] == mv.artifact_sha256
    # the framework pinned at the version recorded at registration
    requirements = (out / "requirements.txt").read_text().splitlines()
    for package in packages:
        assert f"{package}=={mv.libraries[package]}" in requirements, requirements
    # safe formats only: no pickle went into the directory
    files = [p.name for p in out.rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".cloudpickle"))], files

    loaded = mlflow_pyfunc.load_model(str(out))
    X = models.X_test
    got = loaded.predict(X)
    proba = mv.predict_proba(X)[:, 1]
    if name in ("forest", "xgb"):  # a scikit-learn(-style) estimator: labels
        np.testing.assert_array_equal(np.asarray(got), mv.predict(X))
    elif name == "forest_onnx":  # one DataFrame column per output
        assert isinstance(got, pd.DataFrame)
        np.testing.assert_array_equal(got["label"].to_numpy(), mv.predict(X))
        np.testing.assert_allclose(got["probabilities_1"], proba, rtol=1e-6)
    else:  # a Booster: what the booster predicts, P(class 1)
        np.testing.assert_allclose(np.asarray(got), proba, rtol=1e-6)


def test_an_alias_names_the_version_exported(models):
    models.lh.registry.register(xgb.XGBClassifier(n_estimators=5).fit(
        models.X_test, (models.X_test["amount"] > 60).astype(int)), "xgb")
    models.lh.registry.set_alias("xgb", "production", 1)
    out = models.root / "mlflow_production"
    done = models.export("xgb", "--alias", "production", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "version 1" in done.stdout
    mlmodel = yaml.safe_load((out / "MLmodel").read_text())
    assert mlmodel["metadata"]["lakebook"]["version"] == 1


def test_what_cannot_be_exported_is_refused_and_nothing_is_written(models):
    out = models.root / "refused"
    done = models.export("amount_pickle", "--out", str(out))
    assert done.returncode == 1
    message = said(done)
    assert "'pickle' model" in message and "MLflow has no flavour" in message, message
    assert "sklearn" in message and "xgboost" in message  # the flavours that can be exported
    assert not out.exists()
    assert not list(models.root.glob(".refused.export-*"))

    occupied = models.root / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    done = models.export("forest", "--out", str(occupied))
    assert done.returncode == 1 and "not an empty directory" in said(done)
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]

    done = models.export("nothing", "--out", str(out))
    assert done.returncode == 1 and "No model named 'nothing'" in said(done)
    done = models.export("forest", "--version", "1", "--alias", "production", "--out",
                         str(out))
    assert done.returncode == 2 and "not allowed with" in said(done)
    assert not out.exists()


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_a_booster_trained_on_text_categories_is_refused_with_what_to_do(tmp_path, library):
    """MLflow's schema passes text columns on as text, which the booster cannot score: the
    export says so (and names ``lakebook serve``) instead of writing a model that fails."""
    lh = kernel_magics.connect(tmp_path / "lakehouse")
    rng = np.random.default_rng(4)
    n = 300
    df = pd.DataFrame({"cc_num": np.arange(n) % 30,
                       "ts": pd.Timestamp("2024-01-01", tz="UTC")
                       + pd.to_timedelta(np.arange(n), "min"),
                       "amount": rng.gamma(2.0, 30.0, n),
                       "category": rng.choice(["food", "travel", "online"], n)})
    df["is_fraud"] = ((df.category == "online") & (df.amount > 50)).astype(int)
    lh.create_feature_group("tx", key="cc_num", event_time="ts").insert(df)
    view = lh.create_feature_view("tx_view", spine=lh.features.groups.get("tx"), label="is_fraud")
    X_train, _, y_train, _ = view.train_test_split()
    cats = X_train.astype({"category": "category"})
    model = lgb.LGBMClassifier(n_estimators=10, verbose=-1) if library == "lightgbm" else \
        xgb.XGBClassifier(n_estimators=10, enable_categorical=True, tree_method="hist")
    lh.registry.register(model.fit(cats, y_train), "fraud", view=view, input_example=X_train)
    out = tmp_path / "fraud_mlflow"
    with pytest.raises(InvalidInput, match=r"text column\(s\) category .*lakebook serve"):
        lh.registry.export_mlflow("fraud", out)
    assert not out.exists() and not list(tmp_path.glob(".fraud_mlflow.export-*"))


def test_without_mlflow_the_export_names_its_extra(models, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now fails
    out = models.root / "no_mlflow"
    with pytest.raises(InvalidInput, match=r"pip install 'lakebook\[mlflow\]'"):
        models.lh.registry.export_mlflow("forest", out)
    assert not out.exists()
