"""The same verbs everywhere (issue 15, item 7): a thing is got with ``get(key)`` and listed
with ``list()`` on the collection of its kind, in every area (features, registry,
deployments, pipelines, monitoring, business, lineage, similarity). ``get`` gets (NotFound,
never creates), ``create_*``/``create`` creates, and every list returns objects with
``.to_dict()`` for JSON."""
from __future__ import annotations

import inspect
import json
import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from deployments_fixtures import fraud_lakehouse
from kernel_magics.shared.errors import InvalidInput, NotFound


def collections(lh) -> dict[str, object]:
    """Every area's API object and each collection it holds, by how a user reaches it."""
    return {
        "lh": lh,
        "lh.features": lh.features, "lh.features.groups": lh.features.groups,
        "lh.features.views": lh.features.views,
        "lh.registry": lh.registry, "lh.deployments": lh.deployments,
        "lh.pipelines": lh.pipelines, "lh.pipelines.steps": lh.pipelines.steps,
        "lh.pipelines.runs": lh.pipelines.runs, "lh.pipelines.schedules": lh.pipelines.schedules,
        "lh.monitoring": lh.monitoring, "lh.monitoring.results": lh.monitoring.results,
        "lh.business": lh.business, "lh.outcomes": lh.outcomes,
        "lh.lineage": lh.lineage, "lh.lineage.environments": lh.lineage.environments,
        "lh.similarity": lh.similarity,
    }


#: where the areas hold no single kind to get (they create, record or compute)
NO_GETTER = {"lh", "lh.features", "lh.business", "lh.outcomes", "lh.lineage"}
#: the getters of before, spelled as the thing they got (``lh.feature_group(name)``,
#: ``lh.monitoring.result(...)``, ``lh.similarity.index(...)``): none may come back
NOUN_GETTERS = {"feature_group", "feature_view", "deployment", "monitor", "model", "step",
                "result", "environment", "embedding", "index", "outcome", "pipeline",
                "alert", "kpi"}
#: lists spelled as the plural of a kind that has its collection (``lh.feature_groups()``)
PLURAL_LISTS = {"feature_groups", "feature_views", "monitors", "models", "run_statuses"}


def public_methods(obj: object) -> set[str]:
    return {name for name, member in inspect.getmembers(type(obj))
            if not name.startswith("_") and inspect.isfunction(member)}


def test_every_area_spells_its_getter_get(lh):
    """No ``get_<kind>`` and no getter named as its thing, in any area or collection; each
    collection of a kind gets with ``get`` (``get_or_create`` is the one compound verb)."""
    found = []
    for where, obj in collections(lh).items():
        for name in public_methods(obj):
            if re.fullmatch(r"get_(?!or_create$)\w+", name):
                found.append(f"{where}.{name} (say {where}.<kind>.get)")
            if name in NOUN_GETTERS | PLURAL_LISTS:
                found.append(f"{where}.{name} (say its collection's get / list)")
        if where not in NO_GETTER:
            assert "get" in public_methods(obj), f"{where} has no get"
    assert not found, "getters spelled another way:\n" + "\n".join(sorted(found))


def test_every_area_is_checked(lh):
    """A new area (``kernel_magics/<area>/api.py``) joins the check above."""
    from pathlib import Path
    import kernel_magics
    areas = {p.parent.name for p in Path(kernel_magics.__file__).parent.glob("*/api.py")}
    reached = {type(obj).__module__.split(".")[1] for obj in collections(lh).values()}
    assert areas <= reached, areas - reached
    assert {"lineage", "business", "similarity"} <= areas


