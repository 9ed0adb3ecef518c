"""Incremental runs through real papermill kernels: fingerprints, up-to-date steps skipped
without a kernel, --force, why, resume after a failure, downstream across notebooks, a cycle
refused; and the same through the installed ``lakebook`` script."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from conftest import lakebook_script
from kernel_magics.shared.errors import InvalidInput
from pipelines_fixtures import code, write_notebook

pytestmark = pytest.mark.timeout(300)

FEATURE = ("%%feature tx --key k --event-time ts\n"
           "pd.DataFrame({'k': range(n), 'ts': pd.Timestamp('2024-01-01', tz='UTC'), "
           "'v': range(n)})")


def _feature_notebook(path: Path, body: str = FEATURE) -> Path:
    return write_notebook(path, [
        code("%load_ext kernel_magics"),
        code("n = 5", tags=["parameters"]),
        code("import pandas as pd"),
        code(body),
    ])


def _agg_notebook(path: Path) -> Path:
    return write_notebook(path, [
        code("%load_ext kernel_magics"),
        code("import kernel_magics as kb, pandas as pd\nlh = kb.connect()"),
        code("%%feature tx_agg --key k --event-time ts --mode upsert\n"
             "d = lh.features.groups.get('tx').read()\n"
             "d.groupby('k', as_index=False).agg(ts=('ts', 'max'), v=('v', 'sum'))"),
    ])


def test_an_unchanged_step_is_up_to_date_and_starts_no_kernel(lh, tmp_path: Path) -> None:
    nb = _feature_notebook(tmp_path / "feat.ipynb")
    first = lh.pipelines.run(f"{nb}::tx")
    assert first.status == "succeeded", first.error
    second = lh.pipelines.run(f"{nb}::tx")
    assert second.status == "up_to_date"
    assert second.output_path is None and not (lh.runs_dir / second.id).exists()
    assert second.steps_status["feature:tx"]["status"] == "up_to_date"
    assert len(lh.features.groups.get("tx").read()) == 5  # nothing was inserted again
    forced = lh.pipelines.run(f"{nb}::tx", force=True)
    assert forced.status == "succeeded" and len(lh.features.groups.get("tx").read()) == 10
    answer = lh.pipelines.why(f"{nb}::tx")
    assert answer.up_to_date and answer.reasons == []


def test_why_names_the_parameter_the_code_and_the_package(lh, tmp_path: Path,
                                                           monkeypatch) -> None:
    nb = _feature_notebook(tmp_path / "feat.ipynb")
    assert lh.pipelines.run(f"{nb}::tx").status == "succeeded"
    answer = lh.pipelines.why(f"{nb}::tx", params={"n": 7})
    assert not answer.up_to_date
    assert answer.reasons == ["the parameter n changed: (not set) -> 7"]
    _feature_notebook(nb, FEATURE.replace("'v': range(n)", "'v': [x * 2 for x in range(n)]"))
    answer = lh.pipelines.why(f"{nb}::tx")
    assert answer.reasons[0] == "the code changed (2 lines)"
    assert "-pd.DataFrame({'k': range(n)" in answer.diff and "+pd.DataFrame" in answer.diff
    assert answer.diff.startswith("--- last successful run\n+++ now\n")
    # this process's packages are not the kernel's: a change here is no reason
    from kernel_magics.lineage import environment
    real = environment.installed()
    monkeypatch.setattr(environment, "installed", lambda: {**real, "pandas": "9.9.9"})
    _feature_notebook(nb)
    assert lh.pipelines.why(f"{nb}::tx").up_to_date


def _probe_distribution(site: Path, version: str) -> None:
    """A real distribution ``lbprobe`` installed on ``site`` only (one version at a time)."""
    import shutil
    for old in site.glob("lbprobe-*.dist-info"):
        shutil.rmtree(old)
    (site / "lbprobe").mkdir(parents=True, exist_ok=True)
    (site / "lbprobe" / "__init__.py").write_text(f"__version__ = {version!r}\n")
    info = site / f"lbprobe-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: lbprobe\nVersion: {version}\n")
    (info / "top_level.txt").write_text("lbprobe\n")
    (info / "RECORD").write_text("lbprobe/__init__.py,,\n")


def test_the_packages_compared_are_the_kernels_not_the_deciding_process(
        lh, tmp_path: Path, monkeypatch) -> None:
    """A kernel whose interpreter sees a distribution this process does not have (its
    kernelspec adds a folder to PYTHONPATH): the run records the kernel's versions, the
    decision reads them where the kernel runs (no kernel started), and a version installed
    there later is the reason the step re-runs."""
    import json
    import sys
    site = tmp_path / "kernel-site"
    _probe_distribution(site, "1.0")
    spec_dir = tmp_path / "jupyter" / "kernels" / "probe"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "probe", "language": "python", "env": {"PYTHONPATH": str(site)}}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    import importlib.util
    assert importlib.util.find_spec("lbprobe") is None  # not importable here
    nb = write_notebook(tmp_path / "probe.ipynb", [
        code("%load_ext kernel_magics"), code("import pandas as pd, lbprobe"),
        code(FEATURE.replace("range(n)", "range(3)"))], kernel="probe")
    first = lh.pipelines.run(f"{nb}::tx")
    assert first.status == "succeeded", first.error
    env = lh.lineage.environments.get("run", first.id, "feature:tx")
    assert env["imported"]["lbprobe"] == "1.0" and env["packages"]["lbprobe"] == "1.0"
    assert lh.pipelines.run(f"{nb}::tx").status == "up_to_date"
    _probe_distribution(site, "1.1")  # upgraded where the kernel runs
    answer = lh.pipelines.why(f"{nb}::tx")
    assert answer.reasons == ["lbprobe 1.0 -> 1.1"]
    again = lh.pipelines.run(f"{nb}::tx")
    assert again.status == "succeeded", again.error
    assert lh.lineage.environments.get("run", again.id, "feature:tx")["imported"]["lbprobe"] == "1.1"
    assert lh.pipelines.why(f"{nb}::tx").up_to_date


def test_cells_after_the_last_step_are_fingerprinted_in_whole_notebook_runs(
        lh, home: Path, tmp_path: Path) -> None:
    nb = tmp_path / "tail.ipynb"
    cells = [code("%load_ext kernel_magics"), code("import pandas as pd"), code(FEATURE.replace(
        "range(n)", "range(3)")), code("import kernel_magics as kb\n"
                                       "rows = len(kb.connect().features.groups.get('tx').read())"),
             code("summary = {'rows': rows}")]
    write_notebook(nb, cells)
    first = lh.pipelines.run(nb)
    assert first.status == "succeeded", first.error
    assert first.steps_status["cells:tail"]["status"] == "succeeded"
    assert lh.lineage.environments.get("run", first.id, "cells:tail")["imported"]["pandas"]
    again = lh.pipelines.run(nb)
    assert again.status == "up_to_date"
    assert lh.pipelines.why(f"{nb}::cells:tail").up_to_date
    # a change after the last step: the whole-notebook run is no longer up to date
    cells[4] = code("summary = {'rows': rows, 'ok': rows == 3}")
    write_notebook(nb, cells)
    answer = lh.pipelines.why(f"{nb}::cells:tail")
    assert answer.reasons == ["the code changed (2 lines)"]
    assert "+summary = {'rows': rows, 'ok': rows == 3}" in answer.diff
    assert lh.pipelines.why(f"{nb}::tx").up_to_date  # the step itself did not change
    said = subprocess.run([lakebook_script(), "why", "tail.ipynb::cells:tail"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=240,
                          env={**os.environ, "LAKEBOOK_HOME": str(home)})
    assert said.returncode == 0 and "the code changed (2 lines)" in said.stdout, said.stderr
    third = lh.pipelines.run(nb)
    assert third.status == "succeeded", third.error
    assert third.steps_status["feature:tx"]["status"] == "up_to_date"
    assert third.steps_status["cells:tail"]["status"] == "succeeded"
    assert len(lh.features.groups.get("tx").read()) == 3  # the step was not run again
    out = nbformat.read(third.output_path, as_version=4)
    assert any("'ok': rows == 3" in c.source for c in out.cells)
    assert lh.pipelines.run(nb).status == "up_to_date"
    # a run of the step alone never runs the tail, and is up to date
    assert lh.pipelines.run(f"{nb}::tx").status == "up_to_date"
    with pytest.raises(Exception, match="no code after its last step"):
        lh.pipelines.why(f"{_feature_notebook(tmp_path / 'plain.ipynb')}::cells:tail")


def test_an_input_that_moved_reruns_the_step_and_says_by_how_much(lh, tmp_path: Path) -> None:
    feat = _feature_notebook(tmp_path / "feat.ipynb")
    agg = _agg_notebook(tmp_path / "agg.ipynb")
    assert lh.pipelines.run(f"{feat}::tx").status == "succeeded"
    assert lh.pipelines.run(f"{agg}::tx_agg").status == "succeeded"
    assert lh.pipelines.run(f"{agg}::tx_agg").status == "up_to_date"
    assert lh.pipelines.run(f"{feat}::tx", params={"n": 9}).status == "succeeded"
    answer = lh.pipelines.why(f"{agg}::tx_agg")
    assert answer.reasons == ["an input moved: tx v0 -> v1, 9 rows added"]
    stale = lh.pipelines.stale()
    assert [(s["kind"], s["name"]) for s in stale] == [("step", "agg.ipynb::feature:tx_agg")]
    assert lh.pipelines.downstream(f"{feat}::tx") == [
        {"notebook": str(feat), "step": "feature:tx"},
        {"notebook": str(agg), "step": "feature:tx_agg"}]
    run = lh.pipelines.run_downstream(f"{feat}::tx", params={"n": 9})
    assert run.status == "succeeded", run.error
    assert run.steps_status["feature:tx"]["status"] == "up_to_date"
    assert run.steps_status["feature:tx_agg"]["status"] == "succeeded"
    assert lh.pipelines.stale() == []


def test_resume_skips_the_steps_that_succeeded(lh, tmp_path: Path) -> None:
    nb = tmp_path / "two.ipynb"
    cells = [code("%load_ext kernel_magics"), code("import pandas as pd"),
             code("%%feature a --key k --event-time ts\n"
                  "pd.DataFrame({'k': [1], 'ts': pd.Timestamp('2024-01-01', tz='UTC')})"),
             code("%%feature b --key k --event-time ts\nraise ValueError('b is broken')")]
    write_notebook(nb, cells)
    failed = lh.pipelines.run(nb)
    assert failed.status == "failed" and failed.steps_status["feature:a"]["status"] == "succeeded"
    cells[3] = code("%%feature b --key k --event-time ts\n"
                    "pd.DataFrame({'k': [2], 'ts': pd.Timestamp('2024-01-01', tz='UTC')})")
    write_notebook(nb, cells)
    resumed = lh.pipelines.resume_run(failed.id)
    assert resumed.status == "succeeded", resumed.error
    assert resumed.resume_of == failed.id
    assert resumed.steps_status["feature:a"]["status"] == "up_to_date"
    # the CLI's --resume finds the last failed run of a target itself
    with pytest.raises(Exception, match="No failed run"):
        lh.pipelines.resume_run(what=f"{nb}::a")
    assert len(lh.features.groups.get("a").read()) == 1 and len(lh.features.groups.get("b").read()) == 1


def test_a_cycle_downstream_is_refused_naming_it(lh, tmp_path: Path) -> None:
    for name in ("left", "right"):
        lh.create_feature_group(name, key=["k"], event_time="ts").insert(
            pd.DataFrame({"k": [0], "ts": pd.Timestamp("2024-01-01", tz="UTC")}))

    def notebook(name: str, reads: str) -> Path:
        return write_notebook(tmp_path / f"{name}.ipynb", [
            code("%load_ext kernel_magics"),
            code("import kernel_magics as kb\nlh = kb.connect()"),
            code(f"%%feature {name} --key k --event-time ts\nlh.features.groups.get('{reads}').read()")])

    left, right = notebook("left", "right"), notebook("right", "left")
    assert lh.pipelines.run(f"{left}::left").status == "succeeded"
    assert lh.pipelines.run(f"{right}::right").status == "succeeded"
    with pytest.raises(InvalidInput, match="form a cycle: left.ipynb::feature:left -> "
                                           "right.ipynb::feature:right -> left.ipynb::feature:left"):
        lh.pipelines.downstream(f"{left}::left")


def test_a_schedule_can_run_up_to_date_steps(lh, tmp_path: Path) -> None:
    nb = _feature_notebook(tmp_path / "feat.ipynb")
    s = lh.pipelines.schedules.create(notebook=str(nb), step="tx", cron="0 * * * *",
                                      skip_up_to_date=False)
    assert s.skip_up_to_date is False
    assert lh.pipelines.schedules.get(s.name).skip_up_to_date is False


def test_the_cli_runs_skips_forces_and_explains(lh, home: Path, tmp_path: Path) -> None:
    nb = _feature_notebook(tmp_path / "feat.ipynb")
    env = {**os.environ, "LAKEBOOK_HOME": str(home)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([lakebook_script(), *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=240)

    first = cli("run", "feat.ipynb", "--step", "tx")
    assert first.returncode == 0 and "succeeded" in first.stdout, first.stdout + first.stderr
    again = cli("run", "feat.ipynb::tx")
    assert again.returncode == 0 and "up_to_date" in again.stdout
    assert "every step up to date, skipped (no kernel started)" in again.stdout
    why = cli("why", "feat.ipynb::tx", "-p", "n", "3")
    assert "the parameter n changed: (not set) -> 3" in why.stdout, why.stdout + why.stderr
    forced = cli("run", "feat.ipynb::tx", "--force")
    assert "succeeded" in forced.stdout
    lineage = cli("lineage", "tx", "--json")
    assert '"feature_group:tx@1"' in lineage.stdout, lineage.stderr
    down = cli("run", "--downstream", "feat.ipynb::tx")
    assert down.returncode == 0 and "up to date, skipped" in down.stdout, down.stdout + down.stderr
