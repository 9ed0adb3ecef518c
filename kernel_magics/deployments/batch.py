"""The batch path: a window of the view's rows -> predictions in one Delta commit.

``run_batch`` reads ``view.batch_data(start, end)`` (or takes a prepared frame), predicts
with the deployment's current model, and appends keys, event time, ``prediction`` (and
``proba_<class>``), ``model``, ``model_version``, ``scored_at`` and ``run_id`` to the Delta
table ``predictions_<deployment>`` (or ``output``): one write, one commit.

The model's inputs are not copied. When the rows are exactly what the deployment's view
returned (an unmodified ``batch_data`` frame), the commit's metadata (``commitInfo``, key
``lakebook.batch``, see :func:`commit_metadata`) names the view and version, the Delta version
of every group it read (``df.attrs["lakebook_versions"]``) and the window: monitoring rebuilds
the inputs exactly with ``view.batch_data(..., versions=...)``. A frame the caller made or
changed cannot be rebuilt, so its input columns are stored in the predictions table next to
the predictions (``"features": "inline"`` in the metadata, with the column of each input).

Why by reference: the batch target is "scored and written in under 2x bare ``model.predict``
+ ``write_deltalake`` of the result" (issue 5); writing the four inputs as well measured
2.4-2.8x at 1M rows (see benchmarks/README.md), the predictions alone fit.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..shared.errors import InvalidInput, LakebookError, NotFound
from ..shared.names import validate_name
from ..shared.times import iso, parse_time

if TYPE_CHECKING:  # pragma: no cover
    from ..storage.location import Location
    from .deployment import Deployment

#: the commitInfo key of a batch commit's metadata
METADATA_KEY = "lakebook.batch"
#: the predictions table's own columns (an input stored inline under one of these names is
#: written ``input_<name>``)
OWN_COLUMNS = frozenset({"prediction", "model", "model_version", "scored_at", "run_id",
                         "arm"})


@dataclass
class BatchResult:
    """What a batch run scored and where it wrote it."""

    deployment: str
    model: str
    version: int
    rows: int
    output: str
    path: "Location"
    seconds: float
    start: Any = None
    end: Any = None
    run_id: str = ""
    #: what was appended to the predictions table
    table: pa.Table = field(default_factory=lambda: pa.table({}), repr=False)

    @property
    def predictions(self) -> pd.DataFrame:
        """The appended rows as a DataFrame (converted on first use)."""
        cached = self.__dict__.get("_predictions")
        if cached is None:
            cached = self.__dict__["_predictions"] = self.table.to_pandas()
        return cached

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (the predictions themselves stay in ``table``)."""
        return {"deployment": self.deployment, "model": self.model, "version": self.version,
                "rows": self.rows, "output": self.output, "path": str(self.path),
                "seconds": self.seconds, "start": None if self.start is None else str(self.start),
                "end": None if self.end is None else str(self.end), "run_id": self.run_id}

    def _repr_html_(self) -> str:
        from ..render.deployments import batch_html
        preview = self.table.slice(0, 5).to_pandas()
        return batch_html(self.to_dict(),
                          preview.to_html(index=False, border=0) if len(preview) else "")


