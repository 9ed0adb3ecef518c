"""Opening Delta tables: the one way a Delta table becomes a pyarrow dataset.

A table is named by a :class:`~kernel_magics.storage.location.Location` (a local folder or an
S3 prefix; a plain local path works too). Every read of a Delta table's rows goes through
:func:`dataset` (or :func:`as_dataset` for a table already opened at a version or a time). It
hands deltalake a *native* pyarrow filesystem rooted at the table
(``SubTreeFileSystem(root, LocalFileSystem() or S3FileSystem(...))``): with deltalake's default
(a Python-wrapped filesystem), a process that read a Delta table sometimes aborts at exit
("terminate called without an active exception", exit 134) after all its work succeeded
(delta-rs#2184, apache/arrow#34314), and reads are slower.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Union

from .location import Location, Storage

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow.dataset as pds
    from deltalake import DeltaTable

Where = Union[Location, Path, str]


def locate(where: Where) -> Location:
    """A table's location (a local path becomes a location in its own folder)."""
    if isinstance(where, Location):
        return where
    path = Path(where)
    return Storage(str(path.parent)).location(path.name)


def exists(where: Where) -> bool:
    """Whether a Delta table was written there (it has a transaction log)."""
    loc = locate(where)
    if loc.storage.is_local:
        from deltalake import DeltaTable
        path = Path(loc.uri)
        return (path / "_delta_log").is_dir() and DeltaTable.is_deltatable(str(path))
    return bool((loc / "_delta_log").names(".json"))


def open_table(where: Where, version: int | None = None) -> "DeltaTable | None":
    """The Delta table there (at ``version``), or None when nothing was written yet."""
    loc = locate(where)
    if not exists(loc):
        return None
    return load(loc, version)


def load(where: Where, version: int | str | None = None) -> "DeltaTable":
    """The Delta table there, at ``version`` (a number, or a time as ISO text)."""
    from deltalake import DeltaTable
    loc = locate(where)
    try:
        table = DeltaTable(loc.uri, storage_options=loc.delta_options,
                           version=version if isinstance(version, int) else None)
        if isinstance(version, str):
            table.load_as_version(version)
        return table
    except OSError as exc:
        if loc.storage.is_local:
            raise
        raise loc.storage.explain(exc, f"opening the table {loc.uri}") from None


def as_dataset(table: "DeltaTable", where: Where | None = None) -> "pds.Dataset":
    """An opened Delta table (at whatever version or time it was loaded) as a pyarrow
    dataset over the native filesystem (see the module docstring)."""
    loc = locate(where) if where is not None else _location_of(table)
    return table.to_pyarrow_dataset(filesystem=loc.filesystem())


def dataset(where: Where, version: int | None = None) -> "pds.Dataset":
    """The Delta table there (at ``version``; default current) as a pyarrow dataset."""
    loc = locate(where)
    return as_dataset(load(loc, version), loc)


def _location_of(table: "DeltaTable") -> Location:
    from urllib.parse import unquote, urlparse
    uri = table.table_uri
    if uri.startswith("file://"):
        return locate(Path(unquote(urlparse(uri).path)))
    if "://" not in uri:
        return locate(Path(uri))
    raise ValueError(f"as_dataset needs the location of the object-store table {uri}")


def root_of(table: "DeltaTable") -> str:
    """The local folder of an opened local table (its ``file://`` URI as a path)."""
    return _location_of(table).uri


def filesystem(root: str | Path):
    """The native pyarrow filesystem rooted at a local table's folder."""
    return locate(Path(root)).filesystem()


def schema(where: Where):
    """The arrow schema of the Delta table there (None when nothing was written yet)."""
    import pyarrow as pa
    table = open_table(where)
    return None if table is None else pa.schema(table.schema().to_arrow())


def write(where: Where, data, mode: str = "append", **kwargs) -> None:
    """``write_deltalake`` of ``data`` to the table there, through the storage's object
    store (its options, and the conditional-write check that keeps concurrent commits)."""
    from deltalake import write_deltalake
    loc = locate(where)
    loc.storage.check_conditional_put()
    if loc.storage.is_local:
        Path(loc.uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        write_deltalake(loc.uri, data, mode=mode, storage_options=loc.delta_options, **kwargs)
    except OSError as exc:
        if loc.storage.is_local:
            raise
        raise loc.storage.explain(exc, f"writing the table {loc.uri}") from None
