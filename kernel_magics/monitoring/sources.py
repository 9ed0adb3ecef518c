"""Where a monitor's two sides come from.

- Model monitors (``deployment=``): the current side is what the deployment predicted in the
  current window: its online inference log (``<tables>/inference_log_<deployment>``: the
  inputs the model saw and its ``prediction``, by the log's ``ts``) together with its batch
  predictions (``predictions_<deployment>``, by the rows' own event time; the inputs rebuilt
  from the view versions each batch commit pinned, see ``batch_rows``). The reference is the
  training set of the model version that served those rows (rebuilt exactly by
  ``ModelVersion.training_data()``), with that version's predictions on it, or the same
  predictions over a reference window.
- Feature monitors (``feature_group=``): a window of the group's rows against a reference
  window (event time), keys and event time left out.
- Performance (``labels=`` on a model monitor): logged predictions joined with the label rows
  of a feature group on the keys and time (DuckDB ``ASOF JOIN``: the first label at or after the
  prediction's time), scored with the model's task metrics.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from ..shared.errors import InvalidInput, NotFound
from ..shared.quoting import quote_ident
from ..storage import delta as storage
from .drift import NothingToCompare
from ..shared.times import iso
from .windows import Window, resolve

if TYPE_CHECKING:  # pragma: no cover
    from ..storage.location import Location

#: inference-log columns that are bookkeeping, never model inputs
LOG_COLUMNS = {"request_id", "ts", "deployment", "model", "model_version", "source",
               "latency_ms"}
PREDICTION = "prediction"


@dataclass
class Sides:
    """The data one monitor run compares."""

    reference: pa.Table
    current: pa.Table
    columns: list[str] | None                 # what to test (None: every shared column)
    exclude: list[str]                        # keys, times, bookkeeping
    current_window: Window
    reference_window: Window | None
    details: dict[str, Any] = field(default_factory=dict)
    performance: dict[str, Any] | None = None  # metrics on labelled predictions


def log_table_path(lh: Any, deployment: str) -> "Location":
    return lh.tables_dir / f"inference_log_{deployment}"


def read_window(path: "Location | Path", time_column: str, window: Window, what: str) -> pa.Table:
    """The rows of the Delta table at ``path`` whose ``time_column`` is in ``window``."""
    if not (path / "_delta_log").exists():
        raise NothingToCompare(f"{what} holds no rows yet.",
                           "Wait for data to arrive (predictions, inserts) and run again.")
    dataset = storage.dataset(path)
    if time_column not in dataset.schema.names:
        raise InvalidInput(f"{what} has no time column {time_column!r}.",
                           f"Its columns: {', '.join(dataset.schema.names)}.")
    return dataset.to_table(filter=_time_filter(dataset.schema, time_column, window))


def read_predictions(lh: Any, deployment: str, time_column: str, window: Window
                     ) -> pa.Table:
    """Everything ``deployment`` predicted in ``window``: its online inference log and its
    batch predictions (with their inputs), one table; empty when there were none."""
    from .batch_rows import read_batch_rows
    what = f"The inference log of deployment {deployment!r}"
    path = log_table_path(lh, deployment)
    batch = read_batch_rows(lh, deployment, time_column, window)
    online = None
    if (path / "_delta_log").exists():
        if batch is None or time_column in _log_columns(path):
            online = read_window(path, time_column, window, what)
        # else: a batch time (e.g. scored_at) the online answers do not have
    elif batch is None:
        raise NothingToCompare(f"{what} holds no rows yet and it scored no batch.",
                               "Wait for predictions and run again.")
    parts = [t for t in (online, batch) if t is not None]
    if not parts:
        return pa.table({})
    if len(parts) == 1:
        return parts[0]
    if not online.num_rows:
        return batch
    if not batch.num_rows:
        return online
    return _union(online, batch)


def _log_columns(path: "Location") -> list[str]:
    return storage.schema(path).names


def _union(a: pa.Table, b: pa.Table) -> pa.Table:
    """Rows of both, columns of either (a column typed differently on the two sides, e.g.
    a key sent as text online, becomes text)."""
    try:
        return pa.concat_tables([a, b], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        for name in set(a.column_names) & set(b.column_names):
            ta, tb = a.schema.field(name).type, b.schema.field(name).type
            if ta != tb:
                a = a.set_column(a.schema.get_field_index(name), name,
                                 a.column(name).cast(pa.string()))
                b = b.set_column(b.schema.get_field_index(name), name,
                                 b.column(name).cast(pa.string()))
        return pa.concat_tables([a, b], promote_options="permissive")


def _time_filter(schema: pa.Schema, column: str, window: Window):
    dtype = schema.field(column).type
    expr = None
    for bound, op in ((window.start, "ge"), (window.end, "lt")):
        if bound is None:
            continue
        value = pa.scalar(bound, type=pa.timestamp("us", "UTC")).cast(dtype) \
            if pa.types.is_timestamp(dtype) else pa.scalar(bound)
        term = ds.field(column) >= value if op == "ge" else ds.field(column) < value
        expr = term if expr is None else expr & term
    return expr


def load(lh: Any, spec: dict[str, Any], now: datetime) -> Sides:
    """Both sides of monitor ``spec`` for a run at ``now`` (the window end)."""
    if spec.get("deployment"):
        return _deployment_sides(lh, spec, now)
    return _feature_group_sides(lh, spec, now)


# -- model monitors ---------------------------------------------------------------------------
def _deployment_sides(lh: Any, spec: dict[str, Any], now: datetime) -> Sides:
    name = spec["deployment"]
    try:
        row = lh.deployments.definition(name)
    except NotFound:
        raise NotFound(f"Monitor {spec['name']!r} watches deployment {name!r}, which does not "
                       "exist (deleted?).",
                       f"Delete the monitor (lh.monitoring.delete({spec['name']!r})) or deploy "
                       f"{name!r} again.") from None
    time_column = spec.get("time_column") or "ts"
    current_window = resolve(spec["current"], now)
    current = read_predictions(lh, name, time_column, current_window)
    if current.num_rows == 0:
        raise NothingToCompare(f"Deployment {name!r} logged no predictions in the current window "
                           f"{current_window}.", "Widen `current` or wait for traffic.")
    model, version = _served_version(current, row)
    mv = lh.registry.get(model, version=version)
    details = {"deployment": name, "model": model, "model_version": version,
               "time_column": time_column}
    keys_and_times = _view_keys_and_time(lh, mv)
    exclude = sorted(LOG_COLUMNS | set(keys_and_times) | {time_column}
                     | {c for c in current.column_names if c.startswith("proba_")})
    columns = spec.get("columns")
    if columns is None:
        inputs = [c for c in mv.input_features if c in current.column_names]
        columns = inputs + ([PREDICTION] if PREDICTION in current.column_names else [])
    if spec["reference"] == "training":
        reference = _training_reference(mv, columns)
        reference_window = None
        details["reference"] = f"training set of {model} v{version}"
    else:
        reference_window = resolve(spec["reference"], now, current_window)
        reference = read_predictions(lh, name, time_column, reference_window)
        details["reference"] = f"inference log {reference_window}"
    columns = [c for c in columns if c in reference.column_names]  # e.g. no prediction column
    sides = Sides(reference, current, columns, exclude, current_window, reference_window,
                  details)
    if spec.get("labels"):
        sides.performance = performance(lh, spec, mv, current)
    return sides


def _served_version(current: pa.Table, row: dict[str, Any]) -> tuple[str, int]:
    """The model version that made most predictions in the window (falls back to the
    deployment's pinned version)."""
    if "model" in current.column_names and "model_version" in current.column_names:
        con = duckdb.connect()
        try:
            con.register("cur", current)
            found = con.execute(
                "SELECT model, model_version, count(*) n FROM cur WHERE model_version IS NOT NULL "
                "GROUP BY 1, 2 ORDER BY n DESC, model_version DESC LIMIT 1").fetchall()
        finally:
            con.close()
        if found:
            return str(found[0][0]), int(found[0][1])
    if row.get("version") is not None:
        return row["model"], int(row["version"])
    raise InvalidInput(f"The inference log of deployment {row['name']!r} does not say which "
                       "model version answered.", "Monitor with reference=<window> instead.")


def _view_keys_and_time(lh: Any, mv: Any) -> list[str]:
    view = mv.view
    if not view:
        return []
    try:
        fv = lh.features.views.get(view["name"], view.get("version"))
    except Exception:  # the view may be gone; keys are then just not excluded
        return []
    return [*list(fv.keys), fv.event_time, *list(getattr(fv, "labels", []) or [])]


def _training_reference(mv: Any, columns: list[str]) -> pa.Table:
    """The version's training set, with the version's own predictions on it."""
    import pandas as pd
    frame = mv.training_data()
    if frame is None or len(frame) == 0:
        raise NothingToCompare(f"The training set of model {mv.name} v{mv.version} has no rows.",
                           "Use reference=<window> (e.g. 'previous 7d') instead.")
    out = pd.DataFrame({c: frame[c] for c in columns if c in frame.columns and c != PREDICTION})
    if PREDICTION in columns:
        try:
            out[PREDICTION] = mv.predict(frame[mv.input_features])
        except Exception:  # an untrusted or unloadable artifact: monitor the inputs only
            pass
    return pa.Table.from_pandas(out, preserve_index=False)


# -- feature monitors -------------------------------------------------------------------------
def _feature_group_sides(lh: Any, spec: dict[str, Any], now: datetime) -> Sides:
    name = spec["feature_group"]
    try:
        fg = lh.features.groups.get(name, spec.get("feature_group_version"))
    except NotFound:
        raise NotFound(f"Monitor {spec['name']!r} watches feature group {name!r}, which does "
                       "not exist (deleted?).",
                       f"Delete the monitor or create the group {name!r} again.") from None
    current_window = resolve(spec["current"], now)
    reference_window = resolve(spec["reference"], now, current_window)
    current = fg.read(start=current_window.start, end=current_window.end, output="arrow")
    reference = fg.read(start=reference_window.start, end=reference_window.end, output="arrow")
    if reference.num_rows == 0:
        raise NothingToCompare(f"The reference window {reference_window} of feature group "
                           f"{name!r} has no rows.",
                           "Pick a reference window that holds data (e.g. an explicit "
                           "{'start':..., 'end':...}).")
    if current.num_rows == 0:
        raise NothingToCompare(f"Feature group {name!r} has no rows in the current window "
                           f"{current_window}.", "Widen `current` or wait for new inserts.")
    exclude = [*fg.keys, fg.event_time]
    return Sides(reference, current, spec.get("columns"), exclude, current_window,
                 reference_window, {"feature_group": name, "version": fg.version,
                                    "reference": f"feature group window {reference_window}"})


# -- performance ------------------------------------------------------------------------------
def performance(lh: Any, spec: dict[str, Any], mv: Any, current: pa.Table) -> dict[str, Any]:
    """Join logged predictions with arriving labels and score them with the task's metrics.

    ``labels = {"feature_group": G, "label": column, "on": [keys] (default: the group's keys),
    "time": prediction time column (default: the group's event-time column when the log has
    it, else ``ts``)}``. Returns metrics, the registered (held-out) metrics and the drop.
    """
    labels = spec["labels"]
    fg = lh.features.groups.get(labels["feature_group"])
    label = labels.get("label")
    if not label:
        raise InvalidInput("labels needs the label column: labels={'feature_group': ..., "
                           "'label': ...}.")
    on = list(labels.get("on") or fg.keys)
    time_col = labels.get("time") or (fg.event_time if fg.event_time in current.column_names
                                     else "ts")
    missing = [c for c in [*on, time_col, PREDICTION] if c not in current.column_names]
    if missing:
        raise InvalidInput(f"The inference log lacks {', '.join(missing)} needed to join labels.",
                           "Give labels={'on': [...], 'time': ...} naming logged columns.")
    truth = fg.read(columns=[*on, fg.event_time, label], output="arrow")
    con = duckdb.connect()
    try:
        con.register("preds", current.select([*on, time_col, PREDICTION]))
        con.register("truth", truth)
        q = quote_ident
        keys = " AND ".join(f"p.{q(k)} = t.{q(k)}" for k in on)
        joined = con.execute(
            f"SELECT p.{q(PREDICTION)} AS y_pred, t.{q(label)} AS y_true FROM preds p "
            f"ASOF JOIN truth t ON {keys} AND t.{q(fg.event_time)} >= p.{q(time_col)}").df()
    finally:
        con.close()
    joined = joined.dropna()
    out: dict[str, Any] = {"labelled": int(len(joined)), "predictions": int(current.num_rows),
                           "task": mv.task}
    if len(joined) == 0:
        out["skipped"] = "no labels have arrived for the predictions in the window"
        return out
    metrics = task_metrics(joined["y_true"].to_numpy(), joined["y_pred"].to_numpy(), mv.task)
    out["metrics"] = metrics
    out["reference"] = {k: v for k, v in (mv.metrics or {}).items() if k in metrics}
    return out


def task_metrics(y_true, y_pred, task: str | None) -> dict[str, float]:
    import sklearn.metrics as skm
    if task == "regression":
        return {"rmse": math.sqrt(skm.mean_squared_error(y_true, y_pred)),
                "mae": float(skm.mean_absolute_error(y_true, y_pred)),
                "r2": float(skm.r2_score(y_true, y_pred))}
    classes = sorted(set(y_true.tolist()) | set(y_pred.tolist()), key=str)
    avg = {"average": "binary", "pos_label": classes[-1]} if len(classes) == 2 else {
        "average": "macro"}
    try:
        y_true = y_true.astype(type(classes[-1])) if len(classes) == 2 else y_true
    except Exception:
        pass
    return {"accuracy": float(skm.accuracy_score(y_true, y_pred)),
            "precision": float(skm.precision_score(y_true, y_pred, zero_division=0, **avg)),
            "recall": float(skm.recall_score(y_true, y_pred, zero_division=0, **avg)),
            "f1": float(skm.f1_score(y_true, y_pred, zero_division=0, **avg))}


__all__ = ["Sides", "load", "read_window", "read_predictions", "log_table_path", "performance",
           "task_metrics",
           "iso"]
