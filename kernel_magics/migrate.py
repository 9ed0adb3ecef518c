"""``lakebook migrate``: move a laptop lakehouse onto a team's services.

The Delta tables are copied file for file into the target storage (``s3://bucket/prefix``):
their logs and data files as they are, so every Delta version, time travel and commit
metadata survives. Then every catalog row is copied into the target database with its ids
(groups, commits, views, model versions, aliases and their history, deployments, pipelines,
schedules, runs, monitors, results, alerts, the audit log). Afterwards the copy is checked:
each catalog table row by row, each Delta table's log byte for byte, its files by size and
its rows at every version by count. A target that holds anything is refused before anything
is written; a copy that fails its check is removed again.

The other files of the lakehouse are copied the same way, each checked byte for byte
(:data:`FOLDERS`): model artifacts with their descriptions and aliases, run records (the
sliced and executed notebooks), monitoring reports, inference-log dead letters and spills,
and the descriptions of feature views and deployments. The catalog rows keep the paths the
laptop recorded; the team lakehouse finds each file in the same folder of its storage.
Local caches (``cache/``), the online store and the catalog file are not copied.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import Catalog
from .catalog.copy import copy_rows, differences, holds_data
from .shared.errors import Conflict, InvalidInput, LakebookError
from .storage.location import Storage

TABLES = "tables"
#: the storage folders besides the tables that a lakehouse keeps (see the module docstring)
FOLDERS = ("models", "runs", "reports", "views", "deployments", "dead_letters", "spill")


@dataclass
class MigrationReport:
    """What ``lakebook migrate`` copied."""

    catalog: str
    storage: str
    rows: dict[str, int] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)  # Delta table -> its version
    files: int = 0
    #: other files copied (and checked byte for byte), per folder (models, runs, ...)
    other: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        lines = [f"Copied into {self.catalog} and {self.storage}:",
                 f"  {len(self.tables)} Delta tables ({self.files} files), every version kept",
                 *(f"  {folder}: {n} files" for folder, n in self.other.items() if n),
                 f"  {sum(self.rows.values())} catalog rows"
                 + "".join(f"\n    {name}: {n}" for name, n in self.rows.items() if n),
                 "Checked: every catalog row, every Delta log byte for byte, every version's "
                 "row count, every other file byte for byte.",
                 "Use it with this lakebook.toml:",
                 f'  [catalog]\n  url = "{self.catalog}"\n  [storage]\n  url = "{self.storage}"']
        return "\n".join(lines)


def migrate(lh: Any, to_catalog: str, to_storage: str, endpoint: str | None = None,
            region: str | None = None) -> MigrationReport:
    """Copy lakehouse ``lh`` into the catalog database ``to_catalog`` and the object store
    ``to_storage`` (credentials from the standard AWS environment variables)."""
    if not lh.storage.is_local:
        raise InvalidInput("This lakehouse's tables are in object storage already "
                           f"({lh.storage.root}).", "lakebook migrate moves a laptop "
                           "lakehouse (tables in its home folder) to team services.")
    if "://" not in to_storage or not to_storage.startswith("s3://"):
        raise InvalidInput(f"--to-storage {to_storage!r} is not an object-store URL.",
                           "Use --to-storage s3://bucket/prefix.")
    target = Catalog(to_catalog, who=lh.who)
    storage = Storage(to_storage.rstrip("/"), endpoint, region)
    # refuse a target that holds anything, before anything is written
    busy = holds_data(target)
    if busy:
        raise Conflict(f"{target.backend.describe(target.url)[0].upper()}"
                       f"{target.backend.describe(target.url)[1:]} is not empty (it holds "
                       f"{', '.join(busy[:4])}{' …' if len(busy) > 4 else ''}), so nothing "
                       "was copied.", "Migrate into a new, empty database.")
    existing = [f"{folder}/{n}" for folder in (TABLES, *FOLDERS)
                for n in storage.location(folder).names()]
    if existing:
        raise Conflict(f"{storage.where()[0].upper()}{storage.where()[1:]} already holds "
                       f"files ({', '.join(existing[:3])}), so nothing was copied.",
                       "Migrate into an empty bucket prefix.")
    storage.check_conditional_put()
    report = MigrationReport(target.location, to_storage)
    source_tables = Path(lh.home) / TABLES
    try:
        report.files = _copy_files(source_tables, storage)
        for folder in FOLDERS:
            report.other[folder] = _copy_files(Path(lh.home) / folder, storage, folder)
        report.rows = copy_rows(lh.catalog, target)
        report.tables = _check_tables(source_tables, storage)
        for folder in FOLDERS:
            _check_files(Path(lh.home) / folder, storage, folder)
        found = differences(lh.catalog, target)
        if found:
            raise LakebookError("The copied catalog differs from the original: "
                                + "; ".join(found[:5]) + ".",
                                "The copy was removed; run lakebook migrate again.")
    except BaseException:
        _remove(target, storage)
        raise
    return report


def _files(source: Path) -> list[Path]:
    """The files under ``source`` a copy takes (not the temporary files of a write that is
    under way, nor an artifact a registration is still staging)."""
    if not source.is_dir():
        return []
    return sorted(p for p in source.rglob("*") if p.is_file()
                  and not p.name.endswith(".tmp")
                  and not any(part.startswith(".staging-") for part in p.parts))


def _copy_files(source: Path, storage: Storage, folder: str = TABLES) -> int:
    """Every file under ``source`` into the storage's ``folder``, bytes as they are."""
    files = _files(source)
    for path in files:
        (storage.location(folder) / path.relative_to(source).as_posix()).write_bytes(
            path.read_bytes())
    return len(files)


