"""A deterministic generator of credit-card transactions with labelled fraud.

In the spirit of the well-known fraud tutorials (Sparkov, Hopsworks' card-fraud example): customers
with a home location and a segment, their credit cards, merchants with a category and a location,
and months of timestamped transactions with realistic amounts (lognormal per category, daily
and weekly seasonality). About 1-2 percent of the transactions are fraud, following three
patterns a model can learn:

* ``burst``: card testing, a burst of small online transactions minutes apart, often ending in
  one large purchase, from far away;
* ``geo_jump``: a card used in person in a city far from home, several times within an hour;
* ``unusual_merchant``: large night-time purchases at risky merchants in categories the card
  holder rarely uses.

Everything comes from one seeded ``numpy`` generator (no downloads) and is vectorised, so 10M
transactions generate in well under a minute. ``drift_after`` shifts the distribution (bigger
amounts, more online and travel spending, more transactions away from home) after a date, for
the monitoring scenario.

>>> data = generate(10_000, seed=7)
>>> window = data.transactions_between("2024-02-01", "2024-02-02")
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..shared.times import parse_time

#: (city, state, latitude, longitude, relative population)
CITIES: list[tuple[str, str, float, float, float]] = [
    ("New York", "NY", 40.7128, -74.0060, 8.3), ("Los Angeles", "CA", 34.0522, -118.2437, 3.9),
    ("Chicago", "IL", 41.8781, -87.6298, 2.7), ("Houston", "TX", 29.7604, -95.3698, 2.3),
    ("Phoenix", "AZ", 33.4484, -112.0740, 1.6), ("Philadelphia", "PA", 39.9526, -75.1652, 1.6),
    ("San Antonio", "TX", 29.4241, -98.4936, 1.5), ("San Diego", "CA", 32.7157, -117.1611, 1.4),
    ("Dallas", "TX", 32.7767, -96.7970, 1.3), ("San Jose", "CA", 37.3382, -121.8863, 1.0),
    ("Austin", "TX", 30.2672, -97.7431, 1.0), ("Jacksonville", "FL", 30.3322, -81.6557, 0.95),
    ("Columbus", "OH", 39.9612, -82.9988, 0.9), ("Charlotte", "NC", 35.2271, -80.8431, 0.9),
    ("Indianapolis", "IN", 39.7684, -86.1581, 0.87), ("San Francisco", "CA", 37.7749, -122.4194, 0.87),
    ("Seattle", "WA", 47.6062, -122.3321, 0.75), ("Denver", "CO", 39.7392, -104.9903, 0.72),
    ("Washington", "DC", 38.9072, -77.0369, 0.69), ("Boston", "MA", 42.3601, -71.0589, 0.68),
    ("Nashville", "TN", 36.1627, -86.7816, 0.67), ("Detroit", "MI", 42.3314, -83.0458, 0.67),
    ("Portland", "OR", 45.5152, -122.6784, 0.65), ("Las Vegas", "NV", 36.1699, -115.1398, 0.64),
    ("Memphis", "TN", 35.1495, -90.0490, 0.63), ("Louisville", "KY", 38.2527, -85.7585, 0.62),
    ("Baltimore", "MD", 39.2904, -76.6122, 0.59), ("Milwaukee", "WI", 43.0389, -87.9065, 0.58),
    ("Albuquerque", "NM", 35.0844, -106.6504, 0.56), ("Tucson", "AZ", 32.2226, -110.9747, 0.54),
    ("Fresno", "CA", 36.7378, -119.7871, 0.53), ("Sacramento", "CA", 38.5816, -121.4944, 0.51),
    ("Kansas City", "MO", 39.0997, -94.5786, 0.5), ("Atlanta", "GA", 33.7490, -84.3880, 0.5),
    ("Miami", "FL", 25.7617, -80.1918, 0.47), ("Minneapolis", "MN", 44.9778, -93.2650, 0.43),
    ("New Orleans", "LA", 29.9511, -90.0715, 0.39), ("Salt Lake City", "UT", 40.7608, -111.8910, 0.2),
    ("Anchorage", "AK", 61.2181, -149.9003, 0.29), ("Honolulu", "HI", 21.3069, -157.8583, 0.35),
]

#: (category, share of legitimate spending, lognormal mu, lognormal sigma, online?)
CATEGORIES: list[tuple[str, float, float, float, bool]] = [
    ("gas_transport", 0.100, 3.80, 0.40, False), ("grocery_pos", 0.095, 3.95, 0.60, False),
    ("home", 0.095, 3.60, 0.90, False), ("shopping_pos", 0.090, 3.90, 1.00, False),
    ("kids_pets", 0.088, 3.50, 0.90, False), ("shopping_net", 0.075, 3.90, 1.00, True),
    ("entertainment", 0.073, 3.60, 0.90, False), ("food_dining", 0.071, 3.30, 0.80, False),
    ("personal_care", 0.070, 3.20, 0.90, False), ("health_fitness", 0.066, 3.50, 0.80, False),
    ("misc_pos", 0.062, 3.30, 1.00, False), ("misc_net", 0.049, 3.00, 1.10, True),
    ("grocery_net", 0.035, 3.70, 0.60, True), ("travel", 0.031, 4.50, 1.10, False),
]
CATEGORY_NAMES = [c[0] for c in CATEGORIES]
SEGMENTS = ["student", "standard", "premium", "business"]
PROVIDERS = ["visa", "mastercard", "amex", "discover"]
FRAUD_PATTERNS = ["burst", "geo_jump", "unusual_merchant"]

# Seasonality: Monday..Sunday, and hour of day (local time is ignored: one national clock).
_WEEKDAY_WEIGHT = np.array([0.95, 0.95, 1.0, 1.02, 1.15, 1.30, 1.10])
_HOUR_WEIGHT = np.array([0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.35, 0.70, 0.95, 1.00, 1.05, 1.15,
                         1.40, 1.30, 1.05, 1.00, 1.10, 1.30, 1.50, 1.45, 1.20, 0.90, 0.60, 0.30])
# Fraud happens more at night.
_FRAUD_HOUR_WEIGHT = np.array([1.6, 1.8, 1.8, 1.6, 1.2, 0.8, 0.5, 0.5, 0.5, 0.5, 0.6, 0.6,
                               0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.8, 0.9, 1.1, 1.3, 1.5])
_DAY_NS = 86_400 * 10**9
_CC_BASE = 4_000_000_000_000_000


@dataclass
class FraudData:
    """The generated world: four entity tables, the transactions and their labels.

    ``transactions`` (sorted by ``ts``, ``tx_id`` increasing with time) has ``tx_id, ts, cc_num,
    merchant_id, category, amount, lat, lon``; ``labels`` has ``tx_id, cc_num, ts, is_fraud``
    (0/1) and ``fraud_pattern`` (empty for legitimate transactions), row-aligned with
    ``transactions``. All timestamps are timezone-aware UTC.
    """

    customers: pd.DataFrame
    cards: pd.DataFrame
    merchants: pd.DataFrame
    transactions: pd.DataFrame
    labels: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    seed: int
    drift_after: pd.Timestamp | None = None

    def _slice(self, start: Any, end: Any) -> slice:
        ts = self.transactions["ts"]
        lo = 0 if start is None else int(ts.searchsorted(_utc(start), "left"))
        hi = len(ts) if end is None else int(ts.searchsorted(_utc(end), "left"))
        return slice(lo, max(lo, hi))

    def transactions_between(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Transactions with ``start <= ts < end`` (either bound may be None); a copy."""
        return self.transactions.iloc[self._slice(start, end)].reset_index(drop=True)

    def labels_between(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Fraud labels of the transactions with ``start <= ts < end``; a copy."""
        return self.labels.iloc[self._slice(start, end)].reset_index(drop=True)

    @property
    def fraud_rate(self) -> float:
        return float(self.labels["is_fraud"].mean()) if len(self.labels) else 0.0

    def summary(self) -> dict[str, Any]:
        """Counts and rates, for printing."""
        patterns = self.labels["fraud_pattern"].value_counts()
        return {
            "transactions": len(self.transactions), "cards": len(self.cards),
            "customers": len(self.customers), "merchants": len(self.merchants),
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "fraud_rate": round(self.fraud_rate, 4),
            "patterns": {p: int(patterns.get(p, 0)) for p in FRAUD_PATTERNS},
            "drift_after": self.drift_after.isoformat() if self.drift_after is not None else None,
        }


def as_utc(value: Any) -> pd.Timestamp:
    """A UTC timestamp from a string, datetime or Timestamp (naive values are taken as UTC)."""
    if isinstance(value, pd.Timestamp):  # as pandas does it: nanoseconds are kept
        return value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")
    return pd.Timestamp(parse_time(value, "time"))


_utc = as_utc


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in km between arrays of points (degrees)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype="float64")) for v in (lat1, lon1, lat2, lon2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _sizes(n_transactions: int) -> tuple[int, int, int]:
    n_cards = int(np.clip(n_transactions // 100, 50, 100_000))
    n_customers = max(40, int(n_cards * 0.8))
    n_merchants = int(np.clip(n_transactions // 200, 140, 20_000))
    return n_cards, n_customers, n_merchants


def _pick_within(rng: np.random.Generator, offsets: np.ndarray, counts: np.ndarray,
                 groups: np.ndarray) -> np.ndarray:
    """For each element of ``groups``, a random index inside that group's [offset, offset+count)."""
    return offsets[groups] + (rng.random(len(groups)) * counts[groups]).astype(np.int64)


def _timestamps(rng: np.random.Generator, n: int, start_ns: int, days: int,
                hour_weight: np.ndarray, start: pd.Timestamp) -> np.ndarray:
    """``n`` timestamps (int ns) with weekly and daily seasonality over ``days`` days."""
    weekdays = (start.dayofweek + np.arange(days)) % 7
    day_p = _WEEKDAY_WEIGHT[weekdays] * np.linspace(0.97, 1.03, days)  # a slight growth trend
    day = rng.choice(days, size=n, p=day_p / day_p.sum())
    hour = rng.choice(24, size=n, p=hour_weight / hour_weight.sum())
    within = rng.integers(0, 3600, n).astype(np.int64) * 10**9  # whole seconds, like card systems
    return start_ns + day.astype(np.int64) * _DAY_NS + hour.astype(np.int64) * 3600 * 10**9 + within


def _separate_same_second(ts: np.ndarray, card: np.ndarray) -> None:
    """Move a card's transactions that share a second one second apart (in place), so
    (card, time) identifies a transaction."""
    sec = (ts - ts.min()) // 10**9 if len(ts) else ts
    for _ in range(50):
        key = card.astype(np.int64) * (int(sec.max()) + 2) + sec
        order = np.argsort(key)
        sorted_key = key[order]
        moved = order[1:][sorted_key[1:] == sorted_key[:-1]]
        if not len(moved):
            return
        ts[moved] += 10**9
        sec[moved] += 1


def generate(n_transactions: int = 100_000, seed: int = 42, start: Any = "2024-01-01",
             days: int = 90, drift_after: Any = None, fraud_rate: float = 0.015) -> FraudData:
    """Generate ``n_transactions`` card transactions over ``days`` days from ``start`` (UTC).

    Deterministic for a given ``(n_transactions, seed, start, days, drift_after, fraud_rate)``.
    With ``drift_after`` (a date), legitimate spending after it shifts: amounts grow by about
    60 percent, online and travel categories gain share and more transactions happen away from
    home; a model or monitor trained before it sees drift.
    """
    if n_transactions < 1_000:
        raise ValueError("n_transactions must be at least 1000")
    if not 0.0 <= fraud_rate < 0.2:
        raise ValueError("fraud_rate must be in [0, 0.2)")
    rng = np.random.default_rng(seed)
    start_ts = _utc(start).normalize()
    end_ts = start_ts + pd.Timedelta(days=days)
    start_ns = start_ts.value
    drift_ts = _utc(drift_after) if drift_after is not None else None
    n_cards, n_customers, n_merchants = _sizes(n_transactions)

    city_lat = np.array([c[2] for c in CITIES])
    city_lon = np.array([c[3] for c in CITIES])
    city_p = np.array([c[4] for c in CITIES]); city_p /= city_p.sum()
    n_cities, n_cats = len(CITIES), len(CATEGORIES)
    cat_p = np.array([c[1] for c in CATEGORIES]); cat_p /= cat_p.sum()
    cat_mu = np.array([c[2] for c in CATEGORIES])
    cat_sigma = np.array([c[3] for c in CATEGORIES])
    cat_online = np.array([c[4] for c in CATEGORIES])

    # -- customers ------------------------------------------------------------------------
    home_city = rng.choice(n_cities, size=n_customers, p=city_p)
    segment = rng.choice(len(SEGMENTS), size=n_customers, p=[0.15, 0.55, 0.20, 0.10])
    age = np.where(segment == 0, rng.integers(18, 26, n_customers),
                   np.clip(rng.normal(46, 15, n_customers), 21, 92).astype(int))
    # homes within ~15 km of the city centre
    home_lat = city_lat[home_city] + rng.normal(0, 0.08, n_customers)
    home_lon = city_lon[home_city] + rng.normal(0, 0.10, n_customers)
    customers = pd.DataFrame({
        "customer_id": np.arange(1, n_customers + 1, dtype=np.int64),
        "age": age.astype(np.int64),
        "segment": pd.Categorical.from_codes(segment, SEGMENTS).astype(str),
        "city": np.array([c[0] for c in CITIES])[home_city],
        "state": np.array([c[1] for c in CITIES])[home_city],
        "home_lat": home_lat.round(5), "home_lon": home_lon.round(5),
    })

    # -- cards: every customer has one, some a second ----------------------------------------
    owner = np.concatenate([np.arange(n_customers),
                            rng.choice(n_customers, size=n_cards - n_customers, replace=True)])
    owner = owner[rng.permutation(n_cards)]
    cc_num = _CC_BASE + np.sort(rng.choice(10**15, size=n_cards, replace=False)).astype(np.int64)
    cc_num = cc_num[rng.permutation(n_cards)]
    seg_of_card = segment[owner]
    limit_base = np.array([1_500, 5_000, 15_000, 25_000])[seg_of_card]
    credit_limit = (limit_base * rng.lognormal(0, 0.35, n_cards)).round(-2)
    issue_days = rng.integers(30, 6 * 365, n_cards)
    issued = start_ns - issue_days.astype(np.int64) * _DAY_NS
    cards = pd.DataFrame({
        "cc_num": cc_num,
        "customer_id": owner.astype(np.int64) + 1,
        "provider": np.array(PROVIDERS)[rng.choice(4, size=n_cards, p=[0.5, 0.3, 0.12, 0.08])],
        "credit_limit": credit_limit,
        "issued_at": pd.to_datetime(issued, utc=True),
    })

    # -- merchants: every category has some in every big city --------------------------------
    m_cat = np.concatenate([np.repeat(np.arange(n_cats), 3),
                            rng.choice(n_cats, size=n_merchants - 3 * n_cats, p=cat_p)])
    m_city = rng.choice(n_cities, size=n_merchants, p=city_p)
    order = np.lexsort((m_city, m_cat))
    m_cat, m_city = m_cat[order], m_city[order]
    m_lat = city_lat[m_city] + rng.normal(0, 0.06, n_merchants)
    m_lon = city_lon[m_city] + rng.normal(0, 0.08, n_merchants)
    # a few risky merchants in the categories fraudsters like (large, resellable, online)
    risky_cats = np.array([CATEGORY_NAMES.index(c) for c in ("travel", "shopping_net", "misc_net")])
    risky = np.isin(m_cat, risky_cats) & (rng.random(n_merchants) < 0.12)
    risky[np.flatnonzero(np.isin(m_cat, risky_cats))[:3]] = True  # at least a few
    merchants = pd.DataFrame({
        "merchant_id": np.arange(1, n_merchants + 1, dtype=np.int64),
        "name": [f"merchant_{i:05d}" for i in range(1, n_merchants + 1)],
        "category": np.array(CATEGORY_NAMES)[m_cat],
        "city": np.array([c[0] for c in CITIES])[m_city],
        "lat": m_lat.round(5), "lon": m_lon.round(5),
    })
    # merchant lookup by category, and by (category, city)
    cat_counts = np.bincount(m_cat, minlength=n_cats)
    cat_offsets = np.concatenate([[0], np.cumsum(cat_counts)[:-1]])
    cell = m_cat * n_cities + m_city
    cell_counts = np.bincount(cell, minlength=n_cats * n_cities)
    cell_offsets = np.concatenate([[0], np.cumsum(cell_counts)[:-1]])

    # -- fraud events: how many transactions they take -----------------------------------------
    n_fraud = int(round(n_transactions * fraud_rate))
    pattern_p = np.array([0.40, 0.35, 0.25])
    sizes_lo, sizes_hi = np.array([5, 2, 1]), np.array([15, 6, 4])
    mean_size = float((pattern_p * (sizes_lo + sizes_hi) / 2).sum())
    n_events = int(n_fraud / mean_size * 1.3) + 3
    ev_pattern = rng.choice(3, size=n_events, p=pattern_p)
    ev_size = rng.integers(sizes_lo[ev_pattern], sizes_hi[ev_pattern] + 1)
    cum = np.cumsum(ev_size)
    keep = int(np.searchsorted(cum, n_fraud, "left")) + 1 if n_fraud else 0
    ev_pattern, ev_size = ev_pattern[:keep], ev_size[:keep].copy()
    if keep:
        ev_size[-1] -= int(cum[keep - 1] - n_fraud)  # trim the last event to hit n_fraud exactly
        ok = ev_size > 0
        ev_pattern, ev_size = ev_pattern[ok], ev_size[ok]
    n_fraud = int(ev_size.sum())
    n_legit = n_transactions - n_fraud

    # -- legitimate transactions -------------------------------------------------------------
    activity = rng.lognormal(0, 0.6, n_cards) * np.array([0.8, 1.0, 1.4, 1.6])[seg_of_card]
    card = rng.choice(n_cards, size=n_legit, p=activity / activity.sum())
    ts = _timestamps(rng, n_legit, start_ns, days, _HOUR_WEIGHT, start_ts)
    drifted = ts >= drift_ts.value if drift_ts is not None else np.zeros(n_legit, bool)
    # categories: half from the card holder's three favourites, half from the national mix
    fav = rng.choice(n_cats, size=(n_cards, 3), p=cat_p)
    cat = np.where(rng.random(n_legit) < 0.5, fav[card, rng.integers(0, 3, n_legit)],
                   rng.choice(n_cats, size=n_legit, p=cat_p))
    # after the drift date: more online shopping and travel. The draws happen whether or not
    # there is a drift, so the world before the drift date is the same either way.
    shifted_p = cat_p * np.where(cat_online | (np.array(CATEGORY_NAMES) == "travel"), 4.0, 1.0)
    shifted = rng.choice(n_cats, size=n_legit, p=shifted_p / shifted_p.sum())
    resample = drifted & (rng.random(n_legit) < 0.7)
    cat[resample] = shifted[resample]
    del shifted
    cust = owner[card]
    online = cat_online[cat]
    away_p = np.where(drifted, 0.35, 0.06)
    away = ~online & (rng.random(n_legit) < away_p)
    tx_city = np.where(away, rng.choice(n_cities, size=n_legit, p=city_p), home_city[cust])
    # merchant: in the transaction's city when one of that category is there, else anywhere
    c_cell = cat * n_cities + tx_city
    in_cell = ~online & (cell_counts[c_cell] > 0)
    merchant = np.where(in_cell, _pick_within(rng, cell_offsets, np.maximum(cell_counts, 1), c_cell),
                        _pick_within(rng, cat_offsets, cat_counts, cat))
    # risky merchants are rare for honest customers
    redo = risky[merchant] & (rng.random(n_legit) < 0.9)
    alt = _pick_within(rng, cat_offsets, cat_counts, cat)  # drawn for all rows: see above
    merchant = np.where(redo & ~risky[alt], alt, merchant)
    del alt
    # where it happened: the shop, or (online) the card holder's home connection
    lat = np.where(online, home_lat[cust] + rng.normal(0, 0.02, n_legit), m_lat[merchant])
    lon = np.where(online, home_lon[cust] + rng.normal(0, 0.02, n_legit), m_lon[merchant])
    seg_shift = np.array([-0.35, 0.0, 0.30, 0.45])[seg_of_card[card]]
    amount = rng.lognormal(cat_mu[cat] + seg_shift, cat_sigma[cat])
    amount = np.where(drifted, amount * 1.6, amount)

    # -- fraudulent transactions ---------------------------------------------------------------
    n_ev = len(ev_size)
    ev_card = rng.choice(n_cards, size=n_ev, p=activity / activity.sum())
    # events start anywhere in the period but end inside it (they last at most a few hours)
    ev_t0 = _timestamps(rng, n_ev, start_ns, days, _FRAUD_HOUR_WEIGHT, start_ts)
    ev_t0 = np.minimum(ev_t0, end_ts.value - 6 * 3600 * 10**9)
    # a city far from home: cities sorted by longitude, take one on the other side
    by_lon = np.argsort(city_lon)
    rank_of = np.empty(n_cities, dtype=np.int64); rank_of[by_lon] = np.arange(n_cities)
    ev_home = home_city[owner[ev_card]]
    far_rank = (rank_of[ev_home] + n_cities // 2 + rng.integers(-4, 5, n_ev)) % n_cities
    ev_city = by_lon[far_rank]

    f_event = np.repeat(np.arange(n_ev), ev_size)
    f_pattern = ev_pattern[f_event]
    first = np.concatenate([[0], np.cumsum(ev_size)[:-1]])
    f_pos = np.arange(n_fraud) - np.repeat(first, ev_size)  # position inside its event
    gap_s = np.array([45.0, 600.0, 1800.0])[f_pattern]  # mean seconds between transactions
    gaps = (rng.exponential(1.0, n_fraud) * gap_s).astype(np.int64) * 10**9 + 10**9
    gaps[f_pos == 0] = 0
    offset = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first], ev_size)
    f_ts = ev_t0[f_event] + offset
    f_card = ev_card[f_event]
    net_cats = np.array([CATEGORY_NAMES.index(c) for c in ("misc_net", "shopping_net", "grocery_net")])
    pos_cats = np.array([CATEGORY_NAMES.index(c) for c in ("shopping_pos", "misc_pos", "entertainment",
                                                             "travel", "gas_transport")])
    risky_idx = np.flatnonzero(risky)
    f_cat = np.empty(n_fraud, dtype=np.int64)
    f_merchant = np.empty(n_fraud, dtype=np.int64)
    f_amount = np.empty(n_fraud)
    f_city = ev_city[f_event]
    b, g, u = f_pattern == 0, f_pattern == 1, f_pattern == 2
    # burst: small online charges, the last one of a long burst large (the cash-out)
    f_cat[b] = net_cats[rng.integers(0, 3, int(b.sum()))]
    f_amount[b] = rng.lognormal(1.4, 0.7, int(b.sum()))
    last = np.zeros(n_fraud, bool); last[np.cumsum(ev_size) - 1] = True
    cash_out = b & last & (ev_size[f_event] >= 8)
    f_amount[cash_out] = rng.lognormal(6.0, 0.5, int(cash_out.sum()))
    # geo jump: in-person purchases in a far city
    f_cat[g] = pos_cats[rng.integers(0, len(pos_cats), int(g.sum()))]
    f_amount[g] = rng.lognormal(5.0, 0.8, int(g.sum()))
    # unusual merchant: the risky merchants, large amounts
    f_merchant[u] = risky_idx[rng.integers(0, len(risky_idx), int(u.sum()))]
    f_cat[u] = m_cat[f_merchant[u]]
    f_amount[u] = rng.lognormal(5.9, 0.6, int(u.sum()))
    bg = b | g
    f_c_cell = f_cat[bg] * n_cities + f_city[bg]
    f_merchant[bg] = np.where((cell_counts[f_c_cell] > 0) & g[bg],
                              _pick_within(rng, cell_offsets, np.maximum(cell_counts, 1), f_c_cell),
                              _pick_within(rng, cat_offsets, cat_counts, f_cat[bg]))
    f_online = cat_online[f_cat]
    # the fraudster's location: the far city (online: their connection's location); a third
    # of online fraudsters hide behind a proxy near the card holder's home
    f_home = owner[f_card]
    proxied = (rng.random(n_ev) < 0.35)[f_event]
    f_lat = np.where(f_online, np.where(proxied, home_lat[f_home], city_lat[f_city])
                     + rng.normal(0, 0.05, n_fraud), m_lat[f_merchant])
    f_lon = np.where(f_online, np.where(proxied, home_lon[f_home], city_lon[f_city])
                     + rng.normal(0, 0.05, n_fraud), m_lon[f_merchant])

    # -- assemble, sorted by time ------------------------------------------------------------
    all_ts = np.concatenate([ts, f_ts])
    card_all = np.concatenate([card, f_card])
    _separate_same_second(all_ts, card_all)
    order = np.argsort(all_ts, kind="stable")
    del ts
    is_fraud = np.concatenate([np.zeros(n_legit, np.int64), np.ones(n_fraud, np.int64)])[order]
    pattern_codes = np.concatenate([np.full(n_legit, -1), f_pattern])[order]
    card_all = card_all[order]
    tx_ts = pd.to_datetime(all_ts[order], utc=True)
    tx_id = np.arange(1, n_transactions + 1, dtype=np.int64)
    cc = cc_num[card_all]
    transactions = pd.DataFrame({
        "tx_id": tx_id,
        "ts": tx_ts,
        "cc_num": cc,
        "merchant_id": np.concatenate([merchant, f_merchant])[order] + 1,
        "category": pd.Categorical.from_codes(np.concatenate([cat, f_cat])[order], CATEGORY_NAMES),
        "amount": np.round(np.concatenate([amount, f_amount])[order], 2).clip(0.5, None),
        "lat": np.round(np.concatenate([lat, f_lat])[order], 5),
        "lon": np.round(np.concatenate([lon, f_lon])[order], 5),
    })
    labels = pd.DataFrame({
        "tx_id": tx_id, "cc_num": cc, "ts": tx_ts, "is_fraud": is_fraud,
        "fraud_pattern": pd.Categorical.from_codes(pattern_codes + 1, ["", *FRAUD_PATTERNS]),
    })
    return FraudData(customers=customers, cards=cards, merchants=merchants,
                     transactions=transactions, labels=labels, start=start_ts, end=end_ts,
                     seed=seed, drift_after=drift_ts)


