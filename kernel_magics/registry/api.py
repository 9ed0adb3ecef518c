"""The model registry: named models, numbered versions, aliases that move atomically.

A version is an artifact folder ``<home>/models/<name>/<version>`` plus a catalog row holding
its metrics, parameters, input/output schema, an input example, lineage (feature view, the
exact training-set Delta versions, notebook, cell, code hash, run) and library versions.
Version numbers are allocated inside a catalog write transaction, so two processes that
register at once get distinct, consecutive numbers; a number is never reused, even after
:meth:`ModelRegistry.delete_version`.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import pandas as pd

from ..catalog import from_json, to_json
from ..shared.times import now_utc
from ..storage import descriptors
from ..shared.errors import Conflict, InvalidInput, NotFound
from ..shared.jsonsafe import plain
from ..shared.names import validate_alias, validate_name
from ..shared.refs import Ref, takes_objects
from .evaluation import higher_is_better
from .flavours import Flavour, flavour_for, get_flavour
from .trust import TrustPolicy, describe, trust_hint, trustable, type_name

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse

#: rows of the training frame kept as the version's input example
INPUT_EXAMPLE_ROWS = 5


# -- helpers ---------------------------------------------------------------------------------
#: model_versions columns that hold JSON text
_JSON_COLUMNS = ("metrics", "params", "signature", "lineage", "libraries", "trusted_types",
                 "evaluation")


def _describe(value: Any) -> Any:
    """An object that is no JSON data, as a parameter shows it: a class or function by its
    dotted name, anything else (an estimator inside a pipeline) by its repr."""
    if isinstance(value, type):
        return type_name(value)
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data (:func:`~kernel_magics.shared.jsonsafe.plain`, four
    levels deep): estimators, classes and functions become their names or reprs."""
    return plain(value, describe=_describe, depth=4)


def estimator_params(model: Any) -> dict[str, Any]:
    """The estimator's parameters (``get_params()``), as JSON-safe values."""
    get_params = getattr(model, "get_params", None)
    if get_params is None:
        return {}
    try:
        params = get_params(deep=True)
    except Exception:  # some wrappers fail on deep=True
        params = get_params()
    return {k: json_safe(v) for k, v in sorted(params.items())}


