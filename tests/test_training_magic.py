"""``%%training`` in a real IPython shell, on real feature groups and views (Delta + DuckDB)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from sklearn.datasets import load_breast_cancer, load_diabetes

from kernel_magics.registry.training import TrainingResult

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _view(lh, name, X, y, label):
    """A feature group of measurements, a spine of label events an hour later, a view."""
    X = X.copy()
    X.columns = [c.replace(" ", "_") for c in X.columns]
    n = len(X)
    ts = T0 + pd.to_timedelta(np.arange(n), "h")
    feats = lh.create_feature_group(f"{name}_features", key="pid", event_time="ts")
    feats.insert(X.assign(pid=np.arange(n), ts=ts))
    spine = lh.create_feature_group(f"{name}_labels", key="pid", event_time="ts")
    spine.insert(pd.DataFrame({"pid": np.arange(n), "ts": ts + pd.Timedelta("1h"),
                               label: np.asarray(y)}))
    return lh.create_feature_view(f"{name}_view", spine=spine, join=[feats], label=label), \
        feats, spine


@pytest.fixture
def cancer_view(lh):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return _view(lh, "cancer", X.iloc[:, :6], 1 - y, "malignant")


@pytest.fixture
def diabetes_view(lh):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return _view(lh, "diabetes", X, y, "progression")


LOGREG = """
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
"""
DUMMY = """
from sklearn.dummy import DummyClassifier
model = DummyClassifier(strategy="most_frequent").fit(X_train, y_train)
"""


def _count(lh):
    return lh.catalog.scalar("SELECT COUNT(*) FROM model_versions")


def test_training_registers_an_evaluated_version_with_lineage(ipython_shell, lh, cancer_view):
    view, feats, spine = cancer_view
    ipython_shell.user_ns["lakebook_run_id"] = "run-42"
    result = ipython_shell.run_cell_magic("training", "cancer --view cancer_view", LOGREG)
    assert isinstance(result, TrainingResult)
    ns = ipython_shell.user_ns
    for var in ("X_train", "X_test", "y_train", "y_test", "train_df", "test_df"):
        assert var in ns
    assert list(ns["X_train"].columns) == view.features
    assert len(ns["X_train"]) + len(ns["X_test"]) == 569

    mv = result.model_version
    assert (mv.name, mv.version, mv.task) == ("cancer", 1, "classification")
    assert set(mv.metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    assert mv.metrics["accuracy"] > 0.8 and mv.metrics["roc_auc"] > 0.9
    cm = np.array(mv.evaluation["confusion_matrix"])
    assert cm.shape == (2, 2) and cm.sum() == len(ns["X_test"])
    # lineage: the view, the exact Delta versions, the cell and the run
    assert mv.view == {"name": "cancer_view", "version": 1}
    assert mv.training_versions == {"cancer_features_v1": feats.delta_version(),
                                    "cancer_labels_v1": spine.delta_version()}
    assert mv.lineage["run_id"] == "run-42" and len(mv.lineage["code_hash"]) == 16
    assert mv.lineage["label"] == "malignant"
    assert mv.lineage["split"]["test_rows"] == len(ns["X_test"])
    assert mv.params["logisticregression__max_iter"] == 1000
    assert [c["name"] for c in mv.input_schema] == view.features
    assert mv.libraries["scikit-learn"] and mv.libraries["lakebook"]
    # it predicts like the estimator in the namespace
    np.testing.assert_array_equal(mv.predict(ns["test_df"]), ns["model"].predict(ns["X_test"]))
    html = result._repr_html_()
    assert "cancer v1 registered" in html and "cancer_view v1" in html and "time taken" in html


def test_alias_and_promote_if_better(ipython_shell, lh, cancer_view):
    first = ipython_shell.run_cell_magic("training", "cancer --view cancer_view --alias production",
                                         LOGREG)
    assert first.model_version.aliases == ["production"]
    worse = ipython_shell.run_cell_magic(
        "training", "cancer --view cancer_view --promote-if-better accuracy", DUMMY)
    assert worse.promoted is False and "does not beat" in worse.promotion_note
    assert lh.registry.get("cancer", alias="production").version == 1
    html = worse._repr_html_()
    assert "production (v1)" in html and "not moved" in html  # compared with production
    better = ipython_shell.run_cell_magic(
        "training", "cancer --view cancer_view --promote-if-better accuracy "
        "--alias champion", LOGREG.replace("LogisticRegression(max_iter=1000)",
                                           "LogisticRegression(max_iter=1000, C=10)"))
    assert better.promoted is True  # champion had no version yet
    assert lh.registry.get("cancer", alias="champion").version == 3
    history = lh.registry.alias_history("cancer")
    assert [(h["alias"], h["to_version"]) for h in history] == [("production", 1),
                                                                ("champion", 3)]


def test_regression_with_extra_metric_and_time_split(ipython_shell, lh, diabetes_view):
    code = ("from sklearn.linear_model import Ridge\n"
            "reg = Ridge(alpha=0.1).fit(X_train, y_train)\n")
    result = ipython_shell.run_cell_magic(
        "training", "diabetes --view diabetes_view --model reg --split-by-time "
        "--metric mean_absolute_percentage_error --test-size 0.25", code)
    mv = result.model_version
    assert mv.task == "regression"
    assert set(mv.metrics) == {"rmse", "mae", "r2", "mean_absolute_percentage_error"}
    assert 0 < mv.metrics["r2"] < 1
    ns = ipython_shell.user_ns
    assert ns["test_df"]["ts"].min() > ns["train_df"]["ts"].max()  # newest rows held out
    assert lh.registry.best("diabetes", "rmse").version == 1


@pytest.mark.parametrize("line, code, message", [
    ("cancer --view cancer_view", "fitted = 1", "did not leave a variable 'model'"),
    ("cancer --view cancer_view",
     "from sklearn.linear_model import LogisticRegression\nmodel = LogisticRegression()",
     "not fitted"),
    ("cancer --view cancer_view --label tumour", LOGREG, "Label 'tumour' is not in"),
    ("cancer --view cancer_view --metric r2", LOGREG, "regression metric"),
    ("cancer --view cancer_view --metric neg_mean_squared_error", LOGREG, "regression metric"),
    ("cancer --view cancer_view --metric nonsense", LOGREG, "Unknown metric"),
    ("cancer --view cancer_view --promote-if-better rmse", LOGREG, "not computed"),
    ("cancer --view nowhere", LOGREG, "nowhere"),
    ("cancer --view cancer_view --alias 42", LOGREG, "not a valid alias"),
    ("cancer --view cancer_view --test-size 1.5", LOGREG, "--test-size"),
])
def test_bad_input_is_a_clear_error_and_registers_nothing(ipython_shell, lh, cancer_view,
                                                          line, code, message):
    ipython_shell.user_ns.pop("model", None)
    with pytest.raises(UsageError, match=message):
        ipython_shell.run_cell_magic("training", line, code)
    assert _count(lh) == 0


def test_bad_input_through_run_cell_leaves_registry_unchanged(ipython_shell, lh, cancer_view):
    ipython_shell.run_cell_magic("training", "cancer --view cancer_view --alias production",
                                 LOGREG)
    out = ipython_shell.run_cell("%%training cancer --view cancer_view --metric r2\n" + LOGREG)
    assert isinstance(out.error_in_exec, UsageError)
    assert _count(lh) == 1 and lh.registry.aliases("cancer") == {"production": 1}


def test_training_data_is_rebuilt_exactly_after_new_inserts(ipython_shell, lh, cancer_view):
    view, feats, spine = cancer_view
    result = ipython_shell.run_cell_magic("training", "cancer --view cancer_view", LOGREG)
    ns = ipython_shell.user_ns
    used = pd.concat([ns["train_df"], ns["test_df"]]).sort_values("pid").reset_index(drop=True)

    # new label events, and newer feature values for existing patients
    later = T0 + pd.Timedelta(days=400)
    changed = feats.read().head(50).assign(ts=later - pd.Timedelta("1h"))
    changed[view.features] = changed[view.features] * 10
    feats.insert(changed)
    spine.insert(pd.DataFrame({"pid": np.arange(50), "ts": later, "malignant": 1}))
    assert len(view.training_data()) == 569 + 50

    mv = lh.registry.get("cancer", result.model_version.version)
    rebuilt = mv.training_data().sort_values("pid").reset_index(drop=True)
    pd.testing.assert_frame_equal(rebuilt[used.columns], used, check_like=False)
    pd.testing.assert_frame_equal(mv.training_data("train").reset_index(drop=True),
                                  ns["train_df"].reset_index(drop=True))
    pd.testing.assert_frame_equal(mv.training_data("test").reset_index(drop=True),
                                  ns["test_df"].reset_index(drop=True))


def test_a_cell_that_never_trains_model_does_not_register_an_earlier_one(
        ipython_shell, lh, cancer_view):
    ipython_shell.run_cell_magic("training", "cancer --view cancer_view", LOGREG)
    assert _count(lh) == 1
    # `model` still holds the estimator trained above; this cell never mentions it
    out = ipython_shell.run_cell("%%training cancer --view cancer_view\nscore = 0.5")
    assert isinstance(out.error_in_exec, UsageError)
    assert "comes from an earlier cell" in str(out.error_in_exec)
    assert _count(lh) == 1
    # an in-place fit of the same object is training in this cell: registered
    ipython_shell.run_cell_magic("training", "cancer --view cancer_view",
                                 "model.fit(X_train, y_train)")
    assert _count(lh) == 2
