"""Fraud features in plain pandas/numpy, shared by the example notebooks and ``lakebook demo``.

Two feature groups come out of here:

* **transaction features** (one row per transaction, key ``cc_num``, event time ``ts``): the
  amount relative to the card's last 30 days, the time since and distance from the card's
  previous transaction (and the speed that implies), the distance from home, and rolling
  counts and sums over 10 minutes, 1 hour and 1 day per card;
* **card profiles** (one row per card, key ``cc_num``, event time ``issued_at``): the card
  holder's age and segment, the card's limit and provider, the home location.

Transaction features are *windowed*: :func:`transaction_features` returns only the rows with
``window_start <= ts < window_end`` and uses the earlier rows it is given as look-back history,
so a scheduled run computes just its window but still sees the card's recent past. Read
:data:`LOOKBACK` of history before the window (:func:`feature_window` does it for you).

All rolling features are vectorised: rows are sorted by (card, time) and each window's left
edge is found with one ``searchsorted`` on a combined (card, time) key, so a million rows take
about a second.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .data import CATEGORIES, FraudData, _utc, haversine_km

#: How far back the card's amount history reaches.
HISTORY = pd.Timedelta(days=30)
#: Rolling windows per card: feature suffix -> length.
ROLLING = {"10m": pd.Timedelta(minutes=10), "1h": pd.Timedelta(hours=1), "1d": pd.Timedelta(days=1)}
#: History a windowed run must read before ``window_start``.
LOOKBACK = max(HISTORY, *ROLLING.values())

_ONLINE = {c[0] for c in CATEGORIES if c[4]}

#: The transaction feature columns, in order (after ``cc_num, ts``).
TRANSACTION_FEATURES = [
    "tx_id", "category", "amount", "hour", "is_online", "amount_rel_30d", "secs_since_prev",
    "km_from_prev", "speed_kmh", "km_from_home",
    *[f"{kind}_{w}" for w in ROLLING for kind in ("tx_count", "amount_sum")],
]
#: The numeric features a model uses (``category`` is one-hot encoded in the model pipeline).
MODEL_FEATURES = [c for c in TRANSACTION_FEATURES if c not in ("tx_id", "category")]


def _seconds(ts: pd.Series) -> np.ndarray:
    """Whole seconds since the epoch, whatever the timestamp unit."""
    return ((ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)


def card_profiles(cards: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """One row per card with its holder's profile; event time is the card's issue date."""
    df = cards.merge(customers, on="customer_id", how="left", validate="many_to_one")
    return df[["cc_num", "issued_at", "customer_id", "age", "segment", "city", "home_lat",
               "home_lon", "credit_limit", "provider"]].reset_index(drop=True)


def transaction_features(transactions: pd.DataFrame, profiles: pd.DataFrame,
                         window_start: Any = None, window_end: Any = None,
                         history: pd.Timedelta = HISTORY) -> pd.DataFrame:
    """Per-transaction features for the rows with ``window_start <= ts < window_end``.

    ``transactions`` holds the window *and* its look-back history (``ts`` at least
    :data:`LOOKBACK` before ``window_start``); the history rows feed the rolling features but
    are not returned. ``profiles`` gives each card's home (``cc_num, home_lat, home_lon``).
    Missing history (a card's first transaction) gives neutral values, never NaN: a ratio of
    1, a gap of ``history``, a distance and speed of 0.
    """
    need = {"tx_id", "ts", "cc_num", "category", "amount", "lat", "lon"}
    missing = need - set(transactions.columns)
    if missing:
        raise ValueError(f"transactions lack column(s) {sorted(missing)}")
    tx = transactions[["tx_id", "ts", "cc_num", "category", "amount", "lat", "lon"]]
    n = len(tx)
    secs = _seconds(tx["ts"])
    card_code, _ = pd.factorize(tx["cc_num"], sort=False)
    order = np.lexsort((tx["tx_id"].to_numpy(), secs, card_code))
    secs, card_code = secs[order], card_code[order].astype(np.int64)
    amount = tx["amount"].to_numpy(np.float64)[order]
    lat, lon = tx["lat"].to_numpy(np.float64)[order], tx["lon"].to_numpy(np.float64)[order]

    # combined key: rows of one card are contiguous and sorted by time
    longest = int(max(history, *ROLLING.values()).total_seconds())
    base = secs.min() if n else 0
    span = (secs.max() - base if n else 0) + longest + 2
    key = card_code * span + (secs - base)
    csum = np.concatenate([[0.0], np.cumsum(amount)])
    idx = np.arange(n)
    out: dict[str, Any] = {}

    def left_edge(seconds: int) -> np.ndarray:
        # first row of the same card with time > t - seconds: the window is (t - w, t]
        return np.searchsorted(key, key - seconds + 1, "left")

    for name, length in ROLLING.items():
        left = left_edge(int(length.total_seconds()))
        out[f"tx_count_{name}"] = (idx - left + 1).astype(np.int64)
        out[f"amount_sum_{name}"] = np.round(csum[idx + 1] - csum[left], 2)
    left = left_edge(int(history.total_seconds()))
    n_prev = idx - left
    mean_prev = np.divide(csum[idx] - csum[left], n_prev, out=np.zeros(n), where=n_prev > 0)
    out["amount_rel_30d"] = np.where(n_prev > 0, amount / np.maximum(mean_prev, 0.01), 1.0)

    has_prev = np.zeros(n, bool)
    has_prev[1:] = card_code[1:] == card_code[:-1]
    prev = np.maximum(idx - 1, 0)
    gap = np.where(has_prev, secs - secs[prev], int(history.total_seconds())).astype(np.float64)
    km_prev = np.where(has_prev, haversine_km(lat, lon, lat[prev], lon[prev]), 0.0)
    out["secs_since_prev"] = gap
    out["km_from_prev"] = km_prev
    # a minute is the shortest gap we trust (clocks of different terminals disagree)
    out["speed_kmh"] = np.clip(km_prev / np.maximum(gap, 60.0) * 3600.0, 0.0, 5000.0)

    # each row's home: look the card up in the profiles (numpy, not a 10M-row reindex)
    homes = profiles.drop_duplicates("cc_num", keep="last").sort_values("cc_num")
    home_cc = homes["cc_num"].to_numpy(np.int64)
    cc_sorted = tx["cc_num"].to_numpy(np.int64)[order]
    pos = np.clip(np.searchsorted(home_cc, cc_sorted), 0, max(len(home_cc) - 1, 0))
    known = (home_cc[pos] == cc_sorted) if len(home_cc) else np.zeros(n, bool)
    home_lat = np.where(known, homes["home_lat"].to_numpy(float)[pos] if len(home_cc) else 0, lat)
    home_lon = np.where(known, homes["home_lon"].to_numpy(float)[pos] if len(home_cc) else 0, lon)
    out["km_from_home"] = haversine_km(lat, lon, home_lat, home_lon)  # unknown home: 0
    del pos, known, home_lat, home_lon

    # the output: rows inside the window, in time order, built in one pass (no frame copies)
    ts_all = tx["ts"]
    ts_i8 = ts_all.array.asi8[order]  # any unit: only the order matters here
    keep = np.ones(n, bool)
    if window_start is not None:
        keep &= (ts_all >= _utc(window_start)).to_numpy()[order]
    if window_end is not None:
        keep &= (ts_all < _utc(window_end)).to_numpy()[order]
    tx_id = tx["tx_id"].to_numpy(np.int64)[order]
    perm = np.lexsort((tx_id, ts_i8))
    perm = perm[keep[perm]]
    cat = pd.Categorical(tx["category"])  # codes, not 10M Python strings
    cat_codes = cat.codes[order][perm]
    online = np.array([str(c) in _ONLINE for c in cat.categories], dtype=bool)
    ts_out = ts_all.iloc[order[perm]].reset_index(drop=True)
    features = pd.DataFrame({
        "cc_num": cc_sorted[perm],
        "ts": ts_out,
        "tx_id": tx_id[perm],
        "category": pd.Categorical.from_codes(cat_codes, categories=cat.categories.astype(str)),
        "amount": amount[perm],
        "hour": ts_out.dt.hour.to_numpy(np.int64),
        "is_online": online[cat_codes].astype(np.int64) if len(online) else
        np.zeros(len(perm), np.int64),
    })
    for col in TRANSACTION_FEATURES[5:]:
        values = out.pop(col)[perm]
        features[col] = values.round(4) if col in ("amount_rel_30d", "km_from_prev", "speed_kmh",
                                                    "km_from_home") else values
    return features


def feature_window(data: FraudData, window_start: Any, window_end: Any,
                   profiles: pd.DataFrame | None = None) -> pd.DataFrame:
    """Transaction features of one window, reading :data:`LOOKBACK` of history from ``data``
    (what a scheduled run of the feature pipeline computes)."""
    start = _utc(window_start)
    history = data.transactions_between(start - LOOKBACK, window_end)
    if profiles is None:
        profiles = card_profiles(data.cards, data.customers)
    return transaction_features(history, profiles, start, window_end)


def windows(start: Any, end: Any, every: str = "1D") -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Consecutive ``[window_start, window_end)`` pairs covering ``start..end``."""
    edges = list(pd.date_range(_utc(start), _utc(end), freq=every))
    if not edges or edges[-1] < _utc(end):
        edges.append(_utc(end))
    return list(zip(edges[:-1], edges[1:]))


def stream_features(data: FraudData, fresh: pd.DataFrame,
                    profiles: pd.DataFrame | None = None) -> pd.DataFrame:
    """Features of newly arrived transactions ``fresh`` (as from
    :func:`~kernel_magics.demo.data.new_transactions`), computed with the cards' history from
    ``data``: what the streaming part of the feature pipeline writes before the online
    deployment scores them."""
    if len(fresh) == 0:
        return transaction_features(fresh, profiles if profiles is not None else
                                    card_profiles(data.cards, data.customers))
    first = _utc(fresh["ts"].min())
    history = data.transactions_between(first - LOOKBACK, first)
    if profiles is None:
        profiles = card_profiles(data.cards, data.customers)
    cols = list(data.transactions.columns)
    stream = pd.concat([history, fresh[cols]], ignore_index=True)
    return transaction_features(stream, profiles, first, None)