@pytest.fixture
def full(lh, tmp_path):
    """One of everything: a group with an embedding column, the fraud view and model, a
    deployment with an outcome, a monitor that ran, a pipeline, a schedule and a run."""
    fraud_lakehouse(lh)
    dep = lh.deploy("scorer", model="fraud", alias="production")
    answer = dep.predict_body({"inputs": [{"amount": 10.0, "velocity": 1.0}]})
    dep.log_outcome(answer.request_id, 1, value=2.0)
    ts = pd.Timestamp("2024-01-01", tz="UTC")
    shops = lh.create_feature_group("shops", key="sid", event_time="ts", online=True,
                                    embeddings={"vec": {"dim": 2, "metric": "l2"}})
    shops.insert(pd.DataFrame({"sid": [1, 2, 3], "ts": ts,
                               "vec": list(np.eye(3, 2, dtype="float32"))}))
    tx = lh.features.groups.get("tx")
    first = tx.read()["ts"].min()
    lh.create_monitor("tx_drift", feature_group="tx", schedule=None,
                      reference=f"{first.isoformat()}/{(first + pd.Timedelta(days=2)).isoformat()}",
                      current=f"{(first + pd.Timedelta(days=2)).isoformat()}/"
                              f"{(first + pd.Timedelta(days=30)).isoformat()}")
    lh.monitoring.run("tx_drift")
    notebook = tmp_path / "nb.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, notebook)
    marked = tmp_path / "steps.ipynb"
    nb.cells = [nbformat.v4.new_code_cell("%%feature tx --key cc_num --event-time ts\ndf = None")]
    nbformat.write(nb, marked)
    lh.pipelines.create("nightly", steps=[f"{marked}::tx"])
    lh.pipelines.schedules.create(notebook=str(marked), step="tx", cron="0 6 * * *", name="daily")
    run = lh.pipelines.run(str(notebook))
    return {"run": run, "marked": marked, "shops": shops}


def test_every_list_returns_objects_with_to_dict(lh, full):
    lists = {
        "feature groups": lh.features.groups.list(), "feature views": lh.features.views.list(),
        "models": lh.registry.list(), "model versions": lh.registry.versions("fraud"),
        "deployments": lh.deployments.list(), "pipelines": lh.pipelines.list(),
        "schedules": lh.pipelines.schedules.list(), "monitors": lh.monitoring.list(),
        "steps": lh.pipelines.steps.list(full["marked"]), "runs": lh.pipelines.runs.list(),
        "monitor results": lh.monitoring.results.list("tx_drift"),
    }
    for what, items in lists.items():
        assert items, what
        for item in items:
            assert not type(item) is dict, what  # an object of the API, not a bare dict
            data = item.to_dict()
            assert isinstance(data, dict) and (data.get("name") or data.get("id")), what
            json.dumps(data, default=str)
    assert lh.deployments.list()[0].name == "scorer"
    assert lh.registry.list()[0].latest_version == 1
    assert lh.pipelines.get("nightly").stages[0]["steps"] == ["tx"]


def test_get_gets_what_list_lists(lh, full):
    """Every collection's ``get`` finds what its ``list`` holds, by the same key."""
    run = full["run"]
    assert lh.pipelines.runs.get(run.id).id == run.id
    assert lh.pipelines.schedules.get("daily").cron == "0 6 * * *"
    assert lh.pipelines.steps.get("tx", full["marked"]).kind == "feature"
    result = lh.monitoring.results.list("tx_drift")[0]
    assert lh.monitoring.results.get("tx_drift", result.id).id == result.id
    assert lh.features.groups.get("shops").embeddings["vec"].dim == 2
    assert lh.features.views.get("tx_view").name == "tx_view"
    assert lh.deployments.get("scorer").name == "scorer"
    assert lh.monitoring.get("tx_drift").name == "tx_drift"
    env = lh.lineage.environments.get("model_version", "fraud", 1)
    assert env["python"] and env["packages"]
    index = lh.similarity.get(full["shops"], "vec")
    assert index.status()["dim"] == 2
    assert len(lh.outcomes.read("scorer")) == 1      # business: the outcome logged above


def test_get_never_creates(lh, full):
    before = lh.status()["counts"]
    missing = {
        "monitor": lambda: lh.monitoring.get("none"),
        "deployment": lambda: lh.deployments.get("none"),
        "feature group": lambda: lh.features.groups.get("none"),
        "feature view": lambda: lh.features.views.get("none"),
        "model": lambda: lh.registry.get("none"),
        "pipeline": lambda: lh.pipelines.get("none"),
        "run": lambda: lh.pipelines.runs.get("none"),
        "schedule": lambda: lh.pipelines.schedules.get("none"),
        "step": lambda: lh.pipelines.steps.get("none", full["marked"]),
        "monitor result": lambda: lh.monitoring.results.get("tx_drift", 10**6),
        "environment": lambda: lh.lineage.environments.get("run", "none", "feature:x"),
        "outcomes": lambda: lh.outcomes.read("none"),
    }
    for what, get in missing.items():
        with pytest.raises(NotFound) as info:
            get()
        assert "none" in str(info.value) or "10" in str(info.value), what
    with pytest.raises(InvalidInput, match="no embedding column 'nope'"):
        lh.similarity.get(full["shops"], "nope")
    assert lh.status()["counts"] == before  # nothing was created by a get
