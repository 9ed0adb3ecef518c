"""README "Business results", run as written against the lakehouse it describes."""
from __future__ import annotations

import pandas as pd
from sklearn.linear_model import LogisticRegression

import kernel_magics
from readme import code_blocks
from test_readme_examples import transactions


def test_business_results_section_runs(tmp_path):
    [block] = code_blocks("Business results", "python")
    lh = kernel_magics.connect(tmp_path / "lakehouse")
    df, outcomes = transactions()
    fg = lh.create_feature_group("transactions", key=["cc_num"], event_time="ts", online=True)
    fg.insert(df)
    labels = lh.create_feature_group("outcomes", key=["cc_num"], event_time="ts")
    labels.insert(outcomes)
    fv = lh.create_feature_view("fraud_view", spine=labels, join=[fg], label="is_fraud")
    X_train, _, y_train, _ = fv.train_test_split(test_size=0.2)
    for alias, C in (("production", 1.0), ("challenger", 0.1)):
        mv = lh.registry.register(LogisticRegression(C=C, max_iter=500).fit(X_train, y_train),
                                  "fraud", view=fv)
        lh.registry.set_alias("fraud", alias, mv)
    known = pd.DataFrame({"cc_num": [42, 7], "at": pd.Timestamp.now(tz="UTC"),
                          "outcome": [1, 0], "value": [120.0, 15.0]})
    namespace = {"lh": lh, "fv": fv, "known": known}
    exec(compile(block, "README.md (Business results)", "exec"), namespace)
    dep = namespace["dep"]
    assert lh.registry.get("fraud", alias="production").version == 2
    spec = lh.deployments.definition("fraud_online")["spec"]
    assert "split" not in spec and spec["shadow"] == "v1"
    assert spec["outcomes"]["outcome"] == "is_fraud"
    assert [k.name for k in lh.business.kpis.list(dep.name)] == ["money_saved", "review_cost"]
    assert namespace["chart"].spec["$schema"].endswith("v5.json")
    lh.deployments.close()
