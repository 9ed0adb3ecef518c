"""``lakebook demo`` as a user runs it: a subprocess on a fresh folder, at a small size."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import kernel_magics
from conftest import lakebook_script

LAKEBOOK = [lakebook_script()]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LAKEBOOK_HOME", None)
    env["COLUMNS"] = "100"
    return env


def test_bad_size_is_refused_before_anything_is_created(tmp_path: Path):
    proc = subprocess.run([*LAKEBOOK, "demo", "--size", "10", "--home", str(tmp_path / "lh")],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "out of range" in proc.stderr
    assert not (tmp_path / "lh").exists()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_demo_runs_the_whole_system(demo_run):
    # as `make demo` runs it, by the README's own line (see conftest.demo_run): no --home, so
    # the lakehouse is ./.lakebook where it was started
    home, proc = demo_run.home, demo_run.proc
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for step in range(1, 12):
        assert f"{step}/11 ·" in out
    assert "make lab" in out and "jupyter lab" in out
    # no repository here: the notebooks were written next to the lakehouse
    assert sorted(p.name for p in (home / "notebooks").glob("*.ipynb")) == [
        "1_feature_pipeline.ipynb", "2_training_pipeline.ipynb",
        "3_inference_pipeline.ipynb", "4_monitoring.ipynb", "5_similarity.ipynb"]

    lh = kernel_magics.connect(home, create=False)
    assert {g.name for g in lh.features.groups.list()} == {"card_profiles", "card_transactions",
                                                     "fraud_labels"}
    runs = lh.pipelines.runs.list(limit=100)
    # 4 backfill windows, training, inference, 2 drift windows, batch, retrain, next week,
    # and the next week again: up to date, no kernel
    assert len(runs) == 12 and runs[0].status == "up_to_date"
    assert all(r.status == "succeeded" for r in runs[1:])
    assert "up to date, skipped" in out
    assert "With seed changed, card_transactions would run: the parameter seed changed:" in out
    # the lineage of the production model reaches the raw groups and the monitor
    assert "Its retrain was triggered by monitor fraud_drift's alert" in out
    prod = lh.registry.versions("fraud_model")[-1]
    kinds = {n.kind for n in lh.lineage(prod, downstream=False).upstream_of(
        "model_version", "fraud_model", prod.version)}
    assert {"feature_group", "feature_view", "training_set", "run", "step", "monitor",
            "alert"} <= kinds
    assert len(lh.registry.versions("fraud_model")) >= 2
    assert lh.deployments.get("fraud_online").stats()["requests"] >= 8
    monitor = lh.monitoring.get("fraud_drift")
    after, before = monitor.results()[:2]
    assert (before.status, after.status) == ("ok", "drift")
    alert, = monitor.alerts()
    assert alert["action"]["retrain"] == "queued"
    assert lh.pipelines.runs.get(alert["action"]["run_id"]).status == "succeeded"
    assert "production -> v" in out
    # business results: weekly KPIs of v1 and the retrained version (the LightGBM challenger
    # between them never scored), a 90/10 split, promotion by KPI
    assert "money saved" in out and "Promoted by net value" in out
    kpis = lh.deployments.get("fraud_batch").kpis(every="1w")
    assert {1, prod.version} <= set(kpis["version"]) and "money_saved" in set(kpis["kpi"])
    assert "split" not in lh.deployments.definition("fraud_online")["spec"]
    assert not lh.outcomes.read("fraud_online").empty
