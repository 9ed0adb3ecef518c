"""Training a model on a feature view and registering it: what ``%%training`` does, as an API.

Two steps, so the user's own training code runs in between (in a notebook cell, or anywhere):

1. :meth:`~kernel_magics.registry.api.ModelRegistry.plan_training` checks everything the user
   can get wrong (name, view, label, metrics, alias, test size) and splits the view's training
   data — before any code runs, so a mistake costs nothing;
2. :meth:`TrainingPlan.register` checks the trained estimator, evaluates it on the held-out
   split, registers the version with its lineage (view, the pinned Delta versions, label,
   split, the code's identity) and moves the alias (only when it beats the current version,
   with ``promote_if_better``). Nothing is written when the estimator is missing or unfitted.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..shared.errors import InvalidInput, NotFound
from ..shared.identity import caller_identity
from ..shared.names import validate_alias, validate_name
from .evaluation import (Evaluation, evaluate, higher_is_better, infer_task, metric_names,
                         resolve_metrics)
from .flavours import flavour_for, get_flavour
from .trust import TrustPolicy
from .versions import ModelVersion

if TYPE_CHECKING:  # pragma: no cover
    from ..features.splits import TrainTestSplit
    from .api import ModelRegistry

#: the alias a training compares against, and that promote_if_better moves by default
DEFAULT_ALIAS = "production"


@dataclass
class TrainingResult:
    """What a training registered (shown as a compact card in a notebook)."""

    model_version: ModelVersion
    evaluation: Evaluation
    baseline: ModelVersion | None = None
    alias: str | None = None
    promoted: bool | None = None
    promotion_note: str = ""
    duration_s: float = 0.0
    estimator: str = ""
    namespace_vars: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> dict[str, float]:
        return self.evaluation.metrics

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (the version, its evaluation, the baseline it was
        compared with, what happened to the alias)."""
        return {"model_version": self.model_version.to_dict(),
                "task": self.evaluation.task, "metrics": self.metrics,
                "evaluation": self.evaluation.details,
                "baseline": None if self.baseline is None else self.baseline.to_dict(),
                "alias": self.alias, "compared_alias": self.alias or DEFAULT_ALIAS,
                "directions": {m: "higher" if higher_is_better(m) else "lower"
                               for m in self.metrics},
                "promoted": self.promoted,
                "promotion_note": self.promotion_note, "duration_s": self.duration_s,
                "estimator": self.estimator, "namespace_vars": self.namespace_vars}

    def _repr_html_(self) -> str:
        from ..render.registry import training_card
        return training_card(self.to_dict())

    def __repr__(self) -> str:
        mv = self.model_version
        return (f"TrainingResult({mv.name!r} v{mv.version}, "
                f"{', '.join(f'{k}={v:.4g}' for k, v in self.metrics.items())})")


def _pick_label(view: Any, wanted: str | None) -> tuple[str, list[str]]:
    labels = list(getattr(view, "labels", None) or [])
    where = f"feature view {view.name!r} (version {view.version})"
    if not labels:
        raise InvalidInput(f"The {where} has no label, so there is nothing to train on.",
                           "Create a view version with label=... (the column to predict).")
    if wanted is not None:
        if wanted not in labels:
            raise InvalidInput(f"Label {wanted!r} is not in the {where}.",
                               f"Its labels: {', '.join(labels)}.")
        return wanted, labels
    if len(labels) > 1:
        raise InvalidInput(f"The {where} has several labels ({', '.join(labels)}).",
                           "Choose one with --label NAME.")
    return labels[0], labels


def _one_column(y: Any, label: str) -> Any:
    if isinstance(y, pd.DataFrame):
        if label not in y.columns:
            raise InvalidInput(f"The training data has no column for label {label!r}.",
                               "Check the feature view's label.")
        return y[label]
    return y


