"""Where a deployment's model and features come from: one object to ask, one to swap in tests.

:class:`LakehouseResolver` reads the deployment's row in the catalog, resolves its alias
through the model registry, loads the model version (``ModelVersion.load()``) and opens the
feature view. :class:`~kernel_magics.deployments.model_cache.ModelCache` asks it what to serve.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..catalog import from_json
from ..shared.errors import InvalidInput
from ..shared.jsonsafe import plain

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse


@dataclass(frozen=True)
class Target:
    """What a deployment should serve right now (the alias already resolved)."""

    deployment: str
    model: str
    version: int
    alias: str | None
    view: str | None
    view_version: int | None
    kind: str = "online"
    #: an A/B split: (arm, model version, share) per arm (empty: no split)
    arms: tuple[tuple[str, int, float], ...] = ()
    #: the shadow arm and its version (None: no shadow)
    shadow: tuple[str, int] | None = None


@dataclass(frozen=True)
class LoadedModel:
    """A fully loaded model version, ready to predict; immutable once built."""

    name: str
    version: int
    estimator: Any
    #: columns the model takes, in order (None: whatever the caller sends)
    input_columns: tuple[str, ...] | None
    #: JSON-ish type per input column from the registered signature: number|string|boolean|...
    input_types: dict[str, str] = field(default_factory=dict)
    classes: tuple[Any, ...] | None = None
    signature: dict[str, Any] = field(default_factory=dict)

    #: predict() is the argmax of predict_proba() for this estimator: one call gives both
    proba_decides: bool = False

    def predict(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions (and class probabilities when the model has them) for ``X``."""
        est = self.estimator
        if self.classes is None:
            return np.asarray(est.predict(X)), None
        proba = np.asarray(est.predict_proba(X))
        if self.proba_decides:
            return np.asarray(est.classes_)[proba.argmax(axis=1)], proba
        return np.asarray(est.predict(X)), proba


def loaded_from_estimator(name: str, version: int, estimator: Any,
                          signature: dict[str, Any] | None = None,
                          example: Any = None) -> LoadedModel:
    """Describe ``estimator`` (its input columns, classes and signature types)."""
    signature = signature or {}
    inputs = _signature_inputs(signature)
    columns: tuple[str, ...] | None = None
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        columns = tuple(str(c) for c in names)
    elif inputs:
        columns = tuple(inputs)
    classes = None
    if callable(getattr(estimator, "predict_proba", None)) and hasattr(estimator, "classes_"):
        classes = tuple(plain(c) for c in estimator.classes_)
    return LoadedModel(name=name, version=int(version), estimator=estimator,
                       input_columns=columns, input_types=inputs, classes=classes,
                       signature=signature,
                       proba_decides=classes is not None and _argmax_classifier(estimator, example))


#: classifiers whose predict() is by construction the class of highest predict_proba()
_ARGMAX_CLASSIFIERS = {
    "LogisticRegression", "LogisticRegressionCV", "RandomForestClassifier",
    "ExtraTreesClassifier", "DecisionTreeClassifier", "ExtraTreeClassifier",
    "GradientBoostingClassifier", "HistGradientBoostingClassifier", "GaussianNB",
    "MultinomialNB", "BernoulliNB", "ComplementNB", "CategoricalNB", "MLPClassifier",
    "LinearDiscriminantAnalysis", "QuadraticDiscriminantAnalysis", "CalibratedClassifierCV",
}


def _argmax_classifier(estimator: Any, example: Any) -> bool:
    """Whether predictions may be taken from the probabilities (one model call instead of
    two). Only for known estimators, and only if they agree on the registered example."""
    if getattr(estimator, "_lakebook_argmax", False):  # a framework flavour's model
        return True
    final = estimator
    steps = getattr(estimator, "steps", None)
    if steps:
        final = steps[-1][1]
    if type(final).__name__ not in _ARGMAX_CLASSIFIERS or \
            not type(final).__module__.startswith("sklearn."):
        return False
    if example is None:
        return True
    try:
        direct = np.asarray(estimator.predict(example))
        derived = np.asarray(estimator.classes_)[
            np.asarray(estimator.predict_proba(example)).argmax(axis=1)]
        return bool((direct == derived).all())
    except Exception:
        return False


def _signature_inputs(signature: Any) -> dict[str, str]:
    """``{column: kind}`` from a registered signature, whatever shape the registry chose
    (``{"inputs": [{"name", "type"}]}``, a list of such, or ``{"inputs": {name: type}}``)."""
    inputs = signature.get("inputs", signature.get("input")) if isinstance(signature, dict) \
        else signature
    out: dict[str, str] = {}
    if isinstance(inputs, dict):
        inputs = [{"name": k, "type": v} for k, v in inputs.items()]
    if isinstance(inputs, list):
        for item in inputs:
            if isinstance(item, dict) and "name" in item:
                out[str(item["name"])] = _kind_of_type(str(item.get("type", "")))
    return out


