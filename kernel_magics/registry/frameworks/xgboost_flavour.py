"""XGBoost models (``XGBClassifier``/``XGBRegressor``/``XGBRanker`` and native ``Booster``s),
kept in XGBoost's own JSON format.

Why the file is data: XGBoost's JSON loader builds trees from numbers and never unpickles or
imports anything; what it does not do is check the trees, so :mod:`.xgboost_format` walks
them first, and the file's sha256 must match the one recorded at registration.

How outputs become predictions, by objective: ``binary:logistic`` gives P(class 1);
``binary:logitraw`` and ``multi:softmax`` give margins (or labels) that are turned into
probabilities with a sigmoid or softmax of the margins; ``multi:softprob`` gives the
probabilities; ``binary:hinge`` gives labels only; everything else is a value (regression,
counts, ranking scores).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...shared.errors import InvalidInput
from ..flavours import Flavour
from ..trust import TrustPolicy
from . import artifacts
from .predictor import (CLASSIFICATION, REGRESSION, SMALL_BATCH, FrameworkModel, ModelInfo,
                        class_labels, sigmoid, softmax, two_columns)
from .xgboost_format import check

if TYPE_CHECKING:  # pragma: no cover
    from ..export import MlflowTarget

EXTRA = "xgboost"


def _output(objective: str) -> tuple[str, str]:
    """(task, output) for an XGBoost objective."""
    if objective in ("binary:logistic",):
        return CLASSIFICATION, "p1"
    if objective == "binary:logitraw":
        return CLASSIFICATION, "margin"
    if objective == "binary:hinge":
        return CLASSIFICATION, "label"
    if objective in ("multi:softprob",):
        return CLASSIFICATION, "probabilities"
    if objective == "multi:softmax":
        return CLASSIFICATION, "margins"
    return REGRESSION, "value"


class XGBoostModel(FrameworkModel):
    """A loaded XGBoost booster behind scikit-learn's verbs (see the module docstring)."""

    flavour = "xgboost"

    def __init__(self, booster: Any, info: ModelInfo) -> None:
        super().__init__(info)
        self.booster = booster
        self._threads = 0
        self._lock = threading.Lock()

    def _use_threads(self, rows: int) -> None:
        threads = 1 if rows <= SMALL_BATCH else -1
        if threads != self._threads:
            with self._lock:
                self.booster.set_param({"nthread": threads if threads > 0 else 0})
                self._threads = threads

    def _scores(self, X: Any) -> np.ndarray:
        self._use_threads(len(X))
        out = self.info.output
        if out in ("margin", "margins"):
            margin = np.asarray(self.booster.inplace_predict(X, predict_type="margin"))
            return two_columns(sigmoid(margin)) if out == "margin" else softmax(margin)
        raw = np.asarray(self.booster.inplace_predict(X))
        if out == "p1":
            return two_columns(raw)
        return raw


def _booster_of(model: Any, what: str) -> Any:
    import xgboost as xgb
    if isinstance(model, xgb.Booster):
        return model
    try:
        return model.get_booster()
    except Exception:  # NotFittedError (XGBoost's own) and friends
        raise InvalidInput(f"{what} holds a {type(model).__name__} that is not fitted.",
                           "Call fit(X_train, y_train) before registering it.") from None


