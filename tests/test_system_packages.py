"""``.ci/system-packages`` (the first step of ``make test`` and of ``.ci/run``): where it cannot
install a missing Debian package it stops at once, with one sentence naming it."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "system-packages"


def run_unprivileged(env: dict[str, str]) -> subprocess.CompletedProcess:
    if os.getuid() != 0:
        return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True,
                              timeout=60)
    # as root it would install: run it as a user who cannot, from a copy that user can read
    # (a clone under a private folder, such as one `mktemp -d` made, is not readable by it)
    folder = Path(tempfile.mkdtemp(prefix="lakebook-system-packages-"))
    try:
        folder.chmod(0o755)
        script = folder / SCRIPT.name
        shutil.copyfile(SCRIPT, script)
        script.chmod(0o755)
        cmd = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "nobody", "--",
               "bash", str(script)]
        return subprocess.run(cmd, env=env, cwd="/", capture_output=True, text=True,
                              timeout=60)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_missing_package_without_rights_stops_naming_it():
    out = run_unprivileged({**os.environ, "CHROMIUM": "/nonexistent/chromium"})
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "chromium" in lines[0] and "apt-get install chromium" in lines[0]
    assert out.stdout == ""


def test_nothing_missing_is_silent():
    out = run_unprivileged(dict(os.environ))
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")
