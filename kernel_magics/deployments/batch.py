"""The batch path: a window of the view's rows -> predictions in Delta (and the inference log).

``run_batch`` reads ``view.batch_data(start, end)`` (or takes a prepared frame), predicts
with the deployment's current model, and appends keys, event time, ``prediction`` (and
``proba_<class>``), ``model``, ``model_version``, ``scored_at`` and ``run_id`` to the Delta
table ``predictions_<deployment>`` (or ``output``). The same rows with the model's input
columns go to the inference log with ``source = "batch"``; both tables are written at the same
time (deltalake writes outside the GIL).
"""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import InvalidInput, LakebookError
from ..features.names import validate_name
from ..widgets.html import card, Raw
from .inference_log import data_column

if TYPE_CHECKING:  # pragma: no cover
    from .deployment import Deployment


@dataclass
class BatchResult:
    """What a batch run scored and where it wrote it."""

    deployment: str
    model: str
    version: int
    rows: int
    output: str
    path: Path
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

    def _repr_html_(self) -> str:
        window = f"{self.start or '…'} → {self.end or '…'}"
        rows = [("model", f"{self.model} v{self.version}"), ("rows scored", f"{self.rows:,}"),
                ("window", window), ("time", f"{self.seconds:.2f} s"),
                ("written to", f"{self.output} ({self.path})")]
        preview = self.table.slice(0, 5).to_pandas()
        html = card(f"Inference {self.deployment}", rows)
        if len(preview):
            html += Raw(preview.to_html(index=False, border=0))
        return html


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


def run_batch(deployment: "Deployment", start: Any = None, end: Any = None,
              output: str | None = None, df: pd.DataFrame | None = None,
              predictions: pd.DataFrame | None = None, run_id: str | None = None
              ) -> BatchResult:
    """Score a window (or ``df``) and append the predictions; see the module docstring.

    ``predictions``: already computed (e.g. post-processed in an ``%%inference`` cell); they
    must carry ``prediction``; missing identity/model columns are added.
    """
    t0 = time.perf_counter()
    served = deployment.served
    model = served.model
    output = output or f"predictions_{deployment.name}"
    validate_name(output, "predictions table")
    if df is None:
        if served.view is None:
            raise InvalidInput(f"Deployment {deployment.name!r} has no feature view to read a "
                               "batch from.", "Pass df=... (the rows to score), or deploy a "
                               "model trained on a view.")
        df = served.view.batch_data(start, end)
    run_id = run_id or uuid.uuid4().hex
    scored_at = datetime.now(timezone.utc)
    if predictions is None:
        columns = _input_columns(served, df)
        X = df[columns]
        raw, proba = _predict(model, X) if len(X) else (np.empty(0), None)
        core = _frame(served, df, model, raw, proba if len(X) else None,
                      constants=False).reset_index(drop=True)
    else:
        if "prediction" not in predictions.columns:
            raise InvalidInput("The predictions frame has no 'prediction' column.",
                               "Name the model's output column 'prediction'.")
        core = predictions.reset_index(drop=True)
        cols = [c for c in (model.input_columns or []) if c in df.columns]
        X = df.loc[predictions.index.intersection(df.index), cols] if cols else None
    n = len(core)
    table = pa.Table.from_pandas(core, preserve_index=False)
    consts = {"model": (model.name, pa.string()), "model_version": (model.version, pa.int64()),
              "scored_at": (scored_at, pa.timestamp("us", "UTC")), "run_id": (run_id, pa.string())}
    for name, (value, typ) in consts.items():
        if name not in table.column_names:
            table = table.append_column(name, _repeat(value, typ, n))
    path = deployment.lh.tables_dir / output
    if n:
        _write_both(path, table, deployment, _log_table(deployment, table, X, run_id, scored_at))
    seconds = time.perf_counter() - t0
    deployment.lh.catalog.record_event("deployment.batch", deployment.name, {
        "rows": n, "model": model.name, "version": model.version,
        "output": output, "start": str(start) if start is not None else None,
        "end": str(end) if end is not None else None, "seconds": round(seconds, 3),
        "run_id": run_id})
    return BatchResult(deployment=deployment.name, model=model.name, version=model.version,
                       rows=n, output=output, path=path, seconds=seconds,
                       start=start, end=end, run_id=run_id, table=table)


def _repeat(value: Any, typ: pa.DataType, n: int) -> pa.Array:
    """A constant column built in Arrow (no Python object per row)."""
    return pa.repeat(pa.scalar(value, typ), n)


def _log_table(deployment: "Deployment", table: pa.Table, X: pd.DataFrame | None,
               run_id: str, scored_at: datetime) -> pa.Table:
    """The inference-log rows of a batch: identity, the model's inputs, outputs."""
    n = table.num_rows
    cols: dict[str, Any] = {
        "request_id": _repeat(run_id, pa.string(), n),
        "ts": _repeat(scored_at, pa.timestamp("us", "UTC"), n),
        "deployment": _repeat(deployment.name, pa.string(), n),
        "model": table.column("model"), "model_version": table.column("model_version"),
        "source": _repeat("batch", pa.string(), n)}
    skip = {"model", "model_version", "scored_at", "run_id"}
    outputs = [c for c in table.column_names if c == "prediction" or c.startswith("proba_")]
    for c in table.column_names:
        if c not in skip and c not in outputs:
            cols[data_column(c)] = table.column(c)
    if X is not None and len(X) == n:
        xt = pa.Table.from_pandas(X.reset_index(drop=True), preserve_index=False)
        for c in xt.column_names:
            cols.setdefault(data_column(c), xt.column(c))
    for c in outputs:
        cols[c] = table.column(c)
    return pa.table(cols)


def _write_both(path: Path, table: pa.Table, deployment: "Deployment",
                log_table: pa.Table) -> None:
    """Append to the predictions table and the inference log at once (both writes run in
    deltalake's Rust code, outside the GIL)."""
    from deltalake import write_deltalake
    path.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(write_deltalake, str(path), table, mode="append", schema_mode="merge")
        b = pool.submit(deployment.log.write_frame, log_table)
        a.result()
        b.result()


__all__ = ["BatchResult", "run_batch", "predict_frame", "LakebookError"]
