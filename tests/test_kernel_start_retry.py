"""A kernel that dies before it answers ran none of the user's code: the run starts another
kernel instead of failing (two kernels starting at once can race for one TCP port)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import kernel_magics
from pipelines_fixtures import code, write_notebook


def _flaky_kernelspec(share: Path, marker: Path, deaths: int, hang: bool = False) -> None:
    """A Python kernelspec whose first ``deaths`` starts exit at once (``hang``: never
    answer), then a real ipykernel."""
    share.mkdir(parents=True, exist_ok=True)
    launcher = share / "flaky_launcher.py"
    launcher.write_text(
        "import pathlib, sys\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "starts = int(marker.read_text()) if marker.exists() else 0\n"
        "marker.write_text(str(starts + 1))\n"
        f"if starts < {deaths}:\n"
        + ("    import time; time.sleep(600)\n" if hang else "    sys.exit(1)\n")
        + "from ipykernel import kernelapp\n"
        "kernelapp.launch_new_instance()\n")
    spec_dir = share / "kernels" / "flaky"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(launcher), "-f", "{connection_file}"],
        "display_name": "flaky", "language": "python"}))


@pytest.mark.parametrize("deaths, status", [(1, "succeeded"), (5, "failed")])
def test_kernel_dying_at_start_is_started_again(home, tmp_path, monkeypatch, deaths, status):
    share = tmp_path / "share"
    marker = tmp_path / "starts"
    _flaky_kernelspec(share, marker, deaths)
    monkeypatch.setenv("JUPYTER_PATH", str(share))
    out = tmp_path / "ran.txt"
    nb = write_notebook(tmp_path / "nb.ipynb",
                        [code(f"open({str(out)!r}, 'w').write('ran')")], kernel="flaky")
    run = kernel_magics.connect(home).pipelines.run(nb)
    assert run.status == status, run.error
    if status == "succeeded":
        assert int(marker.read_text()) == 2 and out.read_text() == "ran"
    else:  # three starts at most, then the run fails with the kernel's error, user code unrun
        assert int(marker.read_text()) == 3 and not out.exists()
        assert "Kernel died" in run.error["evalue"]


def test_kernel_that_never_answers_at_start_is_started_again(home, tmp_path, monkeypatch):
    """A kernel silent past the start timeout ran none of the user's code either (nbclient
    shuts it down): the run starts another instead of failing."""
    from kernel_magics.pipelines import papermill_run
    monkeypatch.setattr(papermill_run, "KERNEL_START_TIMEOUT_S", 10)
    share = tmp_path / "share"
    marker = tmp_path / "starts"
    _flaky_kernelspec(share, marker, 1, hang=True)
    monkeypatch.setenv("JUPYTER_PATH", str(share))
    out = tmp_path / "ran.txt"
    nb = write_notebook(tmp_path / "nb.ipynb",
                        [code(f"open({str(out)!r}, 'w').write('ran')")], kernel="flaky")
    run = kernel_magics.connect(home).pipelines.run(nb)
    assert run.status == "succeeded", run.error
    assert int(marker.read_text()) == 2 and out.read_text() == "ran"
