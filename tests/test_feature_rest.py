"""``/lakebook/api/feature-groups`` through a real Jupyter server."""
from __future__ import annotations

import pandas as pd
import requests

import kernel_magics


def test_feature_groups_list_and_detail(jupyter_server, home):
    lh = kernel_magics.connect(home)
    fg = lh.create_feature_group("tx", key="cc", event_time="ts", checks=["amount >= 0"],
                                 description="card totals")
    df = pd.DataFrame({"cc": [1, 2, 3], "amount": [1.0, None, 3.0],
                       "ts": pd.to_datetime(["2024-01-01"] * 3, utc=True)})
    fg.insert(df)
    fg.insert(df.assign(cc=[4, 5, 6]))
    lh.create_feature_group("empty", key="k", event_time="t")

    listing = jupyter_server.get("feature-groups")
    assert listing.status_code == 200
    groups = {g["name"]: g for g in listing.json()["feature_groups"]}
    assert set(groups) == {"tx", "empty"}
    assert groups["tx"]["keys"] == ["cc"] and groups["tx"]["commits"] == 2
    assert groups["tx"]["delta_version"] == 1 and groups["empty"]["schema"] is None

    detail = jupyter_server.get("feature-groups/tx")
    assert detail.status_code == 200
    body = detail.json()
    assert [c["name"] for c in body["schema"]] == ["cc", "amount", "ts"]
    assert [c["delta_version"] for c in body["commits"]] == [1, 0]
    assert body["statistics"]["columns"]["amount"]["nulls"] == 1
    assert len(body["sample"]) == 6 and body["sample"][0]["ts"].startswith("2024-01-01")
    assert any(row["amount"] is None for row in body["sample"])  # NaN never reaches JSON
    assert body["description"] == "card totals" and body["versions"] == [1]

    assert jupyter_server.get("feature-groups/tx?sample=2").json()["sample"].__len__() == 2
    assert jupyter_server.get("feature-groups/empty").json()["sample"] == []
    assert jupyter_server.get("feature-groups/tx?version=1").status_code == 200


def test_feature_groups_errors_are_json(jupyter_server):
    missing = jupyter_server.get("feature-groups/nope")
    assert missing.status_code == 404
    assert "no feature group 'nope'" in missing.json()["error"]
    assert missing.json()["hint"]
    bad_version = jupyter_server.get("feature-groups/nope?version=x")
    assert bad_version.status_code == 400 and "version" in bad_version.json()["error"]
    bad_name = jupyter_server.get("feature-groups/not-a-name")
    assert bad_name.status_code == 400 and "Traceback" not in bad_name.text
    anonymous = requests.get(jupyter_server.api("feature-groups"), timeout=30)
    assert anonymous.status_code == 403
