"""A deployment's batch predictions as monitor rows: the predictions table, inputs rebuilt.

Batch runs write ``predictions_<deployment>`` (or an ``--output`` table) once per run, without
the model's inputs when the view can rebuild them: the commit's metadata
(``commitInfo["lakebook.batch"]``, see ``deployments.batch``) names the view, its version, the
Delta version of every group it read and the window. :func:`read_batch_rows` reads the rows
of a time window and puts the inputs back:

- ``"features": "reference"``: per distinct (view, version, pinned versions) one
  ``view.batch_data(first, last, versions=pinned)`` over the event times of the rows needed,
  joined in DuckDB on keys + event time (+ the row's rank among equal keys and time, so
  duplicates pair off one to one). Pinned versions make it exact after later inserts.
- ``"features": "inline"``: the inputs are columns of the table (renamed back).

The window is on the rows' event time (the view's event-time column) when the monitor's
time column is the default ``ts``: for a batch row, *when* is the transaction's own time, not
the hour the batch ran; any other time column (e.g. ``scored_at``) is used as named.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..shared.errors import InvalidInput, LakebookError, NotFound
from ..shared.quoting import quote_ident
from ..storage import delta as storage
from .windows import Window

METADATA_KEY = "lakebook.batch"  # deployments.batch.METADATA_KEY (not imported: no cycle)
_POS = "_lb_pos"


def output_tables(lh: Any, deployment: str) -> list[Path]:
    """The Delta tables the deployment's batch runs wrote (that exist)."""
    return [p for p in lh.deployments.output_tables(deployment) if (p / "_delta_log").exists()]


def commits(path: Path) -> dict[str, dict[str, Any]]:
    """Batch metadata of every commit of a predictions table, by :func:`commit_key` (run id
    and ``scored_at``: unique per commit even when a scheduled run writes one table twice)."""
    from deltalake import DeltaTable
    out: dict[str, dict[str, Any]] = {}
    for info in DeltaTable(str(path)).history():
        meta = info.get(METADATA_KEY)
        if isinstance(meta, str):
            meta = json.loads(meta)
        if isinstance(meta, dict) and meta.get("run_id") and meta.get("scored_at"):
            out[commit_key(meta["run_id"], meta["scored_at"])] = meta
    return out


def commit_key(run_id: str, scored_at: Any) -> str:
    """``run_id|<scored_at in epoch microseconds>``."""
    import pandas as pd
    return f"{run_id}|{pd.Timestamp(scored_at).value // 1000}"


def _row_keys(rows: pa.Table) -> pa.Array:
    """:func:`commit_key` of every row (the commit it came from)."""
    micros = rows.column("scored_at").cast(pa.timestamp("us", "UTC")).cast(pa.int64())
    return pc.binary_join_element_wise(rows.column("run_id"), micros.cast(pa.string()), "|")


def read_batch_rows(lh: Any, deployment: str, time_column: str, window: Window
                    ) -> pa.Table | None:
    """The deployment's batch predictions in ``window`` with the model's inputs, shaped like
    inference-log rows (``ts``, ``source="batch"``, ``request_id`` = run id); None when it
    never ran a batch."""
    parts = []
    for path in output_tables(lh, deployment):
        part = _read_table(lh, deployment, path, time_column, window)
        if part is not None and part.num_rows:
            parts.append(part)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else pa.concat_tables(parts, promote_options="permissive")