def _check_files(source: Path, storage: Storage, folder: str) -> None:
    """Each copied file against its original, byte for byte, and nothing more there."""
    there = storage.location(folder)
    expected = [p.relative_to(source).as_posix() for p in _files(source)]
    copied = there.files()
    if sorted(expected) != copied:
        missing = sorted(set(expected) - set(copied))
        raise LakebookError(f"The copy of {folder}/ holds other files than the original "
                            f"({', '.join(missing[:3]) or 'extra files'}).",
                            "The copy was removed; try again.")
    for name in expected:
        if (there / name).read_bytes() != (source / name).read_bytes():
            raise LakebookError(f"The copy of {folder}/{name} differs from the original.",
                                "The copy was removed; try again.")


def _check_tables(source: Path, storage: Storage) -> dict[str, int]:
    """Each copied Delta table against its original: the log byte for byte, the files by
    size, the rows at every version. Returns {table: version}."""
    from .features.tables import log_versions
    from .storage import delta
    versions: dict[str, int] = {}
    for log_dir in sorted(source.glob("*/_delta_log")):
        name = log_dir.parent.name
        there = storage.location(TABLES) / name
        for entry in sorted(log_dir.iterdir()):
            if entry.is_file() and (there / "_delta_log" / entry.name).read_bytes() != \
                    entry.read_bytes():
                raise LakebookError(f"The copy of table {name} differs from the original "
                                    f"({entry.name}).", "The copy was removed; try again.")
        for version in log_versions(log_dir.parent):
            here = delta.dataset(log_dir.parent, version).count_rows()
            copied = delta.dataset(there, version).count_rows()
            if here != copied:
                raise LakebookError(f"Table {name} at version {version} has {here} rows here "
                                    f"but {copied} in the copy.", "The copy was removed; "
                                    "try again.")
            versions[name] = version
    return versions


def _remove(target: Catalog, storage: Storage) -> None:
    """Take a failed copy away again (rows first, then files)."""
    import sqlalchemy as sa
    try:
        engine = target._engine()
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with target._writer().begin() as conn:
            for table in reversed(metadata.sorted_tables):
                if table.name != "lakebook_schema_version":
                    conn.execute(table.delete())
    finally:
        for folder in (TABLES, *FOLDERS):
            storage.location(folder).delete()
