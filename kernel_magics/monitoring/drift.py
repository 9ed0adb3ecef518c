"""Data drift between a reference and a current table, computed by Evidently 0.7.

``detect_drift`` runs ``Report([DataDriftPreset(drift_share=...)])`` on the testable columns
and reads the snapshot back into plain numbers: per column the test method, its score, its
threshold and whether it drifted; the share of drifted columns and the dataset verdict
(``share >= drift_share``, Evidently's own rule). Large windows are summarised first (see
:mod:`.sampling`), with each column's test chosen on the full data.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import duckdb
import pyarrow as pa

from ..shared import jsonsafe
from ..shared.errors import InvalidInput
from . import sampling

NUMERICAL, CATEGORICAL = "numerical", "categorical"


class NothingToCompare(InvalidInput):
    """A side has no rows, or no column can be tested: the run is *skipped*, not failed."""


def column_kind(dtype: pa.DataType) -> str | None:
    """How Evidently can test a column of this Arrow type, or None when it cannot."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return NUMERICAL
    if (pa.types.is_string(dtype) or pa.types.is_large_string(dtype)
            or pa.types.is_boolean(dtype) or getattr(pa.types, "is_string_view",
                                                     lambda _t: False)(dtype)):
        return CATEGORICAL
    return None


@dataclass
class DriftResult:
    """What one drift computation found."""

    columns: dict[str, dict[str, Any]]      # tested: method, score, threshold, drifted, kind
    skipped: dict[str, str]                 # column -> why it was not tested
    drift_share: float                      # share of tested columns that drifted
    drift_threshold: float                  # the monitor's drift_share
    dataset_drift: bool
    reference_rows: int
    current_rows: int
    sampling: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    snapshot: Any = None                    # the Evidently snapshot (reports)

    @property
    def drifted_columns(self) -> list[str]:
        return [c for c, v in self.columns.items() if v["drifted"]]

    def verdicts(self) -> dict[str, bool]:
        return {c: v["drifted"] for c, v in self.columns.items()}

    def save(self, folder: Path, stem: str) -> tuple[Path, Path]:
        """Write the full Evidently report as ``<stem>.json`` and ``<stem>.html``."""
        folder.mkdir(parents=True, exist_ok=True)
        json_path, html_path = folder / f"{stem}.json", folder / f"{stem}.html"
        self.snapshot.save_json(str(json_path))
        from .report_html import write_report
        write_report(self.snapshot, html_path)  # its data escaped: it cannot end its <script>
        return json_path, html_path

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "skipped": self.skipped,
                "drift_share": self.drift_share, "drift_threshold": self.drift_threshold,
                "dataset_drift": self.dataset_drift, "reference_rows": self.reference_rows,
                "current_rows": self.current_rows, "sampling": self.sampling,
                "duration_s": self.duration_s}


def testable_columns(reference: pa.Table, current: pa.Table, columns: Iterable[str] | None,
                     exclude: Iterable[str] = ()) -> tuple[dict[str, str], dict[str, str]]:
    """Split the columns to test into ``{column: kind}`` and ``{column: why skipped}``.

    Named ``columns`` missing from either side are the user's mistake (InvalidInput);
    without ``columns``, every column both sides share (minus ``exclude``) is a candidate.
    """
    ref_names, cur_names = set(reference.column_names), set(current.column_names)
    if columns is None:
        excluded = set(exclude)
        names = [c for c in current.column_names
                 if c in ref_names and c not in excluded and not c.startswith("_lb_")]
    else:
        names = list(columns)
        for name in names:
            where = [side for side, cols in (("reference", ref_names), ("current", cur_names))
                     if name not in cols]
            if where:
                raise InvalidInput(
                    f"The monitored column {name!r} is not in the {' and '.join(where)} data.",
                    f"Monitor columns both sides have: "
                    f"{', '.join(sorted(ref_names & cur_names)) or '(none)'}.")
    kinds: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name in names:
        ref_kind = column_kind(reference.schema.field(name).type)
        cur_kind = column_kind(current.schema.field(name).type)
        if ref_kind is None or cur_kind is None:
            dtype = (reference.schema.field(name).type if ref_kind is None
                     else current.schema.field(name).type)
            skipped[name] = (f"type {dtype} cannot be tested for drift (numbers, strings and "
                             "booleans can)")
        elif ref_kind != cur_kind:
            skipped[name] = (f"the reference holds {ref_kind} values but the current window "
                             f"holds {cur_kind} values")
        else:
            kinds[name] = ref_kind
    return kinds, skipped


