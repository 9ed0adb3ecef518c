"""Every command of the README's "Command line" block, through the installed ``lakebook``
script: ``--help`` for each (and every option the README shows is in it), then the real
command on a small lakehouse. ``serve`` answers ``/health`` and one prediction, ``scheduler``
starts and stops cleanly on SIGTERM; ``demo`` is run by ``test_demo.py`` from its README line.

The commands are read from README.md (``readme.cli_commands``): a command added there without
a way to run it here fails ``test_every_readme_command_is_run``.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
import requests

import kernel_magics
from conftest import free_port, lakebook_script
from deployments_fixtures import fraud_lakehouse
from readme import Command, cli_commands

pytestmark = pytest.mark.timeout(600)

COMMANDS = {c.key: c for c in cli_commands()}
#: commands run by another test (the whole demo takes minutes: test_demo.py runs it)
ELSEWHERE = {"demo": "test_demo.py::test_demo_runs_the_whole_system",
             "recover": "security/test_catalog_loss.py (lakebook recover on lost, empty and "
                        "damaged catalogs, and on the demo's lakehouse)",
             "migrate": "test_team.py::test_lakebook_migrate_copies_a_laptop_lakehouse_into_a_"
                        "team_one (into PostgreSQL and moto's S3 server)"}


class Small:
    """A small lakehouse: a notebook with a feature step, a deployment with a view, a monitor
    over it, a schedule; and the placeholder values of each README command."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "lakehouse"
        self.notebooks = root / "notebooks"
        self.notebooks.mkdir()
        self.notebook = self.notebooks / "fti.ipynb"
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                     "display_name": "Python 3"}
        nb.cells = [
            nbformat.v4.new_code_cell("%load_ext kernel_magics"),
            nbformat.v4.new_code_cell("factor = 1\nwindow_start = '2024-01-01T00:00:00Z'\n"
                                      "window_end = '2030-01-01T00:00:00Z'",
                                      metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell(
                "%%feature clicks --key user --event-time ts --check \"clicks > 0\"\n"
                "import pandas as pd\n"
                "df = pd.DataFrame({'user': [1, 2, 3], 'clicks': [5 * factor, 7, 11],\n"
                "    'ts': pd.to_datetime(['2024-05-01 01:00', '2024-05-02 01:00',\n"
                "                          '2024-05-02 02:00'], utc=True)})\n"
                "df[(df.ts >= pd.Timestamp(window_start)) & (df.ts < pd.Timestamp(window_end))]"),
        ]
        nbformat.write(nb, self.notebook)
        lh = kernel_magics.connect(self.home)
        fg, fv, self.model, self.df = fraud_lakehouse(lh)
        deployment = lh.deploy("fraud_online", model="fraud", view=fv)
        for k in range(40):
            deployment.predict({"cc_num": k % 50})
        lh.deployments.close()
        lh.create_monitor("fraud_drift", deployment="fraud_online", reference="training",
                   current="last 1d", schedule=None)
        lh.pipelines.schedules.create(notebook=str(self.notebook), step="clicks",
                                      cron="0 6 * * *", tz="Europe/Amsterdam")
        self.token = secrets.token_hex(8)
        self.port = free_port()

    def values(self, key: str) -> dict[str, list[str]]:
        """What each placeholder of command ``key`` stands for here."""
        return {
            "status": {"PATH": [str(self.home)]},
            "steps": {"PATH": [str(self.notebooks)]},
            "run": {"NOTEBOOK": [str(self.notebook)], "NAME": ["clicks"], "KEY": ["factor"],
                    "VALUE": ["2"], "T": ["2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"]},
            "backfill": {"STEP": ["clicks"], "NB": [str(self.notebook)],
                         "T": ["2024-05-01T00:00:00Z", "2024-05-03T00:00:00Z"]},
            "serve": {"NAME": ["fraud_online"], "T": [self.token]},
            "monitor run": {"NAME": ["fraud_drift"]},
            "why": {"STEP": [f"{self.notebook}::clicks"], "KEY": ["factor"], "VALUE": ["3"]},
            "lineage": {"OBJECT": ["clicks"], "N": ["2"]},
            "export-model": {"MODEL": ["fraud"], "N": ["1"],
                             "DIR": [str(self.root / "fraud_mlflow")]},
            "recover": {"PATH": [str(self.home)]},
        }.get(key, {})

    def run(self, argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([lakebook_script(), *argv], cwd=self.root, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)

    def env(self) -> dict[str, str]:
        return {**os.environ, "LAKEBOOK_HOME": str(self.home), "COLUMNS": "200"}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Small:
    return Small(tmp_path_factory.mktemp("readme"))


@pytest.mark.parametrize("key", sorted(COMMANDS))
def test_help_of_every_readme_command(key):
    command = COMMANDS[key]
    argv = key.split() + ([] if key == "--version" else ["--help"])
    out = subprocess.run([lakebook_script(), *argv], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    if key == "--version":
        assert out.stdout.strip() == f"lakebook {kernel_magics.__version__}"
        return
    assert out.stdout.startswith(f"usage: lakebook {key}")
    for option in command.options:  # the README shows no option the command lacks
        assert option in out.stdout, f"README shows `{option}` for `lakebook {key}`"


# what the real command prints, to know it did its work (not only that it exited 0)
EXPECT = {
    "--version": [f"lakebook {kernel_magics.__version__}"],
    "status": ["catalog version", "deployments", "monitors"],
    "steps": ["clicks", "fti.ipynb", "feature"],
    "run": ["succeeded"],
    "backfill": ["succeeded"],
    "runs": ["succeeded"],
    "schedules": ["fti.ipynb", "0 6 * * *", "Europe/Amsterdam"],
    "monitor list": ["fraud_drift", "fraud_online"],
    "monitor run": ["monitor fraud_drift:"],
    "monitor alerts": ["Alerts"],
    "why": ["clicks would run because:", "the parameter factor changed: (not set) -> 3"],
    "stale": ["Stale"],
    "lineage": ['"nodes"', '"feature_group:clicks@1"'],
}


def _run_plain(small: Small, command: Command) -> None:
    out = small.run(command.argv(small.values(command.key)))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    for words in EXPECT[command.key]:
        assert words in out.stdout, (command.key, words, out.stdout[-2000:])
    if command.key == "run":  # -p factor 2 reached the notebook, the window its step
        lh = kernel_magics.connect(small.home, create=False)
        clicks = lh.features.groups.get("clicks").read()
        assert clicks["clicks"].tolist() == [10]  # only the row inside the window, doubled
    if command.key == "backfill":
        assert out.stdout.count("succeeded") == 2  # two daily windows, in order


def _run_serve(small: Small, command: Command) -> None:
    argv = command.argv(small.values(command.key))
    argv[argv.index("--port") + 1] = str(small.port)  # the README's 8080 may be taken here
    log = small.root / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([lakebook_script(), *argv], cwd=small.root, env=small.env(),
                                stdout=sink, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{small.port}"
            deadline = time.time() + 90
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    health = requests.get(url + "/health", timeout=2)
                    break
                except requests.ConnectionError:
                    assert time.time() < deadline, log.read_text()
                    time.sleep(0.3)
            assert health.json()["deployments"] == ["fraud_online"]
            headers = {"Authorization": f"Bearer {small.token}"}
            answer = requests.post(url + "/deployments/fraud_online/predict", headers=headers,
                                   json={"entries": [{"cc_num": 7}]}, timeout=30)
            assert answer.status_code == 200, answer.text
            [row] = answer.json()["predictions"]
            x = small.df.sort_values("ts").groupby("cc_num").tail(1).set_index("cc_num")
            assert row["prediction"] == small.model.predict(x.loc[[7], ["amount",
                                                                       "velocity"]])[0]
            assert requests.post(url + "/invocations", json={"instances": [[7]]},
                                 timeout=30).status_code == 401  # the token is required
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    stopped = log.read_text()  # each inference log says what it wrote at the stop
    assert "closed:" in stopped and "Lakebook server stopped." in stopped, stopped
    assert " 0 spilled, 0 in dead letters" in stopped, stopped


def _run_scheduler(small: Small, command: Command) -> None:
    argv = command.argv(small.values(command.key))
    proc = subprocess.Popen([lakebook_script(), *argv], cwd=small.root, env=small.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()  # it says what it runs on, then works in the foreground
        assert "SIGTERM or Ctrl-C stops it" in first and str(small.home) in first, first
        time.sleep(1.0)
        assert proc.poll() is None, proc.stdout.read()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _run_recover(small: Small, command: Command) -> None:
    """Rebuild the catalog (``--force``: the readable one is moved aside): the groups, views,
    models and deployments come back the same."""
    def inventory() -> dict:
        lh = kernel_magics.connect(small.home, create=False)
        out = {"groups": sorted((g.name, g.version) for g in lh.features.groups.list()),
               "views": sorted((v.name, v.version) for v in lh.features.views.list()),
               "models": sorted(m["name"] for m in lh.registry.list()),
               "deployments": sorted(d["name"] for d in lh.deployments.list())}
        lh.catalog.close()
        return out
    before = inventory()
    out = small.run(command.argv(small.values(command.key)))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert inventory() == before
    assert list(small.home.glob("catalog.db.*")), "the old catalog was kept aside"


def _run_export_model(small: Small, command: Command) -> None:
    """The directory is an MLflow model: MLflow's own loader predicts what the model does."""
    out = small.run(command.argv(small.values(command.key)))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    import mlflow.pyfunc
    loaded = mlflow.pyfunc.load_model(str(small.root / "fraud_mlflow"))
    X = small.df[["amount", "velocity"]]
    assert (loaded.predict(X) == small.model.predict(X)).all()


RUNNERS = {"serve": _run_serve, "export-model": _run_export_model, "scheduler": _run_scheduler, "recover": _run_recover}
# an order that needs no other: runs exist after run/backfill, the monitor result before alerts
ORDER = ["--version", "status", "steps", "run", "backfill", "why", "stale", "lineage", "runs",
         "export-model", "schedules", "serve", "scheduler", "monitor list", "monitor run", "monitor alerts",
         "recover"]


def test_every_readme_command_is_run():
    assert set(ORDER) | set(ELSEWHERE) == set(COMMANDS), (
        "the README's command list changed: run the new command in this test")


@pytest.mark.slow
@pytest.mark.parametrize("key", ORDER)
def test_readme_command_on_a_small_lakehouse(small, key):
    RUNNERS.get(key, _run_plain)(small, COMMANDS[key])
