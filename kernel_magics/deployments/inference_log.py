"""The inference log: every online prediction a deployment made, in a Delta table monitors read.

Batch runs are not copied here: they write ``predictions_<deployment>`` once, with the view's
pinned group versions in the commit's metadata (``deployments.batch``), and monitoring reads
that table beside this log (``monitoring.batch_rows``).

Online answers are appended to an in-memory buffer (one ``deque.append`` on the request path)
and written to Delta by a background thread every ``flush_s`` seconds (or sooner when the
buffer fills), on :meth:`InferenceLog.close`, and at interpreter exit. Nothing is dropped and
nothing blocks the log (see ``log_files``):

- a write the table refuses is split in halves until the records it cannot take are found;
  the others are written, those go to a dead-letter file with the error, counted in the
  deployment's statistics, and an alert is raised;
- a column whose name differs from another only by case (Delta names are case-insensitive)
  is written under a case-safe name ``<name>__<8 hex>`` instead of stopping every write;
- on stop, rows the table cannot take then are spilled to disk and written when the
  deployment's log next starts.

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
``arm``            string: the arm of an A/B split or the shadow that scored the row (absent
                   or null without a split)
``shadow``         bool: scored in the shadow of the request, never answered
=================  ========================================================================

Serving counters (requests, errors, latency p50/p99) are kept in memory and written to the
catalog's ``deployment_stats`` table with each flush, not per request.
"""
from __future__ import annotations

import atexit
import hashlib
import logging
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from ..shared.times import now_utc
from ..storage.delta import exists as delta_exists
from . import log_files, records

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse
    from ..storage.location import Location

log = logging.getLogger(__name__)

# Each flush builds Arrow columns while holding the GIL for a few ms; flushing every 5 s
# (not every second) keeps those pauses out of the requests' p99. A clean stop flushes all.
#: wake the writer early when this many records wait
FLUSH_RECORDS = 5_000
PREFIX = "inference_log_"


#: the log's own columns; a key/feature/event-time column with one of these names is
#: written as ``view_<name>`` instead (e.g. an event time called ``ts``)
RESERVED = frozenset({"request_id", "ts", "deployment", "model", "model_version", "source",
                      "prediction", "latency_ms", "scored_at", "run_id", "arm", "shadow"})


def data_column(name: str) -> str:
    """The log column a key/feature/event-time column is written to (the log's own names
    compared without case: Delta column names are case-insensitive)."""
    low = str(name).lower()
    return f"view_{name}" if low in RESERVED or low.startswith("proba_") else name


def case_safe(name: str) -> str:
    """The name a column is written under when another differs from it only by case."""
    return f"{name}__{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def case_safe_names(names: list[str], existing: Iterable[str] = ()) -> dict[str, str]:
    """``{name: written name}`` for ``names`` (in priority order) beside the table's
    ``existing`` columns: the first spelling of a name keeps it, a later spelling that
    differs only by case gets :func:`case_safe`."""
    seen = {e.lower(): e for e in existing}
    out: dict[str, str] = {}
    for name in names:
        low = name.lower()
        if low in seen and seen[low] != name:
            new = case_safe(name)
            out[name] = new
            seen[new.lower()] = new
        else:
            seen.setdefault(low, name)
            out[name] = name
    return out


def log_path(lh: "Lakehouse", deployment: str) -> "Location":
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
    #: the arm of an A/B split (or the shadow) that scored it; None without a split
    arm: str | None = None
    #: scored in the shadow of the request (not answered)
    shadow: bool = False


