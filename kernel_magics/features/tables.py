"""Delta Lake I/O for feature groups: one insert is one Delta commit, retried on conflicts.

Every Lakebook commit carries its own description in the Delta commit's metadata (key
``lakebook``: sequence number, mode, rows, statistics, lineage, schema). The Delta log is thus
the truth: a commit that the catalog never recorded (the process died between the two) is
found and recorded from the log on the next open (see ``FeatureGroup._reconcile``).
"""
from __future__ import annotations

import json
import random
import time
from typing import Any

import numpy as np
import pyarrow as pa
from deltalake import (ColumnProperties, CommitProperties, DeltaTable, WriterProperties,
                       write_deltalake)
from deltalake.exceptions import CommitFailedError, DeltaError, SchemaMismatchError

from ..shared import jsonsafe
from ..shared.errors import Conflict
from ..storage.delta import Where, locate, open_table
from ..shared.quoting import quote_ident
from .columns import COMMIT_COLUMN, ROW_COLUMN

METADATA_KEY = "lakebook"
COMMIT_RETRIES = 40  # our own loop, on top of delta-rs's internal retries
#: the key of a group's definition in its Delta table's description (delta-rs refuses custom
#: table properties, so the description — part of the table's metaData, kept by every
#: checkpoint — carries it): ``{"lakebook.feature_group": {name, version, keys, ...}}``
DEFINITION_KEY = "lakebook.feature_group"


def definition_text(definition: dict[str, Any]) -> str:
    """A group definition as the Delta table description that carries it."""
    return json.dumps({DEFINITION_KEY: definition}, sort_keys=True, default=jsonsafe.default)


def read_definition(path: Where) -> dict[str, Any] | None:
    """The group definition a Delta table carries in its description (None when it carries
    none: not a Lakebook feature group, or written before Lakebook described its tables)."""
    table = open_table(path)
    if table is None:
        return None
    text = table.metadata().description or ""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None
    found = value.get(DEFINITION_KEY) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else None


def _describe(delta: DeltaTable, definition: dict[str, Any]) -> None:
    """Give a table written before Lakebook described its tables its definition (one
    metadata-only commit, marked as Lakebook's)."""
    text = definition_text(definition)
    if (delta.metadata().description or "") == text:
        return
    delta.alter.set_table_description(text, commit_properties=CommitProperties(
        custom_metadata={METADATA_KEY: json.dumps({"mode": "describe", "rows": 0})}))


def commit_metadata(entry: dict[str, Any]) -> dict[str, Any] | None:
    """Lakebook's description of a Delta history entry, None for other writers' commits."""
    value = entry.get(METADATA_KEY)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, dict) else None


def _is_conflict(exc: Exception) -> bool:
    if isinstance(exc, CommitFailedError):
        return True
    text = str(exc).lower()
    # two first inserts racing to create the table, or a transaction log race
    return any(s in text for s in ("already exists", "version mismatch", "conflict",
                                   "concurrent", "transaction failed"))


def with_hidden_columns(table: pa.Table, schema: pa.Schema, seq: int,
                        chunk: int = 1 << 20) -> pa.RecordBatchReader:
    """``table`` cast to ``schema`` plus ``_lb_commit`` (= ``seq``) and ``_lb_row`` (0, 1,
    …), made batch by batch as the writer pulls them: no second copy of a large insert."""
    from .schema import cast_to
    out = schema.append(pa.field(COMMIT_COLUMN, pa.int64())).append(
        pa.field(ROW_COLUMN, pa.int64()))

    def batches():
        offset = 0
        for batch in table.to_batches(max_chunksize=chunk):
            n = batch.num_rows
            batch = cast_to(batch, schema)
            yield pa.RecordBatch.from_arrays(
                [*batch.columns, pa.array(np.full(n, seq, dtype=np.int64)),
                 pa.array(np.arange(offset, offset + n, dtype=np.int64))], schema=out)
            offset += n

    return pa.RecordBatchReader.from_batches(out, batches())


def hidden_column_encodings() -> WriterProperties:
    """Parquet encodings of the hidden columns: the row number as deltas (a run of +1s packs
    to almost nothing; written plain it made a 1M-row insert of a 4-column group 1.4x
    ``write_deltalake`` of the frame, issue 16) and the commit number as a dictionary."""
    return WriterProperties(column_properties={
        COMMIT_COLUMN: ColumnProperties(dictionary_enabled=True),
        ROW_COLUMN: ColumnProperties(dictionary_enabled=False, encoding="DELTA_BINARY_PACKED")})


