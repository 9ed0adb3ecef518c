"""Wherever the API takes the name of a group, view, model, model version, deployment or
monitor, it also takes the object (one rule: ``kernel_magics.shared.refs.takes_objects``)."""
from __future__ import annotations

import pandas as pd
import pytest

from kernel_magics.shared.errors import InvalidInput
from kernel_magics.shared.refs import resolve

from deployments_fixtures import fraud_lakehouse


@pytest.fixture
def fraud(lh):
    return fraud_lakehouse(lh)


def test_deploy_takes_the_view_and_model_objects(lh, fraud):
    fg, fv, model, df = fraud
    mv = lh.registry.get("fraud")
    d = lh.deploy("d", model=mv, view=fv)
    assert (d.target.model, d.target.version) == ("fraud", mv.version)
    assert (d.target.view, d.target.view_version) == (fv.name, fv.version)
    assert d.target.alias is None  # a ModelVersion pins its version...
    follows = lh.deploy("follows", model=mv, alias="production", view=fv)
    assert follows.target.alias == "production"  # ...unless an alias is asked for
    assert lh.deployments.get(d) is d and lh.deployments.exists(d)
    assert d.predict({"cc_num": 3})["found"] is True


def test_groups_views_models_and_monitors_take_objects(lh, fraud):
    fg, fv, model, df = fraud
    assert lh.features.groups.get(fg).name == "tx" and lh.features.views.get(fv) == fv
    mv = lh.registry.get("fraud")
    reg = lh.registry
    assert reg.get(mv).version == mv.version and reg.get("fraud", version=mv).version == 1
    assert [v.version for v in reg.versions(mv)] == [1]
    assert reg.set_alias(mv, "champion").version == 1 and reg.aliases(mv)["champion"] == 1
    assert reg.set_alias("fraud", "staging", mv).version == 1
    with pytest.raises(Exception, match="No version of model 'fraud' has metric"):
        reg.best(mv, "roc_auc")  # the object named the model: its versions have no metrics
    assert reg.alias_history(mv)[-1]["alias"] == "staging"
    d = lh.deploy("d", model="fraud")
    for k in range(3):
        d.predict({"cc_num": k})
    d.flush()
    monitor = lh.create_monitor("m", deployment=d, reference="training", current="last 1000d",
                         schedule=None)
    assert monitor.to_dict()["spec"]["deployment"] == "d"
    assert lh.monitoring.get(monitor).name == "m"
    lh.monitoring.delete(monitor)
    reg.delete_alias(mv, "staging")
    lh.deployments.delete(d)
    assert not lh.deployments.exists("d")


def test_a_wrong_object_is_refused_naming_what_was_expected(lh, fraud):
    fg, fv, model, df = fraud
    with pytest.raises(InvalidInput, match="Expected a feature view or its name, not "
                                           "FeatureGroup"):
        lh.deploy("d", model="fraud", view=fg)
    with pytest.raises(InvalidInput, match="Expected a model or its name, not DataFrame"):
        lh.registry.get(pd.DataFrame())
    assert resolve(3, "model version") == (3, None)
    assert lh.deployments.list() == []
