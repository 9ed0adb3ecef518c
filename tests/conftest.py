"""Shared fixtures: a fresh lakehouse per test, and a real Jupyter server on it; and the CI
rule that a skip is a failure."""
from __future__ import annotations

import os
import shutil
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import requests

import kernel_magics

REPO = Path(__file__).resolve().parents[1]
OUTPUT = Path(os.environ.get("LAKEBOOK_TEST_OUTPUT", REPO / "test-output"))


# -- under CI a skip is a failure ----------------------------------------------------------
# Tests skip when a real component they drive is missing (redis-server, a Python package). On
# a developer's laptop that is a skip; under CI=true it must fail, or a machine without the
# component would pass while testing nothing. A test may opt out with
# @pytest.mark.ci_may_skip("why") when its skip is not about a missing component.

def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _ci_failure(longrepr: object) -> str:
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else longrepr
    return (f"Skipped under CI=true, which counts as a failure: {reason}. Install what the "
            "test needs (`make test` runs .ci/system-packages for the Debian packages).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ci_may_skip(reason): the test may skip under CI=true "
                                       "(its skip is not about a missing component)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if (in_ci() and report.skipped and not hasattr(report, "wasxfail")
            and item.get_closest_marker("ci_may_skip") is None):
        report.outcome = "failed"
        report.longrepr = _ci_failure(report.longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped:  # a whole module skipped (importorskip at its top)
        report.outcome = "failed"
        report.longrepr = _ci_failure(report.longrepr)


# -- the backend: a laptop lakehouse, or the team stack ------------------------------------
# The suites named here run twice: on the laptop default (SQLite catalog, local files) and on
# the team stack (PostgreSQL catalog, S3 storage on moto's server, Redis online store, a Dask
# cluster executing runs). The servers start once per session; each test gets a fresh
# database and bucket prefix. Other suites run on the laptop default only (CI time).
TEAM_SUITES = {"test_feature_groups.py", "test_feature_views.py", "test_registry.py",
               "test_deployments.py", "test_scheduler.py", "test_runs.py",
               "test_monitoring.py", "test_row_deletes.py"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if (Path(str(metafunc.definition.fspath)).name in TEAM_SUITES
            and "backend" in metafunc.fixturenames):
        metafunc.parametrize("backend", ["laptop", "team"], indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """``laptop`` (the default) or ``team`` (for the suites in TEAM_SUITES)."""
    return getattr(request, "param", "laptop")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator["team_stack.PostgresCluster"]:
    import team_stack
    cluster = team_stack.PostgresCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator["team_stack.MotoS3"]:
    import team_stack
    server = team_stack.MotoS3(tmp_path_factory.mktemp("moto"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def team_redis(tmp_path_factory: pytest.TempPathFactory):
    from online_fixtures import start_redis
    server = start_redis(tmp_path_factory.mktemp("redis-team"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory):
    import team_stack
    cluster = team_stack.DaskCluster(tmp_path_factory.mktemp("dask"))
    try:
        yield cluster
    finally:
        cluster.stop()


def team_toml(request: pytest.FixtureRequest) -> str:
    """The lakebook.toml of a fresh team lakehouse: a new database, a new bucket prefix, the
    session's Redis (emptied) and Dask cluster."""
    cluster = request.getfixturevalue("pg_cluster")
    s3 = request.getfixturevalue("moto_s3")
    redis_server = request.getfixturevalue("team_redis")
    import redis
    redis.Redis.from_url(redis_server.url).flushdb()
    return (f'[catalog]\nurl = "{cluster.new_database()}"\n'
            + s3.toml(s3.new_prefix()) +
            f'[online]\nbackend = "redis"\nredis_url = "{redis_server.url}"\n')


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str,
         request: pytest.FixtureRequest) -> Path:
    """A lakehouse home in a temp folder, also set as LAKEBOOK_HOME; on the ``team`` backend
    its lakebook.toml points at the team stack."""
    path = tmp_path / "lakehouse"
    monkeypatch.setenv("LAKEBOOK_HOME", str(path))
    if backend == "team":
        path.mkdir(parents=True)
        (path / "lakebook.toml").write_text(team_toml(request))
    return path


@pytest.fixture
def lh(home: Path) -> kernel_magics.Lakehouse:
    return kernel_magics.connect(home)


@pytest.fixture
def other_lh(home: Path, lh: kernel_magics.Lakehouse, tmp_path: Path, backend: str
             ) -> kernel_magics.Lakehouse:
    """Another home on the same lakehouse: on the ``team`` backend a second home folder
    whose lakebook.toml names the same catalog and storage (what a colleague's JupyterLab or
    a server has), so it reads only what went through the storage; on the laptop the same
    home opened again."""
    if backend != "team":
        return kernel_magics.connect(home)
    other = tmp_path / "other-home"
    other.mkdir()
    shutil.copy(home / "lakebook.toml", other / "lakebook.toml")
    return kernel_magics.connect(other)


@dataclass
class DemoRun:
    """``lakebook demo`` as the README runs it, once per session: where it ran and what it
    printed (its lakehouse is ``cwd / ".lakebook"``; copy it before changing it)."""

    cwd: Path
    proc: subprocess.CompletedProcess

    @property
    def home(self) -> Path:
        return self.cwd / ".lakebook"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The README's own line (``lakebook demo [--size N]``) at 20,000 transactions, run as
    ``make demo`` does (no --home: ./.lakebook where it was started). Shared by the demo's
    test and the catalog-loss test of the demo lakehouse: it is the longest command here."""
    from readme import cli_commands
    cwd = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if k != "LAKEBOOK_HOME"}
    env["COLUMNS"] = "100"
    [demo] = [c for c in cli_commands() if c.key == "demo"]
    proc = subprocess.run([lakebook_script(), *demo.argv({"N": ["20000"]})], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=850)
    return DemoRun(cwd, proc)


def lakebook_script() -> str:
    """The installed ``lakebook`` console script of the environment running the tests: what
    a user types, so the tests go through the same entry point (not ``python -m``)."""
    path = Path(sys.executable).parent / "lakebook"
    if not path.is_file():
        pytest.fail(f"The lakebook script is not installed next to {sys.executable}; run "
                    "`make install-test` (pip install -e '.[test]').")
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """A real ``jupyter server`` subprocess with the Lakebook extension enabled."""

    def __init__(self, home: Path, root: Path, extra_env: dict[str, str] | None = None,
                 extra_args: list[str] | None = None) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = root
        env = {**os.environ, "LAKEBOOK_HOME": str(home), **(extra_env or {})}
        self.log_path = root / "jupyter-server.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
             f"--port={self.port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={root}",
             '--ServerApp.jpserver_extensions={"kernel_magics": True}', *(extra_args or [])],
            env=env, cwd=root, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited: {self.log_path.read_text()}")
            try:
                if requests.get(self.api("status"), headers=self.auth, timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter server did not start: {self.log_path.read_text()}")

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def api(self, path: str) -> str:
        return f"{self.url}/lakebook/api/{path.lstrip('/')}"

    def get(self, path: str, **kw):
        return requests.get(self.api(path), headers=self.auth, timeout=30, **kw)

    def post(self, path: str, **kw):
        return requests.post(self.api(path), headers=self.auth, timeout=60, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()


@pytest.fixture
def jupyter_server(home: Path, tmp_path: Path) -> Iterator[JupyterServer]:
    """A running Jupyter server whose Lakebook extension serves ``home``."""
    kernel_magics.connect(home)
    root = tmp_path / "root"
    root.mkdir()
    server = JupyterServer(home, root)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ipython_shell(home: Path):
    """A real IPython shell with ``%load_ext kernel_magics`` done."""
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython
    shell = start_ipython() or get_ipython()  # started once per test process
    # the test shell shows plain text only by default; a notebook also renders HTML
    shell.display_formatter.active_types = ["text/plain", "text/html"]
    shell.run_line_magic("load_ext", "kernel_magics")
    # the shell lives as long as the test process: start each test with an empty namespace
    # (a leftover lakebook_run_id would make the magics think they run in a scheduled run)
    shell.reset(new_session=False)
    # a fresh lakehouse per test: drop the magics' cached connection
    from kernel_magics.doors.magics import _registered
    for magics in _registered.values():
        magics._lh = None
    yield shell
    for magics in _registered.values():
        magics._lh = None


@pytest.fixture
def displayed(ipython_shell, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every mime bundle the shell displays during the test, in order."""
    shown: list[dict] = []
    monkeypatch.setattr(ipython_shell.display_pub, "publish",
                        lambda data, *args, **kw: shown.append(data))
    return shown
