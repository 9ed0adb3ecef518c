"""The team stack for tests: a throwaway PostgreSQL cluster (Debian's postgresql 15, started
with initdb/pg_ctl in a temp folder on a free port), moto's standalone S3 server, a
redis-server and a Dask scheduler with worker processes. Each is started once per test
session (when a test first needs it) and stopped at its end; a test gets a fresh database
and a fresh bucket prefix, so tests never see each other's catalog or files."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("LAKEBOOK_PG_BIN", "/usr/lib/postgresql/15/bin"))
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*argv: str) -> list[str]:
    # initdb and postgres refuse to run as root: run them as the postgres OS user then
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


class PostgresCluster:
    """A PostgreSQL cluster of its own (fsync off: test data need not survive a crash).
    Password authentication over TCP, as a team server would have it."""

    USER, PASSWORD = "lakebook", "secret"

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"PostgreSQL is not installed ({PG_BIN}/initdb; apt-get install "
                        "postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="lakebook-pg-"))
        self.port = free_port()
        data, pwfile = self.root / "data", self.root / "pw"
        pwfile.write_text("postgres-secret\n")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self.data = data
        subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                    "--auth-local=trust", "--auth-host=scram-sha-256",
                                    f"--pwfile={pwfile}", "-E", "UTF8", "--no-locale",
                                    "--no-sync"), check=True, capture_output=True)
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l",
                                    str(self.root / "pg.log"), "-w", "-t", "60", "-o",
                                    f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
                                    " -c fsync=off -c max_connections=300", "start"),
                       check=True, capture_output=True)
        self.psql(f"CREATE ROLE {self.USER} LOGIN CREATEDB PASSWORD '{self.PASSWORD}'")

    def psql(self, *commands: str) -> str:
        return self.psql_db("postgres", *commands)

    def psql_db(self, database: str, *commands: str) -> str:
        """Run SQL commands as the superuser in ``database``; their output (unaligned)."""
        args = [str(PG_BIN / "psql"), "-h", str(self.root), "-p", str(self.port), "-U",
                "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt"]
        for command in commands:
            args += ["-c", command]
        return subprocess.run(_as_postgres(*args), check=True, capture_output=True,
                              text=True).stdout

    def url(self, database: str, user: str | None = None, password: str | None = None) -> str:
        return (f"postgresql://{user or self.USER}:{password or self.PASSWORD}@127.0.0.1:"
                f"{self.port}/{database}")

    def new_database(self) -> str:
        """A fresh, empty database owned by the app role; returns its URL."""
        name = "t_" + secrets.token_hex(6)
        self.psql(f"CREATE DATABASE {name} OWNER {self.USER}")
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                                    "-w", "stop"), capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


class MotoS3:
    """moto's standalone S3 server (a real HTTP S3 API; the stand-in for S3/MinIO/R2 here)."""

    KEY, SECRET, REGION = "test", "test", "us-east-1"

    def __init__(self, folder: Path) -> None:
        exe = BIN / "moto_server"
        if not exe.exists():
            pytest.skip("moto's server is not installed (pip install 'moto[server]')")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = (folder / "moto.log").open("w")
        self.proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"})
        import requests
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(self.endpoint, timeout=1)
                break
            except requests.ConnectionError:
                if self.proc.poll() is not None:
                    raise RuntimeError("moto_server exited")
                time.sleep(0.1)
        self.bucket = "lakebook-test"
        self.client().create_bucket(Bucket=self.bucket)

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.KEY,
                            aws_secret_access_key=self.SECRET, region_name=self.REGION)

    def new_prefix(self) -> str:
        """A fresh storage URL: a prefix no test used."""
        return f"s3://{self.bucket}/{secrets.token_hex(6)}"

    def toml(self, url: str) -> str:
        return (f'[storage]\nurl = "{url}"\nendpoint = "{self.endpoint}"\n'
                f'region = "{self.REGION}"\naccess_key_id = "{self.KEY}"\n'
                f'secret_access_key = "{self.SECRET}"\n')

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


class DaskCluster:
    """``dask scheduler`` and ``dask worker`` as separate processes on loopback."""

    def __init__(self, folder: Path, workers: int = 2) -> None:
        if not (BIN / "dask").exists():
            pytest.skip("dask is not installed (pip install 'dask[distributed]')")
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.log = (folder / "dask.log").open("w")
        common = dict(stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs = [subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--dashboard-address", "127.0.0.1:0", "--no-show"], **common)]
        self.procs.append(subprocess.Popen(
            [str(BIN / "dask"), "worker", self.address, "--nworkers", str(workers),
             "--nthreads", "1", "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0",
             "--memory-limit", "2GiB", "--name", "lakebook-test"], **common))
        import distributed
        with distributed.Client(self.address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=60)
        self.workers = workers

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.log.close()