def new_transactions(data: FraudData, n: int, at: Any, seed: int = 0,
                     fraud_share: float = 0.5) -> pd.DataFrame:
    """Fresh payments of ``n`` existing cards just after ``at``: what payment terminals would
    send to the online deployment. About ``fraud_share`` of the cards are being used by a
    fraudster, geo-jump style: three purchases a few minutes apart in a city far from home (the
    last of them is the one to score); the others make one ordinary purchase near home.
    Columns as ``transactions`` plus ``is_fraud``; one card's payments are in time order."""
    rng = np.random.default_rng(seed)
    at_ts = _utc(at)
    cards = data.cards.sample(n, random_state=seed, replace=n > len(data.cards))
    homes = data.customers.set_index("customer_id").loc[cards["customer_id"]]
    fraud = rng.random(n) < fraud_share
    per_card = np.where(fraud, 3, 1)
    card = np.repeat(np.arange(n), per_card)
    step = np.concatenate([np.arange(k) for k in per_card])
    m = len(card)
    lat = homes["home_lat"].to_numpy()[card] + rng.normal(0, 0.03, m)
    lon = homes["home_lon"].to_numpy()[card] + rng.normal(0, 0.03, m)
    far = np.array([(c[2], c[3]) for c in CITIES])[rng.integers(0, len(CITIES), n)]
    dist = haversine_km(homes["home_lat"], homes["home_lon"], far[:, 0], far[:, 1])
    far[dist < 800] = (21.3069, -157.8583)  # Honolulu: far from everywhere on the mainland
    is_fraud = fraud[card]
    amount = np.where(is_fraud, rng.lognormal(5.6, 0.5, m), rng.lognormal(3.6, 0.8, m))
    # cards take turns 20 s apart; a fraudster's purchases are 3 minutes apart
    ts = at_ts + pd.to_timedelta(card * 20 + step * 180, unit="s")
    out = pd.DataFrame({
        "tx_id": np.int64(0),
        "ts": ts,
        "cc_num": cards["cc_num"].to_numpy()[card],
        "merchant_id": rng.choice(data.merchants["merchant_id"].to_numpy(), m),
        "category": pd.Categorical(np.where(is_fraud, "shopping_pos", "grocery_pos"),
                                   CATEGORY_NAMES),
        "amount": amount.round(2),
        "lat": np.where(is_fraud, far[card, 0] + rng.normal(0, 0.03, m), lat).round(5),
        "lon": np.where(is_fraud, far[card, 1] + rng.normal(0, 0.03, m), lon).round(5),
        "is_fraud": is_fraud.astype(np.int64),
    }).sort_values("ts", kind="stable").reset_index(drop=True)
    out["tx_id"] = np.int64(data.transactions["tx_id"].max()) + 1 + np.arange(m, dtype=np.int64)
    return out
