"""The runs widget and the CLI subcommands (no kernels: runs are queued, cancelled or failed
by the scheduler's own paths)."""
from __future__ import annotations

from pathlib import Path

from kernel_magics.doors.cli import main
from pipelines_fixtures import code, fti_notebook, write_notebook


def test_runs_widget_shows_status_colours_and_links(lh, tmp_path: Path, monkeypatch) -> None:
    from kernel_magics.pipelines.records import finish
    from kernel_magics.render.colours import RUN_STATUS as COLOURS
    from kernel_magics.doors.widgets.runs import runs_view
    nb = write_notebook(tmp_path / "a.ipynb", [code("x = 1")])
    cancelled = lh.pipelines.submit(nb)
    lh.pipelines.cancel(cancelled.id)
    failed = lh.pipelines.submit(nb)
    out = (lh.runs_dir / failed.id / "output.ipynb").local_path
    out.parent.mkdir(parents=True)
    out.write_text("{}")
    finish(lh.catalog, failed.id, "failed", {"cell_index": 0, "ename": "KeyError", "evalue": "'k'"},
           str(out), from_status="queued")
    monkeypatch.chdir(lh.home)
    view = runs_view(lh)
    html = view.children[1].value
    assert COLOURS["cancelled"] in html and COLOURS["failed"] in html
    assert f"lab/tree/runs/{failed.id}/output.ipynb" in html and "KeyError" in html
    view.refresh()


def test_cli_steps_runs_schedules(lh, home: Path, tmp_path: Path, capsys) -> None:
    nb = fti_notebook(tmp_path / "fraud.ipynb")
    assert main(["--home", str(home), "steps", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "transactions" in out and "fraud_online" in out and "0 * * * *" in out
    lh.pipelines.schedules.create(notebook=nb, step="transactions", cron="0 * * * *", name="tx-hourly")
    assert main(["--home", str(home), "schedules"]) == 0
    assert "tx-hourly" in capsys.readouterr().out
    assert main(["--home", str(home), "runs", "--status", "queued"]) == 0
    # bad input: one line on stderr, exit 1, nothing queued
    assert main(["--home", str(home), "run", str(nb), "--step", "nope"]) == 1
    assert "No step 'nope'" in capsys.readouterr().err
    assert main(["--home", str(home), "runs", "--status", "weird"]) == 1
    assert lh.catalog.scalar("SELECT COUNT(*) FROM runs") == 0


def test_cli_backfill_runs_past_windows_in_order(lh, home: Path, tmp_path: Path, capsys) -> None:
    ledger = tmp_path / "ledger.txt"
    nb = write_notebook(tmp_path / "bf.ipynb", [
        code("%load_ext kernel_magics"),
        code("scale = 1", tags=["parameters"]),
        code("import pandas as pd\n"
             f"open({str(ledger)!r}, 'a').write(f'{{window_start}} {{window_end}} {{scale}}\\n')\n"
             "df = pd.DataFrame({'id': [1], 'v': [scale], 'ts': [pd.Timestamp(window_start)]})"),
        code("%%feature daily --key id --event-time ts --mode upsert\ndf"),
    ])
    code_ = main(["--home", str(home), "backfill", "daily", "--notebook", str(nb),
                  "--start", "2024-05-01", "--end", "2024-05-03", "--every", "1d", "-p", "scale", "3"])
    assert code_ == 0, capsys.readouterr()
    assert ledger.read_text().splitlines() == [
        "2024-05-01T00:00:00+00:00 2024-05-02T00:00:00+00:00 3",
        "2024-05-02T00:00:00+00:00 2024-05-03T00:00:00+00:00 3"]
    runs = lh.pipelines.runs.list()
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    assert main(["--home", str(home), "backfill", "daily", "--notebook", str(nb),
                 "--start", "2024-05-01", "--end", "2024-05-03", "--every", "soon"]) == 1
