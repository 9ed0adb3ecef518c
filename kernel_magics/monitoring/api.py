"""``lh.monitoring``: create, run, get, list and delete monitors; their results and alerts
(``lh.monitoring.results``, ``lh.monitoring.alerts``).

Every front door (``lh.monitoring``, ``%lakebook monitor``, REST, CLI, the scheduler) calls this.
A run never raises for a problem in the data or its sources: the result row is marked
``skipped`` (nothing to compare: empty windows, no testable column) or ``failed`` (the
deployment or group is gone, a column is missing, anything unexpected) with the reason.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, Iterable

from ..catalog import from_json
from ..shared.times import now_utc
from ..shared.errors import InvalidInput, LakebookError, NotFound
from ..shared.names import validate_name
from ..shared.record import Record
from ..shared.refs import takes_objects
from . import alerts as A
from . import records
from ..shared.times import iso, parse_time
from . import windows as W
from .drift import NothingToCompare, detect_drift
from .monitors import Monitor, MonitorResult

log = logging.getLogger(__name__)

ON_DRIFT = (None, "retrain")
#: cron nicknames the monitor API accepts (the scheduler wants five fields)
CRON_NICKNAMES = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
                  "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *"}


def schedule_name(monitor: str) -> str:
    return f"monitor-{monitor}"


class Results:
    """``lh.monitoring.results``: what each run of a monitor found (a deleted monitor's
    results stay readable)."""

    def __init__(self, lh: Any) -> None:
        self.lh = lh

    @takes_objects(name="monitor")
    def get(self, name: str, result_id: int) -> MonitorResult:
        """Result ``result_id`` of monitor ``name``; NotFound when it has none such."""
        row = records.result(self.lh.catalog, name, result_id)
        if row is None:
            raise NotFound(f"Monitor {name!r} has no result {result_id}.",
                           f"List its results with lh.monitoring.results.list({name!r}).")
        return MonitorResult.from_row(row)

    def report(self, result: MonitorResult, kind: str = "html") -> bytes:
        """The stored Evidently report (``html`` or ``json``) of ``result``, read from the
        lakehouse's storage (any home of a team reads it); NotFound when the result has
        none, or its file is not among the lakehouse's reports."""
        recorded = result.report_html if kind == "html" else result.report_json
        found = self.lh.storage.find(recorded, "reports")
        if found is None and recorded:
            raise NotFound(f"The report of result {result.id} of monitor {result.monitor!r} "
                           "is not in the lakehouse.", "Only reports under its reports/ "
                           "folder are served.")
        try:
            return found.read_bytes() if found is not None else _no_report(result)
        except FileNotFoundError:
            return _no_report(result)

    @takes_objects(name="monitor")
    def list(self, name: str, limit: int = 50) -> list[MonitorResult]:
        """Results of monitor ``name``, newest first."""
        if not records.ever_existed(self.lh.catalog, name):
            raise NotFound(f"There is no monitor {name!r}.", "List monitors with "
                                                             "lh.monitoring.list().")
        return [MonitorResult.from_row(r) for r in records.results(self.lh.catalog, name, limit)]


class Alert(Record):
    """One alert (``id``, ``monitor`` — the monitor or KPI source —, ``kind``, ``message``,
    ``details``, ``acknowledged``, ``acknowledged_by``, ``created_at``...)."""

    noun = "alert"


class Alerts:
    """``lh.monitoring.alerts``: the alerts monitors and KPI thresholds raised, newest
    first; acknowledge one when it has been seen (it stays in the history)."""

    def __init__(self, lh: Any) -> None:
        self.lh = lh

    def get(self, alert_id: int) -> Alert:
        """Alert ``alert_id``; NotFound when there is none."""
        return Alert(A.get_alert(self.lh, _alert_id(alert_id)))

    def list(self, monitor: str | None = None, acknowledged: bool | None = None,
             limit: int = 100) -> list[Alert]:
        """Alerts, newest first (of one ``monitor`` or KPI source; ``acknowledged=False``:
        the open ones)."""
        return [Alert(a) for a in A.list_alerts(self.lh, monitor, acknowledged, limit)]

    def acknowledge(self, alert_id: int) -> Alert:
        """Mark an alert as seen (by whom and when: the first acknowledgement's); it stays
        in the history. Answers the alert."""
        alert = A.acknowledge(self.lh, _alert_id(alert_id))
        self.lh.catalog.record_event("monitor.alert.acknowledged", alert["monitor"],
                                     {"alert": alert["id"]})
        return Alert(alert)


