"""The fraud data generator: deterministic, realistic, with learnable fraud and a drift switch."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kernel_magics.demo.data import FRAUD_PATTERNS, generate, haversine_km, new_transactions


@pytest.fixture(scope="module")
def data():
    return generate(50_000, seed=11, start="2024-01-01", days=60)


def test_same_seed_same_data_other_seed_other_data():
    a, b = generate(10_000, seed=3), generate(10_000, seed=3)
    pd.testing.assert_frame_equal(a.transactions, b.transactions)
    pd.testing.assert_frame_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(a.cards, b.cards)
    c = generate(10_000, seed=4)
    assert not a.transactions["amount"].equals(c.transactions["amount"])


@pytest.mark.parametrize("n", [10_000, 37_123])
def test_sizes_and_entities(n):
    d = generate(n, seed=1)
    assert len(d.transactions) == len(d.labels) == n
    assert d.transactions["tx_id"].is_unique
    assert set(d.transactions["cc_num"]) <= set(d.cards["cc_num"])
    assert set(d.cards["customer_id"]) <= set(d.customers["customer_id"])
    assert set(d.transactions["merchant_id"]) <= set(d.merchants["merchant_id"])
    assert d.cards["cc_num"].astype(str).str.len().eq(16).all()


def test_schema_time_order_and_utc(data):
    tx = data.transactions
    assert list(tx.columns) == ["tx_id", "ts", "cc_num", "merchant_id", "category", "amount", "lat", "lon"]
    assert str(tx["ts"].dt.tz) == "UTC"
    assert tx["ts"].is_monotonic_increasing and tx["tx_id"].is_monotonic_increasing
    assert tx["ts"].min() >= data.start and tx["ts"].max() < data.end
    assert (tx["amount"] > 0).all()
    assert (data.labels["tx_id"].to_numpy() == tx["tx_id"].to_numpy()).all()
    assert str(data.cards["issued_at"].dt.tz) == "UTC"
    assert (data.cards["issued_at"] < data.start).all()


def test_fraud_rate_and_patterns_present(data):
    assert 0.01 <= data.fraud_rate <= 0.02
    counts = data.labels["fraud_pattern"].value_counts()
    for pattern in FRAUD_PATTERNS:
        assert counts.get(pattern, 0) > 30, pattern
    assert (data.labels["fraud_pattern"] != "").eq(data.labels["is_fraud"] == 1).all()


def test_fraud_patterns_look_like_their_names(data):
    tx = data.transactions.assign(**{c: data.labels[c] for c in ("is_fraud", "fraud_pattern")})
    homes = data.cards.merge(data.customers, on="customer_id")[["cc_num", "home_lat", "home_lon"]]
    tx = tx.merge(homes, on="cc_num")
    tx["dist_home"] = haversine_km(tx["lat"], tx["lon"], tx["home_lat"], tx["home_lon"])
    legit = tx[tx["is_fraud"] == 0]
    burst = tx[tx["fraud_pattern"] == "burst"]
    geo = tx[tx["fraud_pattern"] == "geo_jump"]
    unusual = tx[tx["fraud_pattern"] == "unusual_merchant"]
    # bursts: mostly small amounts, seconds to minutes apart on the same card, online
    assert burst["amount"].median() < 0.3 * legit["amount"].median()
    assert burst["category"].astype(str).str.endswith("_net").all()
    gaps = burst.sort_values("ts").groupby("cc_num")["ts"].diff().dt.total_seconds().dropna()
    assert gaps.median() < 300
    # geographic jumps: far from home, unlike honest spending
    assert geo["dist_home"].median() > 1000
    assert legit["dist_home"].median() < 50
    # unusual merchants: large amounts, at night more often than honest spending
    assert unusual["amount"].median() > 3 * legit["amount"].median()
    night = lambda df: df["ts"].dt.hour.isin([0, 1, 2, 3, 4]).mean()  # noqa: E731
    assert night(tx[tx["is_fraud"] == 1]) > 2 * night(legit)


def test_seasonality(data):
    hours = data.transactions["ts"].dt.hour.value_counts()
    assert hours[12] > 5 * hours[3]
    days = data.transactions["ts"].dt.dayofweek.value_counts()
    assert days[5] > days[0]  # Saturday busier than Monday


def test_drift_shifts_the_distribution():
    base = generate(40_000, seed=5, days=60)
    drifted = generate(40_000, seed=5, days=60, drift_after="2024-02-01")
    cut = pd.Timestamp("2024-02-01", tz="UTC")

    def after(d):
        return d.transactions_between(cut, None).assign(is_fraud=d.labels_between(cut, None)["is_fraud"])

    b, a = after(base), after(drifted)
    b, a = b[b.is_fraud == 0], a[a.is_fraud == 0]
    assert a["amount"].median() > 1.4 * b["amount"].median()
    online = lambda df: df["category"].astype(str).str.endswith("_net").mean()  # noqa: E731
    assert online(a) > online(b) + 0.05
    # before the drift date both worlds are the same shape
    before_b = base.transactions_between(None, cut)["amount"].median()
    before_a = drifted.transactions_between(None, cut)["amount"].median()
    assert abs(before_a - before_b) / before_b < 0.05
    assert drifted.summary()["drift_after"].startswith("2024-02-01")


def test_windowed_accessor(data):
    w = data.transactions_between("2024-01-10", "2024-01-11")
    assert len(w) > 0
    assert w["ts"].min() >= pd.Timestamp("2024-01-10", tz="UTC")
    assert w["ts"].max() < pd.Timestamp("2024-01-11", tz="UTC")
    ts = data.transactions["ts"]
    expected = ((ts >= "2024-01-10") & (ts < "2024-01-11")).sum()
    assert len(w) == expected
    labels = data.labels_between(pd.Timestamp("2024-01-10"), "2024-01-11")  # naive means UTC
    assert (labels["tx_id"].to_numpy() == w["tx_id"].to_numpy()).all()
    assert len(data.transactions_between("2030-01-01", "2030-02-01")) == 0


def test_new_transactions_for_online_scoring(data):
    fresh = new_transactions(data, 20, at="2024-03-01T12:00:00Z", seed=1)
    assert fresh["cc_num"].nunique() == 20 and fresh["tx_id"].min() > data.transactions["tx_id"].max()
    assert set(fresh["cc_num"]) <= set(data.cards["cc_num"])
    assert fresh["ts"].is_monotonic_increasing and fresh["ts"].min() >= pd.Timestamp("2024-03-01T12:00Z")
    per_card = fresh.groupby("cc_num")["is_fraud"].agg(["size", "max"])
    assert (per_card.loc[per_card["max"] == 1, "size"] == 3).all()
    assert (per_card.loc[per_card["max"] == 0, "size"] == 1).all()
    assert 0 < per_card["max"].sum() < 20


def test_invalid_arguments():
    with pytest.raises(ValueError):
        generate(10)
    with pytest.raises(ValueError):
        generate(10_000, fraud_rate=0.5)


def test_large_sizes_are_vectorised():
    """A million transactions in seconds (10M is the documented upper size)."""
    import time
    t0 = time.perf_counter()
    d = generate(1_000_000, seed=2)
    assert len(d.transactions) == 1_000_000
    assert np.isfinite(d.transactions["amount"]).all()
    assert time.perf_counter() - t0 < 60  # generous: shared 2-core machine


def test_card_and_second_identify_a_transaction(data):
    assert not data.transactions.duplicated(["cc_num", "ts"]).any()


def test_drift_leaves_the_past_alone():
    base = generate(20_000, seed=8, days=40)
    drifted = generate(20_000, seed=8, days=40, drift_after="2024-02-01")
    cut = "2024-02-01"
    pd.testing.assert_frame_equal(base.transactions_between(None, cut),
                                  drifted.transactions_between(None, cut))
