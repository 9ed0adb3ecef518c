"""Step discovery (nbformat, no kernel), dependencies, slicing and pipelines."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from kernel_magics.shared.errors import InvalidInput, NotFound
from kernel_magics.pipelines.slicing import slice_notebook
from kernel_magics.pipelines.steps import notebook_steps, topological
from pipelines_fixtures import code, fti_notebook, write_notebook


def test_discovery_finds_each_step_with_parsed_arguments(lh, tmp_path: Path) -> None:
    nb = fti_notebook(tmp_path / "work" / "fraud.ipynb")
    write_notebook(tmp_path / "work" / "sub" / "plain.ipynb", [code("x = 1")])
    (tmp_path / "work" / ".ipynb_checkpoints").mkdir()
    fti_notebook(tmp_path / "work" / ".ipynb_checkpoints" / "fraud-checkpoint.ipynb")

    steps = lh.pipelines.steps.list(tmp_path / "work")
    assert [(s.kind, s.name, s.index) for s in steps] == [
        ("inference", "fraud_online", 3), ("feature", "transactions", 4), ("training", "fraud", 6)]
    cells = nbformat.read(nb, as_version=4).cells
    feature = steps[1]
    assert feature.notebook == str(nb.resolve())
    assert feature.cell_id == cells[4].id
    # parsed by the magic's own parser: defaults and types included
    assert feature.args["key"] == ["cc_num"] and feature.args["event_time"] == "ts"
    assert feature.args["online"] is True and feature.args["mode"] == "append"
    assert feature.schedule == "0 * * * *" and feature.args["tz"] == "Europe/Amsterdam"
    assert steps[2].args["view"] == "fraud_view" and steps[2].args["test_size"] == 0.2
    assert steps[0].args["model"] == "fraud"
    # one notebook alone works too
    assert [s.name for s in lh.pipelines.steps.list(nb)] == ["fraud_online", "transactions", "fraud"]


def test_dependencies_order_feature_training_inference(tmp_path: Path) -> None:
    steps = notebook_steps(fti_notebook(tmp_path / "fraud.ipynb"))
    ordered = topological(steps)
    assert [s.kind for s in ordered] == ["feature", "training", "inference"]


def test_bad_notebooks_and_arguments_are_clear_errors(lh, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    with pytest.raises(InvalidInput, match="broken.ipynb cannot be read"):
        lh.pipelines.steps.list(broken)
    bad_args = write_notebook(tmp_path / "args.ipynb", [code("%%feature fg --key k\ndf")])
    with pytest.raises(InvalidInput, match=r"Cell 0 of args.ipynb .*--event-time"):
        lh.pipelines.steps.list(bad_args)
    with pytest.raises(NotFound):
        lh.pipelines.steps.list(tmp_path / "missing")
    # a folder skips notebooks it cannot read instead of failing as a whole
    fti_notebook(tmp_path / "ok.ipynb")
    assert len(lh.pipelines.steps.list(tmp_path)) == 3


def test_slice_keeps_plain_cells_before_the_step_and_drops_other_steps(tmp_path: Path) -> None:
    path = fti_notebook(tmp_path / "fraud.ipynb")
    nb = nbformat.read(path, as_version=4)
    steps = notebook_steps(path, nb)
    training = [s for s in steps if s.kind == "training"]
    sliced = slice_notebook(nb, training)
    sources = [c.source for c in sliced.cells]
    assert not any(s.startswith("%%feature") or s.startswith("%%inference") for s in sources)
    assert sources[-1].startswith("%%training")
    assert "view = 'fraud_view'" in sources and "%load_ext kernel_magics" in sources
    assert [c.metadata["lakebook"]["source_index"] for c in sliced.cells] == [0, 1, 2, 5, 6]
    assert "parameters" in sliced.cells[2].metadata["tags"]
    # the user's notebook object is untouched
    assert len(nb.cells) == 7
    # a step notebook without %load_ext gets it injected first
    bare = write_notebook(tmp_path / "bare.ipynb", [code("%%feature g --key k --event-time t\ndf")])
    bare_nb = nbformat.read(bare, as_version=4)
    first = slice_notebook(bare_nb, notebook_steps(bare, bare_nb)).cells[0]
    assert first.source == "%load_ext kernel_magics" and first.metadata["lakebook"]["injected"]


def test_pipeline_create_orders_steps_across_notebooks(lh, tmp_path: Path) -> None:
    feat = write_notebook(tmp_path / "features.ipynb", [
        code("%load_ext kernel_magics"),
        code("%%feature transactions --key cc_num --event-time ts\ndf")])
    train = write_notebook(tmp_path / "train.ipynb", [
        code("%%inference scorer --model fraud"),
        code("%%training fraud --view fraud_view\nmodel = 1")])
    with lh.catalog.transaction() as conn:  # a view over the group, as the feature store records it
        conn.execute("INSERT INTO feature_views(name, version, spec, created_at) VALUES"
                     " ('fraud_view', 1, ?, 'now')",
                     ('{"spine": {"group": "labels"}, "joins": [{"group": "transactions"}]}',))
    p = lh.pipelines.create("fraud", steps=[f"{train}::scorer", f"{train}::fraud",
                                            f"{feat}::transactions"])
    assert [s["name"] for s in p["steps"]] == ["transactions", "fraud", "scorer"]
    # the inference cell comes before the training cell in train.ipynb: two kernels, in order
    assert [(Path(st["notebook"]).name, st["steps"]) for st in p["stages"]] == [
        ("features.ipynb", ["transactions"]), ("train.ipynb", ["fraud"]),
        ("train.ipynb", ["scorer"])]
    assert [x["name"] for x in lh.pipelines.list()] == ["fraud"]
    with pytest.raises(NotFound, match="No step 'nope' in train.ipynb"):
        lh.pipelines.create("bad", steps=[f"{train}::nope"])
    assert lh.catalog.scalar("SELECT COUNT(*) FROM pipelines") == 1
