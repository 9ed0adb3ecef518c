"""``lh.business``: outcomes, KPIs and arm comparisons of deployments.

Every door calls this: ``dep.log_outcome`` / ``dep.kpi`` / ``dep.kpis`` / ``dep.compare_arms``
(thin methods of a deployment), ``lh.outcomes.insert(df)``, ``lh.business.kpis`` (create,
get, list, delete and ``values``), ``GET
/lakebook/api/deployments/<name>/kpis`` and the ``dep.business()`` widget.

- Outcomes: :mod:`~kernel_magics.business.outcomes` (one Delta table per deployment).
- The join of predictions and outcomes: :mod:`~kernel_magics.business.joined`.
- KPIs and model metrics: :mod:`~kernel_magics.business.kpis`; their definitions are kept in
  the catalog (``business.records``).
- Arms: :mod:`~kernel_magics.business.arms`.
- Alerts: a KPI with ``below=`` / ``above=`` raises an alert through monitoring's alert
  machinery (the same table, sidebar and retrain as drift) when a window crosses it.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..shared.durations import parse_duration
from ..catalog import Duplicate
from ..shared.errors import AlreadyExists, InvalidInput, NotFound
from ..shared.times import parse_time
from . import joined as J
from . import kpis as K
from . import outcomes as O
from . import records

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse

log = logging.getLogger(__name__)

#: the windows ``every=`` may name besides any duration
EVERY = {"day": "1d", "daily": "1d", "week": "1w", "weekly": "1w"}


def parse_every(every: Any) -> timedelta:
    """A KPI window length: ``1d``, ``1w`` (or ``day``, ``week``), any duration."""
    return parse_duration(EVERY.get(every, every) if isinstance(every, str) else every,
                          "KPI window (every)")


class Outcomes:
    """``lh.outcomes`` (``lh.business.outcomes``): what really happened after predictions,
    one Delta table per deployment."""

    def __init__(self, lh: "Lakehouse") -> None:
        self.lh = lh

    def _keys(self, deployment: str) -> list[str]:
        return list(self.lh.deployments.get(deployment).served.keys)

    def insert(self, df: pd.DataFrame, deployment: str | None = None) -> int:
        """Append a batch of outcomes of ``deployment`` (or of the deployment each row names
        in a ``deployment`` column) in one commit per deployment; returns rows written.

        Each row has ``outcome`` (what happened), optional ``value`` (e.g. the amount), and
        names its prediction by ``request_id`` or by the view's keys plus ``at`` (the event
        time). Nothing is written when any row is wrong."""
        if isinstance(df, pd.DataFrame) and deployment is None and "deployment" in df.columns:
            groups = {str(name): part.drop(columns="deployment")
                      for name, part in df.groupby("deployment", sort=True)}
        elif deployment is None:
            raise InvalidInput("Which deployment are these outcomes about?",
                               "Pass deployment='<name>' or a 'deployment' column.")
        else:
            groups = {deployment: df}
        tables = {name: O.prepare(name, self._keys(name), part)  # all checked first
                  for name, part in groups.items()}
        written = 0
        for name, table in tables.items():
            n = O.write(O.outcomes_path(self.lh, name), table)
            written += n
            self.lh.catalog.record_event("business.outcomes", name, {"rows": n})
            self._record_lineage(name, table)
        return written

    def _record_lineage(self, deployment: str, table: Any) -> None:
        """Lineage: an ``outcome`` node of ``deployment`` at the outcomes table's new Delta
        version, made from the deployment and the model versions that answered in the
        outcomes' window (their times less the deployment's outcome window)."""
        if not table.num_rows:
            return
        import pyarrow.compute as pc
        from ..storage import delta as storage
        bounds = pc.min_max(table.column("at")).as_py()
        source = self.lh.deployments.definition(deployment)["spec"].get("outcomes") or {}
        window = parse_duration(source.get("window", "30d"), "outcome window")
        opened = storage.open_table(O.outcomes_path(self.lh, deployment))
        self.lh.lineage.outcomes_logged(deployment, table.num_rows,
                                        None if opened is None else opened.version(),
                                        bounds["min"] - window, bounds["max"])

    def insert_body(self, deployment: str, payload: Any) -> int:
        """Append the outcomes of a decoded JSON body (what ``POST
        deployments/<name>/outcomes`` takes in both HTTP servers): ``{"outcomes": [{...},
        ...]}`` or one outcome object, each with the fields :meth:`insert` takes. NotFound
        for an unknown deployment; nothing is written when any outcome is wrong."""
        items = O.records_of_body(deployment, payload)
        self.lh.deployments.definition(deployment)  # NotFound naming it
        return self.insert(pd.DataFrame(items), deployment=deployment)

    def log(self, deployment: str, request_id: str | None, outcome: Any,
            value: Any = None, at: Any = None, keys: dict[str, Any] | None = None) -> None:
        """Log the outcome of one answered request (``request_id``), or of the entity
        ``keys`` at time ``at`` (``dep.log_outcome`` calls this)."""
        table = O.one(deployment, self._keys(deployment), request_id, outcome, value, at, keys)
        O.write(O.outcomes_path(self.lh, deployment), table)
        self._record_lineage(deployment, table)

    def read(self, deployment: str) -> pd.DataFrame:
        """Every outcome logged for ``deployment`` (not those read from a feature group);
        NotFound when there is no such deployment."""
        from ..storage import delta as storage
        self.lh.deployments.definition(deployment)
        path = O.outcomes_path(self.lh, deployment)
        if not storage.exists(path):
            return pd.DataFrame(columns=list(O.OWN))
        return storage.dataset(path).to_table().to_pandas()


class Kpis:
    """``lh.business.kpis``: the KPIs defined on deployments (by deployment and name), and
    their values per window."""

    def __init__(self, lh: "Lakehouse") -> None:
        self.lh = lh

    def create(self, deployment: str, name: str, sql: str | None = None,
               kind: str = "total", better: str = "higher", below: float | None = None,
               above: float | None = None, on_alert: str | None = None,
               description: str = "", replace: bool = False) -> K.Kpi:
        """Define KPI ``name`` of ``deployment``: ``sql`` is one aggregate over the joined
        rows, validated now (nothing is stored when it does not run). A model metric's name
        (``precision``, ``average_precision``, ``rmse``…) without ``sql`` sets an alert
        threshold on that metric. :class:`AlreadyExists` when the deployment has a KPI of
        that name, unless ``replace=True`` redefines it (``dep.kpi(...)`` does)."""
        self.lh.deployments.definition(deployment)
        plan = J.plan_of(self.lh, deployment)
        builtin = name in K.metric_names(plan)
        if builtin and sql is None:
            kind, better = K.builtin_kind(name)
            if below is None and above is None:
                raise InvalidInput(f"{name!r} is a model metric of deployment {deployment!r}: "
                                   "Lakebook computes it; give below= or above= to alert on "
                                   "it.")
            below, above = K.check_thresholds(deployment, name, below, above, on_alert)
            sql = ""
        else:
            below, above = K.check_definition(deployment, name, kind, better, below, above,
                                              on_alert)
            sql = K.check_sql(deployment, name, sql)
            K.validate(self.lh, plan, self.lh.business._threshold(deployment), deployment,
                       name, sql)
        kpi = K.Kpi(deployment=deployment, name=name, sql=sql, kind=kind, better=better,
                    below=below, above=above, on_alert=on_alert, description=description)
        try:
            records.save_kpi(self.lh.catalog, deployment, name, kpi.to_dict(), replace=replace)
        except Duplicate:
            raise AlreadyExists(f"Deployment {deployment!r} has a KPI {name!r} already.",
                                "Pass replace=True to redefine it (dep.kpi(...) does), or "
                                "pick another name.") from None
        self.lh.catalog.record_event("business.kpi", deployment, kpi.to_dict())
        return kpi

    def get(self, deployment: str, name: str) -> K.Kpi:
        """KPI ``name`` of ``deployment``; NotFound when it has none such."""
        row = records.kpi(self.lh.catalog, deployment, name)
        if row is None:
            raise NotFound(f"Deployment {deployment!r} has no KPI {name!r}.",
                           f"List them with lh.business.kpis.list({deployment!r}).")
        return K.Kpi.from_row(row)

    def list(self, deployment: str) -> list[K.Kpi]:
        """The KPIs defined on ``deployment``, in the order they were defined (model-metric
        thresholds have no SQL)."""
        return [K.Kpi.from_row(r) for r in records.kpis(self.lh.catalog, deployment)]

    def delete(self, deployment: str, name: str) -> None:
        """Delete KPI ``name`` of ``deployment`` (NotFound when it has none such)."""
        if not records.delete_kpi(self.lh.catalog, deployment, name):
            raise NotFound(f"Deployment {deployment!r} has no KPI {name!r}.",
                           f"List them with lh.business.kpis.list({deployment!r}).")
        self.lh.catalog.record_event("business.kpi.deleted", deployment, {"name": name})

    def values(self, deployment: str, every: Any = "1d", start: Any = None,
               end: Any = None) -> pd.DataFrame:
        """Model metrics and the user's KPIs of ``deployment`` per window (``every``: ``1d``,
        ``1w``…) of prediction time in ``[start, end)``, version and arm: a DataFrame
        ``window_start, version, arm, shadow, kpi, value, coverage, n, ci_low, ci_high``.
        Computed from the outcomes as they are now: late outcomes update past windows."""
        width = parse_every(every)
        start_t, end_t = parse_time(start, "start"), parse_time(end, "end")
        plan = J.plan_of(self.lh, deployment)
        user = [k for k in self.list(deployment) if k.sql]
        return K.compute(self.lh, plan, user, self.lh.business._threshold(deployment), width,
                         start_t, end_t)


class Business:
    """Business results of one lakehouse's deployments."""

    def __init__(self, lh: "Lakehouse") -> None:
        self.lh = lh

    @cached_property
    def outcomes(self) -> Outcomes:
        """The outcomes: ``outcomes.insert(df, deployment=...)``, ``outcomes.read(name)``."""
        return Outcomes(self.lh)

    @cached_property
    def kpis(self) -> "Kpis":
        """The KPIs of deployments: ``kpis.create(deployment, name, sql)``, ``get``, ``list``,
        ``delete``, and ``kpis.values(deployment, every=...)``, their values per window."""
        return Kpis(self.lh)

    def joined(self, deployment: str, start: Any = None, end: Any = None,
               features: bool = False) -> pd.DataFrame:
        """The deployment's predictions made in ``[start, end)`` with the outcome each one
        joined (null while none arrived): what KPIs are computed over (``business.joined``).
        ``features=True`` brings the view's features too (rebuilt for batch rows)."""
        plan = J.plan_of(self.lh, deployment)
        con = J.connection()
        try:
            J.build(self.lh, plan, parse_time(start, "start"), parse_time(end, "end"),
                    wanted=set(plan.features) if features else set(), con=con, probas=True)
            return con.execute(f"SELECT * FROM {J.TABLE} ORDER BY ts").df()
        finally:
            con.close()

    def _threshold(self, deployment: str) -> float | None:
        value = self.lh.deployments.definition(deployment)["spec"].get("threshold")
        return None if value is None else float(value)

    def compare_arms(self, deployment: str, kpi: str | None = None, start: Any = None,
                     end: Any = None) -> dict[str, Any]:
        """Which arm (or version, or shadow) of ``deployment`` is better on ``kpi`` (default:
        the first KPI defined, else the task's first metric) over ``[start, end)``, each with
        its interval, and whether the difference is significant (see ``business.arms``)."""
        from . import arms
        plan = J.plan_of(self.lh, deployment)
        defined = {k.name: k for k in self.kpis.list(deployment) if k.sql}
        metrics = {**K.CLASSIFIER_METRICS} if plan.positive is not None else \
            {**K.REGRESSOR_METRICS}
        if kpi is None:
            kpi = next(iter(defined), next(iter(metrics)))
        if kpi in defined:
            k = defined[kpi]
            sql, kind, better = k.sql, k.kind, k.better
        elif kpi in metrics:
            sql = metrics[kpi]
            kind, better = K.builtin_kind(kpi)
        else:
            raise NotFound(f"Deployment {deployment!r} has no KPI {kpi!r} to compare arms on.",
                           f"Use one of {', '.join([*defined, *metrics])}.")
        start_t, end_t = parse_time(start, "start"), parse_time(end, "end")
        con = J.connection()
        try:
            J.build(self.lh, plan, start_t, end_t, wanted=J.referenced([sql], plan), con=con)
            K.add_rows_view(con, plan, self._threshold(deployment))
            result = arms.compare(con, kpi, sql, kind, better)
        finally:
            con.close()
        result["deployment"] = deployment
        result["window"] = {"start": None if start_t is None else start_t.isoformat(),
                            "end": None if end_t is None else end_t.isoformat()}
        return result

    # -- alerts ----------------------------------------------------------------------------
    def check_alerts(self, deployment: str, every: Any = "1d", now: Any = None
                     ) -> list[int]:
        """Raise an alert for every KPI threshold the latest window crosses (per version and
        arm), through monitoring's alerts (``kind`` ``kpi:<name>``, source ``deployment
        <name>``); a KPI with ``on_alert="retrain"`` queues the training step of the model
        version that crossed it, as a drift alert does. Returns the alert ids."""
        from ..monitoring import alerts as A
        watched = [k for k in self.kpis.list(deployment)
                   if k.below is not None or k.above is not None]
        if not watched:
            return []
        width = parse_every(every)
        at = parse_time(now, "now") or datetime.now(timezone.utc)
        frame = self.kpis.values(deployment, every=width, start=at - 2 * width, end=at)
        if frame.empty:
            return []
        latest = frame[frame["window_start"] == frame["window_start"].max()]
        model = self.lh.deployments.definition(deployment)["model"]
        raised = []
        for k in watched:
            for row in latest[latest["kpi"] == k.name].itertuples(index=False):
                if pd.isna(row.value):
                    continue
                crossed = ("below", k.below) if k.below is not None and row.value < k.below \
                    else ("above", k.above) if k.above is not None and row.value > k.above \
                    else None
                if crossed is None:
                    continue
                arm = f" arm {row.arm}" if row.arm else ""
                message = (f"Deployment {deployment}: {k.name} of {model} v{row.version}{arm} "
                           f"was {row.value:.4g} in the window from "
                           f"{row.window_start:%Y-%m-%d %H:%M}, {crossed[0]} {crossed[1]:g} "
                           f"({row.coverage} of {row.n} predictions have an outcome).")
                details = {"deployment": deployment, "kpi": k.name, "value": float(row.value),
                           crossed[0]: crossed[1], "version": int(row.version),
                           "arm": row.arm, "window_start": row.window_start.isoformat(),
                           "coverage": int(row.coverage), "n": int(row.n)}
                raised.append(A.raise_kpi_alert(
                    self.lh, f"deployment {deployment}", f"kpi:{k.name}", message, details,
                    retrain_model=(model, int(row.version)) if k.on_alert == "retrain" else None))
        return raised

    # -- views ---------------------------------------------------------------------------
    def chart(self, deployment: str, every: Any = "1w", start: Any = None, end: Any = None):
        """The business view's Vega-Lite chart (``.spec``; renders in JupyterLab)."""
        from .views import BusinessChart, business_view
        return BusinessChart(business_view(self.lh, deployment, every=every, start=start,
                                           end=end))

    def widget(self, deployment: str, every: Any = "1w", start: Any = None, end: Any = None):
        """The ipywidgets view (``dep.business()``), a door registered in ``views.VIEWS``."""
        from .views import VIEWS
        return VIEWS.get("widget")(self.lh, deployment, every=every, start=start, end=end)

    def count(self) -> dict[str, int]:
        return records.counts(self.lh.catalog)
