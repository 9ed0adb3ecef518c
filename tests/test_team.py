"""The team lakehouse beyond the shared suites: the catalog's migration path and failures on
PostgreSQL, object-storage failures and the conditional-write check, and two JupyterLab users
(two server processes with different identities) working on one lakehouse."""
from __future__ import annotations

import http.client
import logging
import sqlite3
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

import kernel_magics
from kernel_magics.catalog import SCHEMA_VERSION
from kernel_magics.shared.errors import CatalogError
from kernel_magics.storage.location import StorageError
from conftest import JupyterServer, lakebook_script
from team_stack import free_port

DATA = Path(__file__).parent / "data"


def frame(keys=(1, 2, 3)) -> pd.DataFrame:
    return pd.DataFrame({"cc": list(keys), "amount": [float(k) for k in keys],
                         "ts": pd.to_datetime([f"2024-01-0{k % 9 + 1}" for k in keys],
                                              utc=True)})


def team_home(tmp_path: Path, catalog: str | None = None, storage: str = "",
              name: str = "lh") -> Path:
    home = tmp_path / name
    home.mkdir()
    text = (f'[catalog]\nurl = "{catalog}"\n' if catalog else "") + storage
    (home / "lakebook.toml").write_text(text)
    return home


# -- the catalog -------------------------------------------------------------------------------


def test_catalog_written_before_issue_16_upgrades_in_place(tmp_path: Path) -> None:
    """A SQLite catalog of today's laptops (PRAGMA user_version = 2, no version table) moves
    to the runner's bookkeeping and keeps every row."""
    home = tmp_path / "lh"
    home.mkdir()
    with sqlite3.connect(home / "catalog.db") as conn:
        conn.executescript((DATA / "catalog_issue15.sql").read_text())
    lh = kernel_magics.connect(home)
    assert lh.catalog.version == SCHEMA_VERSION
    assert lh.catalog.scalar("SELECT version FROM lakebook_schema_version") == SCHEMA_VERSION
    assert lh.catalog.scalar("PRAGMA user_version") == SCHEMA_VERSION  # older Lakebooks see it
    group = lh.catalog.query_one("SELECT * FROM feature_groups")
    assert (group["name"], group["description"], group["created_by"]) == ("tx", "old group", None)
    assert lh.catalog.scalar("SELECT rows FROM feature_group_commits") == 2
    history = lh.registry.alias_history("clf")
    assert [(h["alias"], h["to_version"], h["who"]) for h in history] == [
        ("production", 1, "olduser")]
    assert lh.catalog.events("test")[0]["payload"] == {"n": 1}
    # new writes record who made them
    lh.as_user("erin").catalog.record_event("test", "new")
    assert lh.catalog.events("test")[0]["who"] == "erin"


