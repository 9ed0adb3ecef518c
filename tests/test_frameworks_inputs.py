"""The boosters' fast input path gives exactly what the library's own ``predict`` gives.

A deployment hands a registered XGBoost or LightGBM model its request as columns of values
(``{"amount": [12.5], "category": ["food"]}``); the flavour builds one float matrix, each
category label replaced by the code the library recorded at training, instead of the
library's pandas conversion. These tests compare, row by row and for many rows at once,
wrappers and Boosters, numeric and category inputs (an unseen label, a null), with the
library's own predict on the same row as a DataFrame with categories."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")

import kernel_magics  # noqa: E402
from kernel_magics.registry.frameworks.predictor import SMALL_BATCH  # noqa: E402

T0 = pd.Timestamp("2024-01-01", tz="UTC")
#: the training order of the labels is not sorted: codes follow it, not the alphabet
ORDER = {"category": ["travel", "food", "online", "fuel"], "segment": ["retail", "premium"]}


def _data(n: int = 1500, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"amount": rng.gamma(2.0, 30.0, n), "velocity": rng.normal(size=n),
                       "category": rng.choice(ORDER["category"], n),
                       "segment": rng.choice(ORDER["segment"], n),
                       "hour": rng.integers(0, 24, n).astype("float64")})
    df.loc[rng.random(n) < 0.05, "velocity"] = np.nan
    df["is_fraud"] = (((df.category == "online") & (df.amount > 50)) |
                      ((df.segment == "premium") & (df.velocity > 1))).astype(int)
    return df


def _categorical(X: pd.DataFrame) -> pd.DataFrame:
    return X.astype({c: pd.CategoricalDtype(labels) for c, labels in ORDER.items()})


FEATURES = ["amount", "velocity", "category", "segment", "hour"]
NUMERIC = ["amount", "velocity", "hour"]


def _train(kind: str, X: pd.DataFrame, y: pd.Series):
    """(model, the library's own P(class 1) for a frame) for each kind of model."""
    if kind == "xgboost":
        m = xgb.XGBClassifier(n_estimators=40, max_depth=4, enable_categorical=True,
                              tree_method="hist").fit(X, y)
        return m, lambda F: m.predict_proba(F)[:, 1]
    if kind == "xgboost-booster":
        b = xgb.train({"objective": "binary:logistic", "max_depth": 4, "tree_method": "hist"},
                      xgb.DMatrix(X, y, enable_categorical=True), 40)
        return b, lambda F: b.predict(xgb.DMatrix(F, enable_categorical=True))
    if kind == "lightgbm":
        m = lgb.LGBMClassifier(n_estimators=40, verbose=-1).fit(X, y)
        return m, lambda F: m.predict_proba(F)[:, 1]
    b = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 40)
    return b, lambda F: b.predict(F)


KINDS = ["xgboost", "xgboost-booster", "lightgbm", "lightgbm-booster"]


def _registered(lh, model, X: pd.DataFrame, name: str):
    lh.registry.register(model, name, input_example=X.head(20))
    return kernel_magics.connect(lh.home).registry.get(name).load()


def _columns(frame: pd.DataFrame) -> dict[str, list]:
    """What a deployment holds for a request: the text the view gives, as lists."""
    return {c: frame[c].astype(object).where(frame[c].notna(), None).tolist()
            for c in frame.columns}


@pytest.mark.parametrize("kind", KINDS)
def test_category_rows_score_as_the_library_scores_them(lh, kind):
    df = _data()
    X = _categorical(df[FEATURES])
    model, library = _train(kind, X, df["is_fraud"])
    loaded = _registered(lh, model, X, kind.replace("-", "_"))
    rows = df[FEATURES].head(60).copy()
    # a label never seen in training is missing, as in the library's predict on a frame
    # with the training categories
    rows.loc[rows.index[3], "category"] = "crypto"
    rows.loc[rows.index[4], "segment"] = None  # a null label
    rows.loc[rows.index[5], "amount"] = np.nan  # a null number
    want = library(_categorical(rows))
    # the fast path (one float matrix of codes), not the library's pandas conversion
    assert isinstance(loaded._inputs(_columns(rows.head(1))), np.ndarray)
    for i in range(len(rows)):  # the online path: one row, as columns of values
        one = rows.iloc[[i]]
        got = loaded.predict_proba(_columns(one))
        assert got[0, 1] == want[i], (kind, i, one.to_dict("records"))
        assert got.shape == (1, 2) and got[0, 0] == pytest.approx(1 - want[i])
    # a few rows at once, and the same rows as the text frame a view gives
    np.testing.assert_array_equal(loaded.predict_proba(_columns(rows))[:, 1], want)
    np.testing.assert_array_equal(loaded.predict_proba(rows)[:, 1], want)
    assert loaded.predict(_columns(rows)).tolist() == (want > 0.5).astype(int).tolist()


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_scores_as_the_library_scores_it(lh, kind):
    df = _data(n=SMALL_BATCH + 700)
    X = _categorical(df[FEATURES])
    model, library = _train(kind, X, df["is_fraud"])
    loaded = _registered(lh, model, X, kind.replace("-", "_"))
    rows = df[FEATURES].copy()
    rows.loc[rows.index[::97], "category"] = "crypto"
    rows.loc[rows.index[::89], "segment"] = None
    want = library(_categorical(rows))
    assert len(rows) > SMALL_BATCH  # the column-by-column path
    np.testing.assert_array_equal(loaded.predict_proba(rows)[:, 1], want)
    np.testing.assert_array_equal(loaded.predict_proba(_categorical(rows))[:, 1], want)
    np.testing.assert_array_equal(loaded.predict_proba(_columns(rows))[:, 1], want)