def _read_table(lh: Any, deployment: str, path: Path, time_column: str, window: Window
                ) -> pa.Table | None:
    from .sources import _time_filter
    metas = commits(path)
    own = {k: m for k, m in metas.items() if m.get("deployment") in (None, deployment)}
    default_table = path.name == f"predictions_{deployment}"
    if not own and not default_table:
        return None
    event_time = next((m["event_time"] for m in own.values() if m.get("event_time")), None)
    column = event_time if time_column == "ts" and event_time else time_column
    dataset = storage.dataset(path)
    if column not in dataset.schema.names:
        raise InvalidInput(f"The batch predictions {path.name} have no time column {column!r}.",
                           f"Its columns: {', '.join(dataset.schema.names)}.")
    rows = dataset.to_table(filter=_time_filter(dataset.schema, column, window))
    if not rows.num_rows:
        return rows
    if "run_id" in rows.column_names and "scored_at" in rows.column_names:
        rows = _keep_own(rows, metas, deployment, default_table)
    rows = rows.append_column(_POS, pa.array(np.arange(rows.num_rows, dtype=np.int64)))
    rows = _attach_inputs(lh, rows, own)
    n = rows.num_rows
    if time_column == "ts" and event_time and event_time != "ts":
        rows = _set(rows, "ts", rows.column(event_time))
    for name, value in {"source": "batch", "deployment": deployment}.items():
        rows = _set(rows, name, pa.repeat(pa.scalar(value, pa.string()), n))
    if "run_id" in rows.column_names and "request_id" not in rows.column_names:
        rows = rows.append_column("request_id", rows.column("run_id"))
    return rows.drop_columns([c for c in (_POS, "_lb_run") if c in rows.column_names])


def _set(table: pa.Table, name: str, values: Any) -> pa.Table:
    i = table.schema.get_field_index(name)
    if i >= 0:
        return table.set_column(i, name, values)
    return table.append_column(name, values)


def _keep_own(rows: pa.Table, metas: dict, deployment: str, default_table: bool) -> pa.Table:
    """Rows of this deployment's commits (an ``--output`` table may be shared); rows of
    commits without metadata count only in the deployment's own table."""
    keys = _row_keys(rows)
    rows = rows.append_column("_lb_run", keys)
    foreign = [k for k, m in metas.items() if m.get("deployment") not in (None, deployment)]
    known = list(metas)
    keep = pc.invert(pc.is_in(keys, pa.array(foreign, pa.string())))
    if not default_table:
        keep = pc.and_(keep, pc.is_in(keys, pa.array(known, pa.string())))
    return rows.filter(keep)


def _attach_inputs(lh: Any, rows: pa.Table, metas: dict[str, dict[str, Any]]) -> pa.Table:
    """Put the model's inputs next to each row: rebuilt from the pinned view versions, or
    renamed back from the columns they were stored in."""
    if "_lb_run" not in rows.column_names or not metas:
        return rows
    present = set(pc.unique(rows.column("_lb_run")).to_pylist())
    groups: dict[str, dict[str, Any]] = {}
    inline: dict[str, dict[str, str]] = {}
    for key, meta in metas.items():
        if key not in present:
            continue
        if meta.get("features") == "reference" and meta.get("versions") is not None:
            gid = json.dumps([meta["view"], meta["view_version"], meta["versions"]],
                             sort_keys=True)
            g = groups.setdefault(gid, {"meta": meta, "runs": []})
            g["runs"].append(key)
        elif meta.get("features") == "inline" and meta.get("inputs"):
            inline[key] = meta["inputs"]
    features: list[pa.Table] = []
    for g in groups.values():
        features.append(_rebuild(lh, rows, g["meta"], g["runs"]))
    features += _stored(rows, inline)
    if not features:
        return rows
    union = features[0] if len(features) == 1 else \
        pa.concat_tables(features, promote_options="permissive")
    # each row's place in the union (null: inputs unknown), then every input column taken
    # through it: no join, no sort
    where = np.full(rows.num_rows, -1, dtype=np.int64)
    where[union.column(_POS).to_numpy()] = np.arange(union.num_rows)
    take = pa.array(where, mask=where < 0)
    for name in union.column_names:
        if name != _POS:  # a column the cell copied next to its predictions is replaced
            rows = _set(rows, name, union.column(name).take(take))
    return rows


def _stored(rows: pa.Table, inline: dict[str, dict[str, str]]) -> list[pa.Table]:
    """The inputs a commit stored inline, as (_lb_pos, input...) tables."""
    out = []
    by_layout: dict[str, list[str]] = {}
    for key, inputs in inline.items():
        by_layout.setdefault(json.dumps(inputs, sort_keys=True), []).append(key)
    for layout, keys in by_layout.items():
        inputs = json.loads(layout)
        mask = pc.is_in(rows.column("_lb_run"), pa.array(keys, pa.string()))
        part = rows.filter(mask)
        cols = {_POS: part.column(_POS)}
        for feature, column in inputs.items():
            if column in part.column_names:
                cols[feature] = part.column(column)
        out.append(pa.table(cols))
    return out


