"""Deployments of a lakehouse: create, get, list and delete them in the catalog.

``lh.deploy("fraud", model="fraud", alias="production")`` records which model (by alias, which
may move, or by fixed version) and which feature view a deployment uses. The view defaults to
the one the served model version was trained on, and follows the model when its alias moves.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..catalog import from_json, to_json
from ..shared.times import now_utc
from ..shared.errors import InvalidInput, NotFound
from ..shared.refs import Ref, takes_objects
from ..shared.names import validate_name
from .deployment import Deployment
from .resolver import view_of

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse

KINDS = ("online", "batch")
DEFAULT_ALIAS = "production"


def deployment_row(lh: "Lakehouse", name: str) -> dict[str, Any]:
    row = lh.catalog.query_one("SELECT * FROM deployments WHERE name = ? AND deleted = 0",
                               (name,))
    if row is None:
        raise NotFound(f"There is no deployment {name!r}.",
                       "Create it with lh.deploy(name, model=...) or %%inference; list "
                       "deployments with lh.deployments.list().")
    row = dict(row)
    row["spec"] = from_json(row["spec"], {})
    row["deleted"] = bool(row["deleted"])
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
        now = now_utc()
        with self.lh.catalog.transaction() as conn:
            existing = conn.execute("SELECT created_at FROM deployments WHERE name = ?",
                                    (name,)).fetchone()
            conn.execute(
                "INSERT INTO deployments(name, model, alias, version, view, view_version, kind, "
                "spec, deleted, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,0,?,?) "
                "ON CONFLICT(name) DO UPDATE SET model=excluded.model, alias=excluded.alias, "
                "version=excluded.version, view=excluded.view, "
                "view_version=excluded.view_version, kind=excluded.kind, spec=excluded.spec, "
                "deleted=0, updated_at=excluded.updated_at",
                (name, model, alias, version, view, view_version, kind, to_json(spec),
                 existing[0] if existing else now, now))
        from ..storage import descriptors
        descriptors.write(descriptors.deployment_file(self.lh.home, name), {
            "name": name, "model": model, "alias": alias, "version": version, "view": view,
            "view_version": view_version, "kind": kind, "spec": spec,
            "created_at": existing[0] if existing else now})
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

    @takes_objects(name="deployment")
    def exists(self, name: str) -> bool:
        return self.lh.catalog.scalar(
            "SELECT COUNT(*) FROM deployments WHERE name = ? AND deleted = 0", (name,)) > 0

    def list(self) -> list[dict[str, Any]]:
        """Every deployment with its spec and serving statistics (JSON-ready)."""
        rows = self.lh.catalog.query(
            "SELECT d.*, s.requests, s.errors, s.latency_p50_ms, s.latency_p99_ms, "
            "s.last_request_at, s.model_version AS served_version, s.dead_letter_rows, "
            "s.last_dead_letter_at, s.last_dead_letter_error FROM deployments d "
            "LEFT JOIN deployment_stats s ON s.name = d.name WHERE d.deleted = 0 "
            "ORDER BY d.name")
        out = []
        for row in rows:
            row = dict(row)
            row["spec"] = from_json(row["spec"], {})
            row.pop("deleted", None)
            row["requests"] = row["requests"] or 0
            row["errors"] = row["errors"] or 0
            row["dead_letter_rows"] = row["dead_letter_rows"] or 0
            row["endpoint"] = f"/lakebook/api/deployments/{row['name']}/predict"
            out.append(row)
        return out

    @takes_objects(name="deployment")
    def delete(self, name: str) -> None:
        """Remove a deployment (its prediction tables and inference log stay on disk)."""
        deployment_row(self.lh, name)
        self.lh.catalog.execute("UPDATE deployments SET deleted = 1, updated_at = ? "
                                "WHERE name = ?", (now_utc(), name))
        from ..storage import descriptors
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
