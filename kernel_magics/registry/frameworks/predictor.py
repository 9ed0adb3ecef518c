"""What every framework flavour serves: a trained model behind scikit-learn's verbs.

A :class:`FrameworkModel` holds the framework's own object (a booster, an inference session)
and what Lakebook keeps beside it (:class:`ModelInfo`: the input columns, the class labels,
the task, the parameters). Classifiers compute probabilities once and take the label as the
most probable class, so a deployment gets both from one call.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ...shared.errors import InvalidInput
from ...shared.jsonsafe import plain

CLASSIFICATION = "classification"
REGRESSION = "regression"
#: at most this many rows are scored on one thread (one row on several threads costs more
#: in hand-offs than it gains); larger inputs use the library's default
SMALL_BATCH = 1000


@dataclass
class ModelInfo:
    """What Lakebook records beside a framework's model file (``model_info.json``)."""

    task: str
    #: the input columns in training order (None: positional inputs)
    features: list[str] | None = None
    #: class labels in the order of the probability columns (classifiers)
    classes: list[Any] | None = None
    #: how the model's raw output becomes predictions (the flavour's own word)
    output: str = "value"
    params: dict[str, Any] = field(default_factory=dict)
    #: the class the user trained (e.g. ``xgboost.sklearn.XGBClassifier``)
    trained_as: str = ""
    #: how the framework's inputs and outputs are wired (flavour-specific, e.g. ONNX names)
    io: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return plain(asdict(self))

    @classmethod
    def from_json(cls, data: Any, what: str) -> "ModelInfo":
        from ...shared.errors import UnsafeArtifact
        if not isinstance(data, dict) or data.get("task") not in (CLASSIFICATION, REGRESSION):
            raise UnsafeArtifact(f"{what}: its model_info.json is not a model description.",
                                 "Register the model again.")
        known = {k: data[k] for k in ("task", "features", "classes", "output", "params",
                                      "trained_as", "io") if k in data}
        info = cls(**known)
        if info.features is not None and not (isinstance(info.features, list) and all(
                isinstance(f, str) for f in info.features)):
            raise UnsafeArtifact(f"{what}: its feature names are not a list of names.",
                                 "Register the model again.")
        if info.classes is not None and not isinstance(info.classes, list):
            raise UnsafeArtifact(f"{what}: its class labels are not a list.",
                                 "Register the model again.")
        return info


def class_labels(values: Any) -> list[Any]:
    """Class labels as plain JSON values (NumPy scalars become Python ones)."""
    return [plain(v.item() if hasattr(v, "item") else v) for v in list(values)]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def two_columns(p1: np.ndarray) -> np.ndarray:
    """``[P(class 0), P(class 1)]`` from a binary model's P(class 1)."""
    p1 = np.asarray(p1, dtype=np.float64).reshape(-1)
    return np.column_stack([1.0 - p1, p1])


