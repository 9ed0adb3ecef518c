"""Deleting rows of a feature group: by keys, by a SQL predicate, or both.

``fg.delete_rows(keys=[...], where="...")`` removes the matching rows from the Delta table in
one commit (a Delta MERGE on the rows' identities, ``_lb_commit`` and ``_lb_row``), described in
the commit like an insert (sequence number, rows, who, lineage, and the key texts it touched)
and recorded in the catalog and the lineage graph. The rows are chosen by DuckDB (the same SQL
as checks and filters) over the table as it is now; a concurrent commit makes the delete choose
again. Then, for an online group, each touched key falls back to its newest remaining row in
the online store, or leaves it; the vector index follows from the commit's description (see
``similarity.index``). A crash between the commit and the online update is finished later,
like an insert's (``online_pending``).

Bad input (no keys and no predicate, an empty or invalid predicate, a column that is not a
key, a missing key column, a null or mistyped key) is refused before anything is written.
"""
from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..shared.errors import InvalidInput
from ..shared.identity import caller_identity
from ..shared.quoting import quote_ident as qi
from ..shared.times import now_utc
from ..storage import delta as storage
from . import online_pending, tables
from .checks import connect, validate_checks
from .columns import COMMIT_COLUMN, HIDDEN_COLUMNS, ROW_COLUMN
from .online.base import key_texts, prepare

if TYPE_CHECKING:  # pragma: no cover
    from .groups import CommitInfo, FeatureGroup

#: a delete touching more keys than this does not list them in its commit: the vector index
#: is then rebuilt and an interrupted online update reloads the whole group
LISTED_KEYS = 100_000
ATTEMPTS = 20


def delete_rows(fg: "FeatureGroup", keys: Any = None, where: str | None = None,
                lineage: dict[str, Any] | None = None) -> "CommitInfo":
    """See :meth:`FeatureGroup.delete_rows`."""
    from .groups import CommitInfo
    started = time.perf_counter()
    if keys is None and where is None:
        raise InvalidInput(f"Deleting rows of feature group {fg.name!r} needs keys=... or "
                           "where=... (or both). Nothing was deleted.",
                           "Pass e.g. keys=[42] or where=\"ts < '2024-01-01'\"; to drop the "
                           "whole group version use fg.delete().")
    if where is not None:
        try:
            where = validate_checks([where], fg.name)[0]
        except InvalidInput as exc:
            raise InvalidInput(exc.message.replace("Check", "The delete predicate", 1)
                               + " Nothing was deleted.",
                               "Give one SQL predicate over the group's columns, e.g. "
                               "\"category = 'closed'\".") from None
    fg._reconcile()
    wanted = None if keys is None else _key_table(fg, keys)
    lineage = {**caller_identity(), **(lineage or {})}
    if (wanted is not None and wanted.num_rows == 0) or not storage.exists(fg.table_path):
        return CommitInfo(fg.name, fg.version, None, None, "delete", 0, lineage=lineage,
                          duration_s=time.perf_counter() - started, created_at=now_utc())
    if fg.online:
        online_pending.finish_quietly(fg)
    for attempt in range(ATTEMPTS):
        delta = storage.load(fg.table_path)
        matched = _matching_rows(fg, delta, wanted, where)
        if matched.num_rows == 0:
            return CommitInfo(fg.name, fg.version, None, None, "delete", 0, lineage=lineage,
                              duration_s=time.perf_counter() - started, created_at=now_utc())
        touched = sorted(set(key_texts(list(fg.keys), matched).to_pylist()))
        seq = fg._next_seq()
        created_at = now_utc()
        meta = {"seq": seq, "mode": "delete", "rows": matched.num_rows, "lineage": lineage,
                "group": fg.name, "group_version": fg.version, "created_at": created_at,
                "where": where, "keys_given": None if wanted is None else wanted.num_rows,
                "deleted_keys": touched if len(touched) <= LISTED_KEYS else None,
                "deleted_key_count": len(touched), "statistics": {}}
        if fg.online:  # before the commit, as an insert does: a crash after it is finished later
            online_pending.record(fg, seq)
        try:
            delta_version = tables.delete_commit(
                fg.table_path, delta, matched.select(list(HIDDEN_COLUMNS)), meta)
        except tables.Retry:
            fg._forget_pending(seq)
            time.sleep(min(0.5, 0.02 * 2 ** min(attempt, 5)))
            continue
        except BaseException:
            fg._forget_pending(seq)
            raise
        meta["duration_s"] = time.perf_counter() - started
        fg._after_delta_commit(delta_version, meta)
        fg._lh.lineage.wrote("feature_group", fg.name, fg.version,
                             delta_version=delta_version, rows=matched.num_rows, mode="delete")
        info = CommitInfo(fg.name, fg.version, delta_version, seq, "delete",
                          matched.num_rows, lineage=lineage, created_at=created_at)
        if fg.online:
            try:
                info.online_rows = settle_online(fg, meta["deleted_keys"])
                online_pending.clear(fg, [seq])
                if fg.embeddings:  # the index drops the keys' vectors (see similarity.index)
                    fg._lh.similarity.after_insert(fg)
            finally:
                online_pending.settled(fg, seq)
        info.duration_s = time.perf_counter() - started
        return info
    from ..shared.errors import Conflict
    raise Conflict(f"Rows of feature group {fg.name!r} could not be deleted: other writers kept "
                   f"committing first ({ATTEMPTS} attempts). Nothing was deleted.",
                   "Delete again.")