class InferenceLog:
    """Buffered writer of one deployment's inference log (thread-safe)."""

    def __init__(self, lh: "Lakehouse", deployment: str, flush_s: float | None = None,
                 start: bool = True) -> None:
        self.lh = lh
        self.deployment = deployment
        self.path = log_path(lh, deployment)
        #: seconds between writes (default: [serve] log_flush_ms)
        self.flush_s = lh.config.log_flush_ms / 1000 if flush_s is None else flush_s
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
        self._dead = 0                      # dead-lettered rows since the last stats flush
        self._dead_error: str | None = None
        self.rows_written = 0
        self.rows_dead_lettered = 0
        self.rows_spilled = 0
        self._replayed = False
        _open_logs.add(self)
        if start:
            self._start()

    # -- the request path ------------------------------------------------------------------
    def append(self, record: Record, count: bool = True) -> None:
        """Queue one answered request (a deque append; the writer thread does the rest).
        ``count=False``: a shadow scoring, logged but not a request of its own."""
        self._buffer.append(record)
        if count:
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
        try:
            with self._write_lock:
                if not self._replayed:
                    self._replay_spills()
        except Exception:  # never stop the writer: tried again at the next flush
            log.exception("Inference log of %s: spilled rows could not be written yet",
                          self.deployment)
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

    def _drain(self) -> list[Record]:
        records: list[Record] = []
        while True:
            try:
                records.append(self._buffer.popleft())
            except IndexError:
                return records

    def flush(self) -> int:
        """Write every buffered record to Delta now; returns rows written. Records the table
        refuses go to the dead-letter file: a bad record never blocks the others."""
        with self._write_lock:
            if not self._replayed:
                self._replay_spills()
            before = self.rows_written
            records = self._drain()
            if records:
                try:
                    self._write_records(records)
                except Exception:  # not even the dead-letter file: keep them in memory
                    self._buffer.extendleft(reversed(records))
                    raise
            self._flush_stats()
            return self.rows_written - before

    def _write_records(self, records: list[Record]) -> None:
        self._write_or_halve(records, lambda part: _records_table(self.deployment, part),
                             _record_rows)

    def _write_rows(self, rows: list[dict[str, Any]]) -> None:
        """The same for rows read back from a spill file."""
        self._write_or_halve(
            rows, lambda part: _columns_table(self.deployment, _rows_columns(part), len(part)),
            lambda row: [row])

    def _write_or_halve(self, items: list, table_of: Any, rows_of: Any) -> None:
        """Write ``items`` (records or rows) as one table; when the table refuses them, halve
        until the refused ones are found and dead-letter those with the error."""
        try:
            table = table_of(items)
            if table.num_rows:
                self._write(table)
        except Exception as exc:
            if len(items) > 1:
                half = len(items) // 2
                self._write_or_halve(items[:half], table_of, rows_of)
                self._write_or_halve(items[half:], table_of, rows_of)
                return
            self._dead_letter(rows_of(items[0]), exc)

    def _dead_letter(self, rows: list[dict[str, Any]], exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"
        path = log_files.add_dead_letters(self.lh, self.deployment, rows, error)
        self._dead += len(rows)
        self.rows_dead_lettered += len(rows)
        self._dead_error = error[:500]
        log.error("Inference log of %s: %d row(s) the table refused were kept in %s (%s)",
                  self.deployment, len(rows), path, error[:300])

    def _write(self, table: pa.Table) -> None:
        from ..storage import delta
        table = _drop_null_columns(table)
        existing = delta.schema(self.path)
        names = case_safe_names(table.column_names, existing.names if existing else ())
        if any(k != v for k, v in names.items()):
            table = table.rename_columns([names[c] for c in table.column_names])
        if existing is not None:
            table = _conform(table, existing)
        delta.write(self.path, table, mode="append", schema_mode="merge")
        self.rows_written += table.num_rows

    def _replay_spills(self) -> None:
        """Write rows spilled at an earlier stop, then remove their files."""
        self._replayed = True
        for found in log_files.spills(self.lh, self.deployment):
            if not found.claim():  # another process is writing it
                continue
            rows = found.rows()
            if rows:
                self._write_rows(rows)
            found.done()
            log.info("Inference log of %s: wrote %d row(s) spilled at the last stop (%s)",
                     self.deployment, len(rows), found.name)

    def _flush_stats(self) -> None:
        n, errors, dead = self._requests, self._errors, self._dead
        if not n and not errors and not dead:
            return
        lat, self._latencies = self._latencies, []
        self._requests -= n
        self._errors -= errors
        self._dead -= dead
        p50 = float(np.percentile(lat, 50)) if lat else None
        p99 = float(np.percentile(lat, 99)) if lat else None
        if n:
            self._last_at = now_utc()
        dead_at = now_utc() if dead else None
        records.add_stats(self.lh.catalog, self.deployment, n, errors, p50, p99,
                          self._last_at if n else None, self._last_version, dead, dead_at,
                          self._dead_error if dead else None)
        if dead:
            from ..monitoring.alerts import raise_alert
            path = log_files.dead_letter_folder(self.lh, self.deployment)
            raise_alert(self.lh, f"deployment {self.deployment}", "inference_log",
                        f"Deployment {self.deployment}: {dead} logged prediction(s) could not "
                        f"be written to its inference log ({self._dead_error}); they are kept "
                        f"in {path}.",
                        {"deployment": self.deployment, "rows": dead, "file": str(path),
                         "error": self._dead_error})

    def close(self) -> None:
        """Stop the writer thread and write everything still buffered. Rows the table cannot
        take now are spilled to disk (written at the next start), never dropped; the log
        line says which happened."""
        self._closed = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        with self._write_lock:
            written = self.rows_written
            records = self._drain()
            if records:
                try:  # one attempt: a stopping process does not halve its way through
                    table = _records_table(self.deployment, records)
                    if table.num_rows:
                        self._write(table)
                except Exception as exc:
                    self._spill(records, exc)
            try:
                self._flush_stats()
            except Exception:
                log.exception("Inference log of %s: serving statistics not saved",
                              self.deployment)
        log.info("Inference log of %s closed: %d row(s) written at the stop, %d spilled, "
                 "%d in dead letters since start", self.deployment, self.rows_written - written,
                 self.rows_spilled, self.rows_dead_lettered)
        _open_logs.discard(self)

    def _spill(self, records: list[Record], exc: BaseException) -> None:
        rows = [row for rec in records for row in _record_rows(rec)]
        try:
            path = log_files.spill(self.lh, self.deployment, rows)
        except Exception:
            log.exception("Inference log of %s: %d row(s) could not be written nor spilled "
                          "to disk and are LOST", self.deployment, len(rows))
            return
        self.rows_spilled += len(rows)
        log.warning("Inference log of %s: the table refused the last %d row(s) at the stop "
                    "(%s: %s); spilled to %s, written when the deployment next starts",
                    self.deployment, len(rows), type(exc).__name__, exc, path)

    def read(self) -> pd.DataFrame:
        """The whole log as a DataFrame (empty when nothing was written yet)."""
        from ..storage.delta import dataset
        if not delta_exists(self.path):
            return pd.DataFrame()
        return dataset(self.path).to_table().to_pandas()


def _records_table(deployment: str, records: list[Record]) -> pa.Table:
    """Flatten buffered records into one Arrow table (one row per prediction), column by
    column: cheap enough to run beside the request thread without stalling it."""
    cols, n = _records_columns(records)
    return _columns_table(deployment, cols, n)


def _records_columns(records: list[Record]) -> tuple[dict[str, list[Any]], int]:
    """The records' rows as ``{column: values}`` (and how many rows). A request-supplied
    field that differs only by case from a model input or another column gets a case-safe
    name (the model's inputs keep theirs)."""
    cols: dict[str, list[Any]] = {}
    inputs: set[str] = set()
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
            inputs.add(data_column(name))
            put(data_column(name), values if k == len(values) else [values[i] for i in idx])
        put("prediction", list(rec.predictions))
        if rec.proba is not None and rec.classes is not None:
            for j, c in enumerate(rec.classes):
                put(f"proba_{c}", rec.proba[:, j].tolist())
        put("latency_ms", [rec.latency_ms] * k)
        if rec.arm is not None:
            put("arm", [rec.arm] * k)
            put("shadow", [rec.shadow] * k)
        n += k
        for col in cols.values():  # columns this record did not have
            if len(col) < n:
                col.extend([None] * (n - len(col)))
    own = ["request_id", "ts", "deployment", "model", "model_version", "source",
           "prediction", "latency_ms", "arm", "shadow"]
    priority = [*own, *sorted(inputs), *(c for c in cols if c not in inputs and c not in own)]
    names = case_safe_names(priority)
    if any(k != v for k, v in names.items()):
        cols = {names.get(c, c): v for c, v in cols.items()}
    return cols, n


def _columns_table(deployment: str, cols: dict[str, list[Any]], n: int) -> pa.Table:
    """The Arrow table of flattened columns (``ts`` in epoch seconds)."""
    if not n:
        return pa.table({})
    cols = dict(cols)
    micros = (np.asarray(cols.pop("ts"), dtype="float64") * 1e6).astype("int64")
    ts = pa.array(micros, pa.int64()).cast(pa.timestamp("us", "UTC"))
    head = {"request_id": cols.pop("request_id"), "ts": ts, "deployment": [deployment] * n,
            "model": cols.pop("model"), "model_version": cols.pop("model_version"),
            "source": ["online"] * n}
    cols.pop("deployment", None)
    cols.pop("source", None)
    arrays = {}
    for name, values in {**head, **cols}.items():
        if isinstance(values, pa.Array):
            arrays[name] = values
            continue
        try:
            arrays[name] = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):  # mixed types sent
            arrays[name] = pa.array([None if v is None else str(v) for v in values])
    return pa.table(arrays)


def _record_rows(record: Record) -> list[dict[str, Any]]:
    """One record's rows as plain dicts (what a dead-letter or spill file holds)."""
    cols, n = _records_columns([record])
    return [dict(zip(cols, values)) for values in zip(*cols.values())] if n else []


def _rows_columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows read back from a file, as columns (absent values are null)."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return {name: [row.get(name) for row in rows] for name in names}


def _drop_null_columns(table: pa.Table) -> pa.Table:
    """Delta has no null type: a column that is null in every row of this write is left out
    (the merged schema fills it with nulls)."""
    keep = [f.name for f in table.schema if not pa.types.is_null(f.type)]
    return table.select(keep) if len(keep) != table.num_columns else table


def _conform(table: pa.Table, existing: pa.Schema) -> pa.Table:
    """Cast columns the table already has to its types (an int sent where floats were
    logged before, a timestamp's unit); values that cannot be cast are refused (ValueError),
    so the records holding them go to the dead-letter file instead of being nulled."""
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
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            if not pa.types.is_string(want):  # refused: the write's records are dead-lettered
                raise ValueError(f"column {f.name!r} holds {f.type} values that do not fit "
                                 f"its logged type {want} ({exc})") from None
            col = col.cast(pa.string())
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