class FrameworkModel:
    """A trained model of another framework with scikit-learn's predicting verbs.

    ``predict`` and ``predict_proba`` take a DataFrame, a 2-D array or a mapping of column
    -> values (``{"amount": [12.5], "category": ["food"]}``: what a deployment holds for
    one request, scored without building a DataFrame).

    Subclasses implement :meth:`_scores`: class probabilities of shape ``(n, classes)``
    for a classifier, predicted values of shape ``(n,)`` for a regressor (or, for a
    classifier without probabilities, class indexes).
    """

    #: the flavour that saves and loads it
    flavour = ""
    #: predict() is the most probable class by construction (one call gives both)
    _lakebook_argmax = True
    #: predict()/predict_proba() take a mapping of column -> values (deployments use it)
    takes_columns = True

    def __init__(self, info: ModelInfo, categories: dict[str, list[Any]] | None = None
                 ) -> None:
        self.info = info
        #: column -> {label: code} of the features trained as categories, in the framework's
        #: code order (recorded at training, not re-derived from the rows scored)
        self._codes = {c: {v: float(i) for i, v in enumerate(labels)}
                       for c, labels in (categories or {}).items()}
        self._numeric: dict[tuple, bool] = {}
        self._text: dict[tuple, list[str]] = {}
        #: per input column in training order: its label -> code map (None: a number)
        self._plan = [self._codes.get(c) for c in info.features] if info.features else None

    # -- scikit-learn's attributes ---------------------------------------------------------
    @property
    def is_classifier(self) -> bool:
        return self.info.task == CLASSIFICATION

    @property
    def gives_proba(self) -> bool:
        """Whether the model yields class probabilities (not only labels)."""
        return self.is_classifier and self.info.output != "label"

    @property
    def classes_(self) -> np.ndarray:
        if not self.is_classifier:
            raise AttributeError(f"{type(self).__name__} is a regressor: it has no classes_")
        return np.asarray(self.info.classes, dtype=object if any(
            isinstance(c, str) for c in self.info.classes) else None)

    @property
    def feature_names_in_(self) -> np.ndarray:
        if not self.info.features:
            raise AttributeError("the model was trained on positional inputs")
        return np.asarray(self.info.features, dtype=object)

    @property
    def n_features_in_(self) -> int | None:
        return len(self.info.features) if self.info.features else None

    @property
    def _estimator_type(self) -> str:
        return "classifier" if self.is_classifier else "regressor"

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's description of the estimator (its scorers, e.g. ``--metric
        average_precision``, read it to pick the response method)."""
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags
        return Tags(estimator_type=self._estimator_type, target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags() if self.is_classifier else None,
                    regressor_tags=None if self.is_classifier else RegressorTags())

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The framework's training parameters, as recorded at registration."""
        return dict(self.info.params)

    # -- predicting ------------------------------------------------------------------------
    def predict(self, X: Any) -> np.ndarray:
        """Class labels (classifiers) or values (regressors) for ``X``."""
        scores = self._scores(self._inputs(X))
        if not self.is_classifier:
            return np.asarray(scores).reshape(-1)
        classes = np.asarray(self.info.classes, dtype=object)
        index = scores.argmax(axis=1) if self.gives_proba else \
            np.asarray(scores).reshape(-1).astype(np.int64)
        labels = classes[index]
        return labels.astype(type(self.info.classes[0])) if len(labels) and not isinstance(
            self.info.classes[0], str) else labels

    @property
    def predict_proba(self):
        """Class probabilities, one column per ``classes_`` (classifiers that have them)."""
        if not self.gives_proba:
            raise AttributeError(f"this {self.flavour} model gives no class probabilities")
        return self._predict_proba

    def _predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self._scores(self._inputs(X)), dtype=np.float64)
    # scikit-learn's scorers tell probabilities from scores by the method's name
    _predict_proba.__name__ = _predict_proba.__qualname__ = "predict_proba"

    def _scores(self, X: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _inputs(self, X: Any) -> Any:
        """``X`` as the framework takes it: one contiguous float matrix when every input is
        a number or a category whose training labels are known (each label replaced by the
        framework's code for it: the fast path, instead of the framework's own pandas
        conversion, which costs more than the trees on one row). A label the model never
        saw in training is missing, as in the library's predict on a frame whose categories
        are the training ones. The DataFrame otherwise (categories without recorded labels,
        text where a number belongs: the library judges)."""
        if isinstance(X, Mapping):
            matrix = self._coded(X, self._column_names(X))
            if matrix is not None:
                return matrix
            X = pd.DataFrame({c: list(X[c]) for c in self._column_names(X)})
        if isinstance(X, pd.DataFrame):
            names = self._column_names(X)
            if self._codes:
                matrix = self._coded(X, names)
                if matrix is not None:
                    return matrix
            if names and list(X.columns) != names:
                X = X[names]
            key = tuple(X.dtypes)
            text = self._text.get(key)
            if text is None:  # once per column types: which columns are words, not numbers
                text = self._text[key] = [
                    c for c, t in X.dtypes.items() if not pd.api.types.is_numeric_dtype(t)
                    and not isinstance(t, pd.CategoricalDtype)]
                self._numeric[key] = all(pd.api.types.is_numeric_dtype(t) for t in key)
            if self._numeric[key]:
                return X.to_numpy(dtype=np.float64)
            # the view gives text; the boosters were trained on pandas categories, whose
            # labels they map back to their own codes (LightGBM's pandas_categorical)
            return X.astype({c: "category" for c in text}) if text else X
        arr = np.asarray(X)
        return arr.reshape(1, -1) if arr.ndim == 1 else arr

    def _column_names(self, X: Any) -> list[str]:
        """The model's input columns, checked against those ``X`` has (named if missing)."""
        names = self.info.features
        if not names:
            return list(X.keys() if isinstance(X, Mapping) else X.columns)
        have = X if isinstance(X, Mapping) else X.columns
        missing = [c for c in names if c not in have]
        if missing:
            raise InvalidInput(
                f"The {self.flavour} model needs column(s) {', '.join(missing)}, "
                "which the input does not have.",
                f"Pass a frame with the columns {', '.join(names)}.")
        return names

    def _coded(self, X: Any, names: list[str]) -> np.ndarray | None:
        """The float matrix of ``X`` (a DataFrame or a mapping of column -> values), each
        category label as its training code (an unseen label or a null: NaN, missing); None
        when the framework's own conversion must judge (text where a number belongs)."""
        if self._plan is None or names != self.info.features:
            return None
        columns = [X[c] for c in names]
        n = len(columns[0]) if columns else 0
        try:
            if n <= SMALL_BATCH:
                return self._coded_rows(columns, n)
            return self._coded_columns(columns, n)
        except (TypeError, ValueError):  # text where a number belongs: the library judges
            return None

    def _coded_rows(self, columns: list[Any], n: int) -> np.ndarray:
        """A few rows (one online request), value by value."""
        out = []
        for codes, values in zip(self._plan, columns):
            if isinstance(values, pd.Series):
                values = values.tolist()
            if codes is None:
                out.append(values)
                continue
            out.append([codes.get(v, np.nan) for v in values])
        matrix = np.array(out, dtype=np.float64).reshape(len(out), n).T
        return matrix if n <= 1 else np.ascontiguousarray(matrix)

    def _coded_columns(self, columns: list[Any], n: int) -> np.ndarray:
        """Many rows (a batch), column by column, into a column-major matrix: each column is
        written contiguously (six times faster than strided writes into rows at 1M x 18),
        and XGBoost and LightGBM read that layout as it is."""
        out = np.empty((n, len(columns)), dtype=np.float64, order="F")
        for j, (codes, values) in enumerate(zip(self._plan, columns)):
            if codes is None:
                out[:, j] = values.to_numpy(dtype=np.float64) if isinstance(
                    values, pd.Series) else np.asarray(values, dtype=np.float64)
                continue
            index = pd.Categorical(values, categories=list(codes)).codes
            out[:, j] = index
            out[index < 0, j] = np.nan
        return out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.info.task}, "
                f"{len(self.info.features or [])} features"
                + (f", classes={self.info.classes}" if self.is_classifier else "") + ")")

