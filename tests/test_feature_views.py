"""Feature views on real feature groups (Delta tables, catalog, online store)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import kernel_magics
from kernel_magics.shared.errors import AlreadyExists, InvalidInput, NotFound
from kernel_magics.features.views import FeatureView, Join, TrainTestSplit

from online_fixtures import redis_server  # noqa: F401  (fixture)

BASE = pd.Timestamp("2024-01-01", tz="UTC")


def T(seconds: float) -> pd.Timestamp:
    return BASE + pd.Timedelta(seconds=seconds)


@pytest.fixture
def groups(lh):
    """A spine of transactions (label is_fraud) and an online profile group."""
    tx = lh.create_feature_group("tx", key="cc_num", event_time="ts")
    tx.insert(pd.DataFrame({"cc_num": [1, 2, 1, 3], "ts": [T(10), T(10), T(20), T(5)],
                            "amount": [1.0, 2.0, 3.0, 4.0], "is_fraud": [0, 1, 0, 1]}))
    prof = lh.create_feature_group("profile", key="cc_num", event_time="ts", online=True)
    prof.insert(pd.DataFrame({"cc_num": [1, 1, 2], "ts": [T(0), T(15), T(0)],
                              "amount": [10.0, 11.0, 12.0], "age": [30, 31, 40]}))
    return tx, prof


def test_training_data_is_point_in_time(lh, groups):
    tx, prof = groups
    fv = lh.create_feature_view("fraud", spine=tx, join=[prof], label="is_fraud",
                                description="fraud detection")
    assert (fv.name, fv.version, fv.keys, fv.event_time) == ("fraud", 1, ["cc_num"], "ts")
    # the clashing 'amount' of the joined group is prefixed with its group's name
    assert fv.features == ["amount", "profile_amount", "age"]
    assert fv.labels == ["is_fraud"]
    df = fv.training_data()
    assert list(df.columns) == ["cc_num", "ts", "amount", "profile_amount", "age", "is_fraud"]
    assert df["cc_num"].tolist() == [3, 1, 2, 1]  # ordered by event time
    assert df["profile_amount"].tolist()[1:] == [10.0, 12.0, 11.0]
    assert np.isnan(df["profile_amount"][0])  # unmatched key: kept, nulls
    assert df.attrs["lakebook_versions"] == {"tx_v1": 0, "profile_v1": 0}
    window = fv.training_data(start=T(10), end=T(20))
    assert window["cc_num"].tolist() == [1, 2]


def test_same_spec_same_version_new_spec_new_version(lh, groups):
    tx, prof = groups
    v1 = lh.create_feature_view("fraud", spine=tx, join=[prof], label="is_fraud")
    again = lh.features.views.get_or_create("fraud", spine=tx, join=[Join(prof)],
                                            label=["is_fraud"])
    assert again.version == 1 and again == v1
    # create creates or refuses: the same spec again is not quietly the old version
    with pytest.raises(AlreadyExists, match="'fraud' version 1 has this spec already"):
        lh.features.views.create("fraud", spine=tx, join=[Join(prof)], label=["is_fraud"])
    assert [v["version"] for v in v1.versions()] == [1]
    v2 = lh.create_feature_view("fraud", spine=tx, join=[Join(prof, ttl="1h")], label="is_fraud")
    assert v2.version == 2
    assert lh.features.views.get("fraud").version == 2
    assert lh.features.views.get("fraud", 1).spec == v1.spec
    assert [v["version"] for v in v2.versions()] == [1, 2]
    assert [(v.name, v.version) for v in lh.features.views.list()] == [("fraud", 2)]
    with pytest.raises(NotFound, match="has no version 7"):
        lh.features.views.get("fraud", 7)
    with pytest.raises(NotFound, match="no feature view 'nope'.*Known views: fraud"):
        lh.features.views.get("nope")
    # delete takes get's key: the latest version by default, a given one when asked
    assert lh.features.views.delete("fraud") is None
    assert [v["version"] for v in v1.versions()] == [1]
    lh.features.views.delete("fraud", 1)
    with pytest.raises(NotFound):
        lh.features.views.get("fraud")


def test_view_over_the_spine_alone_and_fluent_form(lh, groups):
    tx, prof = groups
    alone = lh.create_feature_view("alone", spine=tx, join=[], label="is_fraud")
    assert alone.features == ["amount"]
    assert len(alone.training_data()) == 4
    fluent = lh.create_feature_view(
        "fluent", spine=tx.select(["amount", "is_fraud"]).join(prof.select(["age"]),
                                                               on=["cc_num"]),
        label="is_fraud")
    assert fluent.features == ["amount", "age"]
    assert fluent.training_data()["age"].tolist()[1:] == [30, 40, 31]
    # a selection can be read without saving a view
    read = tx.select(["amount"]).join(prof.select_all()).read()
    assert list(read.columns) == ["cc_num", "ts", "amount", "profile_amount", "age"]


def test_label_from_joined_group_and_features_filter(lh, groups):
    tx, prof = groups
    fv = lh.create_feature_view("v", spine=tx, join=[prof], label="age",
                                features=["amount", "profile_amount"])
    assert fv.features == ["amount", "profile_amount"] and fv.labels == ["age"]
    assert list(fv.training_data().columns) == ["cc_num", "ts", "amount", "profile_amount", "age"]
    assert list(fv.batch_data().columns) == ["cc_num", "ts", "amount", "profile_amount"]


def test_ttl_multi_keys_and_renamed_join_columns(lh):
    s = lh.create_feature_group("events", key=["card", "shop"], event_time="t")
    s.insert(pd.DataFrame({"card": [1, 1, 2], "shop": ["a", "b", "a"],
                           "t": [T(100), T(100), T(100)], "y": [1, 0, 1]}))
    g = lh.create_feature_group("shop_stats", key=["cc", "shop"], event_time="at")
    g.insert(pd.DataFrame({"cc": [1, 1, 2], "shop": ["a", "b", "a"],
                           "at": [T(95), T(10), T(99)], "n": [5, 6, 7]}))
    fv = lh.create_feature_view("ttl", spine=s, join=[Join(g, on=[("card", "cc"), "shop"],
                                                          ttl=dt.timedelta(seconds=30))],
                                label="y")
    df = fv.training_data()
    got = dict(zip(zip(df["card"], df["shop"]), df["n"]))
    assert got[(1, "a")] == 5 and got[(2, "a")] == 7 and np.isnan(got[(1, "b")])


def test_errors_in_the_users_terms(lh, groups):
    tx, prof = groups
    with pytest.raises(InvalidInput, match="Label 'fraud' is not a column of the spine 'tx'"):
        lh.create_feature_view("v", spine=tx, join=[prof], label="fraud")
    other = lh.create_feature_group("merchants", key="merchant_id", event_time="ts")
    other.insert(pd.DataFrame({"merchant_id": [1], "ts": [T(0)], "risk": [0.5]}))
    with pytest.raises(InvalidInput, match="'merchants' shares no key column with the spine"):
        lh.create_feature_view("v", spine=tx, join=[other])
    with pytest.raises(InvalidInput, match="the spine 'tx' has no column"):
        lh.create_feature_view("v", spine=tx, join=[Join(other, on=["merchant_id"])])
    with pytest.raises(InvalidInput, match="'profile' has no feature.*'income'"):
        lh.create_feature_view("v", spine=tx, join=[Join(prof, features=["income"])])
    with pytest.raises(InvalidInput, match="ttl 'soon'"):
        Join(prof, ttl="soon")
    empty = lh.create_feature_group("empty", key="cc_num", event_time="ts")
    with pytest.raises(InvalidInput, match="'empty' .* has no data yet"):
        lh.create_feature_view("v", spine=tx, join=[empty])
    with pytest.raises(InvalidInput, match="would be named 'amount'"):
        lh.create_feature_view("v", spine=tx, join=[Join(prof, prefix="")])
    with pytest.raises(InvalidInput, match="not a valid feature view name"):
        lh.create_feature_view("no such", spine=tx)
    with pytest.raises(InvalidInput, match="not a feature group"):
        lh.create_feature_view("v", spine="tx")
    with pytest.raises(InvalidInput, match="no label"):
        lh.create_feature_view("nolabel", spine=tx, join=[prof]).train_test_split()
    fv = lh.create_feature_view("v", spine=tx, join=[prof], label="is_fraud")
    with pytest.raises(InvalidInput, match="does not read 'other_v1'"):
        fv.training_data(versions={"other_v1": 0})
    assert lh.catalog.scalar("SELECT COUNT(*) FROM feature_views") == 2  # nothing else written


def test_rebuild_from_recorded_versions_is_exact(lh, groups):
    tx, prof = groups
    fv = lh.create_feature_view("fraud", spine=tx, join=[prof], label="is_fraud")
    first = fv.training_data()
    versions = first.attrs["lakebook_versions"]
    # new label events, new and tied feature rows, and an upsert that rewrites files
    tx.insert(pd.DataFrame({"cc_num": [2], "ts": [T(30)], "amount": [5.0], "is_fraud": [0]}))
    prof.insert(pd.DataFrame({"cc_num": [1, 2], "ts": [T(10), T(0)],
                              "amount": [99.0, 98.0], "age": [99, 98]}))
    prof.insert(pd.DataFrame({"cc_num": [1], "ts": [T(15)], "amount": [97.0], "age": [97]}),
                mode="upsert")
    now = fv.training_data()
    assert len(now) == 5 and now.attrs["lakebook_versions"] != versions
    # ties on event time go to the latest write
    assert now["profile_amount"].tolist()[1:4] == [99.0, 98.0, 97.0]
    again = fv.training_data(versions=versions)
    pd.testing.assert_frame_equal(again, first)
    assert again.attrs == first.attrs
    split = fv.train_test_split(versions=versions)
    assert split.versions == versions


def test_train_test_split(lh):
    tx = lh.create_feature_group("tx", key="cc_num", event_time="ts")
    n = 200
    rng = np.random.default_rng(1)
    tx.insert(pd.DataFrame({"cc_num": rng.integers(0, 20, n), "ts": [T(i) for i in range(n)],
                            "amount": rng.normal(size=n), "is_fraud": rng.integers(0, 2, n)}))
    fv = lh.create_feature_view("v", spine=tx, join=[], label="is_fraud")
    split = fv.train_test_split(test_size=0.25, seed=7)
    assert isinstance(split, TrainTestSplit)
    X_train, X_test, y_train, y_test = split
    assert (len(X_train), len(X_test)) == (150, 50)
    assert list(X_train.columns) == ["amount"] and y_train.name == "is_fraud"
    assert split.task == "classification"
    assert set(split.train_df["ts"]).isdisjoint(split.test_df["ts"])
    again = fv.train_test_split(test_size=0.25, seed=7)
    pd.testing.assert_frame_equal(again.test_df, split.test_df)
    other = fv.train_test_split(test_size=0.25, seed=8)
    assert not other.test_df["ts"].equals(split.test_df["ts"])
    by_time = fv.train_test_split(test_size=0.25, by_time=True)
    assert by_time.train_df["ts"].max() < by_time.test_df["ts"].min()
    assert len(by_time.test_df) == 50
    with pytest.raises(InvalidInput, match="test_size"):
        fv.train_test_split(test_size=1.5)


def test_schema_evolution_of_a_joined_group(lh, groups):
    tx, prof = groups
    prof.insert(pd.DataFrame({"cc_num": [3], "ts": [T(1)], "amount": [1.0], "age": [50],
                              "city": ["Oslo"]}), evolve=True)
    fv = lh.create_feature_view("evolved", spine=tx, join=[prof], label="is_fraud")
    df = fv.training_data()
    assert df["city"].tolist() == ["Oslo", None, None, None]


@pytest.fixture(params=["sqlite", "redis"])
def online_lh(request, home):
    toml = home / "lakebook.toml"
    # the team backend's settings stay; only the online store is chosen here
    kept = toml.read_text().split("[online]")[0] if toml.exists() else ""
    home.mkdir(parents=True, exist_ok=True)
    toml.write_text(kept + '[online]\nbackend = "sqlite"\n')
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        toml.write_text(kept + f'[online]\nbackend = "redis"\nredis_url = "{server.url}"\n')
        import redis
        redis.Redis.from_url(server.url).flushdb()
    lh = kernel_magics.connect(home)
    assert lh.online_store.backend == request.param
    return lh


def test_feature_vectors_from_the_online_store(online_lh):
    lh = online_lh
    tx = lh.create_feature_group("tx", key="cc_num", event_time="ts", online=True)
    tx.insert(pd.DataFrame({"cc_num": [1, 2], "ts": [T(10), T(10)], "amount": [1.0, 2.0],
                            "is_fraud": [0, 1]}))
    prof = lh.create_feature_group("profile", key="cc_num", event_time="ts", online=True)
    prof.insert(pd.DataFrame({"cc_num": [1, 1, 2], "ts": [T(0), T(15), T(0)],
                              "amount": [10.0, 11.0, 12.0], "age": [30, 31, 40]}))
    # an older row arriving later does not replace the newer one online
    prof.insert(pd.DataFrame({"cc_num": [1], "ts": [T(5)], "amount": [0.0], "age": [0]}))
    fv = lh.create_feature_view("fraud", spine=tx, join=[prof], label="is_fraud")
    assert fv.feature_vector({"cc_num": 1}) == {"amount": 1.0, "profile_amount": 11.0,
                                                "age": 31, "_found": True}
    assert fv.feature_vector({"cc_num": 404}) == {"amount": None, "profile_amount": None,
                                                  "age": None, "_found": False}
    df = fv.feature_vectors([{"cc_num": 2}, {"cc_num": np.int64(1)}, {"cc_num": 404}],
                            passed={"amount": 7.5})
    assert list(df.columns) == ["amount", "profile_amount", "age", "_found"]
    assert df["_found"].tolist() == [True, True, False]
    assert df["amount"].tolist() == [7.5, 7.5, 7.5]
    assert df["age"].tolist()[:2] == [40, 31]
    with pytest.raises(InvalidInput, match="lacks the key column"):
        fv.feature_vector({"card": 1})


def test_feature_vector_needs_online_groups(lh, groups):
    tx, prof = groups
    offline = lh.create_feature_group("offline", key="cc_num", event_time="ts")
    offline.insert(pd.DataFrame({"cc_num": [1], "ts": [T(0)], "score": [0.3]}))
    fv = lh.create_feature_view("v", spine=tx, join=[prof, offline], label="is_fraud")
    with pytest.raises(InvalidInput, match="'offline' .* is not online"):
        fv.feature_vector({"cc_num": 1})
    ttl_view = lh.create_feature_view("ttl", spine=tx, join=[Join(prof, ttl="1d")])
    # rows from 2024 are older than now - 1 day: expired online
    assert ttl_view.feature_vector({"cc_num": 1})["_found"] is False


def test_repr_html_and_to_dict(lh, groups):
    tx, prof = groups
    fv = lh.create_feature_view("fraud", spine=tx, join=[Join(prof, ttl=3600)],
                                label="is_fraud", description="<b>x</b>")
    html = fv._repr_html_()
    assert "Feature view fraud" in html and "profile v1 on cc_num" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    d = fv.to_dict()
    assert d["joins"][0]["features"] == ["profile_amount", "age"] and d["labels"] == ["is_fraud"]
    assert isinstance(lh.features.views.get("fraud"), FeatureView)
