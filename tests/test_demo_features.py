"""The fraud feature functions: correct against a slow pandas reference, windowed runs equal
the full computation, and no NaNs reach a model."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kernel_magics.demo.data import generate, haversine_km
from kernel_magics.demo.features import (LOOKBACK, MODEL_FEATURES, TRANSACTION_FEATURES,
                                         card_profiles, feature_window, transaction_features,
                                         windows)


@pytest.fixture(scope="module")
def data():
    return generate(20_000, seed=21, days=45)


@pytest.fixture(scope="module")
def full(data):
    return transaction_features(data.transactions, card_profiles(data.cards, data.customers))


def test_columns_and_no_nans(full, data):
    assert list(full.columns) == ["cc_num", "ts", *TRANSACTION_FEATURES]
    assert len(full) == len(data.transactions)
    assert not full[MODEL_FEATURES].isna().any().any()
    assert str(full["ts"].dt.tz) == "UTC"
    assert full["ts"].is_monotonic_increasing


def test_rolling_features_match_pandas_reference(full, data):
    tx = data.transactions.sort_values(["cc_num", "ts", "tx_id"])
    some_cards = tx["cc_num"].drop_duplicates().sample(15, random_state=0)
    ref = tx[tx["cc_num"].isin(some_cards)].copy()
    out = full.set_index("tx_id")
    for name, window in (("10m", "10min"), ("1h", "1h"), ("1d", "1D")):
        for cc, g in ref.groupby("cc_num"):
            g = g.set_index("ts")
            counts = g["amount"].rolling(window).count().to_numpy()
            sums = g["amount"].rolling(window).sum().to_numpy()
            got = out.loc[g["tx_id"].to_numpy()]
            np.testing.assert_array_equal(got[f"tx_count_{name}"].to_numpy(), counts)
            np.testing.assert_allclose(got[f"amount_sum_{name}"].to_numpy(), sums, atol=0.02)


def test_previous_transaction_and_history(full, data):
    tx = data.transactions.sort_values(["cc_num", "ts", "tx_id"]).reset_index(drop=True)
    prev = tx.groupby("cc_num").shift(1)
    gap = (tx["ts"] - prev["ts"]).dt.total_seconds()
    dist = haversine_km(tx["lat"], tx["lon"], prev["lat"], prev["lon"])
    mean30 = (tx.set_index("ts").groupby("cc_num")["amount"]
              .rolling("30D", closed="left").mean().reset_index(drop=True))
    got = full.set_index("tx_id").loc[tx["tx_id"]]
    has = prev["ts"].notna().to_numpy()
    np.testing.assert_allclose(got["secs_since_prev"].to_numpy()[has], gap.to_numpy()[has])
    np.testing.assert_allclose(got["km_from_prev"].to_numpy()[has], dist[has], atol=1e-3)
    assert (got["secs_since_prev"].to_numpy()[~has] == 30 * 86400).all()
    assert (got["km_from_prev"].to_numpy()[~has] == 0).all()
    ratio = (tx["amount"] / mean30).to_numpy()
    ok = np.isfinite(ratio)
    # the feature is rounded to 4 decimals; pandas' closed="left" also drops other transactions
    # of the same second, which the feature keeps when they came first (a handful of rows)
    close = np.isclose(got["amount_rel_30d"].to_numpy()[ok], ratio[ok], rtol=1e-3, atol=1e-4)
    assert close.mean() > 0.995
    assert (got["amount_rel_30d"].to_numpy()[~ok] == 1.0).all()


def test_a_windowed_run_equals_the_full_computation(full, data):
    start, end = pd.Timestamp("2024-02-03", tz="UTC"), pd.Timestamp("2024-02-04", tz="UTC")
    win = feature_window(data, start, end)
    expected = full[(full["ts"] >= start) & (full["ts"] < end)].reset_index(drop=True)
    assert len(win) > 100
    pd.testing.assert_frame_equal(win, expected)
    # without look-back the rolling features would be wrong: the window needs its history
    short = transaction_features(data.transactions_between(start, end),
                                 card_profiles(data.cards, data.customers), start, end)
    assert (short["tx_count_1d"] <= win["tx_count_1d"]).all()
    assert (short["tx_count_1d"] < win["tx_count_1d"]).any()
    assert LOOKBACK >= pd.Timedelta(days=30)


def test_features_separate_fraud_from_honest_spending(full, data):
    f = full.merge(data.labels[["tx_id", "is_fraud", "fraud_pattern"]], on="tx_id")
    legit = f[f["is_fraud"] == 0]
    assert f.loc[f["fraud_pattern"] == "burst", "tx_count_10m"].median() >= 3
    assert legit["tx_count_10m"].median() == 1
    assert f.loc[f["fraud_pattern"] == "geo_jump", "km_from_home"].median() > 500
    assert f.loc[f["fraud_pattern"] == "unusual_merchant", "amount_rel_30d"].median() > 2


def test_profiles_and_windows(data):
    prof = card_profiles(data.cards, data.customers)
    assert len(prof) == len(data.cards) and prof["cc_num"].is_unique
    assert {"age", "segment", "credit_limit", "home_lat", "issued_at"} <= set(prof.columns)
    w = windows("2024-01-01", "2024-01-03T12:00", "1D")
    assert [(a.day, b.day) for a, b in w] == [(1, 2), (2, 3), (3, 3)]
    assert w[-1][1] == pd.Timestamp("2024-01-03T12:00", tz="UTC")


def test_empty_window(data):
    empty = feature_window(data, "2030-01-01", "2030-01-02")
    assert len(empty) == 0 and list(empty.columns) == ["cc_num", "ts", *TRANSACTION_FEATURES]
