"""``%%inference`` in a real IPython shell, and the deployments REST API in a real Jupyter
server."""
from __future__ import annotations

import pandas as pd
import pytest
from deltalake import DeltaTable
from IPython.core.error import UsageError

import kernel_magics

from deployments_fixtures import fraud_lakehouse


@pytest.fixture
def fraud_home(home):
    lh = kernel_magics.connect(home)
    fg, fv, model, df = fraud_lakehouse(lh)
    return lh, model, df


def _predictions(lh, name="predictions_scoring"):
    return DeltaTable(str(lh.tables_dir / name)).to_pandas()


def test_inference_window_from_arguments_and_newest(ipython_shell, fraud_home):
    lh, model, df = fraud_home
    shell = ipython_shell
    result = shell.run_cell_magic(
        "inference", "scoring --model fraud --start 2024-01-03 --end 2024-01-04", "# score\n")
    assert result.rows == 24 and result.version == 1
    assert "rows scored" in result._repr_html_()
    assert isinstance(shell.user_ns["predictions"], pd.DataFrame)
    assert len(shell.user_ns["batch_df"]) == 24
    # no window: the newest data, i.e. everything after what was scored already
    second = shell.run_cell_magic("inference", "scoring --model fraud", "# score\n")
    newest = df[df.ts >= "2024-01-04"]
    assert second.rows == len(newest)
    third = shell.run_cell_magic("inference", "scoring --model fraud", "# score\n")
    assert third.rows == 0
    table = _predictions(lh)
    assert len(table) == 24 + len(newest)
    assert lh.deployments.get("scoring").target.kind == "batch"


def test_scheduled_window_and_pre_post_processing(ipython_shell, fraud_home):
    lh, model, df = fraud_home
    shell = ipython_shell
    shell.user_ns["window_start"] = "2024-01-02T00:00:00+00:00"
    shell.user_ns["window_end"] = "2024-01-02T12:00:00+00:00"
    shell.user_ns["lakebook_run_id"] = "run-42"
    code = ("batch_df = batch_df[batch_df.amount > 20]\n"
            "predictions = predict(batch_df)\n"
            "predictions['alert'] = predictions['proba_1'] > 0.5\n")
    result = shell.run_cell_magic("inference", "scoring --model fraud --output scored", code)
    window = df[(df.ts >= "2024-01-02") & (df.ts < "2024-01-02 12:00") & (df.amount > 20)]
    assert result.rows == len(window) and result.output == "scored"
    table = _predictions(lh, "scored")
    assert "alert" in table.columns and (table["run_id"] == "run-42").all()
    assert sorted(table["prediction"]) == sorted(
        model.predict(window[["amount", "velocity"]]).tolist())
    # the cell dropped rows: the view cannot rebuild them, so the inputs are in the table
    assert not (lh.tables_dir / "inference_log_scoring").exists()
    meta = DeltaTable(str(lh.tables_dir / "scored")).history()[0]["lakebook.batch"]
    assert meta["features"] == "inline" and meta["versions"] is None
    assert meta["inputs"] == {"amount": "amount", "velocity": "velocity"}
    assert sorted(table["amount"]) == sorted(window["amount"])


def test_inference_errors_are_usage_errors(ipython_shell, fraud_home):
    shell = ipython_shell
    with pytest.raises(UsageError, match="no alias 'gold'"):
        shell.run_cell_magic("inference", "scoring --model fraud --alias gold", "# score\n")
    with pytest.raises(UsageError, match="batch_df is a int"):
        shell.run_cell_magic("inference", "scoring --model fraud", "batch_df = 3")


def test_rest_list_get_predict(jupyter_server, home):
    lh = kernel_magics.connect(home)
    fg, fv, model, df = fraud_lakehouse(lh)
    lh.deploy("fraud", model="fraud")
    r = jupyter_server.post("deployments/fraud/predict",
                            json={"entries": [{"cc_num": 4}, {"cc_num": 5555}],
                                  "features": [{"amount": 300.0}, {}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == {"name": "fraud", "version": 1}
    assert body["predictions"][0]["found"] is True
    assert body["predictions"][1] == {"cc_num": 5555, "prediction": None, "found": False}
    r = jupyter_server.post("deployments/fraud/predict", data=b"{nope")
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = jupyter_server.post("deployments/ghost/predict", json={"entries": [{"cc_num": 1}]})
    assert r.status_code == 404 and "ghost" in r.json()["error"]
    detail = jupyter_server.get("deployments/fraud").json()
    assert detail["serving"]["version"] == 1 and detail["view"] == "tx_view"
    listed = jupyter_server.get("deployments").json()["deployments"]
    assert listed[0]["endpoint"] == "/lakebook/api/deployments/fraud/predict"
    # without Jupyter's token: refused
    import requests
    r = requests.post(jupyter_server.api("deployments/fraud/predict"),
                      json={"entries": [{"cc_num": 4}]}, timeout=30)
    assert r.status_code in (401, 403)
