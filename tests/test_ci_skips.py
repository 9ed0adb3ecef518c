"""The CI rule of tests/conftest.py: under ``CI=true`` a skip is a failure (for every test, a
skip inside it, a ``skipif`` and a module skipped at collection), and only then."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

SAMPLE = '''
import pytest

def test_missing_component():
    pytest.skip("redis-server is not installed")

@pytest.mark.skipif(True, reason="no chromium")
def test_skipif():
    pass

@pytest.mark.ci_may_skip("only meaningful on Windows")
def test_allowed():
    pytest.skip("not Windows")

@pytest.mark.xfail(reason="known")
def test_xfail():
    assert False

def test_passes():
    pass
'''
MODULE_SKIP = 'import pytest\npytest.importorskip("no_such_package_here")\n\n' \
              'def test_never():\n    pass\n'


def run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "test_module_skip.py").write_text(MODULE_SKIP)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    # our conftest as a plugin, on a folder of its own (no other conftest, no ini file)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "-p",
                           "no:cacheprovider", "-c", os.devnull, "--rootdir", str(tmp_path),
                           "-rA", "-q", "--continue-on-collection-errors", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_skips_fail_under_ci(tmp_path):
    out = run(tmp_path, "true")
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "FAILED test_sample.py::test_missing_component" in text
    assert "ERROR test_sample.py::test_skipif" in text  # a failed setup
    assert "ERROR test_module_skip.py" in text
    assert "Skipped under CI=true" in text and "redis-server is not installed" in text
    assert "SKIPPED" in text and "not Windows" in text  # the marked one may skip
    assert "XFAIL test_sample.py::test_xfail" in text
    assert "PASSED test_sample.py::test_passes" in text


@pytest.mark.parametrize("ci", [None, "false"])
def test_skips_stay_skips_outside_ci(tmp_path, ci):
    out = run(tmp_path, ci)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "FAILED" not in text and "ERROR" not in text
    assert "4 skipped" in text or text.count("SKIPPED") >= 4, text