class XGBoostFlavour(Flavour):
    """XGBoost's scikit-learn wrappers and Boosters, in XGBoost's JSON format."""

    name = "xgboost"
    filename = "model.json"
    extra = EXTRA
    mlflow_flavour = "xgboost"
    mlflow_packages = ("xgboost", "numpy", "scipy")

    def matches(self, model: Any) -> bool:
        module = type(model).__module__
        return module.startswith("xgboost.") or isinstance(model, XGBoostModel)

    def prepare(self, model: Any, example: Any = None, what: str = "The model",
                policy: TrustPolicy | None = None) -> XGBoostModel:
        if isinstance(model, XGBoostModel):
            return model
        artifacts.require("xgboost", EXTRA, what)
        booster = _booster_of(model, what)
        data = bytes(booster.save_raw(raw_format="json"))
        parsed = check(data, what)
        task, output = _output(parsed["learner"]["objective"]["name"])
        classes: list[Any] | None = None
        if task == CLASSIFICATION:
            wrapper_classes = getattr(model, "classes_", None)
            if wrapper_classes is not None:
                classes = class_labels(wrapper_classes)
            else:
                n = int(parsed["learner"]["learner_model_param"].get("num_class", "0") or 0)
                classes = list(range(max(n, 2)))
        names = booster.feature_names or _frame_columns(example)
        params = _params(model, booster)
        info = ModelInfo(task=task, features=list(names) if names else None, classes=classes,
                         output=output, params=params,
                         trained_as=f"{type(model).__module__}.{type(model).__qualname__}")
        return _loaded(data, info)

    def save(self, model: XGBoostModel, folder: Path) -> Path:
        data = bytes(model.booster.save_raw(raw_format="json"))
        return artifacts.write(folder, self.filename, data, model.info)

    def digest(self, folder: Path) -> str:
        return artifacts.digest(folder, self.filename)

    def load(self, folder: Path, policy: TrustPolicy, allow_unsafe: bool = False,
             what: str = "The artifact", digest: str | None = None,
             model: str | None = None) -> XGBoostModel:
        artifacts.require("xgboost", EXTRA, what)
        data, info = artifacts.read(folder, self.filename, digest, what)
        check(data, what)
        return _loaded(data, info)

    def to_mlflow(self, model: XGBoostModel, target: "MlflowTarget") -> None:
        """MLflow's xgboost flavour, in XGBoost's JSON: a model trained as a scikit-learn
        wrapper goes out as that wrapper (MLflow's ``predict`` gives labels), a Booster as a
        Booster (its ``predict`` gives what the booster gives, e.g. P(class 1))."""
        import mlflow.xgboost
        types = model.booster.feature_types or []
        target.refuse_categories([n for n, t in zip(model.booster.feature_names or [], types)
                                  if t == "c"], "xgboost")
        mlflow.xgboost.save_model(
            _as_trained(model), str(target.path), model_format="json",
            signature=target.column_signature(), input_example=target.example,
            pip_requirements=target.requirements, metadata=target.metadata)

    def library_versions(self) -> dict[str, str]:
        import xgboost
        return {"xgboost": xgboost.__version__}


def _loaded(data: bytes, info: ModelInfo) -> XGBoostModel:
    """A booster built from checked JSON bytes (never from a path: what was checked is what
    is loaded)."""
    import xgboost as xgb
    booster = xgb.Booster()
    booster.load_model(bytearray(data))
    return XGBoostModel(booster, info)


def _as_trained(model: XGBoostModel) -> Any:
    """The booster, or the scikit-learn wrapper class it was trained as, rebuilt from its
    JSON (a class of ``xgboost.sklearn`` only)."""
    import xgboost as xgb
    module, _, cls = model.info.trained_as.rpartition(".")
    wrapper = getattr(xgb.sklearn, cls, None) if module == "xgboost.sklearn" else None
    if not (isinstance(wrapper, type) and issubclass(wrapper, xgb.XGBModel)):
        return model.booster
    rebuilt = wrapper()
    rebuilt.load_model(bytearray(model.booster.save_raw(raw_format="json")))
    return rebuilt


def _frame_columns(example: Any) -> list[str] | None:
    columns = getattr(example, "columns", None)
    return [str(c) for c in columns] if columns is not None else None


def _params(model: Any, booster: Any) -> dict[str, Any]:
    from ..describe import estimator_params
    if callable(getattr(model, "get_params", None)):
        return {k: v for k, v in estimator_params(model).items() if v is not None}
    import json
    try:
        config = json.loads(booster.save_config())
        train = config["learner"]["gradient_booster"].get("tree_train_param") or {}
        return {"objective": config["learner"]["objective"]["name"],
                **{k: train[k] for k in ("max_depth", "eta", "subsample", "lambda", "alpha")
                   if k in train},
                "num_boosted_rounds": booster.num_boosted_rounds()}
    except Exception:  # a config this version of XGBoost does not write
        return {}


#: the instance the flavour registry names
FLAVOUR = XGBoostFlavour()
