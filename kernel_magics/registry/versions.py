"""A registered model version: what it records (metrics, schema, lineage, libraries) and
its model, loaded under the registry's trust policy."""
from __future__ import annotations

import json
from os import replace as os_replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import pandas as pd

from ..catalog import from_json
from ..shared.errors import InvalidInput, NotFound
from .flavours import get_flavour
from .trust import TrustPolicy, trustable

if TYPE_CHECKING:  # pragma: no cover
    from ..storage.location import Location
    from .api import ModelRegistry


_warned: set[tuple] = set()


def artifact_folder(name: str, version: int) -> str:
    """Where version ``version`` of model ``name`` keeps its artifact, relative to the
    lakehouse's storage root (one rule: registering, loading, deleting, migrating)."""
    return f"models/{name}/{int(version)}"


def set_aside(folder: "Location", name: str) -> None:
    """Move a storage folder beside itself under ``name`` (copy, then remove: an object
    store has no rename of folders)."""
    if folder.storage.is_local:
        import os
        os.replace(folder.uri, (folder.parent / name).uri)
        return
    for file in folder.files():
        (folder.parent / name / file).write_bytes((folder / file).read_bytes())
    folder.delete()


class ModelVersion:
    """One registered version of a model. Get it with :meth:`ModelRegistry.get`."""

    def __init__(self, registry: "ModelRegistry", row: dict[str, Any],
                 aliases: list[str] | None = None, via_alias: str | None = None) -> None:
        self._registry = registry
        #: the alias this version was asked for by (a load records it: the alias may move)
        self.via_alias = via_alias
        self.name: str = row["name"]
        self.version: int = int(row["version"])
        self.flavour: str = row["flavour"]
        #: the artifact folder in the lakehouse's storage (any home of a team reads it)
        self.artifact_location = registry.lh.location(artifact_folder(self.name,
                                                                      self.version))
        #: the local folder the model is loaded from: the artifact itself on a laptop, this
        #: home's cache of it on team storage (filled by :meth:`local_artifact`)
        self.artifact_path = (Path(self.artifact_location.uri) if registry.lh.storage.is_local
                              else registry.lh.cache_dir / artifact_folder(self.name,
                                                                           self.version))
        self.metrics: dict[str, float] = from_json(row["metrics"], {})
        self.params: dict[str, Any] = from_json(row["params"], {})
        self.signature: dict[str, Any] = from_json(row["signature"], {})
        self._input_example: str | None = row.get("input_example")
        self.task: str | None = row.get("task")
        self.lineage: dict[str, Any] = from_json(row["lineage"], {})
        self.libraries: dict[str, str] = from_json(row["libraries"], {})
        self.trusted_types: list[str] = from_json(row["trusted_types"], [])
        self.artifact_sha256: str | None = row.get("artifact_sha256")
        self.evaluation: dict[str, Any] = from_json(row.get("evaluation"), {})
        self.description: str = row.get("description") or ""
        self.created_by: str | None = row.get("created_by")
        self.created_at: str = row["created_at"]
        self.deleted: bool = bool(row.get("deleted"))
        self.aliases: list[str] = aliases or []
        self._model: Any = None

    # -- what it records -------------------------------------------------------------------
    @property
    def input_schema(self) -> list[dict[str, Any]]:
        return self.signature.get("inputs", [])

    @property
    def output_schema(self) -> list[dict[str, Any]]:
        return self.signature.get("outputs", [])

    @property
    def input_features(self) -> list[str]:
        return [c["name"] for c in self.input_schema]

    @property
    def view(self) -> dict[str, Any] | None:
        """``{"name", "version"}`` of the feature view it was trained on, if any."""
        return self.lineage.get("view")

    @property
    def training_versions(self) -> dict[str, int | None]:
        """The Delta version of each feature group table the training set was read at."""
        return self.lineage.get("training_versions") or {}

    @property
    def input_example(self) -> Any:
        """The stored input example (a DataFrame, or an array for array-trained models)."""
        if self._input_example is None:
            return None
        if self.signature.get("input_kind") == "ndarray":
            return np.asarray(json.loads(self._input_example))
        data = json.loads(self._input_example)
        df = pd.DataFrame(data["data"], columns=data["columns"])
        for col in self.input_schema:
            name, dtype = col["name"], col["type"]
            if name not in df:
                continue
            try:
                if dtype.startswith("datetime64"):
                    df[name] = pd.to_datetime(df[name], utc="UTC" in dtype)
                else:
                    df[name] = df[name].astype(dtype)
            except (TypeError, ValueError):
                pass  # keep the JSON type rather than fail on an exotic dtype
        return df

    # -- the model -------------------------------------------------------------------------
    def load(self, trusted: Iterable[str | type] | None = None, allow_unsafe: bool = False) -> Any:
        """The model object. skops artifacts load only the types the registry's trust policy
        accepts: Lakebook's allowlist (:data:`~kernel_magics.registry.trust.ALLOWED_TYPES`),
        the types trusted for this model (:meth:`ModelRegistry.trust`) or at registration, and
        ``trusted``; a name that reaches files or the OS is refused even then. An artifact
        whose bytes changed since registration is refused. Pickle artifacts load only with
        ``allow_unsafe=True``."""
        if self._model is not None and not trusted:
            return self._model
        extra = trustable(trusted or [], "load(trusted=...)")
        if self.deleted:
            raise NotFound(f"Version {self.version} of model {self.name!r} was deleted.",
                           "Load another version (lh.registry.versions(name)).")
        self.local_artifact()
        policy = TrustPolicy.with_types([*self._registry.trusted_types(self.name),
                                         *self.trusted_types, *extra])
        model = get_flavour(self.flavour).load(
            self.artifact_path, policy, allow_unsafe=allow_unsafe,
            what=f"Model {self.name!r} version {self.version}", digest=self.artifact_sha256,
            model=self.name)
        self._model = model
        self._registry.lh.lineage.read("model_version", self.name, self.version,
                                       alias=self.via_alias)
        return model

    def local_artifact(self) -> Path:
        """The artifact as a local folder (what the frameworks open). On team storage it is
        copied into this home's cache unless the cache holds the recorded bytes already
        (sha256); a folder the storage lacks is NotFound."""
        flavour = get_flavour(self.flavour)
        if self._registry.lh.storage.is_local:
            if not self.artifact_path.exists():
                raise NotFound(f"The artifact of model {self.name!r} version {self.version} "
                               f"is missing ({self.artifact_path}).", "Register the model "
                               "again.")
            return self.artifact_path
        cached = self.artifact_path
        if cached.is_dir() and self.artifact_sha256:
            try:
                if flavour.digest(cached) == self.artifact_sha256:
                    return cached
            except OSError:
                pass
        import shutil
        import uuid
        fresh = cached.with_name(f".fetch-{cached.name}-{uuid.uuid4().hex[:8]}")
        try:
            if not self.artifact_location.get_folder(fresh):
                raise NotFound(f"The artifact of model {self.name!r} version {self.version} "
                               f"is missing ({self.artifact_location.uri}).",
                               "Register the model again.")
            shutil.rmtree(cached, ignore_errors=True)
            try:
                os_replace(fresh, cached)
            except OSError:  # another process of this home put its copy there first
                if not cached.is_dir():
                    raise
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
        return cached

    def _prepare(self, df: Any) -> Any:
        """Select the input columns in training order; a missing one is named."""
        if self.signature.get("input_kind") == "ndarray" or not isinstance(df, pd.DataFrame):
            return df
        wanted = self.input_features
        if not wanted:
            return df
        missing = [c for c in wanted if c not in df.columns]
        if missing:
            raise InvalidInput(
                f"Model {self.name!r} version {self.version} needs column(s) "
                f"{', '.join(missing)}, which the input does not have.",
                f"Pass a DataFrame with the columns {', '.join(wanted)}.")
        return df[wanted]

    def predict(self, df: Any) -> np.ndarray:
        """Predictions for ``df`` (extra columns such as keys are ignored)."""
        return np.asarray(self.load().predict(self._prepare(df)))

    def predict_proba(self, df: Any) -> np.ndarray:
        """Class probabilities for ``df`` (classifiers that give probabilities only)."""
        model = self.load()
        if not hasattr(model, "predict_proba"):
            raise InvalidInput(f"Model {self.name!r} version {self.version} "
                               f"({type(model).__name__}) does not give probabilities.",
                               "Use predict(), or register a model with predict_proba.")
        return np.asarray(model.predict_proba(self._prepare(df)))

    # -- reproducibility -------------------------------------------------------------------
    def _view(self) -> Any:
        view = self.view
        if not view:
            raise InvalidInput(f"Model {self.name!r} version {self.version} was registered "
                               "without a feature view, so its training set is not known.",
                               "Register with view=... (the %%training magic does it for you).")
        return self._registry.lh.features.views.get(view["name"], view.get("version"))

    def training_data(self, split: str | None = None) -> pd.DataFrame:
        """The exact data this version was trained from, rebuilt from the pinned Delta versions.

        ``split=None`` gives the whole training set (before the train/test split); ``"train"``
        or ``"test"`` gives that side of the split made with the recorded parameters.
        """
        view = self._view()
        versions = self.training_versions or None
        if split is None:
            return view.training_data(versions=versions)
        if split not in ("train", "test"):
            raise InvalidInput(f"Unknown split {split!r}.", "Use None, 'train' or 'test'.")
        s = self.lineage.get("split") or {}
        tts = view.train_test_split(test_size=s.get("test_size", 0.2),
                                    by_time=s.get("by_time", False), seed=s.get("seed", 42),
                                    versions=versions)
        return tts.train_df if split == "train" else tts.test_df

    # -- environment -----------------------------------------------------------------------
    @property
    def environment(self) -> dict[str, Any]:
        """The environment this version was registered in: ``{"python", "platform",
        "packages": {distribution: version}, "imported": {...}}`` (the installed
        distributions, and those the training process had imported)."""
        try:
            return self._registry.lh.lineage.environments.get("model_version", self.name,
                                                              self.version)
        except NotFound:  # registered before environments were recorded: its libraries
            return {"python": None, "platform": None, "packages": dict(self.libraries),
                    "imported": dict(self.libraries)}

    def requirements(self, path: str | Path | None = None) -> str:
        """A ``requirements.txt`` pinning the distributions the training process imported
        (all installed ones when that was not recorded); written to ``path`` when given."""
        from ..lineage.environment import requirements_text
        env = self.environment
        text = requirements_text(env.get("imported") or env.get("packages") or {})
        if path is not None:
            Path(path).write_text(text)
        return text

    def environment_mismatch(self) -> dict[str, tuple[str, str | None]]:
        """``{package: (version trained with, version here)}`` for the packages this
        version's flavour needs that differ in this process's environment."""
        from ..lineage.environment import mismatches
        return mismatches(self.environment.get("packages") or {}, self.flavour)

    def warn_environment(self) -> None:
        """Warn (once per process and version) when this environment differs from the
        training one in a package the flavour needs."""
        key = (str(self._registry.lh.home), self.name, self.version)
        if key in _warned:
            return
        _warned.add(key)
        diff = self.environment_mismatch()
        if diff:
            import warnings
            pairs = ", ".join(f"{p} {a} -> {b or 'not installed'}" for p, (a, b) in diff.items())
            warnings.warn(f"Model {self.name!r} version {self.version} was trained with other "
                          f"package versions than this environment has: {pairs}. Its "
                          "predictions may differ; install the versions of "
                          "mv.requirements() here.", stacklevel=3)

    # -- presentation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (what the REST API answers)."""
        return {
            "name": self.name, "version": self.version, "flavour": self.flavour,
            "aliases": self.aliases, "task": self.task, "metrics": self.metrics,
            "params": self.params, "signature": self.signature,
            "input_example": json.loads(self._input_example) if self._input_example else None,
            "lineage": self.lineage, "libraries": self.libraries,
            "trusted_types": self.trusted_types, "evaluation": self.evaluation,
            "description": self.description, "created_by": self.created_by,
            "created_at": self.created_at, "deleted": self.deleted,
            "artifact_path": self.artifact_location.uri, "artifact_sha256": self.artifact_sha256,
        }

    def _repr_html_(self) -> str:
        from ..render.registry import version_html
        return version_html(self.to_dict())

    def __repr__(self) -> str:
        return f"ModelVersion({self.name!r}, version={self.version}, aliases={self.aliases})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ModelVersion) and other.name == self.name
                and other.version == self.version)

    def __hash__(self) -> int:
        return hash((self.name, self.version))
