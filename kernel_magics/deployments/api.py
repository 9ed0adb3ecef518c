"""Deployments of a lakehouse: create, get, list and delete them in the catalog.

``lh.deployments.create("fraud", model="fraud", alias="production")`` (``lh.deploy``: the
same, re-pointing one that exists) records which model (by alias, which
may move, or by fixed version) and which feature view a deployment uses. The view defaults to
the one the served model version was trained on, and follows the model when its alias moves.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..storage import descriptors
from ..catalog import Duplicate
from ..shared.errors import AlreadyExists, InvalidInput, LakebookError, NotFound
from ..shared.record import Record
from ..shared.refs import Ref, takes_objects
from ..shared.names import validate_name
from . import records
from .deployment import Deployment
from .resolver import view_of

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse
    from ..storage.location import Location

KINDS = ("online", "batch")
DEFAULT_ALIAS = "production"


def deployment_row(lh: "Lakehouse", name: str) -> dict[str, Any]:
    """The catalog row of deployment ``name`` (NotFound naming it when there is none)."""
    row = records.live(lh.catalog, name)
    if row is None:
        raise NotFound(f"There is no deployment {name!r}.",
                       "Create it with lh.deploy(name, model=...) or %%inference; list "
                       "deployments with lh.deployments.list().")
    return row


class Deployments:
    """The deployments of one lakehouse (``lh.deployments``).

    :meth:`get` returns the same :class:`Deployment` object for a name within a process, so
    its loaded model and inference-log buffer are shared by every caller.
    """

    def __init__(self, lh: "Lakehouse") -> None:
        self.lh = lh
        self._objects: dict[str, Deployment] = {}
        self._lock = threading.Lock()

    @takes_objects(name="deployment", model=Ref("model", version="version", unless=("alias",)),
                   version="model version", view=Ref("feature view", version="view_version"))
    def create(self, name: str, model: str, alias: str | None = None,
               version: int | None = None, view: str | None = None,
               view_version: int | None = None, kind: str = "online",
               description: str = "", split: dict[str, float] | None = None,
               shadow: str | None = None, outcomes: str | dict[str, Any] | None = None,
               threshold: float | None = None, replace: bool = False) -> Deployment:
        """Create deployment ``name`` serving ``model``: :class:`AlreadyExists` when a
        deployment has that name, unless ``replace=True`` re-points it (its statistics and
        logs stay). ``lh.deploy(...)`` is this call with ``replace=True``.

        Give ``alias`` (it may move later; default ``production``) or a fixed ``version``.
        ``model`` and ``view`` take names or the objects (a ``ModelVersion`` then pins its
        version unless an alias is given; a ``FeatureView`` its version).
        ``view`` defaults to the feature view the model version was trained on; a model
        without one takes full input rows (MLflow-style). ``kind`` is ``online`` or
        ``batch`` (informational: both can be scored either way).

        Business results (see ``kernel_magics.business``): ``split={"production": 0.9,
        "challenger": 0.1}`` routes each entity, sticky by a hash of its keys, to an arm (a
        model alias, or ``"v3"``); ``shadow="challenger"`` also scores every request with
        that arm off the answer's path and logs it; ``outcomes="fraud_labels"`` (or
        ``{"feature_group", "outcome", "value", "window"}``) names a feature group whose
        rows are outcomes, joined on the view's keys and event time; ``threshold`` is the
        positive-class probability at which KPIs count a prediction as positive.
        """
        validate_name(name, "deployment")
        if not isinstance(model, str) or not model:
            raise InvalidInput(f"Deployment {name!r}: model must be a registered model's name, "
                               f"not {model!r}.", "Pass model='<name>'.")
        if alias is not None and version is not None:
            raise InvalidInput(f"Deployment {name!r}: give an alias or a version, not both.",
                               "An alias follows promotions; a version stays fixed.")
        if kind not in KINDS:
            raise InvalidInput(f"Deployment {name!r}: kind must be one of {', '.join(KINDS)}, "
                               f"not {kind!r}.")
        if version is None and alias is None:
            alias = DEFAULT_ALIAS
        if version is not None:
            version = int(version)
        registry = self.lh.registry
        mv = registry.get(model, version=version, alias=alias)  # NotFound names what is missing
        spec: dict[str, Any] = {"description": description}
        if view is None:
            view, view_version = view_of(mv)
            spec["view_from_model"] = view is not None
        else:
            fv = self.lh.features.views.get(view, view_version)
            view, view_version = fv.name, int(fv.version)
        labels = list(self.lh.features.views.get(view, view_version).labels) if view else []
        spec.update(self._business_spec(name, model, split, shadow, outcomes, threshold,
                                        labels))
        try:
            created = records.upsert(self.lh.catalog, name, model, alias, version, view,
                                     view_version, kind, spec, replace=replace)
        except Duplicate:
            raise AlreadyExists(f"Deployment {name!r} exists already.",
                                f"Open it with lh.deployments.get({name!r}); to re-point it, "
                                "pass replace=True (lh.deploy(...) does).") from None
        descriptors.write(descriptors.deployment_file(self.lh.location(""), name), {
            "name": name, "model": model, "alias": alias, "version": version, "view": view,
            "view_version": view_version, "kind": kind, "spec": spec, "created_at": created})
        self.lh.catalog.record_event("deployment.deployed", name, {
            "model": model, "alias": alias, "version": version, "resolved_version": mv.version,
            "view": view, "view_version": view_version, "kind": kind})
        from ..lineage.api import ref
        inputs = [ref("model_alias", f"{model}@{alias}") if alias is not None
                  else ref("model_version", model, version)]
        if view is not None:
            inputs.append(ref("feature_view", view, view_version))
        self.lh.lineage.wrote("deployment", name, inputs=inputs, serving=kind)
        if spec.get("outcomes"):  # a feature group whose rows are this deployment's outcomes
            group = self.lh.features.groups.get(spec["outcomes"]["feature_group"])
            self.lh.lineage.wrote("outcome", name, source=group.name, inputs=[
                ref("deployment", name), ref("feature_group", group.name, group.version)])
        deployment = self.get(name)
        deployment.cache.invalidate()
        return deployment

    def _business_spec(self, name: str, model: str, split: Any, shadow: Any, outcomes: Any,
                       threshold: Any, labels: list[str] | None = None) -> dict[str, Any]:
        """The routing and outcome settings of a deployment, checked (arms must resolve)."""
        from .routing import arm_version, check_split
        spec: dict[str, Any] = {}
        split = check_split(name, split)
        arms = [*(split or {}), *([shadow] if shadow is not None else [])]
        if shadow is not None and (not isinstance(shadow, str) or not shadow):
            raise InvalidInput(f"Deployment {name!r}: shadow must be a model alias or a "
                               f"version like 'v3', not {shadow!r}.")
        for arm in arms:
            fixed = arm_version(arm)
            self.lh.registry.get(model, version=fixed, alias=None if fixed else arm)
        if split:
            spec["split"] = split
        if shadow is not None:
            spec["shadow"] = shadow
        if outcomes is not None:
            spec["outcomes"] = self._outcome_source(name, outcomes, labels or [])
        if threshold is not None:
            try:
                threshold = float(threshold)
            except (TypeError, ValueError):
                raise InvalidInput(f"Deployment {name!r}: threshold must be a number, not "
                                   f"{threshold!r}.") from None
            if not 0 <= threshold <= 1:
                raise InvalidInput(f"Deployment {name!r}: threshold is a probability in "
                                   f"[0, 1], not {threshold}.")
            spec["threshold"] = threshold
        return spec

    def _outcome_source(self, name: str, outcomes: Any, labels: list[str]) -> dict[str, Any]:
        """``outcomes="group"`` or ``{"feature_group", "outcome", "value", "window"}``,
        checked against the group. The outcome column defaults to the group's ``outcome``
        column, else the deployment view's label, else the group's only data column."""
        from ..shared.durations import parse_duration
        if isinstance(outcomes, str):
            outcomes = {"feature_group": outcomes}
        if not isinstance(outcomes, dict) or not outcomes.get("feature_group"):
            raise InvalidInput(f"Deployment {name!r}: outcomes must name a feature group, not "
                               f"{outcomes!r:.80}.",
                               'E.g. outcomes="fraud_labels" or {"feature_group": '
                               '"fraud_labels", "outcome": "is_fraud", "value": "amount"}.')
        unknown = set(outcomes) - {"feature_group", "outcome", "value", "window"}
        if unknown:
            raise InvalidInput(f"Deployment {name!r}: outcomes has unknown field(s) "
                               f"{', '.join(sorted(unknown))}.")
        fg = self.lh.features.groups.get(outcomes["feature_group"])
        columns = [c["name"] for c in (fg.schema or [])]
        outcome = outcomes.get("outcome")
        if outcome is None:
            candidates = [c for c in ("outcome", *labels) if c in columns]
            non_keys = [c for c in columns if c not in (*fg.keys, fg.event_time)]
            outcome = candidates[0] if candidates else (non_keys[0] if len(non_keys) == 1
                                                       else None)
        if outcome is None:
            raise InvalidInput(f"Deployment {name!r}: which column of feature group "
                               f"{fg.name!r} is the outcome?",
                               f"Pass outcomes={{'feature_group': {fg.name!r}, 'outcome': "
                               f"...}}; its columns: {', '.join(columns)}.")
        for what in ("outcome", "value"):
            col = outcome if what == "outcome" else outcomes.get("value")
            if col is not None and columns and col not in columns:
                raise InvalidInput(f"Deployment {name!r}: feature group {fg.name!r} has no "
                                   f"column {col!r} for the {what}.",
                                   f"Its columns: {', '.join(columns)}.")
        window = outcomes.get("window", "30d")
        parse_duration(window, "outcome window")
        out = {"feature_group": fg.name, "outcome": outcome, "window": window}
        if outcomes.get("value"):
            out["value"] = outcomes["value"]
        return out

    @takes_objects(name="deployment")
    def route(self, name: str, split: dict[str, float] | None = None,
              shadow: str | None = None) -> Deployment:
        """Set (or, with None, end) the A/B split and the shadow of deployment ``name``,
        keeping everything else."""
        row = deployment_row(self.lh, name)
        spec = {k: v for k, v in row["spec"].items() if k not in ("split", "shadow")}
        spec.update(self._business_spec(name, row["model"], split, shadow, None, None))
        self._save_spec(row, spec)
        self.lh.catalog.record_event("deployment.routed", name,
                                     {"split": spec.get("split"), "shadow": spec.get("shadow")})
        deployment = self.get(name)
        deployment.cache.invalidate()
        return deployment

    def _save_spec(self, row: dict[str, Any], spec: dict[str, Any]) -> None:
        created = records.upsert(self.lh.catalog, row["name"], row["model"], row["alias"],
                                 row["version"], row["view"], row["view_version"],
                                 row["kind"], spec)
        descriptors.write(descriptors.deployment_file(self.lh.location(""), row["name"]), {
            "name": row["name"], "model": row["model"], "alias": row["alias"],
            "version": row["version"], "view": row["view"],
            "view_version": row["view_version"], "kind": row["kind"], "spec": spec,
            "created_at": created})

    @takes_objects(name="deployment")
    def promote(self, name: str, arm: str) -> Deployment:
        """Make ``arm`` (an arm of the split, or the shadow) what deployment ``name`` serves
        and end the split: the deployment's alias moves to the arm's version in one atomic
        registry write (a deployment pinned to a version is re-pointed instead), then the
        split and a shadow on that arm are removed. In between, both arms already serve the
        promoted version, so no request meets the old one after the alias moved."""
        from .routing import arm_version
        row = deployment_row(self.lh, name)
        spec = row["spec"]
        arms = [*(spec.get("split") or {}), *([spec["shadow"]] if spec.get("shadow") else [])]
        if arm not in arms:
            raise InvalidInput(f"Deployment {name!r} has no arm {arm!r}.",
                               f"Its arms: {', '.join(arms) or 'none (no split or shadow)'}.")
        fixed = arm_version(arm)
        mv = self.lh.registry.get(row["model"], version=fixed, alias=None if fixed else arm)
        if row["alias"] is not None:
            self.lh.registry.set_alias(row["model"], row["alias"], mv.version,
                                       reason=f"promoted arm {arm} of deployment {name}")
        else:
            row = {**row, "version": int(mv.version)}
        new_spec = {k: v for k, v in spec.items() if k != "split"}
        if spec.get("shadow") == arm:
            new_spec.pop("shadow")
        self._save_spec(row, new_spec)
        self.lh.catalog.record_event("deployment.promoted", name, {
            "arm": arm, "version": int(mv.version), "alias": row["alias"],
            "ended_split": spec.get("split")})
        deployment = self.get(name)
        deployment.cache.invalidate()
        return deployment

    @takes_objects(name="deployment")
    def get(self, name: str) -> Deployment:
        """The deployment called ``name`` (NotFound if there is none)."""
        deployment_row(self.lh, name)
        with self._lock:
            obj = self._objects.get(name)
            if obj is None:
                obj = self._objects[name] = Deployment(self.lh, name)
            return obj

    @takes_objects(name="deployment",
                   model=Ref("model", version="version", unless=("alias",)),
                   version="model version", view=Ref("feature view", version="view_version"))
    def ensure(self, name: str, model: str, alias: str | None = None,
               version: int | None = None, view: str | None = None,
               view_version: int | None = None, kind: str = "batch") -> Deployment:
        """Deployment ``name`` serving ``model`` as asked: the existing one when it already
        does (same model, alias or version, and view when one is given), else created or
        re-pointed with :meth:`create` (``replace=True``, keeping its kind). Idempotent, so a scheduled
        ``%%inference`` run does not re-deploy on every window."""
        if alias is None and version is None:
            alias = DEFAULT_ALIAS
        row = records.live(self.lh.catalog, name)
        if row is not None and row["model"] == model and row["alias"] == alias and \
                row["version"] == version and (view is None or row["view"] == view) and \
                (view_version is None or row["view_version"] == view_version):
            return self.get(name)
        return self.create(name, model=model, alias=alias if version is None else None,
                           version=version, view=view, view_version=view_version,
                           kind=row["kind"] if row is not None else kind, replace=True)

    @takes_objects(name="deployment")
    def exists(self, name: str) -> bool:
        return records.exists(self.lh.catalog, name)

    @takes_objects(name="deployment")
    def definition(self, name: str) -> dict[str, Any]:
        """What deployment ``name`` is, as the catalog keeps it (model, alias or version,
        view, kind, spec), without loading its model; NotFound when there is none."""
        return deployment_row(self.lh, name)

    def list(self) -> list["DeploymentSummary"]:
        """Every deployment with its spec and serving statistics (``.to_dict()`` is JSON-ready),
        and ``environment_mismatch``: the packages its model's flavour needs whose versions
        here differ from the training environment's (``{package: [trained, here]}``);
        :meth:`get` gives the :class:`Deployment` itself."""
        rows = records.with_stats(self.lh.catalog)
        for row in rows:
            row["environment_mismatch"] = self.environment_mismatch(row)
        return [DeploymentSummary(row) for row in rows]

    def environment_mismatch(self, row: dict[str, Any]) -> dict[str, list[Any]]:
        """For a deployment row: the packages that differ from its model's training
        environment (empty when none do, or when its model cannot be resolved)."""
        try:
            mv = self.lh.registry.get(row["model"], version=row.get("version"),
                                      alias=None if row.get("version") is not None
                                      else row.get("alias"))
            return {k: list(v) for k, v in mv.environment_mismatch().items()}
        except LakebookError:
            return {}

    @takes_objects(name="deployment")
    def output_tables(self, name: str) -> list["Location"]:
        """Where batch runs of deployment ``name`` wrote predictions: ``predictions_<name>``
        and every ``--output`` table its batch runs named (from the audit log), sorted."""
        names = {f"predictions_{name}"}
        names |= {e["payload"].get("output") for e in
                  self.lh.catalog.events("deployment.batch", limit=None, subject=name)} - {None}
        return [self.lh.tables_dir / n for n in sorted(names)]

    def count(self) -> dict[str, int]:
        """How many (live) deployments there are."""
        return records.counts(self.lh.catalog)

    @takes_objects(name="deployment")
    def delete(self, name: str) -> None:
        """Remove a deployment (its prediction tables and inference log stay on disk)."""
        deployment_row(self.lh, name)
        records.mark_deleted(self.lh.catalog, name)
        descriptors.remove(descriptors.deployment_file(self.lh.location(""), name))
        self.lh.catalog.record_event("deployment.deleted", name, {})
        with self._lock:
            obj = self._objects.pop(name, None)
        if obj is not None:
            obj.close()

    def close(self) -> None:
        """Flush every deployment's inference log."""
        with self._lock:
            objs = list(self._objects.values())
        for obj in objs:
            obj.close()


class DeploymentSummary(Record):
    """One deployment of :meth:`Deployments.list`: its definition (``name``, ``model``,
    ``alias`` or ``version``, ``view``, ``kind``, ``spec``) and serving statistics
    (``requests``, ``errors``, latencies, ``served_version``, dead letters)."""

    noun = "deployment summary"
