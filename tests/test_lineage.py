"""Lineage recorded by the core API (plain calls, no magic), the graph ``lh.lineage`` answers,
staleness after a commit, and the environment of model versions."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from kernel_magics.shared.errors import InvalidInput, NotFound


def _world(lh, n: int = 120):
    rng = np.random.default_rng(0)
    ts = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC")
    tx = pd.DataFrame({"cc_num": rng.integers(0, 10, n), "ts": ts, "amount": rng.random(n)})
    labels = pd.DataFrame({"cc_num": tx.cc_num, "ts": ts + pd.Timedelta("30min"),
                           "is_fraud": rng.integers(0, 2, n)})
    fg = lh.create_feature_group("transactions", key=["cc_num"], event_time="ts", online=True)
    fg.insert(tx)
    out = lh.create_feature_group("outcomes", key=["cc_num"], event_time="ts")
    out.insert(labels)
    fv = lh.create_feature_view("fraud_view", spine=out, join=[fg], label="is_fraud")
    split = fv.train_test_split(test_size=0.25)
    model = LogisticRegression().fit(split[0], split[2])
    mv = lh.registry.register(model, "fraud", metrics={"roc_auc": 0.9}, view=fv,
                              training_versions=split[0].attrs.get("lakebook_versions"))
    lh.registry.set_alias("fraud", "production", mv)
    dep = lh.deploy("fraud_online", model="fraud", alias="production", view=fv)
    dep.predict({"cc_num": 3})
    return fg, fv, mv, dep, tx


def test_plain_api_calls_are_recorded_and_form_the_graph(lh) -> None:
    fg, fv, mv, dep, _ = _world(lh)
    graph = lh.lineage(mv)
    data = graph.to_dict()
    json.dumps(data)  # ready for JSON
    ids = {n["id"] for n in data["nodes"]}
    assert {"feature_group:transactions@1", "feature_group:outcomes@1", "feature_view:fraud_view@1",
            "model_version:fraud@1", "model_alias:fraud@production",
            "deployment:fraud_online"} <= ids
    assert any(n["kind"] == "training_set" for n in data["nodes"])
    node = next(n for n in data["nodes"] if n["id"] == "model_version:fraud@1")
    assert node["who"] and node["created_at"] and node["status"] == "aliased"
    upstream = {(n.kind, n.name) for n in graph.upstream_of("deployment", "fraud_online")}
    assert {("model_version", "fraud"), ("feature_view", "fraud_view"),
            ("feature_group", "transactions"), ("feature_group", "outcomes")} <= upstream
    # the training set pins the Delta versions read
    ts = next(n for n in data["nodes"] if n["kind"] == "training_set")
    assert ts["detail"]["pins"] == {"outcomes_v1": 0, "transactions_v1": 0}
    # the deployment records which model version it answered with (once, not per request)
    served = [e for e in data["edges"] if e["target"] == "deployment:fraud_online"
              and e["relation"] == "serving"]
    assert [e["source"] for e in served] == ["model_version:fraud@1"]
    before = len(lh.lineage.events())
    for i in range(20):
        dep.predict({"cc_num": i % 10})
    assert len(lh.lineage.events()) == before  # predictions are not events one by one


def test_reads_are_recorded_once_with_their_delta_version(lh) -> None:
    fg, *_ = _world(lh)
    fg.read()
    fg.read()
    reads = [e for e in lh.lineage.events(kind="feature_group", name="transactions")
             if e["op"] == "read" and e["detail"].get("delta_version") == 0]
    assert len(reads) == 1  # the same caller reading the same version: one event


def test_a_commit_makes_models_and_deployments_stale(lh) -> None:
    fg, fv, mv, dep, tx = _world(lh)
    assert lh.pipelines.stale() == []
    fg.insert(tx.assign(ts=tx.ts + pd.Timedelta("400d")))
    stale = {(s["kind"], s["name"]): s["reason"] for s in lh.pipelines.stale()}
    assert ("model_version", "fraud") in stale and ("deployment", "fraud_online") in stale
    assert "transactions v1 at Delta version 0; it is at 1 now" in stale[("model_version", "fraud")]
    node = next(n for n in lh.lineage().to_dict()["nodes"] if n["id"] == "model_version:fraud@1")
    assert node["stale"]


def test_lineage_of_names_tuples_and_depth(lh) -> None:
    _world(lh)
    assert lh.lineage("fraud_online").find("deployment", "fraud_online")
    g1 = lh.lineage(("model_version", "fraud", 1), depth=1)
    assert len(g1) < len(lh.lineage(("model_version", "fraud", 1)))
    only_up = lh.lineage("model_version:fraud@1", downstream=False)
    assert not only_up.find("deployment")
    with pytest.raises(NotFound, match="nothing is recorded|Nothing is recorded"):
        lh.lineage("no_such_thing")
    with pytest.raises(InvalidInput):
        lh.lineage(mv_like := 3.5)  # noqa: F841
    with pytest.raises(InvalidInput):
        lh.lineage("fraud_online", depth=-1)


def test_model_version_environment_and_requirements(lh, tmp_path) -> None:
    *_, mv, _dep, _tx = _world(lh)
    env = mv.environment
    assert env["python"] and env["platform"]
    assert "scikit-learn" in env["packages"] and "scikit-learn" in env["imported"]
    path = tmp_path / "requirements.txt"
    text = mv.requirements(path)
    assert path.read_text() == text
    import sklearn
    assert f"scikit-learn=={sklearn.__version__}\n" in text


def test_a_different_serving_environment_warns_once_naming_the_package(lh, monkeypatch) -> None:
    *_, mv, _dep, _tx = _world(lh)
    from kernel_magics.lineage import environment
    from kernel_magics.registry import versions
    real = environment.installed()
    monkeypatch.setattr(environment, "installed", lambda: {**real, "scikit-learn": "0.0.1"})
    class OnlyThisHome(set):
        """Deployments' model watchers left by earlier tests run in other threads of this
        process (catch_warnings records theirs too): count as warned every other home."""

        def __contains__(self, key: object) -> bool:
            return key[0] != str(lh.home) or super().__contains__(key)

    monkeypatch.setattr(versions, "_warned", OnlyThisHome())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lh.registry.get("fraud", alias="production")
        lh.registry.get("fraud", version=1)
    texts = [str(w.message) for w in caught if "trained with other package versions" in str(w.message)]
    assert len(texts) == 1 and "scikit-learn" in texts[0] and "0.0.1" in texts[0]
    assert lh.registry.get("fraud").environment_mismatch()["scikit-learn"][1] == "0.0.1"


def test_the_deployment_list_shows_an_environment_mismatch(lh, monkeypatch) -> None:
    _world(lh)
    assert lh.deployments.list()[0]["environment_mismatch"] == {}
    from kernel_magics.lineage import environment
    real = environment.installed()
    monkeypatch.setattr(environment, "installed", lambda: {**real, "numpy": "1.0.0"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = lh.deployments.list()[0]
    assert row["environment_mismatch"] == {"numpy": [real["numpy"], "1.0.0"]}


def test_a_declared_input_never_read_is_a_warning(ipython_shell, home) -> None:
    import kernel_magics
    lh = kernel_magics.connect(home)
    lh.create_feature_group("raw", key=["k"], event_time="ts").insert(
        pd.DataFrame({"k": [1], "ts": pd.Timestamp("2024-01-01", tz="UTC")}))
    ipython_shell.user_ns["pd"] = pd
    with pytest.warns(UserWarning, match="declares that it reads 'other'"):
        ipython_shell.run_cell_magic(
            "feature", "agg --key k --event-time ts --reads raw,other",
            "import kernel_magics as kb\nkb.connect().features.groups.get('raw').read()")
    step_reads = [e for e in lh.lineage.events(kind="feature_group", name="raw")
                  if e["op"] == "read"]
    assert step_reads and step_reads[-1]["step"] == "feature:agg"


def test_outcomes_are_nodes_made_from_the_deployment_and_the_model_version_answering(lh) -> None:
    fg, fv, mv, dep, tx = _world(lh)
    now = pd.Timestamp.now(tz="UTC")
    # keyed outcomes of today: the deployment answered with fraud v1 then
    lh.outcomes.insert(pd.DataFrame({"cc_num": [3, 4], "at": [now, now], "outcome": [1, 0]}),
                       deployment="fraud_online")
    graph = lh.lineage(dep)
    data = graph.to_dict()
    node = next(n for n in data["nodes"] if n["id"] == "outcome:fraud_online")
    assert node["kind"] == "outcome" and node["who"] and node["created_at"]
    into = {(e["source"], e["relation"]) for e in data["edges"]
            if e["target"] == "outcome:fraud_online"}
    assert ("deployment:fraud_online", "made_from") in into
    assert ("model_version:fraud@1", "made_from") in into
    upstream = {(n.kind, n.name, n.version) for n in graph.upstream_of("outcome", "fraud_online")}
    assert ("model_version", "fraud", "1") in upstream
    assert ("feature_group", "transactions", "1") in upstream
    # the model version's lineage reaches its outcomes downstream
    down = {(n.kind, n.name) for n in lh.lineage(mv).downstream_of("model_version", "fraud", "1")}
    assert ("outcome", "fraud_online") in down
    # outcomes of a time before the deployment served anything name no model version
    lh.create_feature_group("other", key=["cc_num"], event_time="ts")
    lh.deploy("late", model="fraud", alias="production", view=fv)
    lh.deployments.get("late").predict({"cc_num": 3})
    lh.outcomes.insert(pd.DataFrame({"cc_num": [3], "at": [pd.Timestamp("2001-01-01", tz="UTC")],
                                     "outcome": [1]}), deployment="late")
    sources = {e["source"] for e in lh.lineage(("outcome", "late")).to_dict()["edges"]
               if e["target"] == "outcome:late"}
    assert "deployment:late" in sources
    assert not any(s.startswith("model_version:") for s in sources)
    # a bad batch writes nothing, in the lineage neither
    before = len(lh.lineage.events(kind="outcome"))
    with pytest.raises(InvalidInput):
        lh.outcomes.insert(pd.DataFrame({"cc_num": [3]}), deployment="fraud_online")
    assert len(lh.lineage.events(kind="outcome")) == before


def test_a_feature_group_of_outcomes_feeds_the_deployments_outcome_node(lh) -> None:
    fg, fv, mv, dep, tx = _world(lh)
    lh.deploy("fraud_online", model="fraud", alias="production", view=fv, outcomes="outcomes")
    edges = {(e["source"], e["target"]) for e in lh.lineage(dep).to_dict()["edges"]}
    assert ("feature_group:outcomes@1", "outcome:fraud_online") in edges
    assert ("deployment:fraud_online", "outcome:fraud_online") in edges