def _key_table(fg: "FeatureGroup", keys: Any) -> pa.Table:
    """The keys to delete as an Arrow table of the group's key columns, typed as stored."""
    import pandas as pd
    names = list(fg.keys)
    if isinstance(keys, dict) and keys and all(np.ndim(v) == 0 for v in keys.values()):
        keys = [keys]
    if isinstance(keys, dict):
        keys = pd.DataFrame(keys)
    if isinstance(keys, (list, tuple)) and keys and all(isinstance(k, dict) for k in keys):
        keys = pd.DataFrame(list(keys))
    elif isinstance(keys, (list, tuple, np.ndarray, pd.Series)) and not isinstance(keys, str):
        if len(names) != 1 and len(keys):
            raise InvalidInput(f"Feature group {fg.name!r} has a key of {len(names)} columns "
                               f"({', '.join(names)}). Nothing was deleted.",
                               "Pass keys as dicts or a DataFrame with those columns.")
        keys = pd.DataFrame({names[0]: list(keys)})
    elif np.ndim(keys) == 0 and not isinstance(keys, (pd.DataFrame, pa.Table)):
        return _key_table(fg, [keys])
    if isinstance(keys, pd.DataFrame):
        keys = keys.reset_index(drop=True)
    table = keys if isinstance(keys, pa.Table) else pa.Table.from_pandas(keys,
                                                                         preserve_index=False)
    extra = [c for c in table.column_names if c not in names]
    if extra:
        raise InvalidInput(f"Feature group {fg.name!r} has no key column(s) "
                           f"{', '.join(map(repr, extra))} (its key: {', '.join(names)}). "
                           "Nothing was deleted.",
                           "Pass only key columns in keys=...; choose rows by other columns "
                           "with where=\"...\".")
    missing = [c for c in names if c not in table.column_names]
    if missing and table.num_rows:
        raise InvalidInput(f"The keys to delete from feature group {fg.name!r} lack the key "
                           f"column(s) {', '.join(map(repr, missing))}. Nothing was deleted.",
                           f"Give every key column: {', '.join(names)}.")
    if not table.num_rows:
        return pa.table({c: pa.array([], pa.null()) for c in names})
    schema = {c["name"]: c for c in (fg.schema or [])}
    from .schema import arrow_schema
    stored = arrow_schema([schema[c] for c in names if c in schema]) if schema else None
    columns = []
    for name in names:
        col = table.column(name)
        if col.null_count:
            raise InvalidInput(f"The keys to delete from feature group {fg.name!r} have nulls "
                               f"in {name!r}. Nothing was deleted.", "Give every key value.")
        if stored is not None:
            want = stored.field(name).type
            try:
                col = col.cast(want)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InvalidInput(f"The keys to delete from feature group {fg.name!r}: "
                                   f"{name!r} holds {col.type} values, but the group's key is "
                                   f"{want}. Nothing was deleted.",
                                   f"Give {name!r} values of type {want}.") from None
        columns.append(col)
    return pa.table(columns, names=names)


