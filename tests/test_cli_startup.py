"""What the first commands cost: ``lakebook --version`` / ``--help`` and the Jupyter server
extension must not import the heavy libraries (pandas, nbformat) before they are needed.

These are import-set properties, not timings (those are in ``benchmarks/bench_startup.py``):
each test runs a real process and reads the interpreter's own import log
(``PYTHONPROFILEIMPORTTIME``), so it holds for every module any door pulls in.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import lakebook_script

HEAVY = ("pandas", "nbformat", "numpy", "pyarrow", "papermill", "deltalake", "sklearn", "duckdb")


def imported(stderr: str) -> set[str]:
    """Top-level packages named in a ``-X importtime`` log."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "package":
                names.add(name.split(".")[0])
    return names


def run_profiled(cmd: list[str], home: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", "COLUMNS": "100"}
    if home is not None:
        env["LAKEBOOK_HOME"] = str(home)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["serve", "--help"],
                                  ["run", "--help"], ["monitor", "--help"]])
def test_version_and_help_import_no_heavy_library(args):
    proc = run_profiled([lakebook_script(), *args])
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = imported(proc.stderr)
    assert "kernel_magics" in names  # the log is real: it saw our own package
    assert not names & set(HEAVY), sorted(names & set(HEAVY))


def test_status_imports_neither_pandas_nor_nbformat(tmp_path):
    import kernel_magics
    kernel_magics.connect(tmp_path / "lh").catalog.close()
    proc = run_profiled([lakebook_script(), "status", "--home", str(tmp_path / "lh")])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "catalog version" in proc.stdout
    assert not imported(proc.stderr) & {"pandas", "nbformat", "papermill"}


SERVER_LOAD = textwrap.dedent("""
    import json, logging, sys, time
    import tornado.web
    import kernel_magics

    class App:  # what Jupyter hands an extension: its web app and its log
        web_app = tornado.web.Application(base_url="/")
        log = logging.getLogger("test")

    kernel_magics._load_jupyter_server_extension(App())
    time.sleep(1.5)  # the in-server scheduler has ticked
    loaded = {m: m in sys.modules for m in ("nbformat", "pandas", "papermill", "pyarrow")}
    from kernel_magics.doors.rest.base import server_lakehouse
    server_lakehouse().pipelines.steps.list(sys.argv[1])   # what GET /steps does
    after = "nbformat" in sys.modules
    from kernel_magics.doors.rest import background
    background.stop()
    print(json.dumps({"loaded": loaded, "after_steps_route": after}))
""")


def test_server_extension_loads_without_nbformat(tmp_path):
    import kernel_magics
    home = tmp_path / "lh"
    kernel_magics.connect(home).catalog.close()
    import nbformat
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "empty.ipynb")
    script = tmp_path / "load.py"
    script.write_text(SERVER_LOAD)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "empty.ipynb")],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "LAKEBOOK_HOME": str(home),
                               "LAKEBOOK_SCHEDULER": "1", "LAKEBOOK_SCHEDULER_POLL": "0.5"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["loaded"] == {"nbformat": False, "pandas": False, "papermill": False,
                             "pyarrow": False}
    assert out["after_steps_route"] is True  # ...and a route that reads notebooks loads it
