"""LightGBM models (``LGBMClassifier``/``LGBMRegressor``/``LGBMRanker`` and native
``Booster``s), kept in LightGBM's model text.

Why the file is data: LightGBM parses numbers from text and never unpickles or imports
anything; what it does not do is check them, so :mod:`.lightgbm_format` does first, and the
file's sha256 must match the one recorded at registration. The class labels of a wrapper
(which LightGBM's text does not keep) are kept in ``model_info.json``.

Outputs: ``binary`` gives P(class 1), ``multiclass``/``multiclassova`` the probabilities;
everything else is a value.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ...shared.errors import InvalidInput
from ..flavours import Flavour
from ..trust import TrustPolicy
from . import artifacts
from .lightgbm_format import check
from .predictor import (CLASSIFICATION, REGRESSION, SMALL_BATCH, FrameworkModel, ModelInfo,
                        class_labels, two_columns)

if TYPE_CHECKING:  # pragma: no cover
    from ..export import MlflowTarget

EXTRA = "lightgbm"
_BINARY = ("binary",)
_MULTI = ("multiclass", "multiclassova", "softmax", "multiclass_ova", "ova", "ovr")


class LightGBMModel(FrameworkModel):
    """A loaded LightGBM booster behind scikit-learn's verbs."""

    flavour = "lightgbm"

    def __init__(self, booster: Any, info: ModelInfo) -> None:
        super().__init__(info)
        self.booster = booster
        #: column -> {label: code} of the features trained as pandas categories
        self._codes = {c: {v: float(i) for i, v in enumerate(labels)}
                       for c, labels in info.io.get("categories", {}).items()}

    def _inputs(self, X: Any) -> Any:
        """With categorical features: one float matrix, each label replaced by LightGBM's
        code for it (an unknown label is missing), instead of LightGBM's own pandas
        conversion, which costs more than the trees on one row."""
        if not self._codes or not isinstance(X, pd.DataFrame):
            return super()._inputs(X)
        names = self.info.features or list(X.columns)
        out = np.empty((len(X), len(names)), dtype=np.float64)
        for j, name in enumerate(names):
            try:
                column = X[name]
            except KeyError:
                raise InvalidInput(f"The lightgbm model needs column {name!r}, which the "
                                   "input does not have.",
                                   f"Pass a frame with the columns {', '.join(names)}.") \
                    from None
            codes = self._codes.get(name)
            if codes is None:
                out[:, j] = column.to_numpy(dtype=np.float64)
            elif len(column) <= SMALL_BATCH:
                out[:, j] = [codes.get(v, np.nan) for v in column.tolist()]
            else:
                labels = list(codes)
                index = pd.Categorical(column, categories=labels).codes.astype(np.float64)
                index[index < 0] = np.nan
                out[:, j] = index
        return out

    def _scores(self, X: Any) -> np.ndarray:
        threads = 1 if len(X) <= SMALL_BATCH else 0
        raw = np.asarray(self.booster.predict(X, num_threads=threads))
        return two_columns(raw) if self.info.output == "p1" else raw


def _booster_of(model: Any, what: str) -> Any:
    import lightgbm as lgb
    if isinstance(model, lgb.Booster):
        return model
    try:
        return model.booster_
    except Exception:  # sklearn's NotFittedError
        raise InvalidInput(f"{what} holds a {type(model).__name__} that is not fitted.",
                           "Call fit(X_train, y_train) before registering it.") from None


class LightGBMFlavour(Flavour):
    """LightGBM's scikit-learn wrappers and Boosters, in LightGBM's model text."""

    name = "lightgbm"
    filename = "model.txt"
    extra = EXTRA
    mlflow_flavour = "lightgbm"
    mlflow_packages = ("lightgbm", "numpy", "scipy")

    def matches(self, model: Any) -> bool:
        return type(model).__module__.startswith("lightgbm.") or \
            isinstance(model, LightGBMModel)

    def prepare(self, model: Any, example: Any = None, what: str = "The model",
                policy: TrustPolicy | None = None) -> LightGBMModel:
        if isinstance(model, LightGBMModel):
            return model
        artifacts.require("lightgbm", EXTRA, what)
        booster = _booster_of(model, what)
        data = booster.model_to_string().encode("utf-8")
        header = check(data, what)
        classes: list[Any] | None = None
        task, output = REGRESSION, "value"
        if header.objective in _BINARY or header.objective in _MULTI:
            task = CLASSIFICATION
            output = "p1" if header.objective in _BINARY else "probabilities"
            wrapper_classes = getattr(model, "classes_", None)
            classes = class_labels(wrapper_classes) if wrapper_classes is not None else \
                list(range(2 if output == "p1" else header.num_class))
        from ..describe import estimator_params
        params = estimator_params(model) if callable(getattr(model, "get_params", None)) \
            else {k: v for k, v in (booster.params or {}).items()
                  if isinstance(v, (int, float, str, bool))}
        names = header.feature_names
        io = {"categories": {names[i]: labels for i, labels in
                             zip(header.categorical, header.categories)}} \
            if names and header.categorical else {}
        info = ModelInfo(task=task, features=names or None, classes=classes, io=io,
                         output=output, params=params,
                         trained_as=f"{type(model).__module__}.{type(model).__qualname__}")
        return _loaded(data, info)

    def save(self, model: LightGBMModel, folder: Path) -> Path:
        data = model.booster.model_to_string().encode("utf-8")
        return artifacts.write(folder, self.filename, data, model.info)

    def digest(self, folder: Path) -> str:
        return artifacts.digest(folder, self.filename)

    def load(self, folder: Path, policy: TrustPolicy, allow_unsafe: bool = False,
             what: str = "The artifact", digest: str | None = None,
             model: str | None = None) -> LightGBMModel:
        artifacts.require("lightgbm", EXTRA, what)
        data, info = artifacts.read(folder, self.filename, digest, what)
        check(data, what)
        return _loaded(data, info)

    def to_mlflow(self, model: LightGBMModel, target: "MlflowTarget") -> None:
        """MLflow's lightgbm flavour with the Booster in LightGBM's model text (MLflow keeps
        a scikit-learn wrapper only as a skops or pickle file of the whole object, which
        needs its training state): its ``predict`` gives what the booster gives, P(class 1)
        for a binary classifier, the probabilities for a multiclass one."""
        import mlflow.lightgbm
        target.refuse_categories(list(model.info.io.get("categories", {})), "lightgbm")
        mlflow.lightgbm.save_model(
            model.booster, str(target.path), signature=target.column_signature(),
            input_example=target.example, pip_requirements=target.requirements,
            metadata=target.metadata)

    def library_versions(self) -> dict[str, str]:
        import lightgbm
        return {"lightgbm": lightgbm.__version__}


def _loaded(data: bytes, info: ModelInfo) -> LightGBMModel:
    """A booster built from the checked text (never from a path)."""
    import lightgbm as lgb
    return LightGBMModel(lgb.Booster(model_str=data.decode("utf-8")), info)


#: the instance the flavour registry names
FLAVOUR = LightGBMFlavour()
