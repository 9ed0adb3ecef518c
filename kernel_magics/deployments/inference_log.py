"""The inference log: every online prediction a deployment made, in a Delta table monitors read.

Batch runs are not copied here: they write ``predictions_<deployment>`` once, with the view's
pinned group versions in the commit's metadata (``deployments.batch``), and monitoring reads
that table beside this log (``monitoring.batch_rows``).

Online answers are appended to an in-memory buffer (one ``deque.append`` on the request path)
and written to Delta by a background thread every ``flush_s`` seconds (or sooner when the
buffer fills), on :meth:`InferenceLog.close`, and at interpreter exit. A failed write keeps
the rows for the next attempt, so nothing is lost on a clean stop.

Table ``<home>/tables/inference_log_<deployment>`` (schema grows with new columns):

=================  ========================================================================
``request_id``     string: one id per online request
``ts``             timestamp[us, UTC]: when the prediction was made
``deployment``     string
``model``          string: registered model name
``model_version``  int64
``source``         string: ``online``
key columns        the view's keys, as sent / as read (absent for deployments without a view)
feature columns    the model's input columns, the values the model saw
                   (a data column named like one of the log's own is written ``view_<name>``)
``prediction``     the model's output
``proba_<class>``  float64 per class, for classifiers
``latency_ms``     float64: time spent answering (online only)
=================  ========================================================================

Serving counters (requests, errors, latency p50/p99) are kept in memory and written to the
catalog's ``deployment_stats`` table with each flush, not per request.
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..catalog import now_utc

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse

log = logging.getLogger(__name__)

# Each flush builds Arrow columns while holding the GIL for a few ms; flushing every 5 s
# (not every second) keeps those pauses out of the requests' p99. A clean stop flushes all.
DEFAULT_FLUSH_S = 5.0
#: wake the writer early when this many records wait
FLUSH_RECORDS = 5_000
PREFIX = "inference_log_"


#: the log's own columns; a key/feature/event-time column with one of these names is
#: written as ``view_<name>`` instead (e.g. an event time called ``ts``)
RESERVED = frozenset({"request_id", "ts", "deployment", "model", "model_version", "source",
                      "prediction", "latency_ms", "scored_at", "run_id"})


def data_column(name: str) -> str:
    """The log column a key/feature/event-time column is written to."""
    return f"view_{name}" if name in RESERVED or name.startswith("proba_") else name


def log_path(lh: "Lakehouse", deployment: str) -> Path:
    """Where a deployment's inference log lives."""
    return lh.tables_dir / f"{PREFIX}{deployment}"


@dataclass
class Record:
    """One answered online request (kept as given; flattened only when written)."""

    ts: float
    request_id: str
    model: str
    model_version: int
    entries: list[dict[str, Any]] | None
    #: the model's input, column by column (the lists the input frame was built from)
    features: dict[str, list[Any]]
    #: indices (into the input rows) that got a prediction, and their outputs
    rows: list[int]
    predictions: list[Any]
    proba: np.ndarray | None
    classes: tuple | None
    latency_ms: float


class InferenceLog:
    """Buffered writer of one deployment's inference log (thread-safe)."""

    def __init__(self, lh: "Lakehouse", deployment: str, flush_s: float = DEFAULT_FLUSH_S,
                 start: bool = True) -> None:
        self.lh = lh
        self.deployment = deployment
        self.path = log_path(lh, deployment)
        self.flush_s = flush_s
        self._buffer: deque[Record] = deque()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        # serving counters since the last flush
        self._requests = 0
        self._errors = 0
        self._latencies: list[float] = []
        self._last_at: str | None = None
        self._last_version: int | None = None
        self.rows_written = 0
        _open_logs.add(self)
        if start:
            self._start()

    # -- the request path ------------------------------------------------------------------
    def append(self, record: Record) -> None:
        """Queue one answered request (a deque append; the writer thread does the rest)."""
        self._buffer.append(record)
        self._requests += 1
        self._latencies.append(record.latency_ms)
        self._last_version = record.model_version
        if len(self._buffer) >= FLUSH_RECORDS:
            self._wake.set()

    def count_error(self) -> None:
        """Count a request that failed (it is not logged as a prediction)."""
        self._errors += 1

    # -- writing ---------------------------------------------------------------------------
    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"lakebook-inference-log-{self.deployment}")
            self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_s)
            self._wake.clear()
            if self._closed:
                break
            try:
                self.flush()
            except Exception:  # keep the thread alive; the rows stay buffered
                log.exception("Inference log of %s: flush failed; will retry", self.deployment)

    def pending(self) -> int:
        return len(self._buffer)

    def flush(self) -> int:
        """Write every buffered record to Delta now; returns rows written."""
        with self._write_lock:
            records: list[Record] = []
            while True:
                try:
                    records.append(self._buffer.popleft())
                except IndexError:
                    break
            written = 0
            if records:
                try:
                    table = _records_table(self.deployment, records)
                    if table.num_rows:
                        self._write(table)
                    written = table.num_rows
                except Exception:
                    self._buffer.extendleft(reversed(records))  # keep them for the next try
                    raise
            self._flush_stats()
            return written

    def _write(self, table: pa.Table) -> None:
        from deltalake import DeltaTable, write_deltalake
        table = _drop_null_columns(table)
        existing = None
        if (self.path / "_delta_log").exists():
            existing = pa.schema(DeltaTable(str(self.path)).schema().to_arrow())
            table = _conform(table, existing)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_deltalake(str(self.path), table, mode="append", schema_mode="merge")
        self.rows_written += table.num_rows

    def _flush_stats(self) -> None:
        n, errors = self._requests, self._errors
        if not n and not errors:
            return
        lat, self._latencies = self._latencies, []
        self._requests -= n
        self._errors -= errors
        p50 = float(np.percentile(lat, 50)) if lat else None
        p99 = float(np.percentile(lat, 99)) if lat else None
        self._last_at = now_utc()
        self.lh.catalog.execute(
            "INSERT INTO deployment_stats(name, requests, errors, latency_p50_ms, "
            "latency_p99_ms, last_request_at, model_version) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET requests = requests + excluded.requests, "
            "errors = errors + excluded.errors, "
            "latency_p50_ms = COALESCE(excluded.latency_p50_ms, latency_p50_ms), "
            "latency_p99_ms = COALESCE(excluded.latency_p99_ms, latency_p99_ms), "
            "last_request_at = excluded.last_request_at, "
            "model_version = COALESCE(excluded.model_version, model_version)",
            (self.deployment, n, errors, p50, p99, self._last_at, self._last_version))

    def close(self) -> None:
        """Stop the writer thread and write everything still buffered."""
        self._closed = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self.flush()
        _open_logs.discard(self)

    def read(self) -> pd.DataFrame:
        """The whole log as a DataFrame (empty when nothing was written yet)."""
        from deltalake import DeltaTable
        if not (self.path / "_delta_log").exists():
            return pd.DataFrame()
        return DeltaTable(str(self.path)).to_pandas()


