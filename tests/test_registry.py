"""The registry's Python API on real models, a real catalog and real artifact files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kernel_magics.shared.errors import Conflict, InvalidInput, NotFound
from kernel_magics.registry.evaluation import evaluate, higher_is_better, infer_task


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X.iloc[:400], y.iloc[:400], X.iloc[400:], y.iloc[400:]


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X.iloc[:350], y.iloc[:350], X.iloc[350:], y.iloc[350:]


def test_register_and_load_round_trip(lh, other_lh, cancer):
    X, y, Xt, yt = cancer
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500)).fit(X, y)
    mv = lh.registry.register(model, "cancer", metrics={"accuracy": 0.95}, input_example=X,
                              params={"note": "first"})
    assert mv.version == 1 and mv.flavour == "sklearn"
    assert (lh.models_dir / "cancer" / "1" / "model.skops").exists()
    # params read from the estimator, JSON-safe, plus the user's
    assert mv.params["logisticregression__C"] == 0.5 and mv.params["note"] == "first"
    assert isinstance(mv.params["steps"], list)
    # schemas and example
    assert [c["name"] for c in mv.input_schema] == list(X.columns)
    assert mv.output_schema[0]["name"] == "prediction"
    assert mv.output_schema[1] == {"name": "probabilities", "type": "float64", "shape": [-1, 2]}
    pd.testing.assert_frame_equal(mv.input_example, X.head(5).reset_index(drop=True))
    assert {"scikit-learn", "numpy", "pandas", "lakebook"} <= set(mv.libraries)
    # a fresh object from the catalog loads the artifact and predicts as the original
    again = lh.registry.get("cancer", 1)
    np.testing.assert_array_equal(again.predict(Xt), model.predict(Xt))
    np.testing.assert_allclose(again.predict_proba(Xt), model.predict_proba(Xt))
    # another home of the lakehouse (a colleague's, a server's) loads the same artifact
    theirs = other_lh.registry.get("cancer", 1)
    np.testing.assert_array_equal(theirs.predict(Xt), model.predict(Xt))
    assert theirs.to_dict()["artifact_path"] == (lh.models_dir / "cancer" / "1").uri
    # extra columns (keys, labels) are ignored; a missing feature is named
    wider = Xt.assign(id=range(len(Xt)))
    np.testing.assert_array_equal(again.predict(wider), model.predict(Xt))
    with pytest.raises(InvalidInput, match="mean radius"):
        again.predict(Xt.drop(columns=["mean radius"]))
    assert "cancer v1" in again._repr_html_()


def test_versions_are_numbered_per_name_and_never_reused(lh, diabetes):
    X, y, _, _ = diabetes
    m = LinearRegression().fit(X, y)
    assert [lh.registry.register(m, "a").version for _ in range(3)] == [1, 2, 3]
    assert lh.registry.register(m, "b").version == 1
    lh.registry.delete("a", 3)
    assert not (lh.models_dir / "a" / "3").exists()
    assert lh.registry.register(m, "a").version == 4
    assert [v.version for v in lh.registry.versions("a")] == [1, 2, 4]
    assert lh.registry.get("a").version == 4
    with pytest.raises(NotFound, match="was deleted"):
        lh.registry.get("a", 3)
    with pytest.raises(NotFound, match="no version 9"):
        lh.registry.get("a", 9)
    with pytest.raises(NotFound, match="No model named 'zzz'"):
        lh.registry.get("zzz")


def test_aliases_move_with_history_and_refuse_deleted_versions(lh, diabetes):
    X, y, _, _ = diabetes
    m = LinearRegression().fit(X, y)
    for _ in range(3):
        lh.registry.register(m, "reg")
    lh.registry.set_alias("reg", "production", 1, who="alice")
    lh.registry.set_alias("reg", "production", 2, who="bob", reason="better")
    assert lh.registry.get("reg", alias="production").version == 2
    assert lh.registry.get("reg", 2).aliases == ["production"]
    history = lh.registry.alias_history("reg", "production")
    assert [(h["from_version"], h["to_version"], h["who"]) for h in history] == \
        [(None, 1, "alice"), (1, 2, "bob")]
    assert all(h["at"] for h in history)
    with pytest.raises(NotFound, match="no alias 'staging'"):
        lh.registry.get("reg", alias="staging")
    with pytest.raises(NotFound, match="no version 7"):
        lh.registry.set_alias("reg", "production", 7)
    lh.registry.delete("reg", 3)
    with pytest.raises(Conflict, match="deleted"):
        lh.registry.set_alias("reg", "production", 3)
    assert lh.registry.get("reg", alias="production").version == 2
    assert len(lh.registry.alias_history("reg")) == 2  # failed moves leave no trace
    # a version an alias points to is kept unless forced
    with pytest.raises(Conflict, match="production"):
        lh.registry.delete("reg", 2)
    lh.registry.delete("reg", 2, force=True)
    assert lh.registry.aliases("reg") == {}
    assert lh.registry.alias_history("reg")[-1]["to_version"] is None
    with pytest.raises(InvalidInput):
        lh.registry.set_alias("reg", "latest", 1)


def test_best_knows_direction_and_compare(lh, diabetes):
    X, y, Xt, yt = diabetes
    m = LinearRegression().fit(X, y)
    lh.registry.register(m, "r", metrics={"rmse": 50.0, "r2": 0.4})
    lh.registry.register(m, "r", metrics={"rmse": 40.0, "r2": 0.3})
    lh.registry.register(m, "r", metrics={"rmse": 60.0, "r2": 0.5})
    assert lh.registry.best("r", "rmse").version == 2
    assert lh.registry.best("r", "r2").version == 3
    assert lh.registry.best("r", "rmse", higher=True).version == 3
    with pytest.raises(NotFound, match="rmse, r2|r2, rmse"):
        lh.registry.best("r", "accuracy")
    table = lh.registry.compare("r", [1, 3])
    assert list(table.index) == [1, 3] and table.loc[3, "r2"] == 0.5
    assert higher_is_better("neg_log_loss") and not higher_is_better("mean_absolute_error")


def test_bad_input_registers_nothing(lh, diabetes):
    X, y, _, _ = diabetes
    y = y > y.median()
    with pytest.raises(InvalidInput, match="not fitted"):
        lh.registry.register(LogisticRegression(), "bad")
    with pytest.raises(InvalidInput, match="not a number"):
        lh.registry.register(LogisticRegression(max_iter=500).fit(X, y), "bad",
                             metrics={"accuracy": "high"})
    with pytest.raises(InvalidInput, match="not a valid model name"):
        lh.registry.register(LogisticRegression(max_iter=500).fit(X, y), "bad name!")
    with pytest.raises(InvalidInput, match="input example"):
        lh.registry.register(LogisticRegression(max_iter=500).fit(X, y), "bad",
                             input_example=X.iloc[:, :3])
    assert lh.catalog.scalar("SELECT COUNT(*) FROM model_versions") == 0
    leftovers = list((lh.models_dir / "bad").glob("*")) if (lh.models_dir / "bad").exists() \
        else []
    assert leftovers == []


def test_evaluation_per_task(cancer, diabetes):
    X, y, Xt, yt = cancer
    clf = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    ev = evaluate(clf, Xt, yt, extra=["balanced_accuracy", "log_loss"])
    assert ev.task == "classification"
    assert set(ev.metrics) >= {"accuracy", "precision", "recall", "f1", "roc_auc",
                               "balanced_accuracy", "log_loss"}
    assert 0.8 < ev.metrics["accuracy"] <= 1 and ev.metrics["log_loss"] > 0
    cm = np.array(ev.details["confusion_matrix"])
    assert cm.sum() == len(yt) and np.trace(cm) / len(yt) == pytest.approx(ev.metrics["accuracy"])
    X, y, Xt, yt = diabetes
    reg = LinearRegression().fit(X, y)
    ev = evaluate(reg, Xt, yt, extra=["mean_absolute_percentage_error"])
    assert ev.task == "regression" and set(ev.metrics) == {
        "rmse", "mae", "r2", "mean_absolute_percentage_error"}
    assert ev.metrics["rmse"] >= ev.metrics["mae"] > 0
    with pytest.raises(InvalidInput, match="classification metric"):
        evaluate(reg, Xt, yt, extra=["roc_auc"])
    with pytest.raises(InvalidInput, match="Unknown metric"):
        evaluate(reg, Xt, yt, extra=["goodness"])
    assert infer_task(pd.Series(["a", "b"])) == "classification"
    assert infer_task(pd.Series(range(100))) == "regression"
    assert infer_task(pd.Series([0, 1, 2] * 10)) == "classification"
    assert infer_task(pd.Series([0.5, 1.5])) == "regression"


def test_multiclass_and_string_labels(lh):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = pd.Series(np.where(X.a > 0.5, "high", np.where(X.a < -0.5, "low", "mid")))
    clf = LogisticRegression(max_iter=500).fit(X[:200], y[:200])
    ev = evaluate(clf, X[200:], y[200:])
    assert ev.details["labels"] == ["high", "low", "mid"] and "roc_auc" in ev.metrics
    mv = lh.registry.register(clf, "three", metrics=ev.metrics, input_example=X,
                              evaluation=ev.details, task=ev.task)
    assert lh.registry.get("three").signature["classes"] == ["high", "low", "mid"]
    assert list(mv.predict(X[:3])) == list(clf.predict(X[:3]))


def test_promote_if_better_moves_the_alias_only_on_improvement(lh) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = LinearRegression().fit(X, y)
    reg = lh.registry
    v1 = reg.register(model, "diab", metrics={"rmse": 50.0}).version
    v2 = reg.register(model, "diab", metrics={"rmse": 55.0}).version
    v3 = reg.register(model, "diab", metrics={"rmse": 45.0}).version
    assert reg.promote_if_better("diab", v1, "rmse") == (
        True, "rmse 50; alias 'production' had no version")
    moved, why = reg.promote_if_better("diab", v2, "rmse")  # lower rmse is better: 55 loses
    assert not moved and "does not beat v1" in why
    assert reg.aliases("diab") == {"production": v1}
    moved, why = reg.promote_if_better("diab", v3, "rmse")
    assert moved and "beats v1" in why
    assert reg.aliases("diab") == {"production": v3}
    history = reg.alias_history("diab", "production")
    assert [(h["from_version"], h["to_version"]) for h in history] == [(None, v1), (v1, v3)]
    assert history[-1]["reason"] == why