def _matching_rows(fg: "FeatureGroup", delta: Any, wanted: pa.Table | None,
                   where: str | None) -> pa.Table:
    """The identities and keys of the rows to delete, chosen by DuckDB (sandboxed: the
    predicate is the user's SQL) over the table at ``delta``'s version."""
    dataset = storage.as_dataset(delta, fg.table_path)
    # embedding columns are read only when the predicate may name them
    columns = [c for c in dataset.schema.names
               if c not in fg.embeddings or (where is not None and c in where)]
    table = dataset.to_table(columns=columns)
    con = connect()
    try:
        con.register("rows_", table)
        sql = (f"SELECT {qi(COMMIT_COLUMN)}, {qi(ROW_COLUMN)}, "
               f"{', '.join('r.' + qi(k) for k in fg.keys)} FROM rows_ AS r")
        if wanted is not None:
            con.register("keys_", wanted)
            on = " AND ".join(f"r.{qi(k)} = k.{qi(k)}" for k in fg.keys)
            sql += f" SEMI JOIN keys_ AS k ON {on}"
        if where is not None:
            sql += f" WHERE ({where})"
        try:
            return con.execute(sql).fetch_arrow_table()
        except Exception as exc:  # duckdb.Error: a column that is not there, a type error
            raise InvalidInput(f"The delete predicate {where!r} cannot run on feature group "
                               f"{fg.name!r}: {str(exc).strip().splitlines()[0]}. Nothing was "
                               "deleted.", f"Name the group's columns: "
                               f"{', '.join(fg.feature_names_all(table.column_names))}.") \
                from None
    finally:
        con.close()


def rows_of_keys(path: Any, version: int | None, keys: list[str], texts: list[str],
                 columns: list[str] | None = None) -> pa.Table:
    """The rows (all, in write order) of the keys whose key texts are ``texts``, read from the
    table at ``version`` (None: current); ``columns`` to read (default all). The read is
    narrowed by the key values where the key columns are plain numbers or text."""
    delta = storage.open_table(path, version)
    if delta is None or not texts:
        return pa.table({})
    dataset = storage.as_dataset(delta, path)
    wanted = set(texts)
    decoded = [json.loads(t) for t in texts]
    expr = None
    for i, name in enumerate(keys):
        typ = dataset.schema.field(name).type
        if pa.types.is_integer(typ) or pa.types.is_string(typ) or pa.types.is_large_string(typ):
            values = pa.array(sorted({d[i] for d in decoded}, key=str)).cast(typ)
            part = pc.field(name).isin(values)
            expr = part if expr is None else expr & part
    table = dataset.to_table(columns=columns, filter=expr)
    if table.num_rows:
        keep = pc.is_in(key_texts(keys, table), value_set=pa.array(sorted(wanted)))
        table = table.filter(keep)
    if table.num_rows > 1:
        table = table.take(pc.sort_indices(table, [(COMMIT_COLUMN, "ascending"),
                                                   (ROW_COLUMN, "ascending")]))
    return table


def settle_online(fg: "FeatureGroup", texts: list[str] | None) -> int:
    """Put the online rows of the keys ``texts`` back in step with the table after a delete:
    each falls back to its newest remaining row, or is removed. ``None`` (too many keys were
    listed): reload the whole group. Returns the keys removed from the online store."""
    store = fg._lh.online_store
    if texts is None:
        before = store.count(fg.online_table)
        store.drop(fg.online_table)
        after = fg.sync_online()
        return max(0, before - after)
    if not texts:
        return 0
    remaining = rows_of_keys(fg.table_path, None, list(fg.keys), texts)
    encoded = prepare(list(fg.keys), fg.event_time, remaining) if remaining.num_rows else None
    return store.reset_keys(fg.online_table, list(fg.keys), fg.event_time, texts, encoded)
