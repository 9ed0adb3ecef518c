"""The ``%%inference`` cell: score a window of a feature view and write the predictions.

Before the cell's code runs, the namespace holds ``batch_df`` (the view's rows for the window:
keys, event time, features), ``predictions = None`` and ``predict(df)`` (the deployment's
model on a frame). The cell may *prepare* (change or replace ``batch_df``) and/or
*post-process* (``predictions = predict(batch_df); predictions["flag"] = ...``). Afterwards,
``predictions`` (or, if the cell left it None, the model's predictions on ``batch_df``) are
appended to ``predictions_<name>`` (or ``--output``) in one Delta commit, and ``predictions``
is left in the namespace. An empty cell just scores the window.

When the cell left ``batch_df``'s rows and the model's inputs as the view returned them, the
commit records the view's pinned Delta versions and monitoring rebuilds the inputs from them;
a prepared ``batch_df`` (rows dropped, values changed) has its inputs stored in the table.

The window is, in order: the scheduled run's ``window_start``/``window_end`` (injected by the
scheduler), ``--start``/``--end``, else the newest data: rows after the latest event time
already scored into the output table (everything on the first run).
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from .cells import run_cell_code
from ...shared.errors import InvalidInput
from ...deployments.batch import BatchResult, predict_frame, run_batch


def inference_cell(lh: Any, shell: Any, args: Any, cell_code: str) -> BatchResult:
    """Body of ``%%inference NAME --model M [--alias A | --version N] [--view V] ...``."""
    deployment = lh.deployments.ensure(args.name, model=args.model, alias=args.alias,
                                       version=args.version, view=args.view)
    served = deployment.served
    if served.view is None:
        raise InvalidInput(f"Deployment {args.name!r} has no feature view to read a batch from.",
                           f"Pass --view VIEW, or register model {args.model!r} with the view "
                           "it was trained on (%%training does).")
    ns = shell.user_ns
    output = args.output or f"predictions_{args.name}"
    start, end = deployment.batch_window(
        output, scheduled=(ns.get("window_start"), ns.get("window_end")),
        asked=(args.start, args.end))
    read = served.view.batch_data(start, end)
    versions = read.attrs.get("lakebook_versions")
    ns["batch_df"] = read
    ns["predictions"] = None
    ns["predict"] = lambda df: predict_frame(deployment, df)[0]
    if cell_code.strip():
        snapshot = _snapshot(read, served)
        run_cell_code(shell, cell_code)
        batch_df = ns.get("batch_df")
        if batch_df is not read or not _unchanged(read, snapshot):
            versions = None  # prepared rows: the view cannot rebuild them
    batch_df = ns.get("batch_df")
    if not isinstance(batch_df, pd.DataFrame):
        raise InvalidInput(f"batch_df is a {type(batch_df).__name__} after the cell, not a "
                           "DataFrame.", "Leave batch_df a DataFrame (the rows to score).")
    predictions = ns.get("predictions")
    if predictions is not None and not isinstance(predictions, pd.DataFrame):
        raise InvalidInput(f"predictions is a {type(predictions).__name__} after the cell.",
                           "Set predictions to a DataFrame (predict(batch_df)) or leave it "
                           "None to score batch_df.")
    result = run_batch(deployment, start=start, end=end, output=output, df=batch_df,
                       predictions=predictions, run_id=ns.get("lakebook_run_id"),
                       versions=versions)
    ns["predictions"] = result.predictions
    return result


def _snapshot(df: pd.DataFrame, served: Any) -> pd.DataFrame:
    """A copy of what identifies a row and what the model reads (to see whether the cell
    changed them in place)."""
    view = served.view
    cols = [*view.keys, view.event_time, *(served.model.input_columns or view.features)]
    return df[[c for c in dict.fromkeys(cols) if c in df.columns]].copy()


def _unchanged(df: pd.DataFrame, snapshot: pd.DataFrame) -> bool:
    return all(c in df.columns for c in snapshot.columns) and \
        df.index.equals(snapshot.index) and df[list(snapshot.columns)].equals(snapshot)