def _same_rows(part: pa.Table, rebuilt: pa.Table, ident: list[str]) -> bool:
    """Whether ``part`` and ``rebuilt`` hold the same (keys, event time) row for row."""
    if part.num_rows != rebuilt.num_rows:
        return False
    for c in ident:
        a, b = part.column(c), rebuilt.column(c)
        try:
            if a.type != b.type:
                b = b.cast(a.type)
            same = pc.all(pc.equal(a, b)).as_py()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return False
        if not same or a.null_count:
            return False
    return True


def _rebuild(lh: Any, rows: pa.Table, meta: dict[str, Any], runs: list[str]) -> pa.Table:
    """``(_lb_pos, input...)`` for the rows of ``runs``, which read ``meta["view"]`` at the
    same pinned versions: one ``batch_data`` over their event times, joined on keys + event
    time + rank among equal (keys, time) within a run."""
    view_name, version = meta["view"], meta["view_version"]
    try:
        view = lh.features.views.get(view_name, version)
    except NotFound:
        raise NotFound(f"Batch predictions of run {meta['run_id']} were scored on feature "
                       f"view {view_name!r} version {version}, which no longer exists, so "
                       "their inputs cannot be rebuilt.",
                       "Monitor a window after that run, or restore the view.") from None
    keys, event_time = list(view.keys), view.event_time
    part = rows.filter(pc.is_in(rows.column("_lb_run"), pa.array(runs, pa.string())))
    times = part.column(event_time)
    first, last = pc.min(times).as_py(), pc.max(times).as_py()
    import pandas as pd
    end = pd.Timestamp(last) + pd.Timedelta(microseconds=1)
    try:
        rebuilt = view.batch_data(first, end, versions=meta["versions"])
    except LakebookError as exc:
        raise type(exc)(f"Rebuilding the inputs of batch run {meta['run_id']} from feature "
                        f"view {view_name!r} v{version} at {meta['versions']} failed: "
                        f"{exc.message}", exc.hint) from None
    inputs = [c for c in view.features if c in rebuilt.columns]
    rebuilt_t = pa.Table.from_pandas(rebuilt[[*keys, event_time, *inputs]],
                                     preserve_index=False)
    if _same_rows(part, rebuilt_t, [*keys, event_time]):
        # the usual case: the rows are the run's whole read, in its order
        return pa.table({_POS: part.column(_POS),
                         **{c: rebuilt_t.column(c) for c in inputs}})
    rebuilt_t = rebuilt_t.append_column("_lb_rpos", pa.array(range(rebuilt_t.num_rows),
                                                             pa.int64()))
    q = quote_ident
    ident = ", ".join(q(c) for c in [*keys, event_time])
    on = " AND ".join(f"p.{q(c)} = b.{q(c)}" for c in [*keys, event_time]) + \
        " AND p._lb_n = b._lb_n"
    feats = ", ".join(f"b.{q(c)}" for c in inputs)
    con = duckdb.connect()
    try:
        con.register("part", part.select([_POS, "_lb_run", *keys, event_time]))
        con.register("rebuilt", rebuilt_t)
        out = con.sql(
            f"WITH p AS (SELECT *, row_number() OVER (PARTITION BY _lb_run, {ident} "
            f"ORDER BY {_POS}) AS _lb_n FROM part), "
            f"b AS (SELECT *, row_number() OVER (PARTITION BY {ident} ORDER BY _lb_rpos) "
            f"AS _lb_n FROM rebuilt) "
            f"SELECT p.{_POS}, {feats} FROM p JOIN b ON {on}").to_arrow_table()
    finally:
        con.close()
    return out


__all__ = ["read_batch_rows", "output_tables", "commits"]
