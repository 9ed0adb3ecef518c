"""The import direction (issue 15): doors -> lakehouse -> areas -> catalog/storage/render ->
config -> shared, checked by import-linter with the contracts in pyproject.toml."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path, package_parent: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(LINT), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def test_the_import_contracts_are_kept():
    done = lint(ROOT, ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_a_shared_rule_importing_a_door_breaks_the_contracts(tmp_path):
    """The contracts can fail: a copy of the package where a shared helper imports the CLI."""
    shutil.copytree(ROOT / "kernel_magics", tmp_path / "kernel_magics",
                    ignore=shutil.ignore_patterns("labextension", "__pycache__"))
    (tmp_path / "kernel_magics" / "shared" / "leak.py").write_text(
        "from ..doors.cli import main\n")
    (tmp_path / "kernel_magics" / "features" / "leak.py").write_text("import IPython\n")
    done = lint(tmp_path, tmp_path)
    assert done.returncode != 0
    assert "kernel_magics.shared.leak" in done.stdout
    assert "kernel_magics.features.leak" in done.stdout
