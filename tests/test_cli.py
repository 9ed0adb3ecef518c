"""The ``lakebook`` command, run as a real subprocess."""
from __future__ import annotations

import subprocess
from pathlib import Path

import kernel_magics
from conftest import lakebook_script


def lakebook(*args: str, env_home: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([lakebook_script(), *args],
                          capture_output=True, text=True, timeout=120)


def test_version() -> None:
    out = lakebook("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"lakebook {kernel_magics.__version__}"


def test_status_of_existing_lakehouse(tmp_path: Path) -> None:
    kernel_magics.connect(tmp_path / "lh")
    out = lakebook("status", "--home", str(tmp_path / "lh"))
    assert out.returncode == 0, out.stderr
    assert "catalog version" in out.stdout and "feature groups" in out.stdout


def test_status_of_unknown_home_fails_in_one_sentence(tmp_path: Path) -> None:
    out = lakebook("status", "--home", str(tmp_path / "missing"))
    assert out.returncode == 1
    assert "No lakehouse at" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "missing").exists()


def test_status_of_newer_catalog_fails_and_changes_nothing(tmp_path: Path) -> None:
    import sqlite3
    home = tmp_path / "lh"
    kernel_magics.connect(home).catalog.close()
    with sqlite3.connect(home / "catalog.db") as conn:
        conn.execute("PRAGMA user_version = 99")
    before = (home / "catalog.db").read_bytes()
    out = lakebook("status", "--home", str(home))
    assert out.returncode == 1
    assert "newer Lakebook" in out.stderr and "Traceback" not in out.stderr
    assert (home / "catalog.db").read_bytes() == before


def test_serve_refuses_a_missing_lakehouse_and_creates_none(tmp_path: Path) -> None:
    out = lakebook("serve", "--port", "8080", "--home", str(tmp_path / "missing"))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "No lakehouse at" in out.stderr and "Traceback" not in out.stderr
    assert "usage:" not in out.stdout  # it ran the command, not the help
    assert not (tmp_path / "missing").exists()


def test_serve_refuses_a_bad_port_before_opening_anything(tmp_path: Path) -> None:
    out = lakebook("serve", "--port", "70000", "--home", str(tmp_path / "missing"))
    assert out.returncode == 2
    assert "port 70000 is not a port number" in out.stderr
