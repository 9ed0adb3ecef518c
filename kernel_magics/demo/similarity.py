"""The merchant side of the demo world, for notebook 5 (similarity search): a description of
every merchant (what a merchant onboarding form holds), and which merchants are known fraud.

Descriptions are built only from what the world knows about a merchant before any payment
(category, channel, city, a few words of its trade), never from its fraud record, so the
similarity features computed from them carry no label.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: words of each category's trade (the generator's categories)
TRADE = {
    "gas_transport": "fuel petrol station diesel car wash garage transport",
    "grocery_pos": "grocery supermarket fresh produce bakery dairy store",
    "grocery_net": "grocery delivery online basket fresh produce subscription",
    "shopping_pos": "clothing shoes fashion boutique department store",
    "shopping_net": "online marketplace electronics gadgets gift cards resale shipping",
    "misc_pos": "general store hardware repairs keys shop",
    "misc_net": "online services digital vouchers prepaid codes resale",
    "entertainment": "cinema concerts tickets games events venue",
    "food_dining": "restaurant cafe dining takeaway bar kitchen",
    "health_fitness": "gym fitness pharmacy health clinic wellness",
    "home": "furniture home garden decor appliances",
    "kids_pets": "toys pets kids school supplies pet food",
    "personal_care": "salon beauty barber cosmetics spa",
    "travel": "flights airline hotel booking travel agency tickets abroad",
}


def merchant_descriptions(data, seed: int = 7) -> pd.DataFrame:
    """One row per merchant: ``merchant_id, name, category, city, description, updated_at``
    (the onboarding date: the world's first day)."""
    rng = np.random.default_rng(seed)
    m = data.merchants
    texts = []
    for name, category, city in zip(m["name"], m["category"], m["city"]):
        words = TRADE.get(category, category.replace("_", " ")).split()
        picked = " ".join(rng.choice(words, size=min(4, len(words)), replace=False))
        channel = "online shop" if category.endswith("_net") else f"shop in {city}"
        texts.append(f"{name.replace('_', ' ')}: {picked}, {channel}")
    start = pd.Timestamp(data.transactions["ts"].min()).floor("D")
    return pd.DataFrame({"merchant_id": m["merchant_id"].to_numpy(), "name": m["name"],
                         "category": m["category"], "city": m["city"], "description": texts,
                         "updated_at": start})


def merchant_fraud(data) -> pd.DataFrame:
    """Per merchant: payments, fraudulent payments and their share, from the labels."""
    t = data.transactions[["tx_id", "merchant_id"]].merge(
        data.labels[["tx_id", "is_fraud"]], on="tx_id")
    out = t.groupby("merchant_id")["is_fraud"].agg(payments="count", frauds="sum")
    out["fraud_share"] = out["frauds"] / out["payments"]
    return out.reset_index()


def known_fraud_merchants(data, min_share: float = 0.1, min_frauds: int = 5) -> list[int]:
    """The merchants an investigation team has flagged: a tenth or more of their payments
    were fraud, and at least ``min_frauds`` of them."""
    f = merchant_fraud(data)
    flagged = f[(f["fraud_share"] >= min_share) & (f["frauds"] >= min_frauds)]
    return sorted(int(x) for x in flagged["merchant_id"])
