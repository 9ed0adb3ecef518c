"""Metrics of a trained model on its held-out split, per task.

The task (classification or regression) is read from the label: booleans, strings,
categories and integers with few distinct values are classes; other numbers are a regression
target. Extra metrics are scikit-learn scorer names (``balanced_accuracy``,
``neg_log_loss``…) or metric function names (``mean_absolute_percentage_error``…); a metric
that does not fit the task is refused before anything is trained or registered.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from ..shared.errors import InvalidInput
from ..shared.jsonsafe import plain

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)

#: metrics every evaluation computes (roc_auc only when the model gives probabilities)
DEFAULT_METRICS = {
    CLASSIFICATION: ["accuracy", "precision", "recall", "f1", "roc_auc"],
    REGRESSION: ["rmse", "mae", "r2"],
}
#: an integer label with at most this many distinct values is a class label
MAX_CLASSES = 20

_LOWER_IS_BETTER = {"rmse", "mae", "mse", "log_loss", "brier_score", "max_error", "mape"}
_LOWER_WORDS = ("error", "loss", "deviance", "latency", "rmse", "mae", "mse")
_CLASSIFICATION_MODULES = ("sklearn.metrics._classification", "sklearn.metrics._ranking",
                           "sklearn.metrics._scorer")
_REGRESSION_MODULES = ("sklearn.metrics._regression",)


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` means a better model.

    scikit-learn scorer names are "greater is better" by convention (hence ``neg_…``); errors,
    losses and deviances are better when lower.
    """
    name = metric.lower()
    if name.startswith("neg_"):
        return True
    if name in _LOWER_IS_BETTER:
        return False
    return not any(word in name for word in _LOWER_WORDS)


def infer_task(y: Any) -> str:
    """``classification`` or ``regression`` from the label's dtype and cardinality."""
    s = y.iloc[:, 0] if isinstance(y, pd.DataFrame) else pd.Series(np.asarray(y).ravel()) \
        if not isinstance(y, pd.Series) else y
    s = s.dropna()
    if (pd.api.types.is_bool_dtype(s) or pd.api.types.is_object_dtype(s)
            or isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s)):
        return CLASSIFICATION
    if pd.api.types.is_integer_dtype(s):
        return CLASSIFICATION if s.nunique() <= MAX_CLASSES else REGRESSION
    if pd.api.types.is_float_dtype(s):
        integral = len(s) > 0 and bool(np.all(np.mod(s.to_numpy(), 1) == 0))
        return CLASSIFICATION if integral and s.nunique() <= 2 else REGRESSION
    return REGRESSION


@dataclass
class ExtraMetric:
    """A metric the user asked for: how to compute it and for which task."""

    name: str
    task: str
    compute: Callable[[Any, Any, Any], float]


def _scorer_metric(name: str) -> ExtraMetric | None:
    from sklearn.metrics import get_scorer, get_scorer_names
    if name not in get_scorer_names():
        return None
    scorer = get_scorer(name)
    return ExtraMetric(name, _task_of(name, getattr(scorer, "_score_func", None)),
                       lambda model, X, y: float(scorer(model, X, y)))


def _function_metric(name: str) -> ExtraMetric | None:
    import sklearn.metrics as skm
    from sklearn.metrics import get_scorer, get_scorer_names
    fn = getattr(skm, name, None)
    if not callable(fn) or isinstance(fn, type) or name.startswith("get_") or \
            name in ("make_scorer", "check_scoring"):
        return None
    # a function with a scorer (e.g. log_loss -> neg_log_loss) knows its response method
    for scorer_name in get_scorer_names():
        scorer = get_scorer(scorer_name)
        if getattr(scorer, "_score_func", None) is fn and not getattr(scorer, "_kwargs", None):
            sign = getattr(scorer, "_sign", 1)
            return ExtraMetric(name, _task_of(name, fn),
                               lambda model, X, y, s=scorer, k=sign: float(k * s(model, X, y)))
    return ExtraMetric(name, _task_of(name, fn),
                       lambda model, X, y: float(fn(y, model.predict(X))))


def _task_of(name: str, fn: Any) -> str:
    module = getattr(fn, "__module__", "") or ""
    if module.startswith(_CLASSIFICATION_MODULES):
        return CLASSIFICATION
    if module.startswith(_REGRESSION_MODULES):
        return REGRESSION
    if module.startswith("sklearn.metrics.cluster"):
        return "clustering"
    return CLASSIFICATION if "likelihood" in name else "unknown"


