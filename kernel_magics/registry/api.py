"""The model registry: named models, numbered versions, aliases that move atomically.

A version is an artifact folder ``models/<name>/<version>`` of the lakehouse's storage (the
home on a laptop, the ``[storage] url`` prefix on a team; each home loads it through a local
cache checked against the recorded sha256) plus a catalog row holding
its metrics, parameters, input/output schema, an input example, lineage (feature view, the
exact training-set Delta versions, notebook, cell, code hash, run) and library versions
(``describe``; the object is a :class:`~.versions.ModelVersion`). Version numbers are allocated
inside a catalog write transaction (``records``), so two processes that register at once get
distinct, consecutive numbers; a number is never reused, even after
:meth:`ModelRegistry.delete`.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ..catalog import from_json, to_json
from ..shared.errors import InvalidInput, NotFound
from ..shared.names import validate_alias, validate_name
from ..shared.record import Record
from ..shared.refs import Ref, takes_objects
from ..shared.times import now_utc
from ..storage import descriptors
from . import records
from .describe import (check_fitted, check_loadable, check_metrics, estimator_params,
                       example_json, json_safe, library_versions)
from .describe import signature as model_signature
from .evaluation import higher_is_better
from .flavours import flavour_for
from .trust import TrustPolicy, trustable, type_name
from .versions import ModelVersion, artifact_folder, set_aside

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..lakehouse import Lakehouse
    from .training import TrainingPlan

__all__ = ["ModelRegistry", "ModelVersion"]


def _version_number(version: Any) -> int:
    try:
        return int(version)
    except (TypeError, ValueError):
        raise InvalidInput(f"{version!r} is not a version number.",
                           "Versions are numbered 1, 2, 3, …") from None


class ModelSummary(Record):
    """One model of :meth:`ModelRegistry.models`: ``name``, ``versions``, ``latest_version``,
    ``aliases``, ``task``, ``latest_metrics``, ``description``, ``created_at``, ``updated_at``."""

    noun = "model summary"


class ModelRegistry:
    """Models of one lakehouse. Reach it as ``lh.registry``."""

    def __init__(self, lh: "Lakehouse") -> None:
        self.lh = lh
        self.catalog = lh.catalog

    # -- registering -----------------------------------------------------------------------
    def register(self, model: Any, name: str, metrics: dict[str, float] | None = None,
                 params: dict[str, Any] | None = None, view: Any = None,
                 input_example: Any = None, training_versions: dict[str, int | None] | None = None,
                 lineage: dict[str, Any] | None = None,
                 trusted: Iterable[str | type] | None = None, flavour: str | None = None,
                 task: str | None = None, description: str = "",
                 evaluation: dict[str, Any] | None = None) -> ModelVersion:
        """Save ``model`` as the next version of ``name`` and return that version.

        ``params`` are added to those read from the estimator (``get_params()``); ``view`` is a
        feature view (or its name) and ``training_versions`` the Delta versions its training
        set was read at; ``input_example`` (a few rows of the training frame) fixes the input
        and output schema; ``trusted`` names extra types the artifact may hold (your own
        classes) and that :meth:`ModelVersion.load` will then accept. Nothing is written
        when any of this is invalid.
        """
        validate_name(name, "model")
        metrics = check_metrics(metrics or {})
        chosen = flavour_for(model, flavour)
        trusted_names = trustable(trusted or [], "register(trusted=...)")
        # what the flavour keeps (e.g. a booster behind scikit-learn's verbs) is what is
        # checked, evaluated, saved and served
        model = chosen.prepare(model, input_example, what=f"Model {name!r}",
                               policy=TrustPolicy.with_types([*self.trusted_types(name),
                                                              *trusted_names]))
        check_fitted(model, name)
        signature = model_signature(model, input_example, name)
        example, kind = example_json(input_example)
        signature["input_kind"] = kind
        all_params = {**estimator_params(model), **{k: json_safe(v)
                                                     for k, v in (params or {}).items()}}
        full_lineage = self._lineage(view, training_versions, lineage)

        # made in a local folder (the version's own folder on a laptop, a cache on a team),
        # then placed in the storage inside the transaction that allocates the number
        folder = self.lh.local_folder(f"models/{name}")
        staging = folder / f".staging-{uuid.uuid4().hex}"
        staging.mkdir(parents=True, exist_ok=True)
        try:
            chosen.save(model, staging)
            check_loadable(chosen, staging, [*self.trusted_types(name), *trusted_names],
                                 name)
            row = {
                "name": name, "flavour": chosen.name, "metrics": to_json(metrics),
                "params": to_json(all_params), "signature": to_json(signature),
                "input_example": example, "task": task,
                "lineage": to_json(full_lineage), "libraries": to_json(library_versions(chosen)),
                "trusted_types": to_json(trusted_names), "evaluation": to_json(evaluation or {}),
                "artifact_sha256": chosen.digest(staging),
                "description": description or "", "created_by": self.catalog.who,
                "created_at": now_utc(),
            }

            def place(version: int) -> str:
                """Put the staged artifact in its version folder (inside the transaction
                that allocates the number) and describe it there (lakebook recover);
                returns its path relative to the storage root (the catalog's record)."""
                relative = artifact_folder(name, version)
                target = self.lh.location(relative)
                if target.files():  # left by a process that died before its commit:
                    # set aside, never deleted (the catalog does not know what it holds)
                    set_aside(target, f".orphan-{version}-{uuid.uuid4().hex[:8]}")
                placed.append(target)
                if self.lh.storage.is_local:
                    os.replace(staging, target.uri)
                else:
                    target.put_folder(staging)
                    cache = self.lh.cache_dir / relative
                    shutil.rmtree(cache, ignore_errors=True)
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staging, cache)  # this home's cache of what it wrote
                descriptors.write(target / descriptors.MODEL_FILE, {
                    **{k: v for k, v in row.items() if k not in records.JSON_COLUMNS},
                    **{k: from_json(row[k], None) for k in records.JSON_COLUMNS},
                    "version": version})
                return relative

            placed: list[Any] = []
            try:
                version = records.add_version(self.catalog, row, place)
            except BaseException:
                for target in placed:  # the row was not written: the folder goes too
                    target.delete()
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.catalog.record_event("model.registered", f"{name}/{version}",
                                  {"metrics": metrics, "view": full_lineage.get("view")})
        self._record_lineage(name, version, full_lineage)
        return self.get(name, version)

    def _record_lineage(self, name: str, version: int, lineage: dict[str, Any]) -> None:
        """The new version in the lineage graph: made from its training set (the view at
        the Delta versions read), with the environment it was trained in."""
        from ..lineage.api import ref
        from ..lineage.api import digest
        graph = self.lh.lineage
        inputs = []
        view = lineage.get("view") or {}
        pins = lineage.get("training_versions")
        if view.get("name") and pins is not None:
            ts_version = f"{view.get('version')}-{digest(pins)}"
            groups = []
            for table, delta in pins.items():
                group, _, v = table.rpartition("_v")
                groups.append(ref("feature_group", group, v, delta_version=delta))
            graph.wrote("training_set", view["name"], ts_version, pins=pins, inputs=[
                ref("feature_view", view["name"], view.get("version")), *groups])
            inputs.append(ref("training_set", view["name"], ts_version))
        elif view.get("name"):
            inputs.append(ref("feature_view", view["name"], view.get("version")))
        graph.wrote("model_version", name, version, inputs=inputs)
        graph.record_environment("model_version", name, version)

    def plan_training(self, name: str, view: Any, view_version: int | None = None,
                      label: str | None = None, test_size: float = 0.2, by_time: bool = False,
                      seed: int = 42, metrics: list[str] | None = None,
                      alias: str | None = None, promote_if_better: str | None = None,
                      task: str | None = None, flavour: str | None = None
                      ) -> "TrainingPlan":
        """Check a training of model ``name`` on feature view ``view`` and split its data:
        the :class:`~kernel_magics.registry.training.TrainingPlan` whose ``data`` the training
        code uses and whose ``register(model)`` evaluates and registers the trained estimator
        (what ``%%training`` does). ``metrics``: extra metric names; ``promote_if_better``: a
        metric the new version must beat ``alias`` (default production) on to take it;
        ``flavour``: how to keep the model (default: detected from it, e.g. ``xgboost``)."""
        from .training import plan_training
        return plan_training(self, name, view, view_version, label, test_size, by_time, seed,
                             metrics, alias, promote_if_better, task, flavour)

    # -- trust -----------------------------------------------------------------------------
    def trusted_types(self, name: str) -> list[str]:
        """The type names trusted for every version of model ``name`` (see :meth:`trust`)."""
        return records.trusted_types(self.catalog, name)

    def trust(self, name: str, types: Iterable[str | type], reason: str = "") -> list[str]:
        """Trust ``types`` (your own classes, or functions such as a ``score_func``) in every
        version of model ``name``, beyond Lakebook's allowlist. Recorded in the catalog with
        who did it; a name that reaches files or the OS cannot be trusted. Returns the
        model's trusted types."""
        validate_name(name, "model")
        names = trustable(types, f"trust({name!r}, ...)")
        if not names:
            raise InvalidInput("trust() needs at least one type name.",
                               f"E.g. lh.registry.trust({name!r}, ['mypackage.MyScaler']).")
        merged = records.add_trusted_types(self.catalog, name, names)
        self.catalog.record_event("model.trusted", name, {"types": names, "who": self.catalog.who,
                                                          "reason": reason})
        return merged

    def untrust(self, name: str, types: Iterable[str | type]) -> list[str]:
        """Stop trusting ``types`` for model ``name``; returns what stays trusted."""
        names = {type_name(t) for t in types}
        kept = records.remove_trusted_types(self.catalog, name, names)
        if kept is None:
            self._require_model(name)
            kept = []
        self.catalog.record_event("model.untrusted", name, {"types": sorted(names),
                                                            "who": self.catalog.who})
        return kept

    def _lineage(self, view: Any, training_versions: dict[str, int] | None,
                 lineage: dict[str, Any] | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if lineage is None:
            from ..shared.identity import current_cell_id, notebook_path
            out.update({"notebook": notebook_path(), "cell_id": current_cell_id(),
                        "user": self.catalog.who})
        else:
            out.update(json_safe(lineage))
        if view is not None:
            if isinstance(view, str):
                v = self.lh.features.views.get(view)
                out["view"] = {"name": v.name, "version": v.version}
            elif isinstance(view, dict):
                out["view"] = {"name": view["name"], "version": view.get("version")}
            else:
                out["view"] = {"name": view.name, "version": view.version}
        if training_versions is not None:
            # None: that table was still empty when the training set was read
            out["training_versions"] = {str(k): None if v is None else int(v)
                                        for k, v in training_versions.items()}
        return out

    # -- reading ---------------------------------------------------------------------------
    def list(self) -> list[ModelSummary]:
        """A summary of every model: versions, latest version, aliases, latest metrics."""
        rows = records.model_summaries(self.catalog)
        aliases = records.aliases(self.catalog)
        for row in rows:
            row["aliases"] = {a: v for (n, a), v in aliases.items() if n == row["name"]}
        return [ModelSummary(row) for row in rows]

    def _aliases(self, name: str | None = None) -> dict[tuple[str, str], int]:
        return records.aliases(self.catalog, name)

    def _version_aliases(self, name: str) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for (_, alias), version in sorted(self._aliases(name).items()):
            out.setdefault(version, []).append(alias)
        return out

    def _require_model(self, name: str) -> None:
        if not records.version_exists(self.catalog, name):
            known = [m["name"] for m in self.list()]
            raise NotFound(f"No model named {name!r} in the registry.",
                           f"Registered models: {', '.join(known)}." if known else
                           "Register one with %%training or lh.registry.register(...).")

    @takes_objects(name=Ref("model", version="version", unless=("alias",)),
                   version="model version")
    def get(self, name: str, version: int | None = None, alias: str | None = None) -> ModelVersion:
        """A version of ``name``: by number, by alias, or (neither) the latest one."""
        self._require_model(name)
        if version is not None and alias is not None:
            raise InvalidInput("Pass either version or alias, not both.",
                               f"e.g. lh.registry.get({name!r}, alias='production').")
        if alias is not None:
            version = records.alias_version(self.catalog, name, alias)
            if version is None:
                known = sorted(a for (_, a) in self._aliases(name))
                raise NotFound(f"Model {name!r} has no alias {alias!r}.",
                               f"Its aliases: {', '.join(known)}." if known else
                               f"Set one with lh.registry.set_alias({name!r}, {alias!r}, "
                               "version).")
        if version is None:
            row = records.latest_live_row(self.catalog, name)
            if row is None:
                raise NotFound(f"Every version of model {name!r} was deleted.",
                               "Register a new version.")
        else:
            row = self._row(name, version)
        mv = ModelVersion(self, row, self._version_aliases(name).get(int(row["version"]), []),
                          via_alias=alias)
        mv.warn_environment()
        return mv

    def _row(self, name: str, version: Any, include_deleted: bool = False) -> dict[str, Any]:
        try:
            number = int(version)
        except (TypeError, ValueError):
            raise InvalidInput(f"{version!r} is not a version number.",
                               "Versions are numbered 1, 2, 3, …") from None
        row = records.version_row(self.catalog, name, number)
        if row is None:
            live = [str(v.version) for v in self.versions(name)]
            raise NotFound(f"Model {name!r} has no version {number}.",
                           f"Its versions: {', '.join(live)}." if live else
                           "Every version was deleted.")
        if row["deleted"] and not include_deleted:
            raise NotFound(f"Version {number} of model {name!r} was deleted.",
                           "Use another version (lh.registry.versions(name)).")
        return row

    @takes_objects(name="model")
    def versions(self, name: str, include_deleted: bool = False) -> list[ModelVersion]:
        """All versions of ``name``, oldest first."""
        self._require_model(name)
        rows = records.version_rows(self.catalog, name, include_deleted)
        aliases = self._version_aliases(name)
        return [ModelVersion(self, r, aliases.get(int(r["version"]), [])) for r in rows]

    @takes_objects(name="model")
    def aliases(self, name: str) -> dict[str, int]:
        """``{alias: version}`` of ``name``."""
        self._require_model(name)
        return {a: v for (_, a), v in sorted(self._aliases(name).items())}

    def alias_version(self, name: str, alias: str) -> int | None:
        """The version ``alias`` of ``name`` points at now (None: no such alias)."""
        return records.alias_version(self.catalog, name, alias)

    # -- aliases ---------------------------------------------------------------------------
    @takes_objects(name=Ref("model", version="version"), version="model version")
    def set_alias(self, name: str, alias: str, version: int | None = None,
                  who: str | None = None, reason: str = "") -> ModelVersion:
        """Point ``alias`` of ``name`` at ``version``, atomically; the move is kept in the
        alias history (who, when, from, to). ``set_alias(mv, "production")`` points it at
        the version ``mv`` is."""
        return self.move_alias(name, alias, version, who, reason)["model_version"]

    @takes_objects(name=Ref("model", version="version"), version="model version")
    def move_alias(self, name: str, alias: str, version: int | None = None,
                   who: str | None = None, reason: str = "") -> dict[str, Any]:
        """:meth:`set_alias`, answering where the alias pointed before as well:
        ``{"name", "alias", "version", "previous", "model_version"}`` (``previous`` read in
        the transaction of the move, so two movers at once each see what they replaced)."""
        validate_alias(alias)
        self._require_model(name)
        if version is None:
            raise InvalidInput(f"Moving alias {alias!r} of model {name!r} needs the version to "
                               "point it at.", f"e.g. lh.registry.set_alias({name!r}, "
                               f"{alias!r}, 2), or pass the ModelVersion itself.")
        number = _version_number(version)
        previous = records.move_alias(self.catalog, name, alias, number, who or self.catalog.who,
                                      reason)
        self._save_aliases(name)
        from ..lineage.api import ref
        self.lh.lineage.wrote("model_alias", f"{name}@{alias}",
                              inputs=[ref("model_version", name, number)], previous=previous)
        return {"name": name, "alias": alias, "version": number, "previous": previous,
                "model_version": self.get(name, number)}

    @takes_objects(name="model", version="model version")
    def promote_if_better(self, name: str, version: int, metric: str,
                          alias: str = "production", who: str | None = None
                          ) -> tuple[bool, str]:
        """Move ``alias`` to ``version`` only if its ``metric`` beats the version the alias
        points at now (or the alias points nowhere). Returns whether it moved and why.

        The comparison and the move are one transaction: two trainings finishing at once
        cannot both promote against the same old version.
        """
        validate_alias(alias)
        self._require_model(name)
        up = higher_is_better(metric)

        def decide(new: float | None, current: tuple[int, float | None] | None
                   ) -> tuple[bool, str]:
            if new is None:
                return False, f"{metric} was not recorded for v{version}"
            if current is None:
                return True, f"{metric} {new:.4g}; alias {alias!r} had no version"
            at, old = current
            if old is None:
                return True, f"{metric} {new:.4g}; v{at} has no {metric}"
            better = new > old if up else new < old
            return better, (f"{metric} {new:.4g} {'beats' if better else 'does not beat'} "
                            f"v{at}'s {old:.4g}")

        better, why = records.promote(self.catalog, name, int(version), metric, alias,
                                      who or self.catalog.who, decide)
        if better:
            self._save_aliases(name)
        return better, why

    @takes_objects(name="model")
    def delete_alias(self, name: str, alias: str, who: str | None = None,
                     reason: str = "") -> None:
        """Remove ``alias`` from ``name`` (kept in the history as a move to nothing)."""
        self._require_model(name)
        records.remove_alias(self.catalog, name, alias, who or self.catalog.who, reason)
        self._save_aliases(name)

    def _save_aliases(self, name: str) -> None:
        """Write ``models/<name>/aliases.json`` from the catalog (see catalog.descriptors)."""
        aliases = {a: v for (_, a), v in self._aliases(name).items()}
        descriptors.write(self.lh.models_dir / name / descriptors.ALIASES_FILE, aliases)

    @takes_objects(name="model")
    def alias_history(self, name: str, alias: str | None = None) -> list[dict[str, Any]]:
        """Every move of the aliases of ``name`` (or of one alias), oldest first."""
        self._require_model(name)
        return records.alias_history(self.catalog, name, alias)

    # -- choosing --------------------------------------------------------------------------
    @takes_objects(name="model")
    def metric_directions(self, name: str) -> dict[str, str]:
        """``{metric: "higher" | "lower"}`` for every metric of the live versions of ``name``:
        which way is better, by the rule :meth:`best` and ``promote_if_better`` use (so a
        front door that marks the best version agrees with the registry)."""
        metrics = sorted({m for v in self.versions(name) for m in v.metrics})
        return {m: "higher" if higher_is_better(m) else "lower" for m in metrics}

    @takes_objects(name="model")
    def best(self, name: str, metric: str, higher: bool | None = None) -> ModelVersion:
        """The live version with the best ``metric`` (higher or lower is better by the
        metric's nature: errors and losses are better when lower; ``higher`` overrides)."""
        versions = [v for v in self.versions(name) if metric in v.metrics]
        if not versions:
            known = sorted({m for v in self.versions(name) for m in v.metrics})
            raise NotFound(f"No version of model {name!r} has metric {metric!r}.",
                           f"Its metrics: {', '.join(known)}." if known else
                           "Its versions were registered without metrics.")
        up = higher_is_better(metric) if higher is None else higher
        # ties go to the newest version
        return max(versions, key=lambda v: ((v.metrics[metric] if up else -v.metrics[metric]),
                                            v.version))

    @takes_objects(name="model")
    def compare(self, name: str, versions: Iterable[int] | None = None) -> pd.DataFrame:
        """Metrics of ``versions`` (default: all live ones) side by side, one row each."""
        import pandas as pd
        chosen = self.versions(name) if versions is None else \
            [self.get(name, int(v)) for v in versions]
        rows = [{"version": v.version, **v.metrics, "aliases": ", ".join(v.aliases),
                 "created_at": v.created_at} for v in chosen]
        return pd.DataFrame(rows).set_index("version") if rows else pd.DataFrame()

    # -- exporting -------------------------------------------------------------------------
    def export_mlflow(self, name: str, out: str | Path, version: int | None = None,
                      alias: str | None = None) -> Path:
        """Write a version of ``name`` (by number, by alias, or the latest) to the new
        directory ``out`` as an MLflow model, with MLflow's flavour for its framework, its
        input schema and example, and requirements pinning the framework at its recorded
        version; returns the directory (``mlflow.pyfunc.load_model(out)`` loads it)."""
        from .export import export_model
        return export_model(self, name, out, version=version, alias=alias)

    # -- deleting --------------------------------------------------------------------------
    @takes_objects(name="model", version="model version")
    def delete(self, name: str, version: int, force: bool = False) -> None:
        """Delete version ``version`` of model ``name`` (its number is never reused;
        NotFound when there is none). A version an alias points to is kept unless
        ``force=True``, which also removes those aliases."""
        self._row(name, version)
        number = int(version)
        aliases = records.delete_version(self.catalog, name, number, force, self.catalog.who)
        self.lh.location(artifact_folder(name, number)).delete()
        shutil.rmtree(self.lh.cache_dir / artifact_folder(name, number), ignore_errors=True)
        if aliases:
            self._save_aliases(name)
        self.catalog.record_event("model.version_deleted", f"{name}/{number}", {})

    def count(self) -> dict[str, int]:
        """How many models (with live versions) the registry holds."""
        return records.counts(self.catalog)

    def __repr__(self) -> str:
        return f"ModelRegistry({str(self.lh.home)!r})"

    def _repr_html_(self) -> str:
        from ..render.registry import models_html
        return models_html(self.list())
