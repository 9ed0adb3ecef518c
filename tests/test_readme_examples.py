"""The README's examples, run as written: every Python block of "The same from Python" against
a small lakehouse, and the magic examples of "F-T-I in one notebook" in a real kernel.

The code comes from README.md (``readme.code_blocks``); the tests only provide what the README
says the reader has (``df``, ``outcomes``; a ``load_new_transactions`` and the run's window for
the notebook), so an example that stops working, or a changed example, fails here.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable

import kernel_magics
from readme import REPO_ROOT, code_blocks

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def transactions(n: int = 600, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Card transactions and their outcomes (label events an hour later)."""
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 72 * 60, n),
                                                                "min")
    df = pd.DataFrame({"cc_num": rng.integers(1, 80, n), "ts": ts,
                       "amount": np.round(rng.gamma(2.0, 40.0, n), 2) + 0.01,
                       "velocity": rng.normal(size=n)})
    outcomes = pd.DataFrame({"cc_num": df.cc_num, "ts": df.ts + pd.Timedelta("1h"),
                             "is_fraud": ((df.amount > 120) & (df.velocity > 0)).astype(int)})
    return df, outcomes


def test_the_same_from_python(tmp_path, monkeypatch):
    blocks = code_blocks("The same from Python", "python")
    assert blocks, "README lost its Python example"
    monkeypatch.setenv("LAKEBOOK_HOME", str(tmp_path / "lakehouse"))
    monkeypatch.setenv("LAKEBOOK_SCHEDULER", "0")
    monkeypatch.chdir(REPO_ROOT)  # "from the repository's folder": notebooks/ is there
    df, outcomes = transactions()
    namespace = {"df": df, "outcomes": outcomes}
    for block in blocks:
        exec(compile(block, "README.md (The same from Python)", "exec"), namespace)
    lh = kernel_magics.connect(tmp_path / "lakehouse", create=False)
    assert lh.features.groups.get("transactions").checks == ["amount > 0"]
    assert lh.registry.aliases("fraud") == {"production": 1}
    dep = lh.deployments.get("fraud_online")
    assert (dep.target.view, dep.target.version) == ("fraud_view", 1)
    [run] = lh.pipelines.runs.list()
    assert run.status == "succeeded", run.error
    assert {g.name for g in lh.features.groups.list()} >= {"card_transactions", "card_profiles"}
    [schedule] = [s for s in lh.pipelines.schedules.list() if s.cron == "0 * * * *"]
    assert schedule.timezone == "Europe/Amsterdam" and schedule.catchup == "latest"
    assert lh.monitoring.get("fraud_drift").to_dict()["spec"]["on_drift"] == "retrain"
    lh.deployments.close()


# what the reader's notebook has before the README's cells: the run's window and a source
PRELUDE = '''
import numpy as np, pandas as pd
window_start, window_end = "2024-03-01T00:00:00Z", "2024-03-04T00:00:00Z"

def load_new_transactions(start, end, n=600, seed=3):
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, 72 * 60, n), "min")
    return pd.DataFrame({"cc_num": rng.integers(1, 80, n), "ts": ts,
                         "amount": np.round(rng.gamma(2.0, 40.0, n), 2) + 0.01,
                         "velocity": rng.normal(size=n)})
'''
# between the feature and the training cell: the labels and the view the training cell names
VIEW = '''
import kernel_magics
lh = kernel_magics.connect()
tx = lh.features.groups.get("transactions").read()
labels = lh.create_feature_group("fraud_labels", key="cc_num", event_time="ts")
labels.insert(pd.DataFrame({"cc_num": tx.cc_num, "ts": tx.ts + pd.Timedelta("1h"),
                            "is_fraud": ((tx.amount > 120) & (tx.velocity > 0)).astype(int)}))
lh.create_feature_view("fraud_view", spine=labels, join=[lh.features.groups.get("transactions")],
                       label="is_fraud")
'''


def test_fti_magics_in_a_real_kernel(tmp_path, monkeypatch):
    import papermill
    blocks = code_blocks("F-T-I in one notebook", "python")
    kinds = [b.lstrip().split()[0] for b in blocks]
    assert kinds == ["%load_ext", "%%feature", "%%training", "%%inference"], kinds
    cells = [PRELUDE, blocks[0], blocks[1], VIEW, blocks[2], blocks[3]]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(c.strip()) for c in cells]
    path = tmp_path / "fti.ipynb"
    nbformat.write(nb, path)
    home = tmp_path / "lakehouse"
    monkeypatch.setenv("LAKEBOOK_HOME", str(home))  # the kernel inherits them
    monkeypatch.setenv("LAKEBOOK_SCHEDULER", "0")
    papermill.execute_notebook(str(path), str(tmp_path / "out.ipynb"), kernel_name="python3",
                               cwd=str(tmp_path), progress_bar=False)
    lh = kernel_magics.connect(home, create=False)
    fg = lh.features.groups.get("transactions")
    assert fg.checks == ["amount > 0"] and fg.online and len(fg.read()) == 600
    mv = lh.registry.get("fraud", alias="production")  # --promote-if-better moved the alias
    assert mv.version == 1 and "roc_auc" in mv.metrics
    table = DeltaTable(str(home / "tables" / "predictions_fraud_batch")).to_pandas()
    assert len(table) > 0 and set(table["model"]) == {"fraud"}


def test_readme_paths_exist():
    assert (Path(REPO_ROOT) / "notebooks" / "1_feature_pipeline.ipynb").is_file()


def test_vector_features_and_similarity_search(tmp_path, monkeypatch):
    blocks = code_blocks("Vector features and similarity search", "python")
    assert blocks, "README lost its similarity example"
    monkeypatch.setenv("LAKEBOOK_HOME", str(tmp_path / "lakehouse"))
    rng = np.random.default_rng(5)
    n = 400
    centres = rng.normal(size=(8, 64))
    vectors = (centres[rng.integers(0, 8, n)] + 0.3 * rng.normal(size=(n, 64))).astype("float32")
    when = pd.Timestamp("2024-03-01", tz="UTC")
    merchants = pd.DataFrame({"merchant_id": np.arange(n), "updated_at": when,
                              "category": rng.choice(["grocery", "travel", "fuel"], n),
                              "desc_vec": list(vectors)})
    merchant_labels = pd.DataFrame({"merchant_id": np.arange(n), "ts": when + pd.Timedelta("1d"),
                                    "is_fraud": rng.integers(0, 2, n)})
    namespace = {"merchants": merchants, "merchant_labels": merchant_labels}
    for block in blocks:
        exec(compile(block, "README.md (Vector features and similarity search)", "exec"),
             namespace)
    lh = kernel_magics.connect(tmp_path / "lakehouse", create=False)
    fg = lh.features.groups.get("merchants")
    assert fg.embeddings["desc_vec"].dim == 64
    assert 7 not in set(fg.read()["merchant_id"])
    assert 7 not in set(fg.find_neighbors(merchants["desc_vec"][7], k=20)["merchant_id"])
    # opened here: the saved index plus the deletes replayed from the Delta log
    assert fg.index_status()[0]["indexed"] == 399 - (merchants["category"] == "closed").sum()
    assert fg.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