def resolve_metrics(names: Iterable[str], task: str) -> list[ExtraMetric]:
    """The extra metrics ``names`` for ``task``; an unknown name or one for another task is an
    :class:`InvalidInput` (raised before any work is done)."""
    if task not in TASKS:
        raise InvalidInput(f"Unknown task {task!r}.", f"Use one of: {', '.join(TASKS)}.")
    out = []
    for name in names:
        if name in DEFAULT_METRICS[task]:
            continue  # computed anyway
        if name in DEFAULT_METRICS[REGRESSION if task == CLASSIFICATION else CLASSIFICATION]:
            raise InvalidInput(
                f"Metric {name!r} is a {_other(task)} metric, but this label makes a {task} task.",
                f"Use a {task} metric ({', '.join(DEFAULT_METRICS[task])}, or a scikit-learn "
                f"scorer name), or check the label.")
        metric = _scorer_metric(name) or _function_metric(name)
        if metric is None:
            raise InvalidInput(
                f"Unknown metric {name!r}.",
                "Use a scikit-learn scorer name (sklearn.metrics.get_scorer_names()) or a "
                "function name from sklearn.metrics.")
        if metric.task != task:
            raise InvalidInput(
                f"Metric {name!r} is a {metric.task} metric, but this label makes a {task} task.",
                f"Use a {task} metric, e.g. {', '.join(DEFAULT_METRICS[task])}.")
        out.append(metric)
    return out


def _other(task: str) -> str:
    return REGRESSION if task == CLASSIFICATION else CLASSIFICATION


def metric_names(task: str, extra: Iterable[str] = ()) -> list[str]:
    """Every metric name an evaluation for ``task`` with ``extra`` metrics will report."""
    return list(dict.fromkeys([*DEFAULT_METRICS[task], *extra]))


@dataclass
class Evaluation:
    """The result of :func:`evaluate`: scalar ``metrics`` and non-scalar ``details``."""

    task: str
    metrics: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)


def evaluate(model: Any, X_test: Any, y_test: Any, task: str | None = None,
             extra: Iterable[str] = ()) -> Evaluation:
    """Evaluate ``model`` on the held-out ``X_test, y_test``."""
    task = task or infer_task(y_test)
    extras = resolve_metrics(extra, task)
    y_true = y_test.iloc[:, 0] if isinstance(y_test, pd.DataFrame) and y_test.shape[1] == 1 \
        else y_test
    if len(y_true) == 0:
        raise InvalidInput("The held-out split is empty, so the model cannot be evaluated.",
                           "Use a larger --test-size or add rows to the feature view.")
    try:
        y_pred = model.predict(X_test)
    except Exception as exc:
        raise InvalidInput(f"The model failed to predict on the held-out split "
                           f"({type(exc).__name__}: {exc}).",
                           "Train it on X_train as given (same columns).") from None
    if task == CLASSIFICATION:
        metrics, details = _classification(model, X_test, y_true, y_pred)
    else:
        metrics, details = _regression(y_true, y_pred)
    for metric in extras:
        try:
            metrics[metric.name] = metric.compute(model, X_test, y_true)
        except Exception as exc:
            details.setdefault("skipped", {})[metric.name] = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"The metric {metric.name!r} could not be computed for this model "
                          f"({type(exc).__name__}: {exc}); it is not among the version's "
                          "metrics.", stacklevel=2)
    metrics = {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)}
    details["n_test"] = int(len(y_true))
    return Evaluation(task, metrics, details)


def _classification(model: Any, X: Any, y_true: Any, y_pred: Any) -> tuple[dict, dict]:
    from sklearn import metrics as skm
    classes = list(getattr(model, "classes_", []))
    if not classes:
        classes = sorted(set(pd.Series(y_true).tolist()) | set(pd.Series(y_pred).tolist()))
    binary = len(classes) == 2
    avg: dict[str, Any] = ({"average": "binary", "pos_label": classes[1]} if binary
                           else {"average": "weighted"})
    out = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "precision": skm.precision_score(y_true, y_pred, zero_division=0, **avg),
        "recall": skm.recall_score(y_true, y_pred, zero_division=0, **avg),
        "f1": skm.f1_score(y_true, y_pred, zero_division=0, **avg),
    }
    details: dict[str, Any] = {
        "labels": [plain(c) for c in classes],
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=classes).tolist(),
        "average": avg["average"],
    }
    if binary:
        details["positive_label"] = plain(classes[1])
    if hasattr(model, "predict_proba"):
        try:
            proba = np.asarray(model.predict_proba(X))
            if binary:
                out["roc_auc"] = skm.roc_auc_score(np.asarray(y_true) == classes[1], proba[:, 1])
            else:
                out["roc_auc"] = skm.roc_auc_score(y_true, proba, multi_class="ovr",
                                                   average="weighted", labels=classes)
        except ValueError as exc:  # e.g. one class only in the held-out split
            details.setdefault("skipped", {})["roc_auc"] = str(exc)
    return out, details


def _regression(y_true: Any, y_pred: Any) -> tuple[dict, dict]:
    from sklearn import metrics as skm
    mse = skm.mean_squared_error(y_true, y_pred)
    return {"rmse": math.sqrt(mse), "mae": skm.mean_absolute_error(y_true, y_pred),
            "r2": skm.r2_score(y_true, y_pred)}, {}
