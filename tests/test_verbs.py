"""The same verbs everywhere (issue 15, item 7): a thing is got with ``get(key)`` and listed
with ``list()`` on the collection of its kind, in every area (features, registry,
deployments, pipelines, monitoring, business, lineage, similarity). ``get`` gets (NotFound,
never creates), ``create`` creates (the object; AlreadyExists, writing nothing, when it
exists: ``get_or_create`` or ``replace=True`` where re-running is the point), ``delete(key)``
deletes what ``get(key)`` gets and answers None, and every list returns objects with
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
from kernel_magics.shared.errors import AlreadyExists, InvalidInput, NotFound


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
        "lh.monitoring.alerts": lh.monitoring.alerts,
        "lh.business": lh.business, "lh.business.kpis": lh.business.kpis,
        "lh.outcomes": lh.outcomes,
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
PLURAL_LISTS = {"feature_groups", "feature_views", "monitors", "models", "run_statuses",
                "pipelines", "alerts", "kpi_definitions"}

#: the collections that create and delete what they hold, and the verb that creates it:
#: ``create`` everywhere but the registry, where a version is registered (MLflow's
#: ``register_model``, Hopsworks' ``model.save``); the rest hold what runs make (runs,
#: results, alerts), what lineage records or what a group's embeddings build
CREATE = {"lh.features.groups": "create", "lh.features.views": "create",
          "lh.registry": "register", "lh.deployments": "create", "lh.pipelines": "create",
          "lh.pipelines.schedules": "create", "lh.monitoring": "create",
          "lh.business.kpis": "create"}
#: the other ways of spelling create and delete, which none may use
OTHER_CREATE = re.compile(r"(create|define|add|new|make|deploy|schedule|register)_\w+|"
                          r"define|add|new|make|deploy|schedule|undeploy|unschedule")
OTHER_DELETE = re.compile(r"(delete|remove|drop|destroy|forget)_\w+|remove|drop|destroy")
#: compound verbs that name what they act on, not a kind: the rows of a group, the alias of
#: a model (MLflow's ``set_registered_model_alias`` / ``delete_registered_model_alias``)
NOT_A_KIND = {"delete_rows", "delete_alias"}
#: the lakehouse's own conveniences: each the same call as a collection verb (the README
#: says which); ``lh.deploy`` and ``dep.kpi`` are ``create(..., replace=True)``
ALIASES = {"create_feature_group": "self.features.groups.create(",
           "create_feature_view": "self.features.views.create(",
           "create_monitor": "self.monitoring.create(",
           "deploy": "self.deployments.create("}


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


def test_every_area_spells_create_and_delete_one_way(lh):
    """``create`` and ``delete`` on the collection of a kind, never ``create_<kind>``,
    ``define_<kind>``, ``delete_<kind>``, ``deploy``, ``schedule`` or ``remove``; the
    lakehouse keeps only the aliases above, each one line onto its collection verb."""
    found = []
    for where, obj in collections(lh).items():
        methods = public_methods(obj)
        for name in methods - NOT_A_KIND - (set(ALIASES) if where == "lh" else set()):
            if OTHER_CREATE.fullmatch(name) and name != CREATE.get(where):
                found.append(f"{where}.{name} (say {where}.<kind>.create)")
            if OTHER_DELETE.fullmatch(name):
                found.append(f"{where}.{name} (say {where}.<kind>.delete)")
        if where in CREATE:
            assert {CREATE[where], "delete"} <= methods, f"{where} cannot create and delete"
            assert inspect.signature(getattr(obj, "delete")).return_annotation in (
                None, "None"), f"{where}.delete answers something"
    assert not found, "create/delete spelled another way:\n" + "\n".join(sorted(found))
    for alias, call in ALIASES.items():
        body = inspect.getsource(getattr(type(lh), alias))
        assert call in body, f"lh.{alias} is not {call}...)"
    from kernel_magics.deployments.deployment import Deployment
    assert "self.lh.business.kpis.create(" in inspect.getsource(Deployment.kpi)


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
    dep.kpi("value_caught", "sum(value) FILTER (WHERE y_pred AND y_true)")
    from kernel_magics.monitoring.alerts import raise_alert
    raise_alert(lh, "deployment scorer", "kpi:value_caught", "too low", {})
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
        "alerts": lh.monitoring.alerts.list(), "KPIs": lh.business.kpis.list("scorer"),
    }
    for what, items in lists.items():
        assert items, what
        for item in items:
            assert not type(item) is dict, what  # an object of the API, not a bare dict
            data = item.to_dict()
            assert isinstance(data, dict) and (data.get("name") or data.get("id")), what
            assert type(data) is dict, what  # a plain copy, for JSON
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
    alert = lh.monitoring.alerts.list()[0]
    assert lh.monitoring.alerts.get(alert.id).kind == "kpi:value_caught"
    assert lh.business.kpis.get("scorer", "value_caught").name == "value_caught"


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
        "alert": lambda: lh.monitoring.alerts.get(10**6),
        "KPI": lambda: lh.business.kpis.get("scorer", "none"),
    }
    for what, get in missing.items():
        with pytest.raises(NotFound) as info:
            get()
        assert "none" in str(info.value) or "10" in str(info.value), what
    with pytest.raises(InvalidInput, match="no embedding column 'nope'"):
        lh.similarity.get(full["shops"], "nope")
    assert lh.status()["counts"] == before  # nothing was created by a get


def test_create_creates_or_refuses_and_delete_deletes(lh, full):
    """In every area: ``create`` answers the object (with ``.to_dict()``); the same key
    again is AlreadyExists and writes nothing; ``delete(key)`` answers None and ``get(key)``
    is NotFound after it, as is a second delete."""
    shops, marked = full["shops"], full["marked"]
    made = {
        "feature group": (lambda: lh.features.groups.create("tmp_g", key="k", event_time="ts",
                                                            version=1),
                          lambda: lh.features.groups.get("tmp_g"),
                          lambda: lh.features.groups.delete("tmp_g")),
        "feature view": (lambda: lh.features.views.create("tmp_v", spine=shops, join=[]),
                         lambda: lh.features.views.get("tmp_v"),
                         lambda: lh.features.views.delete("tmp_v")),
        "deployment": (lambda: lh.deployments.create("tmp_d", model="fraud"),
                       lambda: lh.deployments.get("tmp_d").to_dict(),
                       lambda: lh.deployments.delete("tmp_d")),
        "pipeline": (lambda: lh.pipelines.create("tmp_p", steps=[f"{marked}::tx"]),
                     lambda: lh.pipelines.get("tmp_p"),
                     lambda: lh.pipelines.delete("tmp_p")),
        "schedule": (lambda: lh.pipelines.schedules.create(notebook=str(marked), step="tx",
                                                           cron="0 1 * * *", name="tmp_s"),
                     lambda: lh.pipelines.schedules.get("tmp_s"),
                     lambda: lh.pipelines.schedules.delete("tmp_s")),
        "monitor": (lambda: lh.monitoring.create("tmp_m", deployment="scorer", schedule=None),
                    lambda: lh.monitoring.get("tmp_m"),
                    lambda: lh.monitoring.delete("tmp_m")),
        "KPI": (lambda: lh.business.kpis.create("scorer", "tmp_k", "count(*)"),
                lambda: lh.business.kpis.get("scorer", "tmp_k"),
                lambda: lh.business.kpis.delete("scorer", "tmp_k")),
    }
    for what, (create, get, delete) in made.items():
        obj = create()
        assert type(obj) is not dict and type(obj.to_dict()) is dict, what  # an API object
        before = json.dumps(get().to_dict() if hasattr(get(), "to_dict") else get(),
                            default=str, sort_keys=True)
        with pytest.raises(AlreadyExists):
            create()
        after = get()
        assert json.dumps(after.to_dict() if hasattr(after, "to_dict") else after,
                          default=str, sort_keys=True) == before, what  # nothing written
        assert delete() is None, what
        with pytest.raises(NotFound):
            get()
        with pytest.raises(NotFound):
            delete()
    # the registry registers (a new version each time, as MLflow does) and deletes a version
    mv = lh.registry.get("fraud", version=1)
    again = lh.registry.register(mv.load(), "fraud")
    assert again.version == 2 and isinstance(again.to_dict(), dict)
    assert lh.registry.delete("fraud", 2) is None
    with pytest.raises(NotFound):
        lh.registry.get("fraud", version=2)
    # where re-running is the point: get_or_create, or create(replace=True) and its aliases
    assert lh.features.views.get_or_create("tx_view", **_spec_of(lh, "tx_view")).version == \
        lh.features.views.get("tx_view").version
    assert lh.deploy("scorer", model="fraud", alias="production").name == "scorer"
    assert lh.pipelines.schedules.create(notebook=str(marked), step="tx", cron="0 7 * * *",
                                         name="daily", replace=True).cron == "0 7 * * *"


def _spec_of(lh, view: str) -> dict:
    """The arguments that define ``view`` again (its spine, joins and label)."""
    fv = lh.features.views.get(view)
    spec = fv.spec
    groups = lh.features.groups
    return {"spine": groups.get(spec["spine"]["group"], spec["spine"]["version"]),
            "join": [groups.get(j["group"], j["version"]) for j in spec["joins"]],
            "label": spec.get("label") or spec.get("labels")}
