"""Opening Delta tables: the one way a Delta table becomes a pyarrow dataset.

Every read of a Delta table's rows goes through :func:`dataset` (or :func:`as_dataset` for a
table already opened at a version or a time). It hands deltalake a *native* pyarrow
filesystem rooted at the table (``SubTreeFileSystem(root, LocalFileSystem())``): with
deltalake's default (a Python-wrapped filesystem), a process that read a Delta table
sometimes aborts at exit ("terminate called without an active exception", exit 134) after
all its work succeeded (delta-rs#2184, apache/arrow#34314), and reads are slower. An object
store (S3) gets its filesystem behind the same functions.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow.dataset as pds
    from deltalake import DeltaTable


def exists(path: str | Path) -> bool:
    """Whether a Delta table was written at ``path`` (it has a transaction log)."""
    from deltalake import DeltaTable
    return (Path(path) / "_delta_log").is_dir() and DeltaTable.is_deltatable(str(path))


def open_table(path: str | Path, version: int | None = None) -> "DeltaTable | None":
    """The Delta table at ``path`` (at ``version``), or None when nothing was written yet."""
    if not exists(path):
        return None
    from deltalake import DeltaTable
    return DeltaTable(str(path), version=version)


def root_of(table: "DeltaTable") -> str:
    """The local folder of an opened table (its ``file://`` URI as a path)."""
    uri = table.table_uri
    if uri.startswith("file://"):
        return unquote(urlparse(uri).path)
    return uri


def filesystem(root: str | Path):
    """The native pyarrow filesystem rooted at a table's folder."""
    import pyarrow.fs as pafs
    return pafs.SubTreeFileSystem(str(root), pafs.LocalFileSystem())


def as_dataset(table: "DeltaTable") -> "pds.Dataset":
    """An opened Delta table (at whatever version or time it was loaded) as a pyarrow
    dataset over the native filesystem (see the module docstring)."""
    return table.to_pyarrow_dataset(filesystem=filesystem(root_of(table)))


def dataset(path: str | Path, version: int | None = None) -> "pds.Dataset":
    """The Delta table at ``path`` (at ``version``; default current) as a pyarrow dataset."""
    from deltalake import DeltaTable
    return as_dataset(DeltaTable(str(path), version=version))
