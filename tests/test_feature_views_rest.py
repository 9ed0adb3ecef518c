"""``/lakebook/api/feature-views`` through a real Jupyter server."""
from __future__ import annotations

import pandas as pd
import requests

import kernel_magics
from kernel_magics.features.views import Join

T = lambda s: pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=s)  # noqa: E731


def test_feature_views_rest(jupyter_server, home):
    lh = kernel_magics.connect(home)
    assert jupyter_server.get("feature-views").json() == {"feature_views": []}
    tx = lh.create_feature_group("tx", key="cc_num", event_time="ts")
    tx.insert(pd.DataFrame({"cc_num": [1], "ts": [T(1)], "amount": [1.0], "is_fraud": [0]}))
    prof = lh.create_feature_group("profile", key="cc_num", event_time="ts", online=True)
    prof.insert(pd.DataFrame({"cc_num": [1], "ts": [T(0)], "age": [30]}))
    lh.create_feature_view("fraud", spine=tx, join=[prof], label="is_fraud", description="d")
    lh.create_feature_view("fraud", spine=tx, join=[Join(prof, ttl="1d")], label="is_fraud")

    listing = jupyter_server.get("feature-views")
    assert listing.status_code == 200
    (item,) = listing.json()["feature_views"]
    assert (item["name"], item["version"], item["versions"]) == ("fraud", 2, 2)
    assert item["features"] == ["amount", "age"] and item["labels"] == ["is_fraud"]

    detail = jupyter_server.get("feature-views/fraud").json()
    assert detail["version"] == 2 and detail["joins"][0]["ttl_s"] == 86400
    assert detail["spec"]["spine"]["group"] == "tx"
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    first = jupyter_server.get("feature-views/fraud/1").json()
    assert first["description"] == "d" and first["joins"][0]["ttl_s"] is None
    assert jupyter_server.get("feature-views/fraud?version=1").json()["version"] == 1

    missing = jupyter_server.get("feature-views/nope")
    assert missing.status_code == 404 and "no feature view 'nope'" in missing.json()["error"]
    bad = jupyter_server.get("feature-views/fraud/two")
    assert bad.status_code == 400 and "Traceback" not in bad.text
    # behind Jupyter's auth
    anon = requests.get(jupyter_server.api("feature-views"), timeout=10)
    assert anon.status_code in (401, 403)