def _records_table(deployment: str, records: list[Record]) -> pa.Table:
    """Flatten buffered records into one Arrow table (one row per prediction), column by
    column: cheap enough to run beside the request thread without stalling it."""
    cols: dict[str, list[Any]] = {}
    n = 0

    def put(name: str, values: list[Any]) -> None:
        col = cols.get(name)
        if col is None:
            col = cols[name] = [None] * n
        col.extend(values)

    for rec in records:
        idx = rec.rows
        if not idx:
            continue
        k = len(idx)
        put("request_id", [rec.request_id] * k)
        put("ts", [rec.ts] * k)
        put("model", [rec.model] * k)
        put("model_version", [rec.model_version] * k)
        if rec.entries is not None:
            for name in rec.entries[idx[0]]:
                put(data_column(name), [rec.entries[i].get(name) for i in idx])
        for name, values in rec.features.items():
            put(data_column(name), values if k == len(values) else [values[i] for i in idx])
        put("prediction", list(rec.predictions))
        if rec.proba is not None and rec.classes is not None:
            for j, c in enumerate(rec.classes):
                put(f"proba_{c}", rec.proba[:, j].tolist())
        put("latency_ms", [rec.latency_ms] * k)
        n += k
        for col in cols.values():  # columns this record did not have
            if len(col) < n:
                col.extend([None] * (n - len(col)))
    if not n:
        return pa.table({})
    micros = (np.asarray(cols.pop("ts"), dtype="float64") * 1e6).astype("int64")
    ts = pa.array(micros, pa.int64()).cast(pa.timestamp("us", "UTC"))
    head = {"request_id": cols.pop("request_id"), "ts": ts, "deployment": [deployment] * n,
            "model": cols.pop("model"), "model_version": cols.pop("model_version"),
            "source": ["online"] * n}
    arrays = {}
    for name, values in {**head, **cols}.items():
        if isinstance(values, pa.Array):
            arrays[name] = values
            continue
        try:
            arrays[name] = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types sent for one field
            arrays[name] = pa.array([None if v is None else str(v) for v in values])
    return pa.table(arrays)


def _drop_null_columns(table: pa.Table) -> pa.Table:
    """Delta has no null type: a column that is null in every row of this write is left out
    (the merged schema fills it with nulls)."""
    keep = [f.name for f in table.schema if not pa.types.is_null(f.type)]
    return table.select(keep) if len(keep) != table.num_columns else table


def _conform(table: pa.Table, existing: pa.Schema) -> pa.Table:
    """Cast columns the table already has to its types (an int sent where floats were
    logged before, a timestamp's unit); a column that cannot be cast is written as text."""
    for i, f in enumerate(table.schema):
        idx = existing.get_field_index(f.name)
        if idx < 0:
            continue
        want = existing.field(idx).type
        if f.type == want:
            continue
        col = table.column(i)
        try:
            col = col.cast(want)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            col = col.cast(pa.string()) if pa.types.is_string(want) else pa.array(
                [None] * len(col), type=want)
            log.warning("Inference log: column %s did not fit its logged type %s", f.name, want)
        table = table.set_column(i, pa.field(f.name, want), col)
    return table


_open_logs: "weakref.WeakSet[InferenceLog]" = weakref.WeakSet()


def flush_all() -> None:
    """Write every open log's buffer (at exit, or when a server stops)."""
    for inference_log in list(_open_logs):
        try:
            inference_log.close()
        except Exception:
            log.exception("Inference log of %s: final flush failed", inference_log.deployment)


atexit.register(flush_all)


def _now() -> float:
    return time.time()
