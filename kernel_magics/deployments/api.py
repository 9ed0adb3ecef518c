"""Deployments of a lakehouse: create, get, list and delete them in the catalog.

``lh.deploy("fraud", model="fraud", alias="production")`` records which model (by alias, which
may move, or by fixed version) and which feature view a deployment uses. The view defaults to
the one the served model version was trained on, and follows the model when its alias moves.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..storage import descriptors
from ..shared.errors import InvalidInput, NotFound
from ..shared.record import Record
from ..shared.refs import Ref, takes_objects
from ..shared.names import validate_name
from . import records
from .deployment import Deployment
from .resolver import view_of

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse

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
    def deploy(self, name: str, model: str, alias: str | None = None,
               version: int | None = None, view: str | None = None,
               view_version: int | None = None, kind: str = "online",
               description: str = "") -> Deployment:
        """Create (or re-point) deployment ``name`` serving ``model``.

        Give ``alias`` (it may move later; default ``production``) or a fixed ``version``.
        ``model`` and ``view`` take names or the objects (a ``ModelVersion`` then pins its
        version unless an alias is given; a ``FeatureView`` its version).
        ``view`` defaults to the feature view the model version was trained on; a model
        without one takes full input rows (MLflow-style). ``kind`` is ``online`` or
        ``batch`` (informational: both can be scored either way).
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
            fv = self.lh.feature_view(view, view_version)
            view, view_version = fv.name, int(fv.version)
        created = records.upsert(self.lh.catalog, name, model, alias, version, view,
                                 view_version, kind, spec)
        descriptors.write(descriptors.deployment_file(self.lh.home, name), {
            "name": name, "model": model, "alias": alias, "version": version, "view": view,
            "view_version": view_version, "kind": kind, "spec": spec, "created_at": created})
        self.lh.catalog.record_event("deployment.deployed", name, {
            "model": model, "alias": alias, "version": version, "resolved_version": mv.version,
            "view": view, "view_version": view_version, "kind": kind})
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
        re-pointed with :meth:`deploy` (keeping its kind). Idempotent, so a scheduled
        ``%%inference`` run does not re-deploy on every window."""
        if alias is None and version is None:
            alias = DEFAULT_ALIAS
        row = records.live(self.lh.catalog, name)
        if row is not None and row["model"] == model and row["alias"] == alias and \
                row["version"] == version and (view is None or row["view"] == view) and \
                (view_version is None or row["view_version"] == view_version):
            return self.get(name)
        return self.deploy(name, model=model, alias=alias if version is None else None,
                           version=version, view=view, view_version=view_version,
                           kind=row["kind"] if row is not None else kind)

    @takes_objects(name="deployment")
    def exists(self, name: str) -> bool:
        return records.exists(self.lh.catalog, name)

    @takes_objects(name="deployment")
    def definition(self, name: str) -> dict[str, Any]:
        """What deployment ``name`` is, as the catalog keeps it (model, alias or version,
        view, kind, spec), without loading its model; NotFound when there is none."""
        return deployment_row(self.lh, name)

    def list(self) -> list["DeploymentSummary"]:
        """Every deployment with its spec and serving statistics (``.to_dict()`` is JSON-ready);
        :meth:`get` gives the :class:`Deployment` itself."""
        return [DeploymentSummary(row) for row in records.with_stats(self.lh.catalog)]

    @takes_objects(name="deployment")
    def output_tables(self, name: str) -> list[Path]:
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
        descriptors.remove(descriptors.deployment_file(self.lh.home, name))
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

    kind = "deployment summary"