def predict_frame(deployment: "Deployment", df: pd.DataFrame, served=None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predict every row of ``df``: (predictions frame, the model's input frame)."""
    served = served or deployment.served
    model = served.model
    X = df[_input_columns(served, df)]
    if not len(X):  # an empty window: nothing to score (models refuse zero rows)
        raw = np.empty(0, dtype=object)
        proba = np.empty((0, len(model.classes))) if model.classes is not None else None
    else:
        raw, proba = _predict(model, X)
    return _frame(served, df, model, raw, proba), X


def _input_columns(served, df: pd.DataFrame) -> list[str]:
    model = served.model
    columns = list(model.input_columns or (served.view.features if served.view else df.columns))
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidInput(f"The batch has no column(s) {', '.join(map(repr, missing))}, which "
                           f"model {model.name} v{model.version} needs.",
                           "Keep the view's feature columns in batch_df.")
    return columns


def _predict(model, X: pd.DataFrame):
    from .deployment import PredictionFailed
    try:
        return model.predict(X)
    except Exception as exc:
        raise PredictionFailed(f"Model {model.name} v{model.version} failed on the batch: "
                               f"{type(exc).__name__}: {str(exc)[:300]}",
                               "Check batch_df's columns and types against the model's "
                               "input schema.") from None


def _frame(served, df: pd.DataFrame, model, raw, proba, constants: bool = True
           ) -> pd.DataFrame:
    ident = [c for c in (*served.keys, served.event_time) if c and c in df.columns]
    out = {c: df[c].array for c in ident}  # .array: no object detour for tz-aware times
    out["prediction"] = np.asarray(raw)
    if proba is not None:
        for j, c in enumerate(model.classes):
            out[f"proba_{c}"] = proba[:, j]
    preds = pd.DataFrame(out, index=df.index)
    if constants:
        preds["model"] = model.name
        preds["model_version"] = np.int64(model.version)
    return preds


def _arrow_frame(served, df: pd.DataFrame, model, raw, proba) -> pa.Table:
    """:func:`_frame`'s columns built straight in Arrow (no intermediate DataFrame: a
    million rows' frame and its conversion cost as much as the prediction)."""
    ident = [c for c in (*served.keys, served.event_time) if c and c in df.columns]
    cols: dict[str, pa.Array] = {c: pa.array(df[c], from_pandas=True) for c in ident}
    cols["prediction"] = pa.array(np.asarray(raw), from_pandas=True)
    if proba is not None:
        for j, c in enumerate(model.classes):
            cols[f"proba_{c}"] = pa.array(np.ascontiguousarray(proba[:, j]))
    return pa.table(cols)


def run_batch(deployment: "Deployment", start: Any = None, end: Any = None,
              output: str | None = None, df: pd.DataFrame | None = None,
              predictions: pd.DataFrame | None = None, run_id: str | None = None,
              versions: dict[str, int] | None = None, served: Any = None,
              arm: str | None = None) -> BatchResult:
    """Score a window (or ``df``) and append the predictions; see the module docstring.

    ``predictions``: already computed (e.g. post-processed in an ``%%inference`` cell); they
    must carry ``prediction``; missing identity/model columns are added.
    ``versions``: ``df`` is the deployment view's ``batch_data(start, end)`` read at these
    Delta versions, unmodified (its ``attrs["lakebook_versions"]``): the inputs are then
    recorded by reference. Without it (a frame the caller passed), they are stored inline.
    ``served`` / ``arm``: score with an arm's model instead (``Deployment.batch(arm=...)``);
    its rows carry an ``arm`` column beside ``model_version``.
    """
    t0 = time.perf_counter()
    served = served or deployment.served
    model = served.model
    output = output or f"predictions_{deployment.name}"
    validate_name(output, "predictions table")
    if df is None:
        if served.view is None:
            raise InvalidInput(f"Deployment {deployment.name!r} has no feature view to read a "
                               "batch from.", "Pass df=... (the rows to score), or deploy a "
                               "model trained on a view.")
        df = served.view.batch_data(start, end)
        versions = df.attrs.get("lakebook_versions")
    run_id = run_id or uuid.uuid4().hex
    scored_at = datetime.now(timezone.utc)
    columns = _input_columns(served, df) if predictions is None else \
        [c for c in (model.input_columns or []) if c in df.columns]
    if predictions is None:
        X = df[columns]
        raw, proba = _predict(model, X) if len(X) else (np.empty(0), None)
        table = _arrow_frame(served, df, model, raw, proba if len(X) else None)
        aligned = True
    else:
        if "prediction" not in predictions.columns:
            raise InvalidInput("The predictions frame has no 'prediction' column.",
                               "Name the model's output column 'prediction'.")
        table = pa.Table.from_pandas(predictions.reset_index(drop=True), preserve_index=False)
        # the predictions are row for row the frame's rows (predict(batch_df), post-processed)
        aligned = len(predictions) == len(df) and predictions.index.equals(df.index)
    n = table.num_rows
    consts = {"model": (model.name, pa.string()), "model_version": (model.version, pa.int64())}
    if arm is not None:
        consts["arm"] = (arm, pa.string())
    for name, (value, typ) in consts.items():
        if name not in table.column_names:
            table = table.append_column(name, _repeat(value, typ, n))
    # this write's own: they name the commit the rows came from (replaced if the cell's
    # frame carried a previous run's)
    table = table.drop_columns([c for c in ("scored_at", "run_id") if c in table.column_names])
    table = table.append_column("scored_at", _repeat(scored_at, pa.timestamp("us", "UTC"), n))
    table = table.append_column("run_id", _repeat(run_id, pa.string(), n))
    by_reference = _by_reference(served, table, columns, versions, aligned)
    stored: dict[str, str] = {}
    written = table
    if not by_reference and columns:
        written, stored = _with_inputs(table, df, predictions, columns)
    meta = commit_metadata(deployment, served, run_id, scored_at, start, end, n,
                           versions if by_reference else None, stored)
    path = deployment.lh.tables_dir / output
    if n:
        write_predictions(path, written, meta)
    seconds = time.perf_counter() - t0
    if n:
        from ..lineage.api import ref
        from ..storage import delta as storage
        table_now = storage.open_table(path)
        deployment.lh.lineage.wrote(
            "predictions", output, delta_version=None if table_now is None else table_now.version(),
            rows=n, inputs=[ref("model_version", model.name, model.version),
                            ref("deployment", deployment.name)])
    deployment.lh.catalog.record_event("deployment.batch", deployment.name, {
        "rows": n, "model": model.name, "version": model.version,
        "output": output, "start": str(start) if start is not None else None,
        "end": str(end) if end is not None else None, "seconds": round(seconds, 3),
        "run_id": run_id, "inputs": meta["features"]})
    return BatchResult(deployment=deployment.name, model=model.name, version=model.version,
                       rows=n, output=output, path=path, seconds=seconds,
                       start=start, end=end, run_id=run_id, table=table)


def _repeat(value: Any, typ: pa.DataType, n: int) -> pa.Array:
    """A constant column built in Arrow (no Python object per row)."""
    return pa.repeat(pa.scalar(value, typ), n)


def _by_reference(served, table: pa.Table, columns: list[str],
                  versions: dict[str, int] | None, aligned: bool) -> bool:
    """Whether the view can rebuild exactly what the model saw: rows straight from its
    ``batch_data`` (pinned versions known, one output row per input row), every input one of
    its features, and the keys and event time kept in the output to join on."""
    view = served.view
    if view is None or versions is None or not aligned:
        return False
    ident = [*view.keys, view.event_time]
    return set(columns) <= set(view.features) and all(c in table.column_names for c in ident)


def _with_inputs(table: pa.Table, df: pd.DataFrame, predictions: pd.DataFrame | None,
                 columns: list[str]) -> tuple[pa.Table, dict[str, str]]:
    """The predictions table plus the model's inputs (when the rows cannot be rebuilt),
    and where each input went (``{input: column}``)."""
    if predictions is None:
        X = df[columns]
    else:  # post-processed predictions: the inputs of the rows they kept
        idx = predictions.index
        if not idx.isin(df.index).all() or not idx.is_unique:
            return table, {}  # rows the cell made up: nothing to attach them to
        X = df.loc[idx, columns]
    xt = pa.Table.from_pandas(X.reset_index(drop=True), preserve_index=False)
    stored: dict[str, str] = {}
    for c in xt.column_names:
        if c in table.column_names:
            same = not (c in OWN_COLUMNS or c.startswith("proba_")) and \
                table.column(c).equals(xt.column(c))
            if same:  # e.g. the cell copied the input next to the prediction
                stored[c] = c
                continue
            name = f"input_{c}"
        else:
            name = c
        table = table.append_column(name, xt.column(c))
        stored[c] = name
    return table, stored


def commit_metadata(deployment: "Deployment", served, run_id: str, scored_at: datetime,
                    start: Any, end: Any, rows: int, versions: dict[str, int] | None,
                    stored: dict[str, str]) -> dict[str, Any]:
    """What a batch commit records (``commitInfo["lakebook.batch"]``): who scored, with
    which model, and where the inputs are — by reference (``view``, ``view_version``, the
    pinned Delta ``versions`` of its groups, the ``window``) or ``inline`` (``inputs``:
    input -> column of this table)."""
    view = served.view
    model = served.model
    return {
        "deployment": deployment.name, "run_id": run_id, "scored_at": scored_at.isoformat(),
        "model": model.name, "model_version": int(model.version), "rows": int(rows),
        "view": view.name if view is not None else None,
        "view_version": int(view.version) if view is not None else None,
        "keys": list(view.keys) if view is not None else [],
        "event_time": view.event_time if view is not None else None,
        "window": {"start": iso(parse_time(start, "start")),
                   "end": iso(parse_time(end, "end"))},
        "features": "reference" if versions is not None else ("inline" if stored else "none"),
        "versions": dict(versions) if versions is not None else None,
        "inputs": stored}


def _dictionary_columns(table: pa.Table) -> list[str]:
    """Dictionary encoding only where it pays: text and booleans, the constant model/run
    columns and integer class labels. Keys, times, probabilities and other numbers are
    written plain: the dictionary attempt on a million distinct values was a third of the
    write (0.19 s vs 0.14 s for 1M predictions)."""
    small = {"model", "model_version", "scored_at", "run_id"}
    out = []
    for f in table.schema:
        t = f.type
        text = pa.types.is_string(t) or pa.types.is_large_string(t) or \
            pa.types.is_boolean(t) or pa.types.is_dictionary(t)
        label = f.name == "prediction" and not pa.types.is_floating(t)
        if text or label or f.name in small:
            out.append(f.name)
    return out


def write_predictions(path: "Location | Path", table: pa.Table, metadata: dict[str, Any]) -> None:
    """Append ``table`` to the Delta table at ``path`` as one commit carrying ``metadata``
    (``commitInfo["lakebook.batch"]``)."""
    from deltalake import ColumnProperties, WriterProperties
    from ..storage.delta_append import append
    dictionary = _dictionary_columns(table)
    props = WriterProperties(column_properties={
        f.name: ColumnProperties(dictionary_enabled=f.name in dictionary) for f in table.schema})
    append(path, table, dictionary, {METADATA_KEY: metadata}, fallback_writer_properties=props)


__all__ = ["BatchResult", "run_batch", "predict_frame", "commit_metadata", "write_predictions",
           "METADATA_KEY", "LakebookError"]


def after_last_scored(lh: Any, output: str, event_time: str | None):
    """Just after the newest event time already in the ``output`` table (None when nothing
    was scored yet): where a batch without a window starts, so each row is scored once."""
    path = lh.tables_dir / output
    if not event_time or not (path / "_delta_log").exists():
        return None
    import pyarrow.compute as pc
    from ..storage.delta import dataset
    try:
        table = dataset(path).to_table(columns=[event_time])
    except Exception as exc:
        raise NotFound(f"Cannot read the event time {event_time!r} of {output} ({exc}).",
                       "Pass --start/--end, or --output a new table.") from None
    newest = pc.max(table.column(event_time)).as_py()
    if newest is None:
        return None
    return pd.Timestamp(newest) + pd.Timedelta(microseconds=1)