def test_postgresql_catalog_failures_are_one_sentence(pg_cluster, tmp_path: Path) -> None:
    """Unreachable, refused, missing, newer: the CLI says which, naming the catalog, and
    nothing was written."""
    good = pg_cluster.new_database()
    database = good.rsplit("/", 1)[1]
    cases = {
        "unreachable": (f"postgresql://lakebook:secret@127.0.0.1:{free_port()}/x",
                        "is unreachable (Connection refused)"),
        "password": (pg_cluster.url(database, password="wrong"),
                     "refused user 'lakebook' (wrong user name or password)"),
        "database": (pg_cluster.url("nowhere"), "has no database 'nowhere'"),
    }
    for label, (url, expected) in cases.items():
        home = team_home(tmp_path, url, name=label)
        start = time.monotonic()
        out = subprocess.run([lakebook_script(), "--home", str(home), "status"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 1, (label, out.stdout, out.stderr)
        said = " ".join(out.stderr.split())  # the terminal wraps long lines
        assert "The catalog at 127.0.0.1:" in said and expected in said, said
        assert "[catalog] url" in said and "Traceback" not in said
        assert ":wrong@" not in said  # the password is never shown
        assert time.monotonic() - start < 60
        assert sorted(p.name for p in home.iterdir()) == ["lakebook.toml"]  # nothing written
    # a catalog a newer Lakebook migrated is refused, untouched
    newer = pg_cluster.new_database()
    kernel_magics.connect(team_home(tmp_path, newer, name="newer")).catalog.close()
    newer_db = newer.rsplit("/", 1)[1]
    pg_cluster.psql_db(newer_db, f"UPDATE lakebook_schema_version SET version = "
                                 f"{SCHEMA_VERSION + 5}")
    with pytest.raises(CatalogError, match="newer Lakebook") as info:
        kernel_magics.connect(team_home(tmp_path, newer, name="newer2"))
    assert "Upgrade Lakebook" in str(info.value)
    assert pg_cluster.psql_db(newer_db, "SELECT version FROM lakebook_schema_version"
                              ).strip() == str(SCHEMA_VERSION + 5)


def test_lost_postgresql_connections_are_replaced(pg_cluster, tmp_path: Path) -> None:
    """Every pooled connection killed by the server: the next calls reconnect and work."""
    url = pg_cluster.new_database()
    lh = kernel_magics.connect(team_home(tmp_path, url))
    fg = lh.create_feature_group("tx", key="cc", event_time="ts")
    lh.catalog.record_event("before", "x")
    pg_cluster.psql_db(url.rsplit("/", 1)[1], "SELECT pg_terminate_backend(pid) FROM "
                       "pg_stat_activity WHERE datname = current_database() AND pid <> "
                       "pg_backend_pid()")
    assert [g.name for g in lh.features.groups.list()] == ["tx"]
    lh.catalog.record_event("after", "x")
    assert fg.insert(frame()).rows == 3


def test_postgresql_migrates_once_when_processes_race(pg_cluster, tmp_path: Path) -> None:
    """Four processes open a new PostgreSQL catalog at once: one migrates (advisory lock),
    all open it."""
    url = pg_cluster.new_database()
    home = team_home(tmp_path, url)
    code = ("import kernel_magics, sys; lh = kernel_magics.connect(sys.argv[1]); "
            "print(lh.catalog.version)")
    procs = [subprocess.Popen([str(Path(lakebook_script()).parent / "python"), "-c", code,
                               str(home)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [o.strip() for o, _e in outs] == [str(SCHEMA_VERSION)] * 4, outs
    assert pg_cluster.psql_db(url.rsplit("/", 1)[1], "SELECT COUNT(*), MAX(version) FROM "
                              "lakebook_schema_version").strip() == f"1|{SCHEMA_VERSION}"


# -- storage -----------------------------------------------------------------------------------


def test_storage_failures_name_the_bucket_and_endpoint(moto_s3, tmp_path: Path) -> None:
    """A missing bucket, an unreachable endpoint, wrong keys: one sentence naming the storage
    and the setting to fix, at the group's creation (which looks for leftover data in its
    table folder) or its first insert; no commit was recorded."""
    cases = {
        "bucket": (moto_s3.toml("s3://no-such-bucket/lake"), "has no bucket 'no-such-bucket'"),
        "endpoint": (moto_s3.toml(moto_s3.new_prefix()).replace(
            moto_s3.endpoint, f"http://127.0.0.1:{free_port()}"), "is unreachable"),
    }
    for label, (toml, expected) in cases.items():
        lh = kernel_magics.connect(team_home(tmp_path, storage=toml, name=label))
        start = time.monotonic()
        with pytest.raises(StorageError) as info:
            lh.create_feature_group("tx", key="cc", event_time="ts").insert(frame())
        assert expected in info.value.message and "s3://" in info.value.message
        assert "[storage]" in info.value.hint
        assert time.monotonic() - start < 30
        assert lh.catalog.scalar("SELECT COUNT(*) FROM feature_group_commits") == 0


class _StrippingProxy:
    """An S3 endpoint that ignores conditional writes: a proxy in front of moto that drops
    If-None-Match / If-Match (as some S3-compatible stores do)."""

    HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}

    def __init__(self, upstream: int) -> None:
        hop = self.HOP

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _go(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in hop | {"if-none-match", "if-match"}}
                up = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
                up.request(self.command, self.path, body=body, headers=headers)
                answer = up.getresponse()
                data = answer.read()
                self.send_response(answer.status, answer.reason)
                for k, v in answer.getheaders():
                    if k.lower() not in hop and k.lower() != "content-length":
                        self.send_header(k, v)
                # a HEAD answers the object's size, with no body
                self.send_header("Content-Length", answer.getheader("Content-Length", "0")
                                 if self.command == "HEAD" else str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                up.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _go

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_endpoint_ignoring_conditional_writes_is_refused(moto_s3, tmp_path: Path,
                                                            caplog) -> None:
    """Concurrent Delta commits rely on PUT If-None-Match: an endpoint that ignores it is
    refused before anything is written, or, with conditional_put = "warn", used with a
    warning."""
    proxy = _StrippingProxy(moto_s3.port)
    try:
        toml = moto_s3.toml(moto_s3.new_prefix()).replace(moto_s3.endpoint, proxy.endpoint)
        lh = kernel_magics.connect(team_home(tmp_path, storage=toml))
        fg = lh.create_feature_group("tx", key="cc", event_time="ts")
        with pytest.raises(StorageError, match="does not honour conditional writes") as info:
            fg.insert(frame())
        assert 'conditional_put = "warn"' in info.value.hint
        assert fg.commits() == [] and not (fg.table_path / "_delta_log").names()
        warn = team_home(tmp_path, storage=toml + 'conditional_put = "warn"\n', name="warn")
        fg = kernel_magics.connect(warn).create_feature_group("tx", key="cc", event_time="ts")
        with caplog.at_level(logging.WARNING, logger="kernel_magics.storage"):
            assert fg.insert(frame()).rows == 3
        assert "does not honour conditional writes" in caplog.text
    finally:
        proxy.stop()


# -- two JupyterLab users ----------------------------------------------------------------------


def test_two_jupyter_users_share_one_team_lakehouse(pg_cluster, moto_s3, tmp_path: Path
                                                    ) -> None:
    """Alice's and Bob's servers (two processes, two identities, two home folders) share the
    catalog and storage: each sees the other's groups and models, and who did what."""
    from sklearn.linear_model import LogisticRegression
    toml_text = f'[catalog]\nurl = "{pg_cluster.new_database()}"\n' + moto_s3.toml(
        moto_s3.new_prefix())
    homes = {}
    for user in ("alice", "bob"):
        homes[user] = team_home(tmp_path, storage=toml_text, name=f"home-{user}")
    alice = kernel_magics.connect(homes["alice"]).as_user("alice")  # her kernel
    fg = alice.create_feature_group("tx", key="cc", event_time="ts")
    fg.insert(frame())
    alice.registry.register(LogisticRegression().fit([[0], [1]], [0, 1]), "clf")
    args = ["--ServerApp.identity_provider_class=jupyter_identity.NamedUser"]
    servers = {}
    try:
        for user in ("alice", "bob"):
            root = tmp_path / f"root-{user}"
            root.mkdir()
            servers[user] = JupyterServer(homes[user], root, extra_args=args, extra_env={
                "LAKEBOOK_TEST_JUPYTER_USER": user,
                "PYTHONPATH": str(Path(__file__).parent)})
        # Bob sees Alice's group and model, and that she made them
        groups = servers["bob"].get("feature-groups").json()["feature_groups"]
        assert [(g["name"], g["created_by"], g["last_commit_by"]) for g in groups] == [
            ("tx", "alice", "alice")]
        detail = servers["bob"].get("feature-groups/tx").json()
        assert [c["who"] for c in detail["commits"]] == ["alice"]
        model = servers["bob"].get("models/clf").json()
        assert [v["created_by"] for v in model["versions"]] == ["alice"]
        # each moves the alias through their own server: the history says who
        assert servers["alice"].post("models/clf/aliases/production", json={"version": 1}).ok
        assert servers["bob"].post("models/clf/aliases/staging", json={"version": 1}).ok
        history = servers["alice"].get("models/clf").json()["alias_history"]
        assert [(h["alias"], h["who"]) for h in history] == [("production", "alice"),
                                                               ("staging", "bob")]
        assert servers["alice"].get("models/clf").json()["aliases"] == {
            "production": 1, "staging": 1}
    finally:
        for server in servers.values():
            server.stop()


# -- moving up ---------------------------------------------------------------------------------


def test_lakebook_migrate_copies_a_laptop_lakehouse_into_a_team_one(pg_cluster, moto_s3, lh,
                                                                    home, tmp_path: Path
                                                                    ) -> None:
    """Delta versions, time travel, model versions, aliases and run records survive the
    move, checked row by row; a target that is not empty is refused."""
    from datetime import datetime, timezone

    from sklearn.linear_model import LogisticRegression
    fg = lh.create_feature_group("tx", key="cc", event_time="ts")
    fg.insert(frame([1, 2, 3]))
    time.sleep(0.05)
    between = datetime.now(timezone.utc)
    time.sleep(0.05)
    fg.insert(frame([4, 5]))
    fg.insert(frame([1]).assign(amount=[100.0]), mode="upsert")
    lh.create_feature_view("v", spine=fg)
    for _ in range(2):
        lh.registry.register(LogisticRegression().fit([[0], [1]], [0, 1]), "clf")
    lh.registry.set_alias("clf", "production", 1, who="ann")
    lh.registry.set_alias("clf", "production", 2, who="ben", reason="better")
    nb = tmp_path / "nb.ipynb"
    from pipelines_fixtures import code, write_notebook
    write_notebook(nb, [code("x = 1")])
    lh.pipelines.schedules.create(notebook=nb, cron="0 * * * *", name="hourly")
    run = lh.pipelines.submit(nb)
    done = lh.pipelines.run(nb)  # executed: its notebook is a run record to copy
    assert done.status == "succeeded", done.error
    url, storage = pg_cluster.new_database(), moto_s3.new_prefix()
    env = {**__import__("os").environ, "AWS_ACCESS_KEY_ID": moto_s3.KEY,
           "AWS_SECRET_ACCESS_KEY": moto_s3.SECRET, "AWS_REGION": moto_s3.REGION}
    command = [lakebook_script(), "--home", str(home), "migrate", "--to-catalog", url,
               "--to-storage", storage, "--storage-endpoint", moto_s3.endpoint]
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Checked: every catalog row" in out.stdout

    team = kernel_magics.connect(team_home(tmp_path, url, moto_s3.toml(storage), name="team"))
    moved = team.features.groups.get("tx")
    assert moved.table_path.uri.startswith(storage)
    assert moved.delta_version() == fg.delta_version() == 2
    for version in range(3):
        pd.testing.assert_frame_equal(moved.read(as_of=version), fg.read(as_of=version))
    assert sorted(moved.read(as_of=between)["cc"]) == [1, 2, 3]  # time travel by time too
    assert [c["delta_version"] for c in moved.commits()] == [2, 1, 0]
    assert moved.commits()[0]["mode"] == "upsert"
    assert team.features.views.get("v").version == 1
    assert [v.version for v in team.registry.versions("clf")] == [1, 2]
    assert team.registry.aliases("clf") == {"production": 2}
    assert [(h["to_version"], h["who"]) for h in team.registry.alias_history("clf")] == [
        (1, "ann"), (2, "ben")]
    assert team.pipelines.runs.get(run.id).status == run.status
    # the files came along: the team home loads the model and opens the run's notebook
    assert team.registry.get("clf", 2).predict([[1]]).tolist() == \
        lh.registry.get("clf", 2).predict([[1]]).tolist()
    assert team.pipelines.runs.notebook(done.id) == lh.pipelines.runs.notebook(done.id)
    assert "models: " in out.stdout and "runs: " in out.stdout
    assert [s.name for s in team.pipelines.schedules.list()] == ["hourly"]
    # ids go on after the copied ones
    assert team.create_feature_group("more", key="cc", event_time="ts").id > fg.id

    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    said = " ".join(again.stderr.split())
    assert again.returncode == 1 and "is not empty" in said and "Traceback" not in said
    fresh_db = pg_cluster.new_database()
    full_bucket = subprocess.run([*command[:5], fresh_db, *command[6:]], capture_output=True,
                                 text=True, env=env, timeout=300)
    said = " ".join(full_bucket.stderr.split())
    assert full_bucket.returncode == 1 and "already holds files" in said, said
    assert pg_cluster.psql_db(fresh_db.rsplit("/", 1)[1],
                              "SELECT COUNT(*) FROM feature_groups").strip() == "0"


# -- everything in the storage -----------------------------------------------------------------
def test_a_full_flow_keeps_everything_in_the_storage_and_another_home_reads_it(
        request, moto_s3, tmp_path: Path) -> None:
    """Group, training, an online deployment logging its predictions, a batch, a run and a
    monitor report on the team stack: every file is under the S3 prefix, the home keeps only
    local caches (and its lakebook.toml), and a second home (a colleague's JupyterLab
    server) loads the model, opens the run's notebook and the report over REST, and reads the
    inference log and the batch predictions."""
    from conftest import team_toml
    from deployments_fixtures import fraud_lakehouse
    from pipelines_fixtures import code, write_notebook
    from kernel_magics.deployments import log_files
    from kernel_magics.storage import delta
    toml_text = team_toml(request)
    home = team_home(tmp_path, storage=toml_text, name="home")
    lh = kernel_magics.connect(home)
    fg, fv, model, df = fraud_lakehouse(lh)
    online = lh.deploy("fraud", model="fraud")
    answers = [online.predict({"cc_num": k}) for k in range(3)]
    online.close()  # the log is written, the writer stopped
    batch = lh.deploy("nightly", model="fraud", kind="batch")
    scored = batch.batch(start="2024-01-02", end="2024-01-03")
    assert scored.rows == 24
    nb = write_notebook(tmp_path / "nb.ipynb", [code("x = 21 * 2"), code("print(x)")])
    run = lh.pipelines.run(nb)
    assert run.status == "succeeded", run.error
    monitor = lh.create_monitor("tx", feature_group="tx", reference="previous 3d",
                                current="last 1d", drift_share=0.5, schedule=None)
    result = monitor.run(now=pd.Timestamp("2024-01-10", tz="UTC").to_pydatetime())
    assert result.report_html, result.reason

    prefix = lh.storage.prefix + "/"
    keys = [o["Key"][len(prefix):] for page in moto_s3.client().get_paginator(
        "list_objects_v2").paginate(Bucket=moto_s3.bucket, Prefix=prefix)
        for o in page.get("Contents", [])]
    for folder in ("tables/tx_v1/_delta_log/", "tables/inference_log_fraud/_delta_log/",
                   "tables/predictions_nightly/_delta_log/", "models/fraud/1/model.skops",
                   "models/fraud/1/lakebook.json", "models/fraud/aliases.json",
                   f"runs/{run.id}/output.ipynb", f"runs/{run.id}/input.ipynb",
                   f"reports/monitors/tx/{result.id}.html",
                   f"reports/monitors/tx/{result.id}.json", "views/tx_view/1.json",
                   "deployments/fraud.json", "deployments/nightly.json",
                   "lineage/openlineage/"):
        assert any(k.startswith(folder) for k in keys), (folder, keys)
    local = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    assert [p for p in local if p != "lakebook.toml" and not p.startswith("cache/")] == [], local

    other = team_home(tmp_path, storage=toml_text, name="other-home")
    theirs = kernel_magics.connect(other)
    X = df[["amount", "velocity"]].head(10)
    assert theirs.registry.get("fraud", 1).predict(X).tolist() == model.predict(X).tolist()
    logged = delta.load(theirs.tables_dir / "inference_log_fraud").to_pandas()
    logged = logged.sort_values("cc_num")
    assert logged["cc_num"].tolist() == [0, 1, 2]
    assert logged["prediction"].tolist() == [a["prediction"] for a in answers]
    assert len(delta.load(theirs.tables_dir / "predictions_nightly").to_pandas()) == 24
    assert log_files.read_dead_letters(theirs, "fraud") == []
    root = tmp_path / "root-other"
    root.mkdir()
    server = JupyterServer(other, root)
    try:
        notebook = server.get(f"runs/{run.id}/output").json()["notebook"]
        assert any("42" in str(c.get("outputs")) for c in notebook["cells"])
        report = server.get(f"monitors/tx/reports/{result.id}.html")
        assert report.status_code == 200 and "<html" in report.text.lower()
        assert server.get("runs/nope/output").status_code == 404
        # still sandboxed: a record naming an object outside the lakehouse's prefix is refused
        stranger = moto_s3.new_prefix() + "/secret.ipynb"
        lh.catalog.execute("UPDATE runs SET output_path = ? WHERE id = ?", (stranger, run.id))
        refused = server.get(f"runs/{run.id}/output")
        assert refused.status_code == 404 and "not in the lakehouse" in refused.text
        lh.catalog.execute("UPDATE runs SET output_path = ? WHERE id = ?",
                           (run.output_path, run.id))
    finally:
        server.stop()
    # a home whose storage endpoint is down says so in one sentence, for each kind
    dead = team_home(tmp_path, storage=toml_text.replace(
        moto_s3.endpoint, f"http://127.0.0.1:{free_port()}"), name="dead-home")
    down = kernel_magics.connect(dead)
    for read in (lambda: down.registry.get("fraud", 1).load(),
                 lambda: down.pipelines.runs.notebook(run.id),
                 lambda: down.monitoring.results.report(result),
                 lambda: log_files.read_dead_letters(down, "fraud")):
        with pytest.raises(StorageError, match="is unreachable") as caught:
            read()
        assert "\n" not in caught.value.message and "Traceback" not in str(caught.value)
    # the second home read through its cache only
    assert [p for p in other.rglob("*") if p.is_file() and p.name != "lakebook.toml"
            and "cache" not in p.relative_to(other).parts] == []


def test_lakebook_recover_refuses_a_team_lakehouse(pg_cluster, moto_s3, tmp_path: Path) -> None:
    """recover rebuilds a laptop catalog.db from the home folder; a team home holds none of
    the team's files, so it is refused in one sentence rather than building an empty one."""
    from kernel_magics.recovery import recover
    from kernel_magics.shared.errors import InvalidInput
    home = team_home(tmp_path, pg_cluster.new_database(), moto_s3.toml(moto_s3.new_prefix()))
    kernel_magics.connect(home).create_feature_group("tx", key="cc", event_time="ts")
    with pytest.raises(InvalidInput, match="catalog server or object storage"):
        recover(home, force=True)
    assert not (home / "catalog.db").exists()
