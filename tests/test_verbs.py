"""The same verbs everywhere (issue 15, item 7): ``get`` gets (never creates), ``create_*``
creates, and every list returns objects with ``.to_dict()`` for JSON."""
from __future__ import annotations

import json

import pytest

from deployments_fixtures import fraud_lakehouse
from kernel_magics.shared.errors import NotFound


def test_every_list_returns_objects_with_to_dict(lh, tmp_path):
    fraud_lakehouse(lh)
    lh.deploy("scorer", model="fraud", alias="production")
    lh.create_monitor("drift", deployment="scorer", schedule="@daily")
    notebook = tmp_path / "nb.ipynb"
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%%feature tx --key cc_num --event-time ts\ndf = None")]
    nbformat.write(nb, notebook)
    lh.pipelines.create("nightly", steps=[f"{notebook}::tx"])
    lists = {
        "feature groups": lh.feature_groups(), "feature views": lh.feature_views(),
        "models": lh.registry.models(), "model versions": lh.registry.versions("fraud"),
        "deployments": lh.deployments.list(), "pipelines": lh.pipelines.list(),
        "schedules": lh.pipelines.schedules(), "monitors": lh.monitors(),
    }
    for what, items in lists.items():
        assert items, what
        for item in items:
            assert not type(item) is dict, what  # an object of the API, not a bare dict
            data = item.to_dict()
            assert isinstance(data, dict) and data.get("name"), what
            json.dumps(data, default=str)
    assert lh.deployments.list()[0].name == "scorer"
    assert lh.registry.models()[0].latest_version == 1
    assert lh.pipelines.get("nightly").stages[0]["steps"] == ["tx"]


def test_get_never_creates(lh):
    for get in (lambda: lh.monitor("none"), lambda: lh.deployment("none"),
                lambda: lh.feature_group("none"), lambda: lh.feature_view("none"),
                lambda: lh.registry.get("none"), lambda: lh.pipelines.get("none")):
        with pytest.raises(NotFound):
            get()
    assert lh.status()["counts"] == {k: 0 for k in lh.status()["counts"]}
