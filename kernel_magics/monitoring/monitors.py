"""The objects users hold: a :class:`Monitor` and the :class:`MonitorResult` of one run."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..catalog import from_json

if TYPE_CHECKING:  # pragma: no cover
    from .api import Monitoring

@dataclass
class MonitorResult:
    """One run of a monitor: verdict, per-column drift, performance, report files."""

    id: int
    monitor: str
    status: str                      # running | ok | drift | skipped | failed
    run_id: str | None = None
    reason: str | None = None
    drift_share: float | None = None
    dataset_drift: bool | None = None
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    performance: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    reference_rows: int | None = None
    current_rows: int | None = None
    report_json: str | None = None
    report_html: str | None = None
    window_start: str | None = None
    window_end: str | None = None
    duration_s: float | None = None
    created_at: str | None = None
    finished_at: str | None = None
    alerts: list[int] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "MonitorResult":
        data = dict(row)
        for key, default in (("columns", {}), ("performance", {}), ("details", {})):
            data[key] = from_json(data.get(key), default)
        if data.get("dataset_drift") is not None:
            data["dataset_drift"] = bool(data["dataset_drift"])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def drifted_columns(self) -> list[str]:
        return [c for c, v in self.columns.items() if v.get("drifted")]

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["drifted_columns"] = self.drifted_columns
        return out

    def _repr_html_(self) -> str:
        from ..render.monitoring import result_html
        return result_html(self.to_dict())

    def __repr__(self) -> str:
        share = "" if self.drift_share is None else f", drift_share={self.drift_share:.2f}"
        return f"MonitorResult({self.monitor!r}, id={self.id}, status={self.status!r}{share})"


class Monitor:
    """A named monitor (get one with ``lh.monitoring.get(name)``)."""

    def __init__(self, service: "Monitoring", row: dict[str, Any]) -> None:
        self._service = service
        self.name: str = row["name"]
        self.spec: dict[str, Any] = from_json(row["spec"], {}) if isinstance(row["spec"], str) \
            else dict(row["spec"])
        self.created_at: str = row.get("created_at", "")
        self.updated_at: str = row.get("updated_at", "")

    def __getattr__(self, key: str) -> Any:
        spec = self.__dict__.get("spec", {})
        if key in spec:
            return spec[key]
        raise AttributeError(key)

    @property
    def kind(self) -> str:
        return "model" if self.spec.get("deployment") else "feature"

    @property
    def source(self) -> str:
        if self.spec.get("deployment"):
            return f"deployment {self.spec['deployment']}"
        return f"feature group {self.spec.get('feature_group')}"

    def run(self, now: Any = None, run_id: str | None = None) -> MonitorResult:
        """Compare the windows now; see :meth:`Monitoring.run`."""
        return self._service.run(self.name, run_id=run_id, now=now)

    def results(self, limit: int = 50) -> list[MonitorResult]:
        return self._service.results.list(self.name, limit=limit)

    def latest(self) -> MonitorResult | None:
        found = self.results(limit=1)
        return found[0] if found else None

    def alerts(self, acknowledged: bool | None = None) -> list[Any]:
        """This monitor's alerts (``lh.monitoring.alerts.list(name, ...)``)."""
        return self._service.alerts.list(self.name, acknowledged=acknowledged)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "spec": self.spec,
                "created_at": self.created_at, "updated_at": self.updated_at}

    def _repr_html_(self) -> str:
        from ..render.monitoring import monitor_html
        latest = self.latest()
        return monitor_html(self.to_dict(), None if latest is None else latest.to_dict(),
                            len(self.alerts(acknowledged=False)))

    def __repr__(self) -> str:
        return f"Monitor({self.name!r}, {self.source})"