def _kind_of_type(type_name: str) -> str:
    t = type_name.lower()
    if "bool" in t:
        return "boolean"
    if any(w in t for w in ("int", "float", "double", "decimal", "number")):
        return "number"
    if any(w in t for w in ("str", "utf8", "object", "category", "string")):
        return "string"
    if any(w in t for w in ("time", "date")):
        return "datetime"
    return "any"


class LakehouseResolver:
    """Reads deployments from the catalog and models/views from the registry/feature store."""

    def __init__(self, lh: "Lakehouse") -> None:
        self.lh = lh

    def target(self, deployment: str) -> Target:
        row = self.lh.deployments.definition(deployment)
        spec = row["spec"]
        if row["version"] is not None:
            version = int(row["version"])
        else:
            version = self.model_version(row["model"], alias=row["alias"]).version
        view, view_version = row["view"], row["view_version"]
        if spec.get("view_from_model"):
            view, view_version = self.model_view(row["model"], version)
        arms = tuple((arm, self.arm_version(row["model"], arm), float(share))
                     for arm, share in (spec.get("split") or {}).items())
        shadow = spec.get("shadow")
        return Target(deployment=deployment, model=row["model"], version=version,
                      alias=row["alias"], view=view, view_version=view_version,
                      kind=row["kind"], arms=arms,
                      shadow=(shadow, self.arm_version(row["model"], shadow)) if shadow
                      else None)

    def arm_version(self, model: str, arm: str) -> int:
        """The model version an arm serves now: its alias resolved, or the ``v<N>`` it
        names."""
        from .routing import arm_version
        fixed = arm_version(arm)
        if fixed is not None:
            return self.model_version(model, version=fixed).version
        return self.model_version(model, alias=arm).version

    def model_version(self, name: str, version: int | None = None, alias: str | None = None):
        """The registry's ``ModelVersion`` (raises NotFound naming the model/alias/version)."""
        return self.lh.registry.get(name, version=version, alias=alias)

    def model_view(self, name: str, version: int) -> tuple[str | None, int | None]:
        """The feature view (name, version) a model version was trained on, if recorded."""
        mv = self.model_version(name, version=version)
        return view_of(mv)

    def load_model(self, name: str, version: int) -> LoadedModel:
        mv = self.model_version(name, version=version)
        estimator = mv.load()
        try:
            example = mv.input_example
        except Exception:
            example = None
        return loaded_from_estimator(name, int(mv.version), estimator,
                                     _as_dict(getattr(mv, "signature", None)), example)

    def view(self, name: str, version: int | None):
        """The feature view, with its online lookup plan computed once: a view version is
        immutable, so re-reading its groups from the catalog on every request is waste."""
        view = self.lh.features.views.get(name, version)
        plan = getattr(view, "_lookups", None)
        if callable(plan):
            try:
                lookups = plan()
            except Exception:  # e.g. a group that is not online: let requests say so
                return view
            view._lookups = lambda: lookups  # this instance only; owned by the model cache
        return view

    @staticmethod
    def entry_columns(view: Any) -> tuple[str, ...]:
        """The fields an online entry gives: the key columns of the view's lookups (the
        spine's keys when it has none)."""
        cols: list[str] = []
        try:
            for lk in view._lookups():
                cols += [c for c in lk.get("key_cols", []) if c not in cols]
        except Exception:
            pass
        return tuple(cols or getattr(view, "keys", ()) or ())


def view_of(mv: Any) -> tuple[str | None, int | None]:
    """The (view name, view version) in a model version's lineage."""
    lineage = _as_dict(getattr(mv, "lineage", None))
    view = lineage.get("view") or lineage.get("feature_view")
    version = lineage.get("view_version") or lineage.get("feature_view_version")
    if isinstance(view, dict):
        version = view.get("version", version)
        view = view.get("name")
    if not view:
        view = getattr(mv, "view", None) or getattr(mv, "feature_view", None)
        version = version or getattr(mv, "view_version", None)
    if view is not None and not isinstance(view, str):  # a FeatureView object
        version = getattr(view, "version", version)
        view = getattr(view, "name", None)
    return (view or None), (int(version) if version is not None else None)


def _as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = from_json(value, {})
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {"inputs": parsed}
    if isinstance(value, list):
        return {"inputs": value}
    for attr in ("to_dict", "as_dict"):
        fn = getattr(value, attr, None)
        if callable(fn):
            return fn()
    return dict(getattr(value, "__dict__", {}))


def check_kind(value: Any, kind: str) -> bool:
    """Whether a JSON value fits a signature kind (null fits everything)."""
    if value is None or kind in ("any", "datetime"):
        return True
    if kind == "number":
        return isinstance(value, (int, float))
    if kind == "boolean":
        return isinstance(value, (bool, int))
    if kind == "string":
        return isinstance(value, str)
    return True


__all__ = ["Target", "LoadedModel", "LakehouseResolver", "loaded_from_estimator", "view_of",
           "check_kind", "InvalidInput"]
