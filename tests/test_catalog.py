"""The catalog: home resolution, migrations, refusal of bad catalogs, and concurrency."""
from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest

import kernel_magics
from kernel_magics.catalog import SCHEMA_VERSION, migrations
from kernel_magics.shared.errors import CatalogError, NotFound


def test_connect_creates_home_with_wal_catalog(tmp_path: Path) -> None:
    lh = kernel_magics.connect(tmp_path / "lh")
    assert (tmp_path / "lh" / "catalog.db").exists()
    assert lh.catalog.version == SCHEMA_VERSION
    assert lh.catalog.scalar("PRAGMA journal_mode") == "wal"
    assert lh.catalog.scalar("PRAGMA busy_timeout") >= 5000


def test_home_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    (project / "sub" / "deeper").mkdir(parents=True)
    monkeypatch.chdir(project / "sub" / "deeper")
    monkeypatch.delenv("LAKEBOOK_HOME", raising=False)
    # nothing configured: ./.lakebook in the working directory
    assert kernel_magics.connect().home == (project / "sub" / "deeper" / ".lakebook").resolve()
    # a lakebook.toml found upward names the home, relative to the file
    (project / "lakebook.toml").write_text('[lakebook]\nhome = "data/lake"\n')
    assert kernel_magics.connect().home == (project / "data" / "lake").resolve()
    # LAKEBOOK_HOME beats the file
    monkeypatch.setenv("LAKEBOOK_HOME", str(tmp_path / "env-home"))
    assert kernel_magics.connect().home == (tmp_path / "env-home").resolve()
    # the argument beats everything
    assert kernel_magics.connect(tmp_path / "arg").home == (tmp_path / "arg").resolve()


def test_missing_home_without_create_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="No lakehouse at"):
        kernel_magics.connect(tmp_path / "nowhere", create=False)
    assert not (tmp_path / "nowhere").exists()


def test_older_catalog_is_upgraded_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lh = kernel_magics.connect(tmp_path / "lh")
    lh.catalog.record_event("test", "kept", {"n": 1})
    lh.catalog.close()
    # a newer Lakebook adds migration N+1: the existing catalog upgrades and keeps its data
    extra = (SCHEMA_VERSION + 1, "test column", "ALTER TABLE events ADD COLUMN note TEXT")
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, extra])
    monkeypatch.setattr("kernel_magics.catalog.db.MIGRATIONS", [*migrations.MIGRATIONS])
    monkeypatch.setattr("kernel_magics.catalog.db.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    upgraded = kernel_magics.connect(tmp_path / "lh")
    assert upgraded.catalog.version == SCHEMA_VERSION + 1
    assert upgraded.catalog.events("test")[0]["subject"] == "kept"
    assert "note" in {r["name"] for r in upgraded.catalog.query("PRAGMA table_info(events)")}


def test_catalog_from_newer_lakebook_is_refused_untouched(tmp_path: Path) -> None:
    home = tmp_path / "lh"
    kernel_magics.connect(home).catalog.close()
    with sqlite3.connect(home / "catalog.db") as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    before = (home / "catalog.db").read_bytes()
    with pytest.raises(CatalogError, match="newer Lakebook") as info:
        kernel_magics.connect(home)
    assert "Upgrade Lakebook" in str(info.value)
    assert (home / "catalog.db").read_bytes() == before


def test_unreadable_catalog_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "lh"
    home.mkdir()
    (home / "catalog.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogError, match="cannot be read"):
        kernel_magics.connect(home)


def _writer(home: str, worker: int, count: int, queue: mp.Queue) -> None:
    try:
        lh = kernel_magics.connect(home)
        for i in range(count):
            lh.catalog.record_event("stress", f"w{worker}-{i}", {"worker": worker, "i": i})
        queue.put(("ok", worker))
    except BaseException as exc:  # report any error, "database is locked" included
        queue.put(("error", repr(exc)))


def test_four_processes_write_800_entries_concurrently(tmp_path: Path) -> None:
    home = str(tmp_path / "lh")
    kernel_magics.connect(home)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(home, w, 200, queue)) for w in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(60)
    assert all(status == "ok" for status, _ in results), results
    lh = kernel_magics.connect(home)
    subjects = {r["subject"] for r in lh.catalog.query(
        "SELECT subject FROM events WHERE kind = 'stress'")}
    assert len(subjects) == 800
    assert subjects == {f"w{w}-{i}" for w in range(4) for i in range(200)}