def frame_schema(frame: Any) -> list[dict[str, Any]]:
    """Columns and dtypes of a DataFrame (or of a 2-D array, as ``x0, x1, …``)."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if isinstance(frame, pd.DataFrame):
        return [{"name": str(c), "type": str(t)} for c, t in frame.dtypes.items()]
    arr = np.asarray(frame)
    width = arr.shape[1] if arr.ndim == 2 else 1
    return [{"name": f"x{i}", "type": str(arr.dtype)} for i in range(width)]


def library_versions(flavour: Flavour | None = None) -> dict[str, str]:
    """Versions of the libraries a model version depends on."""
    from .. import __version__
    out = {"python": sys.version.split()[0], "lakebook": __version__}
    for mod in ("sklearn", "numpy", "pandas", "scipy", "skops"):
        module = sys.modules.get(mod)
        if module is None:
            try:
                module = __import__(mod)
            except ImportError:
                continue
        out["scikit-learn" if mod == "sklearn" else mod] = getattr(module, "__version__", "?")
    return out


def _user() -> str:
    from ..shared.identity import _user as user
    return user()


def _example_json(example: Any) -> tuple[str | None, str]:
    """The input example as JSON and its kind (``dataframe`` or ``ndarray``)."""
    if example is None:
        return None, "dataframe"
    if isinstance(example, pd.Series):
        example = example.to_frame().T
    if isinstance(example, pd.DataFrame):
        head = example.head(INPUT_EXAMPLE_ROWS)
        return head.to_json(orient="split", index=False, date_format="iso"), "dataframe"
    arr = np.asarray(example)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    return json.dumps(arr[:INPUT_EXAMPLE_ROWS].tolist()), "ndarray"


# -- model versions --------------------------------------------------------------------------
class ModelVersion:
    """One registered version of a model. Get it with :meth:`ModelRegistry.get`."""

    def __init__(self, registry: "ModelRegistry", row: dict[str, Any],
                 aliases: list[str] | None = None) -> None:
        self._registry = registry
        self.name: str = row["name"]
        self.version: int = int(row["version"])
        self.flavour: str = row["flavour"]
        self.artifact_path = Path(row["artifact_path"])
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
        if not self.artifact_path.exists():
            raise NotFound(f"The artifact of model {self.name!r} version {self.version} is "
                           f"missing ({self.artifact_path}).", "Register the model again.")
        policy = TrustPolicy.with_types([*self._registry.trusted_types(self.name),
                                         *self.trusted_types, *extra])
        model = get_flavour(self.flavour).load(
            self.artifact_path, policy, allow_unsafe=allow_unsafe,
            what=f"Model {self.name!r} version {self.version}", digest=self.artifact_sha256,
            model=self.name)
        self._model = model
        return model

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
        return self._registry.lh.feature_view(view["name"], view.get("version"))

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
            "artifact_path": str(self.artifact_path), "artifact_sha256": self.artifact_sha256,
        }

    def _repr_html_(self) -> str:
        from ..render.html import Raw, badge, card
        rows: list[tuple[str, Any]] = []
        if self.aliases:
            rows.append(("aliases", Raw(" ".join(badge(a, "#2e7d32") for a in self.aliases))))
        if self.task:
            rows.append(("task", self.task))
        if self.metrics:
            rows.append(("metrics", ", ".join(f"{k} {v:.4g}" for k, v in self.metrics.items())))
        if self.view:
            rows.append(("feature view", f"{self.view['name']} v{self.view.get('version')}"))
        if self.training_versions:
            rows.append(("training data", ", ".join(
                f"{t}@{v}" for t, v in sorted(self.training_versions.items()))))
        if self.input_features:
            feats = self.input_features
            rows.append(("inputs", ", ".join(feats[:8]) + (" …" if len(feats) > 8 else "")))
        for key in ("notebook", "run_id"):
            if self.lineage.get(key):
                rows.append((key.replace("_", " "), self.lineage[key]))
        rows.append(("flavour", self.flavour))
        rows.append(("created", f"{self.created_at[:19]} by {self.created_by or '?'}"))
        return card(f"{self.name} v{self.version}", rows,
                    subtitle="deleted" if self.deleted else (self.description or ""))

    def __repr__(self) -> str:
        return f"ModelVersion({self.name!r}, version={self.version}, aliases={self.aliases})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ModelVersion) and other.name == self.name
                and other.version == self.version)

    def __hash__(self) -> int:
        return hash((self.name, self.version))


# -- the registry ----------------------------------------------------------------------------
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
        metrics = self._check_metrics(metrics or {})
        chosen = flavour_for(model, flavour)
        self._check_fitted(model, name)
        trusted_names = trustable(trusted or [], "register(trusted=...)")
        signature = self._signature(model, input_example, name)
        example_json, kind = _example_json(input_example)
        signature["input_kind"] = kind
        all_params = {**estimator_params(model), **{k: json_safe(v)
                                                     for k, v in (params or {}).items()}}
        full_lineage = self._lineage(view, training_versions, lineage)

        folder = self.lh.models_dir / name
        staging = folder / f".staging-{uuid.uuid4().hex}"
        staging.mkdir(parents=True, exist_ok=True)
        try:
            chosen.save(model, staging)
            self._check_loadable(chosen, staging, [*self.trusted_types(name), *trusted_names],
                                 name)
            row = {
                "name": name, "flavour": chosen.name, "metrics": to_json(metrics),
                "params": to_json(all_params), "signature": to_json(signature),
                "input_example": example_json, "task": task,
                "lineage": to_json(full_lineage), "libraries": to_json(library_versions(chosen)),
                "trusted_types": to_json(trusted_names), "evaluation": to_json(evaluation or {}),
                "artifact_sha256": chosen.digest(staging),
                "description": description or "", "created_by": _user(),
                "created_at": now_utc(),
            }
            with self.catalog.transaction() as conn:
                conn.execute("INSERT OR IGNORE INTO models(name, description, created_at) "
                             "VALUES (?, '', ?)", (name, row["created_at"]))
                # inside BEGIN IMMEDIATE: no other process can take the same number
                version = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM "
                                       "model_versions WHERE name = ?", (name,)).fetchone()[0]
                target = folder / str(version)
                if target.exists():  # left by a process that died before its commit:
                    # set aside, never deleted (the catalog does not know what it holds)
                    os.replace(target, folder / f".orphan-{version}-{uuid.uuid4().hex[:8]}")
                os.replace(staging, target)
                try:
                    # the version describes itself beside its artifact (lakebook recover)
                    descriptors.write(target / descriptors.MODEL_FILE, {
                        **{k: v for k, v in row.items() if k not in _JSON_COLUMNS},
                        **{k: from_json(row[k], None) for k in _JSON_COLUMNS},
                        "version": version})
                    conn.execute(
                        "INSERT INTO model_versions(name, version, flavour, artifact_path, "
                        "metrics, params, signature, input_example, task, lineage, libraries, "
                        "trusted_types, evaluation, description, created_by, created_at, "
                        "artifact_sha256) VALUES "
                        "(:name, :version, :flavour, :artifact_path, :metrics, :params, "
                        ":signature, :input_example, :task, :lineage, :libraries, "
                        ":trusted_types, :evaluation, :description, :created_by, :created_at, "
                        ":artifact_sha256)",
                        {**row, "version": version, "artifact_path": str(target)})
                except BaseException:
                    shutil.rmtree(target, ignore_errors=True)
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.catalog.record_event("model.registered", f"{name}/{version}",
                                  {"metrics": metrics, "view": full_lineage.get("view")})
        return self.get(name, version)

    @staticmethod
    def _check_metrics(metrics: dict[str, Any]) -> dict[str, float]:
        out = {}
        for key, value in metrics.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InvalidInput(f"Metric {key!r} is {value!r}, not a number.",
                                   "Pass metrics as {name: number}.") from None
            if not math.isfinite(number):
                raise InvalidInput(f"Metric {key!r} is {value!r}.", "Pass finite numbers.")
            out[str(key)] = number
        return out

    @staticmethod
    def _check_fitted(model: Any, name: str) -> None:
        try:
            from sklearn.base import BaseEstimator
            from sklearn.exceptions import NotFittedError
            from sklearn.utils.validation import check_is_fitted
        except ImportError:  # pragma: no cover - scikit-learn is a dependency
            return
        if isinstance(model, BaseEstimator):
            try:
                check_is_fitted(model)
            except NotFittedError:
                raise InvalidInput(
                    f"The {type(model).__name__} given for model {name!r} is not fitted.",
                    "Call model.fit(X_train, y_train) before registering it.") from None
        elif not callable(getattr(model, "predict", None)):
            raise InvalidInput(f"The object given for model {name!r} "
                               f"({type(model).__name__}) has no predict() method.",
                               "Register a trained model (an estimator with predict()).")

    @staticmethod
    def _signature(model: Any, example: Any, name: str) -> dict[str, Any]:
        sig: dict[str, Any] = {"inputs": [], "outputs": []}
        classes = getattr(model, "classes_", None)
        if example is None:
            feats = getattr(model, "feature_names_in_", None)
            if feats is not None:
                sig["inputs"] = [{"name": str(f), "type": "unknown"} for f in feats]
        else:
            if isinstance(example, pd.Series):
                example = example.to_frame().T
            sig["inputs"] = frame_schema(example)
            head = example.head(INPUT_EXAMPLE_ROWS) if isinstance(example, pd.DataFrame) \
                else np.asarray(example)[:INPUT_EXAMPLE_ROWS]
            try:
                pred = np.asarray(model.predict(head))
            except Exception as exc:
                raise InvalidInput(f"Model {name!r} fails to predict on its input example "
                                   f"({type(exc).__name__}: {exc}).",
                                   "Pass rows shaped like the training data as "
                                   "input_example.") from None
            shape = [-1, *pred.shape[1:]]
            sig["outputs"].append({"name": "prediction", "type": str(pred.dtype),
                                   "shape": shape})
        if classes is not None:
            sig["classes"] = [c.item() if hasattr(c, "item") else c for c in classes]
            if hasattr(model, "predict_proba"):
                sig["outputs"].append({"name": "probabilities", "type": "float64",
                                       "shape": [-1, len(classes)]})
        return sig

    @staticmethod
    def _check_loadable(flavour: Flavour, folder: Path, trusted: list[str], name: str) -> None:
        """Refuse at registration what the registry would refuse to load later."""
        refused = TrustPolicy.with_types(trusted).refused(flavour.untrusted_types(folder))
        if refused:
            raise InvalidInput(
                f"Model {name!r} holds {describe(refused)} that the registry does not trust, "
                "so it could not be loaded later; nothing was registered.",
                trust_hint(refused, name))

    # -- trust -----------------------------------------------------------------------------
    def trusted_types(self, name: str) -> list[str]:
        """The type names trusted for every version of model ``name`` (see :meth:`trust`)."""
        row = self.catalog.query_one("SELECT trusted_types FROM models WHERE name = ?", (name,))
        return from_json(row["trusted_types"], []) if row else []

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
        with self.catalog.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO models(name, description, created_at) "
                         "VALUES (?, '', ?)", (name, now_utc()))
            row = conn.execute("SELECT trusted_types FROM models WHERE name = ?",
                               (name,)).fetchone()
            merged = sorted({*from_json(row[0], []), *names})
            conn.execute("UPDATE models SET trusted_types = ? WHERE name = ?",
                         (to_json(merged), name))
        self.catalog.record_event("model.trusted", name, {"types": names, "who": _user(),
                                                          "reason": reason})
        return merged

    def untrust(self, name: str, types: Iterable[str | type]) -> list[str]:
        """Stop trusting ``types`` for model ``name``; returns what stays trusted."""
        names = {type_name(t) for t in types}
        with self.catalog.transaction() as conn:
            row = conn.execute("SELECT trusted_types FROM models WHERE name = ?",
                               (name,)).fetchone()
            if row is None:
                self._require_model(name)
            kept = sorted(set(from_json(row[0], [])) - names)
            conn.execute("UPDATE models SET trusted_types = ? WHERE name = ?",
                         (to_json(kept), name))
        self.catalog.record_event("model.untrusted", name, {"types": sorted(names),
                                                            "who": _user()})
        return kept

    def _lineage(self, view: Any, training_versions: dict[str, int] | None,
                 lineage: dict[str, Any] | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if lineage is None:
            from ..shared.identity import current_cell_id, notebook_path
            out.update({"notebook": notebook_path(), "cell_id": current_cell_id(),
                        "user": _user()})
        else:
            out.update(json_safe(lineage))
        if view is not None:
            if isinstance(view, str):
                v = self.lh.feature_view(view)
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
    def models(self) -> list[dict[str, Any]]:
        """A summary of every model: versions, latest version, aliases, latest metrics."""
        rows = self.catalog.query(
            "SELECT m.name, m.description, m.created_at, COUNT(v.id) AS versions, "
            "MAX(v.version) AS latest_version FROM models m JOIN model_versions v "
            "ON v.name = m.name AND v.deleted = 0 GROUP BY m.name ORDER BY m.name")
        aliases = self._aliases()
        for row in rows:
            row["aliases"] = {a: v for (n, a), v in aliases.items() if n == row["name"]}
            latest = self.catalog.query_one(
                "SELECT task, metrics, created_at FROM model_versions WHERE name = ? AND "
                "version = ?", (row["name"], row["latest_version"]))
            row["task"] = latest["task"] if latest else None
            row["latest_metrics"] = from_json(latest["metrics"], {}) if latest else {}
            row["updated_at"] = latest["created_at"] if latest else row["created_at"]
        return rows

    def _aliases(self, name: str | None = None) -> dict[tuple[str, str], int]:
        sql = "SELECT name, alias, version FROM model_aliases"
        rows = self.catalog.query(sql + " WHERE name = ?", (name,)) if name else \
            self.catalog.query(sql)
        return {(r["name"], r["alias"]): r["version"] for r in rows}

    def _version_aliases(self, name: str) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for (_, alias), version in sorted(self._aliases(name).items()):
            out.setdefault(version, []).append(alias)
        return out

    def _require_model(self, name: str) -> None:
        if self.catalog.scalar("SELECT 1 FROM model_versions WHERE name = ? LIMIT 1",
                               (name,)) is None:
            known = [m["name"] for m in self.models()]
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
            version = self.catalog.scalar(
                "SELECT version FROM model_aliases WHERE name = ? AND alias = ?", (name, alias))
            if version is None:
                known = sorted(a for (_, a) in self._aliases(name))
                raise NotFound(f"Model {name!r} has no alias {alias!r}.",
                               f"Its aliases: {', '.join(known)}." if known else
                               f"Set one with lh.registry.set_alias({name!r}, {alias!r}, "
                               "version).")
        if version is None:
            row = self.catalog.query_one(
                "SELECT * FROM model_versions WHERE name = ? AND deleted = 0 "
                "ORDER BY version DESC LIMIT 1", (name,))
            if row is None:
                raise NotFound(f"Every version of model {name!r} was deleted.",
                               "Register a new version.")
        else:
            row = self._row(name, version)
        return ModelVersion(self, row, self._version_aliases(name).get(int(row["version"]), []))

    def _row(self, name: str, version: Any, include_deleted: bool = False) -> dict[str, Any]:
        try:
            number = int(version)
        except (TypeError, ValueError):
            raise InvalidInput(f"{version!r} is not a version number.",
                               "Versions are numbered 1, 2, 3, …") from None
        row = self.catalog.query_one(
            "SELECT * FROM model_versions WHERE name = ? AND version = ?", (name, number))
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
        rows = self.catalog.query(
            "SELECT * FROM model_versions WHERE name = ? " +
            ("" if include_deleted else "AND deleted = 0 ") + "ORDER BY version", (name,))
        aliases = self._version_aliases(name)
        return [ModelVersion(self, r, aliases.get(int(r["version"]), [])) for r in rows]

    @takes_objects(name="model")
    def aliases(self, name: str) -> dict[str, int]:
        """``{alias: version}`` of ``name``."""
        self._require_model(name)
        return {a: v for (_, a), v in sorted(self._aliases(name).items())}

    # -- aliases ---------------------------------------------------------------------------
    @takes_objects(name=Ref("model", version="version"), version="model version")
    def set_alias(self, name: str, alias: str, version: int | None = None,
                  who: str | None = None, reason: str = "") -> ModelVersion:
        """Point ``alias`` of ``name`` at ``version``, atomically; the move is kept in the
        alias history (who, when, from, to). ``set_alias(mv, "production")`` points it at
        the version ``mv`` is."""
        validate_alias(alias)
        self._require_model(name)
        if version is None:
            raise InvalidInput(f"Moving alias {alias!r} of model {name!r} needs the version to "
                               "point it at.", f"e.g. lh.registry.set_alias({name!r}, "
                               f"{alias!r}, 2), or pass the ModelVersion itself.")
        try:
            number = int(version)
        except (TypeError, ValueError):
            raise InvalidInput(f"{version!r} is not a version number.",
                               "Versions are numbered 1, 2, 3, …") from None
        with self.catalog.transaction() as conn:
            self._move_alias(conn, name, alias, number, who or _user(), reason)
        self._save_aliases(name)
        return self.get(name, number)

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
        with self.catalog.transaction() as conn:
            row = conn.execute("SELECT metrics FROM model_versions WHERE name = ? AND "
                               "version = ? AND deleted = 0", (name, int(version))).fetchone()
            if row is None:
                raise NotFound(f"Model {name!r} has no live version {version}, so alias "
                               f"{alias!r} was not moved.", "See lh.registry.versions(name).")
            new = from_json(row[0], {}).get(metric)
            current = conn.execute(
                "SELECT v.version, v.metrics FROM model_aliases a JOIN model_versions v "
                "ON v.name = a.name AND v.version = a.version WHERE a.name = ? AND a.alias = ?",
                (name, alias)).fetchone()
            if new is None:
                return False, f"{metric} was not recorded for v{version}"
            if current is None:
                better, why = True, f"{metric} {new:.4g}; alias {alias!r} had no version"
            else:
                old = from_json(current[1], {}).get(metric)
                if old is None:
                    better, why = True, f"{metric} {new:.4g}; v{current[0]} has no {metric}"
                else:
                    better = new > old if up else new < old
                    why = (f"{metric} {new:.4g} {'beats' if better else 'does not beat'} "
                           f"v{current[0]}'s {old:.4g}")
            if better:
                self._move_alias(conn, name, alias, int(version), who or _user(), why)
        if better:
            self._save_aliases(name)
        return better, why

    @staticmethod
    def _move_alias(conn: Any, name: str, alias: str, number: int, who: str,
                    reason: str) -> None:
        """Point the alias at a live version and record the move (inside a transaction)."""
        row = conn.execute("SELECT deleted FROM model_versions WHERE name = ? AND "
                           "version = ?", (name, number)).fetchone()
        if row is None:
            raise NotFound(f"Model {name!r} has no version {number}, so alias {alias!r} "
                           "was not moved.", "Pick an existing version "
                           "(lh.registry.versions(name)).")
        if row[0]:
            raise Conflict(f"Version {number} of model {name!r} was deleted, so alias "
                           f"{alias!r} was not moved to it.", "Pick a live version.")
        current = conn.execute("SELECT version FROM model_aliases WHERE name = ? AND "
                               "alias = ?", (name, alias)).fetchone()
        at = now_utc()
        conn.execute("INSERT INTO model_aliases(name, alias, version, updated_at) "
                     "VALUES (?,?,?,?) ON CONFLICT(name, alias) DO UPDATE SET "
                     "version = excluded.version, updated_at = excluded.updated_at",
                     (name, alias, number, at))
        conn.execute("INSERT INTO model_alias_history(name, alias, from_version, "
                     "to_version, who, reason, at) VALUES (?,?,?,?,?,?,?)",
                     (name, alias, current[0] if current else None, number, who,
                      reason or "", at))

    @takes_objects(name="model")
    def delete_alias(self, name: str, alias: str, who: str | None = None,
                     reason: str = "") -> None:
        """Remove ``alias`` from ``name`` (kept in the history as a move to nothing)."""
        self._require_model(name)
        with self.catalog.transaction() as conn:
            current = conn.execute("SELECT version FROM model_aliases WHERE name = ? AND "
                                   "alias = ?", (name, alias)).fetchone()
            if current is None:
                raise NotFound(f"Model {name!r} has no alias {alias!r}.",
                               "See lh.registry.aliases(name).")
            conn.execute("DELETE FROM model_aliases WHERE name = ? AND alias = ?", (name, alias))
            conn.execute("INSERT INTO model_alias_history(name, alias, from_version, "
                         "to_version, who, reason, at) VALUES (?,?,?,NULL,?,?,?)",
                         (name, alias, current[0], who or _user(), reason, now_utc()))
        self._save_aliases(name)

    def _save_aliases(self, name: str) -> None:
        """Write ``models/<name>/aliases.json`` from the catalog (see catalog.descriptors)."""
        aliases = {a: v for (_, a), v in self._aliases(name).items()}
        descriptors.write(self.lh.models_dir / name / descriptors.ALIASES_FILE, aliases)

    @takes_objects(name="model")
    def alias_history(self, name: str, alias: str | None = None) -> list[dict[str, Any]]:
        """Every move of the aliases of ``name`` (or of one alias), oldest first."""
        self._require_model(name)
        if alias is None:
            return self.catalog.query("SELECT * FROM model_alias_history WHERE name = ? "
                                      "ORDER BY id", (name,))
        return self.catalog.query("SELECT * FROM model_alias_history WHERE name = ? AND "
                                  "alias = ? ORDER BY id", (name, alias))

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
        chosen = self.versions(name) if versions is None else \
            [self.get(name, int(v)) for v in versions]
        rows = [{"version": v.version, **v.metrics, "aliases": ", ".join(v.aliases),
                 "created_at": v.created_at} for v in chosen]
        return pd.DataFrame(rows).set_index("version") if rows else pd.DataFrame()

    # -- deleting --------------------------------------------------------------------------
    @takes_objects(name="model", version="model version")
    def delete_version(self, name: str, version: int, force: bool = False) -> None:
        """Delete a version (its number is never reused). A version an alias points to is
        kept unless ``force=True``, which also removes those aliases."""
        self._row(name, version)
        number = int(version)
        with self.catalog.transaction() as conn:
            aliases = [r[0] for r in conn.execute(
                "SELECT alias FROM model_aliases WHERE name = ? AND version = ?",
                (name, number)).fetchall()]
            if aliases and not force:
                raise Conflict(f"Alias {', '.join(sorted(aliases))} of model {name!r} points to "
                               f"version {number}, so it was not deleted.",
                               "Move the alias first (set_alias), or pass force=True.")
            at = now_utc()
            for alias in aliases:
                conn.execute("DELETE FROM model_aliases WHERE name = ? AND alias = ?",
                             (name, alias))
                conn.execute("INSERT INTO model_alias_history(name, alias, from_version, "
                             "to_version, who, reason, at) VALUES (?,?,?,NULL,?,?,?)",
                             (name, alias, number, _user(), "version deleted", at))
            conn.execute("UPDATE model_versions SET deleted = 1, deleted_at = ? WHERE name = ? "
                         "AND version = ?", (at, name, number))
        shutil.rmtree(self.lh.models_dir / name / str(number), ignore_errors=True)
        if aliases:
            self._save_aliases(name)
        self.catalog.record_event("model.version_deleted", f"{name}/{number}", {})

    def __repr__(self) -> str:
        return f"ModelRegistry({str(self.lh.home)!r})"

    def _repr_html_(self) -> str:
        from ..render.html import table
        return table(["model", "versions", "latest", "aliases", "task"],
                     ([m["name"], m["versions"], m["latest_version"],
                       ", ".join(f"{a}→v{v}" for a, v in m["aliases"].items()), m["task"] or ""]
                      for m in self.models()))