def _alert_id(alert_id: Any) -> int:
    if isinstance(alert_id, Alert):
        return int(alert_id["id"])
    try:
        return int(alert_id)
    except (TypeError, ValueError):
        raise InvalidInput(f"{alert_id!r} is not an alert id.", "Alert ids are numbers "
                           "(see lh.monitoring.alerts.list()).") from None


class Monitoring:
    """The monitors of one lakehouse."""

    def __init__(self, lh: Any) -> None:
        self.lh = lh

    @cached_property
    def results(self) -> Results:
        """The monitors' results: ``results.get(name, id)``, ``results.list(name)``."""
        return Results(self.lh)

    @cached_property
    def alerts(self) -> Alerts:
        """The alerts: ``alerts.get(id)``, ``alerts.list(monitor, acknowledged=False)``,
        ``alerts.acknowledge(id)``."""
        return Alerts(self.lh)

    # -- create / get / list / delete ------------------------------------------------------
    @takes_objects(name="monitor", deployment="deployment", feature_group="feature group")
    def create(self, name: str, deployment: str | None = None, feature_group: str | None = None,
               reference: Any = None, current: Any = "last 1d", schedule: str | None = "@daily",
               drift_share: float | None = None, columns: Iterable[str] | None = None,
               performance_margin: float | None = None, on_drift: str | None = None,
               labels: dict[str, Any] | None = None, time_column: str | None = None,
               tz: str = "UTC", replace: bool = False, threshold: float | None = None
               ) -> Monitor:
        """Create a monitor.

        Watch a ``deployment`` (its inference log against ``reference="training"``, the
        served model version's training set, or a window of the log) or a ``feature_group``
        (``current`` against a ``reference`` window such as ``"previous 7d"``). The result is
        *drift* when the share of drifted columns reaches ``drift_share`` (``threshold`` is an
        alias); ``labels={"feature_group", "label"}`` adds performance, and a drop past
        ``performance_margin`` raises an alert too. ``on_drift="retrain"`` queues the
        training step of the watched model on an alert. ``schedule`` (cron or ``@daily``;
        ``None`` for none) runs it on the scheduler. Everything is checked before anything is
        written.
        """
        validate_name(name, "monitor")
        for field, value in (("deployment", deployment), ("feature_group", feature_group),
                             ("time_column", time_column), ("tz", tz)):
            if value is not None and not isinstance(value, str):
                raise InvalidInput(f"Monitor {name!r}: {field} must be a string, not "
                                   f"{value!r:.60}.")
        if (deployment is None) == (feature_group is None):
            raise InvalidInput(f"Monitor {name!r} needs exactly one of deployment=... or "
                               "feature_group=....",
                               "A model monitor watches a deployment's inference log; a "
                               "feature monitor watches a feature group.")
        if drift_share is None:
            drift_share = 0.5 if threshold is None else threshold
        elif threshold is not None and threshold != drift_share:
            raise InvalidInput("Give drift_share or threshold (the same setting), not both.")
        try:
            drift_share = float(drift_share)
        except (TypeError, ValueError):
            raise InvalidInput(f"drift_share must be a number, not {drift_share!r}.") from None
        if not 0 < drift_share <= 1:
            raise InvalidInput(f"drift_share must be in (0, 1], not {drift_share}.",
                               "It is the share of drifted columns that makes a dataset "
                               "drift, e.g. 0.5.")
        if reference is None:
            reference = "training" if deployment else None
        if reference is None:
            raise InvalidInput(f"Feature monitor {name!r} needs a reference window.",
                               'E.g. reference="previous 7d" or {"start": ..., "end": ...}.')
        reference = W.validate(reference, "reference")
        current = W.validate(current, "current")
        if reference == "training" and not deployment:
            raise InvalidInput('reference="training" needs a deployment (the training set of '
                               "the model it serves).",
                               'For a feature group use a window, e.g. "previous 7d".')
        if columns is not None:
            if isinstance(columns, str):
                columns = [columns]
            if not isinstance(columns, (list, tuple)):
                raise InvalidInput(f"columns must be a list of column names, not "
                                   f"{columns!r:.60}.", 'E.g. columns=["amount", "category"].')
            columns = list(columns)
            if not columns or not all(isinstance(c, str) and c for c in columns):
                raise InvalidInput("columns must be a non-empty list of column names.")
        if on_drift not in ON_DRIFT:
            raise InvalidInput(f"on_drift must be None or 'retrain', not {on_drift!r}.")
        if on_drift == "retrain" and not deployment:
            raise InvalidInput("on_drift='retrain' needs a deployment: it retrains the model "
                               "the deployment serves.")
        if performance_margin is not None:
            try:
                performance_margin = float(performance_margin)
            except (TypeError, ValueError):
                raise InvalidInput("performance_margin must be a number.") from None
            if performance_margin < 0:
                raise InvalidInput("performance_margin cannot be negative.", "E.g. 0.05.")
            if not labels:
                raise InvalidInput("performance_margin needs labels={'feature_group': ..., "
                                   "'label': ...} to measure performance.")
        if labels is not None:
            if not deployment:
                raise InvalidInput("labels only apply to a deployment monitor (predictions "
                                   "joined with labels).")
            if not isinstance(labels, dict) or not labels.get("feature_group") \
                    or not labels.get("label"):
                raise InvalidInput("labels must name the feature group and label column.",
                                   "E.g. labels={'feature_group': 'fraud_labels', "
                                   "'label': 'is_fraud'}.")
            self.lh.features.groups.get(labels["feature_group"])  # NotFound names it
        # the watched thing must exist now (a later deletion makes runs fail, not crash)
        if deployment:
            self.lh.deployments.definition(deployment)  # NotFound names it
        else:
            self.lh.features.groups.get(feature_group)
        cron = None
        if schedule:
            cron = CRON_NICKNAMES.get(str(schedule).strip().lower(), schedule)
            from ..pipelines import cron as S
            cron = S.check_cron(cron)
            tz = str(S.check_timezone(tz))
        spec = {"name": name, "deployment": deployment, "feature_group": feature_group,
                "reference": reference, "current": current, "schedule": schedule or None,
                "cron": cron, "tz": tz, "drift_share": drift_share, "columns": columns,
                "performance_margin": performance_margin, "on_drift": on_drift,
                "labels": labels, "time_column": time_column}
        records.save_monitor(self.lh.catalog, name, spec, replace)
        # the schedule (target {"monitor": name}) is the pipelines' to keep; any scheduler runs it
        self.lh.pipelines.schedules.keep(schedule_name(name), {"monitor": name}, cron, tz)
        self.lh.catalog.record_event("monitor.created", name, spec)
        from ..lineage.api import ref
        if deployment:
            watched = ref("deployment", deployment)
        else:  # the group version it reads: its latest
            watched = ref("feature_group", feature_group,
                          self.lh.features.groups.get(feature_group).version)
        self.lh.lineage.wrote("monitor", name, inputs=[watched])
        return self.get(name)

    @takes_objects(name="monitor")
    def get(self, name: str) -> Monitor:
        row = records.live_monitor(self.lh.catalog, name)
        if row is None:
            raise NotFound(f"There is no monitor {name!r}.",
                           "List monitors with lh.monitoring.list(); create one with "
                           "lh.create_monitor(name, deployment=... or feature_group=...).")
        return Monitor(self, row)

    def list(self) -> list[Monitor]:
        return [Monitor(self, row) for row in records.live_monitors(self.lh.catalog)]

    def count(self) -> dict[str, int]:
        """How many (live) monitors there are."""
        return records.counts(self.lh.catalog)

    def summary(self) -> list[dict[str, Any]]:
        """Every monitor with its latest verdict, drift share and open alerts (JSON-ready)."""
        latest = records.latest_results(self.lh.catalog)
        open_alerts = records.open_alert_counts(self.lh.catalog)
        out = []
        for monitor in self.list():
            item = monitor.to_dict()
            row = latest.get(monitor.name)
            result = MonitorResult.from_row(row) if row else None
            item["latest"] = None if result is None else {
                "id": result.id, "status": result.status, "reason": result.reason,
                "drift_share": result.drift_share, "drifted_columns": result.drifted_columns,
                "created_at": result.created_at, "report_html": result.report_html}
            item["status"] = "never run" if result is None else result.status
            item["open_alerts"] = open_alerts.get(monitor.name, 0)
            out.append(item)
        return out

    @takes_objects(name="monitor")
    def delete(self, name: str) -> None:
        """Delete a monitor and its schedule (results and reports stay for the record)."""
        self.get(name)
        records.mark_deleted(self.lh.catalog, name)
        self.lh.pipelines.schedules.keep(schedule_name(name), {"monitor": name}, None)
        self.lh.catalog.record_event("monitor.deleted", name, {})

    # -- run -------------------------------------------------------------------------------
    @takes_objects(name="monitor")
    def run(self, name: str, run_id: str | None = None, now: Any = None) -> MonitorResult:
        """Compare the current window with the reference now (or at ``now``, the window end
        of a scheduled run) and record the result; raises only when the monitor does not
        exist."""
        monitor = self.get(name)
        spec = monitor.spec
        at = parse_time(now, "run time") or datetime.now(timezone.utc)
        started = time.perf_counter()
        result_id = records.start_result(self.lh.catalog, name, run_id)
        values: dict[str, Any] = {}
        try:
            values = self._compute(spec, at, result_id)
        except NothingToCompare as exc:
            values = {"status": "skipped", "reason": _text(exc)}
        except LakebookError as exc:
            values = {"status": "failed", "reason": _text(exc)}
        except Exception as exc:  # never crash the scheduler: the result says what happened
            log.exception("monitor %s failed", name)
            values = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
        values["duration_s"] = time.perf_counter() - started
        values["finished_at"] = now_utc()
        values.setdefault("window_end", iso(at))
        row = records.finish_result(self.lh.catalog, result_id, values)
        raised: list[int] = []
        from ..lineage.api import ref
        from ..shared.identity import caller_identity
        who = {**caller_identity(), **({"run_id": run_id} if run_id else {})}
        self.lh.lineage.record("write", "monitor_result", name, result_id,
                               {"status": row["status"]}, [ref("monitor", name)], who=who)
        if row["status"] in ("ok", "drift"):
            try:
                raised = A.evaluate(self.lh, spec, row, who=who)
            except Exception:  # an alert failure must not lose the result
                log.exception("monitor %s: raising alerts failed", name)
        if spec.get("deployment"):  # its business KPIs' thresholds, checked on the same beat
            try:
                raised += self.lh.business.check_alerts(spec["deployment"], now=at)
            except Exception:
                log.exception("monitor %s: checking the KPIs of %s failed", name,
                              spec["deployment"])
        self.lh.catalog.record_event("monitor.run", name, {"result": result_id,
                                                           "status": row["status"],
                                                           "run_id": run_id})
        result = MonitorResult.from_row(row)
        result.alerts = raised
        return result

    def _compute(self, spec: dict[str, Any], at: datetime, result_id: int) -> dict[str, Any]:
        from . import sources
        sides = sources.load(self.lh, spec, at)
        values: dict[str, Any] = {
            "window_start": iso(sides.current_window.start),
            "window_end": iso(sides.current_window.end),
            "current_rows": sides.current.num_rows, "reference_rows": sides.reference.num_rows}
        details = dict(sides.details)
        if sides.reference_window is not None:
            details["reference_window"] = sides.reference_window.to_dict()
        drift = detect_drift(sides.reference, sides.current, columns=sides.columns,
                             drift_share=spec["drift_share"], exclude=sides.exclude,
                             metadata={"monitor": spec["name"], "result": str(result_id)})
        # made locally (Evidently writes files), kept in the storage: every home reads it
        relative = f"reports/monitors/{spec['name']}"
        json_path, html_path = self.lh.publish(
            relative, list(drift.save(self.lh.local_folder(relative), f"{result_id}")))
        details.update({"skipped_columns": drift.skipped, "sampling": drift.sampling,
                        "drift_seconds": drift.duration_s})
        values.update({
            "status": "drift" if drift.dataset_drift else "ok",
            "drift_share": drift.drift_share, "dataset_drift": int(drift.dataset_drift),
            "columns": drift.columns, "details": details,
            "performance": sides.performance or {},
            "report_json": str(json_path), "report_html": str(html_path)})
        if sides.performance and sides.performance.get("skipped"):
            values["reason"] = f"performance not measured: {sides.performance['skipped']}"
        return values


def _no_report(result: MonitorResult) -> bytes:
    raise NotFound(f"Result {result.id} of monitor {result.monitor!r} has no report "
                   f"({result.status}{': ' + result.reason if result.reason else ''}).",
                   "Only results that compared data have a report.")


def _text(exc: LakebookError) -> str:
    return f"{exc.message} {exc.hint}" if exc.hint else exc.message


__all__ = ["Alert", "Alerts", "Monitoring", "schedule_name", "from_json"]