@dataclass
class TrainingPlan:
    """A checked training of model ``name`` on a view: the split to train on (``X_train``,
    ``X_test``, ``y_train``, ``y_test``, ``train_df``, ``test_df``) and what registering will
    do. Get it from ``lh.registry.plan_training(...)``."""

    registry: "ModelRegistry"
    name: str
    view: Any
    split: "TrainTestSplit"
    label: str
    labels: list[str]
    task: str
    extra_metrics: list[str]
    alias: str | None
    promote_metric: str | None
    test_size: float
    by_time: bool
    seed: int
    started: float = field(default_factory=time.perf_counter)
    #: the flavour to register with (None: detected from the trained model)
    flavour: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        """What the training code gets: ``X_train, X_test, y_train, y_test, train_df,
        test_df`` (``y_*`` the one label column)."""
        X_train, X_test, y_train, y_test = self.split
        return {"X_train": X_train, "X_test": X_test,
                "y_train": _one_column(y_train, self.label),
                "y_test": _one_column(y_test, self.label),
                "train_df": self.split.train_df, "test_df": self.split.test_df}

    def register(self, model: Any, identity: dict[str, Any] | None = None,
                 what: str = "model") -> TrainingResult:
        """Evaluate the trained ``model`` on the held-out split, register it as the next
        version of the plan's model (``identity``: where the training code came from, e.g.
        a cell's step identity; default: the caller's) and move the alias as planned.
        ``what`` names the estimator in errors (the variable holding it)."""
        data = self.data
        registry = self.registry
        # the flavour is detected from the model (or named by --flavour); what it keeps is
        # what is evaluated, so the metrics are those of the model that will be served
        chosen = flavour_for(model, self.flavour)
        kept = chosen.prepare(model, data["X_train"], what=what,
                              policy=TrustPolicy.with_types(registry.trusted_types(self.name)))
        check_trained(kept, what, self.name)
        evaluation = evaluate(kept, data["X_test"], data["y_test"], task=self.task,
                              extra=self.extra_metrics)
        baseline = _current(registry, self.name, self.alias or DEFAULT_ALIAS)
        lineage = {**(identity if identity is not None else caller_identity()),
                   "label": self.label, "labels": self.labels,
                   "split": {"test_size": self.test_size, "by_time": bool(self.by_time),
                             "seed": self.seed, "train_rows": int(len(data["X_train"])),
                             "test_rows": int(len(data["X_test"]))},
                   "training_seconds": round(time.perf_counter() - self.started, 3)}
        mv = registry.register(
            kept, self.name, metrics=evaluation.metrics, view=self.view, flavour=chosen.name,
            input_example=data["X_train"],
            training_versions=dict(getattr(self.split, "versions", None) or {}),
            lineage=lineage, task=self.task, evaluation=evaluation.details)
        promoted: bool | None = None
        note = ""
        if self.promote_metric:
            promoted, note = registry.promote_if_better(self.name, mv.version,
                                                        self.promote_metric, alias=self.alias)
            if promoted:
                mv = registry.get(self.name, mv.version)
        elif self.alias is not None:
            mv = registry.set_alias(self.name, self.alias, mv.version,
                                    reason="%%training --alias")
            promoted = True
        return TrainingResult(mv, evaluation, baseline=baseline, alias=self.alias,
                              promoted=promoted, promotion_note=note,
                              duration_s=time.perf_counter() - self.started,
                              estimator=type(model).__name__, namespace_vars=list(data))


def plan_training(registry: "ModelRegistry", name: str, view: Any,
                  view_version: int | None = None, label: str | None = None,
                  test_size: float = 0.2, by_time: bool = False, seed: int = 42,
                  metrics: list[str] | None = None, alias: str | None = None,
                  promote_if_better: str | None = None, task: str | None = None,
                  flavour: str | None = None) -> TrainingPlan:
    """See :meth:`~kernel_magics.registry.api.ModelRegistry.plan_training`."""
    started = time.perf_counter()
    name = validate_name(name, "model")
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) \
            or not 0 < test_size < 1:
        raise InvalidInput(f"--test-size {test_size} is not a share between 0 and 1.",
                           "Use e.g. --test-size 0.2.")
    if promote_if_better and alias is None:
        alias = DEFAULT_ALIAS
    if alias is not None:
        validate_alias(alias)
    fv = registry.lh.features.views.get(view, view_version)
    label, labels = _pick_label(fv, label)
    split = fv.train_test_split(test_size=test_size, by_time=by_time, seed=seed)
    y_train = _one_column(split[2], label)
    if len(split[0]) == 0:
        raise InvalidInput(f"Feature view {fv.name!r} gives no training rows.",
                           "Insert label rows into its spine, or widen the time window.")
    task = task or infer_task(y_train)
    extra = list(metrics or [])
    resolve_metrics(extra, task)  # an unknown or misfit metric stops here
    reported = metric_names(task, extra)
    if promote_if_better and promote_if_better not in reported:
        raise InvalidInput(
            f"--promote-if-better {promote_if_better}: that metric is not computed for this "
            f"{task} model.", f"Use one of {', '.join(reported)} (or add it with --metric).")
    if flavour is not None:
        get_flavour(flavour)  # an unknown name stops here, before any training
    return TrainingPlan(registry, name, fv, split, label, labels, task, extra, alias,
                        promote_if_better, float(test_size), bool(by_time), int(seed),
                        started=started, flavour=flavour)


def check_trained(model: Any, what: str, name: str) -> None:
    """Refuse an estimator that is not fitted or cannot predict (nothing is registered)."""
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted
    if isinstance(model, BaseEstimator):
        try:
            check_is_fitted(model)
        except NotFittedError:
            raise InvalidInput(f"{what} holds a {type(model).__name__} that is not fitted, so "
                               f"model {name!r} was not registered.",
                               f"Call {what}.fit(X_train, y_train) before registering it.") \
                from None
    elif not callable(getattr(model, "predict", None)):
        raise InvalidInput(f"{what} holds a {type(model).__name__}, not a trained model "
                           "(it has no predict method).", f"Assign the fitted estimator to {what}.")


def _current(registry: "ModelRegistry", name: str, alias: str) -> ModelVersion | None:
    try:
        return registry.get(name, alias=alias)
    except NotFound:
        return None