def detect_drift(reference: Any, current: Any, columns: Iterable[str] | None = None,
                 drift_share: float = 0.5, exclude: Iterable[str] = (),
                 summary_rows: int = sampling.SUMMARY_ROWS,
                 summary_size: int = sampling.SUMMARY_SIZE,
                 metadata: dict[str, Any] | None = None) -> DriftResult:
    """Compare ``current`` with ``reference`` (pandas or Arrow) column by column.

    Raises InvalidInput when a side has no rows or no column can be tested: the caller
    records that as a skipped run.
    """
    started = time.perf_counter()
    reference, current = sampling.to_arrow(reference), sampling.to_arrow(current)
    if reference.num_rows == 0:
        raise NothingToCompare("The reference has no rows.",
                           "Widen the reference window, or check that the training set or "
                           "feature group holds data.")
    if current.num_rows == 0:
        raise NothingToCompare("The current window has no rows.",
                           "Nothing arrived in the window yet; widen `current` or wait.")
    kinds, skipped = testable_columns(reference, current, columns, exclude)
    con = duckdb.connect()
    try:
        ref = _normalise(reference, kinds)
        cur = _normalise(current, kinds)
        stats = sampling.column_stats(ref, cur, kinds, con) if kinds else {}
        for name in list(kinds):
            if stats[name].reference_rows == 0 or stats[name].current_rows == 0:
                side = "reference" if stats[name].reference_rows == 0 else "current window"
                skipped[name] = f"no values (all null) in the {side}"
                del kinds[name]
        if not kinds:
            why = "; ".join(f"{c}: {r}" for c, r in skipped.items()) or "no columns"
            raise NothingToCompare(f"No column can be tested for drift ({why}).",
                               "Monitor numeric, string or boolean columns that hold values.")
        summarise = sampling.should_summarize(ref.num_rows, cur.num_rows, summary_rows)
        methods: dict[str, str] | None = None
        if summarise:
            methods = {c: sampling.evidently_method(k, stats[c]) for c, k in kinds.items()}
            ref_frame = sampling.summarize(ref, kinds, stats, con, summary_size)
            cur_frame = sampling.summarize(cur, kinds, stats, con, summary_size)
            how = {"method": "quantile-summary", "rows_per_column": summary_size,
                   "note": "numeric columns as mid-point quantiles, categorical as exact "
                           "value counts expanded in proportion; tests chosen on full data"}
        else:
            ref_frame = ref.select(list(kinds)).to_pandas()
            cur_frame = cur.select(list(kinds)).to_pandas()
            how = {"method": "full"}
    finally:
        con.close()
    snapshot = _run_evidently(ref_frame, cur_frame, kinds, drift_share, methods, metadata)
    tested, share = _read_snapshot(snapshot.dict(), kinds)
    for name, value in tested.items():
        value["reference_values"] = stats[name].reference_rows
        value["current_values"] = stats[name].current_rows
    return DriftResult(columns=tested, skipped=skipped, drift_share=share,
                       drift_threshold=drift_share, dataset_drift=share >= drift_share,
                       reference_rows=reference.num_rows, current_rows=current.num_rows,
                       sampling=how, duration_s=time.perf_counter() - started,
                       snapshot=snapshot)


def _normalise(table: pa.Table, kinds: dict[str, str]) -> pa.Table:
    """Only the tested columns; categorical ones as strings (booleans, dictionaries)."""
    arrays = []
    for name, kind in kinds.items():
        col = table.column(name)
        if kind == CATEGORICAL and not pa.types.is_string(col.type):
            col = col.cast(pa.string())
        elif kind == NUMERICAL and pa.types.is_decimal(col.type):
            col = col.cast(pa.float64())
        arrays.append(col)
    return pa.table(arrays, names=list(kinds)) if kinds else pa.table({})


def _run_evidently(reference, current, kinds: dict[str, str], drift_share: float,
                   methods: dict[str, str] | None, metadata: dict[str, Any] | None):
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=[c for c, k in kinds.items() if k == NUMERICAL],
        categorical_columns=[c for c, k in kinds.items() if k == CATEGORICAL])
    preset = DataDriftPreset(columns=list(kinds), drift_share=drift_share,
                             per_column_method=methods)
    meta = {k: (v if isinstance(v, (str, list, dict)) else jsonsafe.dumps(v))
            for k, v in (metadata or {}).items()}
    report = Report([preset], include_tests=True, metadata=meta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Evidently's pandas FutureWarnings are not the user's
        return report.run(Dataset.from_pandas(current, data_definition=definition),
                          Dataset.from_pandas(reference, data_definition=definition))


def _read_snapshot(data: dict[str, Any], kinds: dict[str, str]
                   ) -> tuple[dict[str, dict[str, Any]], float]:
    status_by_metric = {t.get("metric_config", {}).get("metric_id"): t.get("status")
                        for t in data.get("tests", [])}
    columns: dict[str, dict[str, Any]] = {}
    share = None
    for metric in data.get("metrics", []):
        config = metric.get("config", {})
        kind = str(config.get("type", ""))
        if kind.endswith(":ValueDrift"):
            column = config["column"]
            method = _display_name(str(config.get("method")), kinds.get(column))
            score, threshold = float(metric["value"]), float(config.get("threshold"))
            status = status_by_metric.get(metric.get("id"))
            if status in ("FAIL", "SUCCESS"):
                drifted = status == "FAIL"
            else:  # no test result: Evidently's rule (p-values drift when small)
                drifted = score < threshold if "p_value" in method else score >= threshold
            columns[column] = {"kind": kinds.get(column), "method": method, "score": score,
                               "threshold": threshold, "drifted": drifted}
        elif kind.endswith(":DriftedColumnsCount"):
            share = float(metric["value"]["share"])
    if share is None:
        share = (sum(v["drifted"] for v in columns.values()) / len(columns)) if columns else 0.0
    return columns, share


def _display_name(method: str, kind: str | None) -> str:
    """Evidently's display name of a test given by registry name (``wasserstein`` ->
    ``Wasserstein distance (normed)``), so summarised and full runs read the same."""
    try:
        from evidently.legacy.calculations.stattests.registry import get_registered_stattest
        from evidently.legacy.core import ColumnType
        feature_type = ColumnType.Numerical if kind == NUMERICAL else ColumnType.Categorical
        return get_registered_stattest(method, feature_type).display_name
    except Exception:  # already a display name, or a test this Evidently does not know
        return method
