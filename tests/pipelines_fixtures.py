"""Helpers for the pipelines tests: small notebooks written with nbformat."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import nbformat


def code(source: str, tags: Iterable[str] = ()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def markdown(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(source)


def write_notebook(path: Path, cells: list, kernel: str | None = "python3") -> Path:
    nb = nbformat.v4.new_notebook()
    if kernel:
        nb.metadata["kernelspec"] = {"name": kernel, "language": "python", "display_name": kernel}
    nb.cells = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def write_toml(home: Path, **scheduler: object) -> None:
    """Scheduler settings for a test lakehouse (e.g. a short lease); the other sections of
    its lakebook.toml (the team stack's catalog and storage) stay."""
    import tomllib

    import tomli_w
    home.mkdir(parents=True, exist_ok=True)
    path = home / "lakebook.toml"
    settings = tomllib.loads(path.read_text()) if path.exists() else {}
    settings["scheduler"] = dict(scheduler)
    path.write_text(tomli_w.dumps(settings))


def fti_notebook(path: Path) -> Path:
    """A notebook with one step of each kind plus plain cells (not executed by discovery tests)."""
    return write_notebook(path, [
        markdown("# fraud"),
        code("%load_ext kernel_magics"),
        code("import pandas as pd\nN = 10", tags=["parameters"]),
        code("%%inference fraud_online --model fraud --alias production"),
        code("%%feature transactions --key cc_num --event-time ts --online "
             "--schedule \"0 * * * *\" --tz Europe/Amsterdam\ndf"),
        code("view = 'fraud_view'"),
        code("%%training fraud --view fraud_view --label is_fraud\nmodel = None"),
    ])