@pytest.mark.parametrize("kind", KINDS)
def test_numeric_rows_score_as_the_library_scores_them(lh, kind):
    df = _data()
    X = df[NUMERIC]
    if kind.startswith("xgboost"):
        model = xgb.XGBClassifier(n_estimators=30, max_depth=3).fit(X, df["is_fraud"]) \
            if kind == "xgboost" else xgb.train({"objective": "binary:logistic"},
                                                xgb.DMatrix(X, df["is_fraud"]), 30)
        library = (lambda F: model.predict_proba(F)[:, 1]) if kind == "xgboost" else \
            (lambda F: model.predict(xgb.DMatrix(F)))
    else:
        model = lgb.LGBMClassifier(n_estimators=30, verbose=-1).fit(X, df["is_fraud"]) \
            if kind == "lightgbm" else lgb.train({"objective": "binary", "verbose": -1},
                                                 lgb.Dataset(X, df["is_fraud"]), 30)
        library = (lambda F: model.predict_proba(F)[:, 1]) if kind == "lightgbm" else \
            (lambda F: model.predict(F))
    loaded = _registered(lh, model, X, kind.replace("-", "_"))
    rows = X.head(40)
    want = library(rows)
    for i in range(len(rows)):
        assert loaded.predict_proba(_columns(rows.iloc[[i]]))[0, 1] == want[i]
    np.testing.assert_array_equal(loaded.predict_proba(rows)[:, 1], want)


def test_an_xgboost_wrapper_keeps_its_missing_value_and_best_iteration(lh):
    """XGBClassifier.predict uses ``missing`` and, after early stopping, the best
    iteration's trees; the registered model predicts the same."""
    df = _data(n=2000)
    X = _categorical(df[FEATURES]).fillna({"velocity": -1.0})
    y = df["is_fraud"]
    clf = xgb.XGBClassifier(n_estimators=300, max_depth=4, enable_categorical=True,
                            tree_method="hist", missing=-1.0, early_stopping_rounds=5,
                            learning_rate=0.5)
    clf.fit(X.iloc[:1500], y.iloc[:1500], eval_set=[(X.iloc[1500:], y.iloc[1500:])],
            verbose=False)
    assert clf.best_iteration + 1 < clf.get_booster().num_boosted_rounds()
    loaded = _registered(lh, clf, X, "stopped")
    rows = X.iloc[1500:1540]
    want = clf.predict_proba(rows)[:, 1]
    np.testing.assert_array_equal(loaded.predict_proba(rows)[:, 1], want)
    text = df[FEATURES].iloc[1500:1540].fillna({"velocity": -1.0})
    for i in range(len(text)):
        assert loaded.predict_proba(_columns(text.iloc[[i]]))[0, 1] == want[i]


def test_text_in_a_number_column_is_the_callers_mistake(lh):
    df = _data()
    X = _categorical(df[FEATURES])
    model, _ = _train("xgboost", X, df["is_fraud"])
    lh.registry.register(model, "fraud", input_example=X.head(20))
    lh.registry.set_alias("fraud", "production", 1)
    dep = lh.deploy("fraud_online", model="fraud")
    from kernel_magics.shared.errors import InvalidInput
    row = {**df[FEATURES].iloc[0].to_dict(), "amount": "lots"}
    with pytest.raises(InvalidInput, match="amount"):
        dep.predict_body({"dataframe_records": [row]}, allow_lakebook=False)
    lh.deployments.close()


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_online_answers_equal_the_library_on_the_stored_row(lh, library):
    """Through a deployment: every entity's answer is the library's own P(class 1) for the
    row the online store holds."""
    df = _data(n=900)
    df["cc_num"] = np.arange(len(df)) % 90
    df["ts"] = T0 + pd.to_timedelta(np.arange(len(df)), "min")
    fg = lh.create_feature_group("tx", key="cc_num", event_time="ts", online=True)
    fg.insert(df)
    view = lh.create_feature_view("tx_view", spine=fg, label="is_fraud")
    X_train, _, y_train, _ = view.train_test_split()
    model, own = _train(library, _categorical(X_train), y_train)
    lh.registry.register(model, "fraud", view=view, input_example=X_train)
    lh.registry.set_alias("fraud", "production", 1)
    dep = lh.deploy("fraud_online", model="fraud")
    latest = df.sort_values("ts").groupby("cc_num").tail(1).set_index("cc_num")
    want = own(_categorical(latest[view.features]))
    for i, key in enumerate(latest.index):
        answer = dep.predict({"cc_num": int(key)})
        assert answer["found"] and answer["probabilities"]["1"] == float(want[i])
        assert answer["prediction"] == int(want[i] > 0.5)
    lh.deployments.close()
