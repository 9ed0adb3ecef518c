"""Alerts: drift past a monitor's threshold, a performance drop past its margin, or (raised
by a deployment) logged predictions its inference log could not keep.

An alert is a row of the catalog's ``alerts`` table (shown by the sidebar, ``%lakebook
monitor`` and ``GET /lakebook/api/alerts``) until someone acknowledges it. A monitor created
with ``on_drift="retrain"`` also queues a run of the training step that produced the model it
watches (found from the model version's lineage); the alert's ``action`` records that run.
Lakebook never promotes the new version itself: the training step's own
``--promote-if-better`` rule decides, exactly as in a scheduled training run.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..catalog import from_json
from ..shared.errors import InvalidInput, LakebookError, NotFound
from . import records

log = logging.getLogger(__name__)


def evaluate(lh: Any, spec: dict[str, Any], result: dict[str, Any],
             who: dict[str, Any] | None = None) -> list[int]:
    """Raise the alerts a finished result calls for; returns their ids. ``who``: the
    identity lineage records them against (the monitor's run)."""
    raised: list[int] = []
    if result["status"] == "drift":
        columns = from_json(result["columns"], {}) if isinstance(result["columns"], str) \
            else result["columns"]
        drifted = sorted(c for c, v in columns.items() if v.get("drifted"))
        message = (f"Monitor {spec['name']}: {len(drifted)} of {len(columns)} columns drifted "
                   f"({result['drift_share']:.0%} >= {spec['drift_share']:.0%}): "
                   f"{', '.join(drifted)}.")
        raised.append(_insert(lh, spec["name"], result["id"], "drift", message,
                              {"drifted": drifted, "drift_share": result["drift_share"]}))
    perf = result.get("performance")
    perf = from_json(perf, {}) if isinstance(perf, str) else (perf or {})
    margin = spec.get("performance_margin")
    if margin is not None and perf.get("metrics") and perf.get("reference"):
        drops = performance_drops(perf["metrics"], perf["reference"], float(margin))
        if drops:
            text = ", ".join(f"{m} {d['reference']:.3f} -> {d['current']:.3f}"
                             for m, d in drops.items())
            raised.append(_insert(lh, spec["name"], result["id"], "performance",
                                  f"Monitor {spec['name']}: performance dropped by more than "
                                  f"{margin:g} ({text}).", {"drops": drops}))
    from ..lineage.api import ref
    for alert_id in raised:
        lh.lineage.record("write", "alert", spec["name"], alert_id, {"open": True},
                          [ref("monitor_result", spec["name"], result["id"])], who=who)
    if raised and spec.get("on_drift") == "retrain":
        action = retrain(lh, spec, result)
        for alert_id in raised:
            records.set_alert_action(lh.catalog, alert_id, action)
            if action.get("run_id"):  # the loop back: this alert triggered that run
                lh.lineage.record("write", "run", action["run_id"], None,
                                  {"triggered_by": f"alert {alert_id}"},
                                  [ref("alert", spec["name"], alert_id)], who=who)
    return raised


def performance_drops(current: dict[str, float], reference: dict[str, float],
                      margin: float) -> dict[str, dict[str, float]]:
    """Metrics worse than the registered (held-out) value by more than ``margin``."""
    from ..registry.evaluation import higher_is_better
    drops = {}
    for metric, now_value in current.items():
        if metric not in reference or reference[metric] is None:
            continue
        ref = float(reference[metric])
        drop = ref - now_value if higher_is_better(metric) else now_value - ref
        if drop > margin:
            drops[metric] = {"reference": ref, "current": float(now_value), "drop": drop}
    return drops


def _insert(lh: Any, monitor: str, result_id: int, kind: str, message: str,
            details: dict[str, Any]) -> int:
    alert_id = records.add_alert(lh.catalog, monitor, result_id, kind, message, details)
    lh.catalog.record_event("monitor.alert", monitor, {"alert": alert_id, "kind": kind})
    return alert_id


def raise_alert(lh: Any, source: str, kind: str, message: str,
                details: dict[str, Any]) -> int:
    """An alert from outside a monitor run (``source`` names what raised it, e.g.
    ``deployment scorer``). While one of that source and kind is open, it is updated —
    message, details, and a ``count`` of how often it happened — rather than repeated."""
    alert_id, new = records.raise_or_update(lh.catalog, source, kind, message, details)
    if new:
        lh.catalog.record_event("alert.raised", source, {"alert": alert_id, "kind": kind})
    return alert_id


def raise_kpi_alert(lh: Any, source: str, kind: str, message: str, details: dict[str, Any],
                    retrain_model: tuple[str, int] | None = None) -> int:
    """An alert for a business KPI that crossed its threshold (``business.api``): raised or
    updated like :func:`raise_alert`; when it is new and ``retrain_model`` names the model
    version, the training step behind it is queued exactly as for drift (:func:`retrain`)."""
    alert_id, new = records.raise_or_update(lh.catalog, source, kind, message, details)
    if new:
        lh.catalog.record_event("alert.raised", source, {"alert": alert_id, "kind": kind})
        if retrain_model is not None:
            action = retrain(lh, {"name": source}, {"details": {
                "model": retrain_model[0], "model_version": retrain_model[1]}})
            records.set_alert_action(lh.catalog, alert_id, action)
    return alert_id


def training_target(lh: Any, model: str, version: int) -> dict[str, Any]:
    """Notebook and step that trained ``model`` v``version`` (from its lineage; the run that
    registered it names the original notebook, not papermill's copy)."""
    mv = lh.registry.get(model, version=version)
    lineage = mv.lineage or {}
    notebook, step = lineage.get("notebook"), lineage.get("step") or model
    run_id = lineage.get("run_id")
    if run_id:
        try:
            target = lh.pipelines.runs.get(run_id).target
        except NotFound:  # the run's record is gone (a rebuilt catalog): trust the lineage
            target = {}
        if target.get("notebook"):
            notebook = target["notebook"]
    if not notebook or not Path(notebook).is_file():
        raise InvalidInput(f"Model {model} v{version} does not record the notebook that trained "
                           f"it (lineage notebook: {notebook!r}).",
                           "Train it with the %%training magic in a saved notebook.")
    return {"notebook": str(notebook), "step": step}


def retrain(lh: Any, spec: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Queue a run of the training step behind the watched model; never raises (a monitor
    run must finish even when the loop cannot be closed), the action says what happened."""
    details = from_json(result.get("details"), {}) if isinstance(result.get("details"), str) \
        else (result.get("details") or {})
    model, version = details.get("model"), details.get("model_version")
    if not model or version is None:
        return {"retrain": "not possible", "reason": "the monitor does not watch a model"}
    try:
        target = training_target(lh, model, int(version))
        step = lh.pipelines.steps.get(target["step"], target["notebook"])
        promote = (step.args or {}).get("promote_if_better")
        run = lh.pipelines.run(f"{target['notebook']}::{target['step']}", wait=False)
    except LakebookError as exc:
        log.warning("monitor %s: retrain not queued: %s", spec["name"], exc)
        return {"retrain": "not possible", "reason": str(exc)}
    except Exception as exc:  # the run machinery failed: record, do not crash the monitor
        log.exception("monitor %s: retrain failed to start", spec["name"])
        return {"retrain": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    lh.catalog.record_event("monitor.retrain", spec["name"], {"run": run.id, "model": model})
    return {"retrain": "queued", "run_id": run.id, "notebook": target["notebook"],
            "step": target["step"], "model": model, "from_version": version,
            "promote_if_better": promote,
            "note": ("the step promotes the new version only if it beats the current one on "
                     f"{promote}") if promote else
                    "the step has no --promote-if-better: the new version is registered, "
                    "not promoted"}


def list_alerts(lh: Any, monitor: str | None = None, acknowledged: bool | None = None,
                limit: int = 100) -> list[dict[str, Any]]:
    return records.alerts(lh.catalog, monitor, acknowledged, limit)


def acknowledge(lh: Any, alert_id: int) -> dict[str, Any]:
    try:
        alert_id = int(alert_id)
    except (TypeError, ValueError):
        raise InvalidInput(f"{alert_id!r} is not an alert id.", "Alert ids are numbers.") from None
    records.acknowledge(lh.catalog, alert_id)
    return get_alert(lh, alert_id)


def get_alert(lh: Any, alert_id: int) -> dict[str, Any]:
    row = records.alert(lh.catalog, alert_id)
    if row is None:
        raise NotFound(f"There is no alert {alert_id}.", "List alerts with lh.monitoring.alerts.list().")
    return row