def commit(path: Where, table: pa.Table, schema: pa.Schema, mode: str, keys: list[str],
           event_time: str,
           metadata: dict[str, Any], evolve: bool = False,
           before_attempt: Any = None, definition: dict[str, Any] | None = None) -> int:
    """Write ``table`` (plus the hidden columns, ``_lb_commit`` = ``metadata["seq"]``) as one
    Delta commit (``append`` or ``upsert``) and return its version.

    Upsert is a Delta MERGE on the keys and event time: a matching row is replaced, any other
    is inserted. Commit conflicts with concurrent writers are retried with jittered backoff;
    ``before_attempt()`` runs before each attempt (the caller re-checks its schema there).
    ``definition``: the group's definition, written into the table's description when the
    table is created (so the table describes itself, see ``lakebook recover``).
    """
    seq = metadata["seq"]
    loc = locate(path)
    loc.storage.check_conditional_put()  # concurrent commits must not be lost
    props = CommitProperties(custom_metadata={METADATA_KEY: json.dumps(metadata, default=jsonsafe.default)})
    for attempt in range(COMMIT_RETRIES):
        if before_attempt is not None:
            before_attempt()
        data = with_hidden_columns(table, schema, seq)
        try:
            delta = open_table(path)
            if delta is not None and definition is not None and attempt == 0:
                _describe(delta, definition)
            if delta is None or mode == "append" or delta.version() < 0:
                described = {} if definition is None or delta is not None else {
                    "name": f"{definition['name']}_v{definition['version']}",
                    "description": definition_text(definition)}
                write_deltalake(loc.uri, data, mode="append",
                                schema_mode="merge" if evolve else None,
                                storage_options=loc.delta_options,
                                writer_properties=hidden_column_encodings(),
                                commit_properties=props, **described)
            else:
                cond = " AND ".join(f"t.{quote_ident(c)} = s.{quote_ident(c)}"
                                    for c in [*keys, event_time])
                (delta.merge(data, predicate=cond, source_alias="s", target_alias="t",
                             merge_schema=evolve, writer_properties=hidden_column_encodings(),
                             commit_properties=props)
                 .when_matched_update_all().when_not_matched_insert_all().execute())
            return find_commit(path, seq)
        except SchemaMismatchError:
            raise
        except (CommitFailedError, DeltaError, OSError) as exc:
            if not _is_conflict(exc) or attempt == COMMIT_RETRIES - 1:
                if _is_conflict(exc):
                    raise Conflict(f"The insert could not be committed after {attempt + 1} "
                                   f"attempts: other writers kept committing first ({exc}).",
                                   "Insert again; nothing was written.") from exc
                raise
            time.sleep(min(1.0, 0.02 * 2 ** min(attempt, 6)) * (0.5 + random.random()))
    raise AssertionError("unreachable")


class Retry(Exception):
    """Another writer committed first in a way that changes what a delete must remove."""


def delete_commit(path: Where, delta: DeltaTable, rows: pa.Table,
                  metadata: dict[str, Any]) -> int:
    """Delete the rows whose ``(_lb_commit, _lb_row)`` are in ``rows`` from the table loaded
    as ``delta``, as one Delta commit described by ``metadata``; returns its version. Raises
    :class:`Retry` when a concurrent commit conflicts (the caller chooses the rows again)."""
    locate(path).storage.check_conditional_put()
    props = CommitProperties(custom_metadata={
        METADATA_KEY: json.dumps(metadata, default=jsonsafe.default)})
    on = " AND ".join(f"t.{quote_ident(c)} = s.{quote_ident(c)}"
                      for c in (COMMIT_COLUMN, ROW_COLUMN))
    try:
        (delta.merge(rows, predicate=on, source_alias="s", target_alias="t",
                     commit_properties=props)
         .when_matched_delete().execute())
    except (CommitFailedError, DeltaError, OSError) as exc:
        if _is_conflict(exc):
            raise Retry(str(exc)) from exc
        raise
    return find_commit(path, metadata["seq"])


def log_versions(path: Where) -> list[int]:
    """The versions whose commit files are in the Delta log, ascending."""
    names = (locate(path) / "_delta_log").names(".json")
    return sorted(int(n[:-5]) for n in names if n[:-5].isdigit())


def commit_info(path: Where, version: int) -> dict[str, Any] | None:
    """The ``commitInfo`` action of Delta ``version``, read from its log file (None when the
    file is gone). Read directly: the version is the file's name, never an inferred one."""
    try:
        text = (locate(path) / "_delta_log" / f"{version:020d}.json").read_text()
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        if '"commitInfo"' in line:
            action = json.loads(line)
            if "commitInfo" in action:
                return action["commitInfo"]
    return {}


def version_at(path: Where, when: Any, upto: int | None = None) -> int | None:
    """The latest Delta version committed at or before ``when`` (an aware datetime), by the
    ``commitInfo.timestamp`` each commit carries; None when the first commit is later."""
    cutoff = when.timestamp() * 1000
    found = None
    for version in log_versions(path):
        if upto is not None and version > upto:
            break
        stamp = (commit_info(path, version) or {}).get("timestamp")
        if stamp is not None and stamp <= cutoff:
            found = version
        elif stamp is not None:
            break
    return found


def find_commit(path: Where, seq: int) -> int:
    """The Delta version of the commit carrying Lakebook sequence number ``seq``."""
    for version in reversed(log_versions(path)):
        meta = commit_metadata(commit_info(path, version) or {})
        if meta is not None and meta.get("seq") == seq:
            return version
    raise RuntimeError(f"commit {seq} not found in the Delta log of {path}")
