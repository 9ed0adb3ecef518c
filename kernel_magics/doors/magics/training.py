"""The body of ``%%training``: data in, cell run, model evaluated, registered and shown.

Everything the user can get wrong (view, label, metric, alias) is checked before the cell
runs; the estimator is checked (present, fitted) before anything is written, so a failed
training cell leaves the registry as it was.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...shared.errors import InvalidInput, NotFound
from ...registry.evaluation import (Evaluation, evaluate, higher_is_better, infer_task, metric_names,
                         resolve_metrics)
from ...registry.api import ModelVersion
from ...shared.names import validate_alias, validate_name

#: the alias the card compares against, and --promote-if-better moves by default
DEFAULT_ALIAS = "production"


@dataclass
class TrainingResult:
    """What a ``%%training`` cell leaves behind (its output shows as a compact card)."""

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

    def _repr_html_(self) -> str:
        return training_card(self)

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


def _names_in(shell: Any, code: str) -> set[str]:
    """Every name the cell's code mentions (after IPython's own transformations)."""
    import ast
    tree = ast.parse(shell.transform_cell(code))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def training_cell(lh: Any, shell: Any, args: Any, cell_code: str) -> TrainingResult:
    """Run a ``%%training`` cell (``args`` as declared in :mod:`kernel_magics.doors.magics`)."""
    from ...shared.identity import run_cell_code, step_identity

    started = time.perf_counter()
    name = validate_name(args.name, "model")
    if not 0 < args.test_size < 1:
        raise InvalidInput(f"--test-size {args.test_size} is not a share between 0 and 1.",
                           "Use e.g. --test-size 0.2.")
    alias = args.alias
    if args.promote_if_better and alias is None:
        alias = DEFAULT_ALIAS
    if alias is not None:
        validate_alias(alias)

    view = lh.feature_view(args.view, args.view_version)
    label, labels = _pick_label(view, getattr(args, "label", None))
    split = view.train_test_split(test_size=args.test_size, by_time=args.split_by_time,
                                  seed=args.seed)
    X_train, X_test, y_train, y_test = split
    y_train, y_test = _one_column(y_train, label), _one_column(y_test, label)
    if len(X_train) == 0:
        raise InvalidInput(f"Feature view {view.name!r} gives no training rows.",
                           "Insert label rows into its spine, or widen the time window.")

    task = getattr(args, "task", None) or infer_task(y_train)
    resolve_metrics(args.metric, task)  # an unknown or misfit metric stops here
    reported = metric_names(task, args.metric)
    promote_metric = args.promote_if_better
    if promote_metric and promote_metric not in reported:
        raise InvalidInput(
            f"--promote-if-better {promote_metric}: that metric is not computed for this "
            f"{task} model.", f"Use one of {', '.join(reported)} (or add it with --metric).")

    ns = shell.user_ns
    given = {"X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test,
             "train_df": split.train_df, "test_df": split.test_df}
    ns.update(given)
    before = ns.get(args.model)
    run_cell_code(shell, cell_code)  # the user's errors surface with their own traceback

    if (before is not None and ns.get(args.model) is before
            and args.model not in _names_in(shell, cell_code)):
        # the cell never touched `model`: what is there was trained by an earlier cell
        raise InvalidInput(f"The training cell for model {name!r} never uses {args.model!r}; "
                           f"the {args.model} in the namespace comes from an earlier cell, so "
                           "nothing was registered.",
                           f"Train and assign the estimator in this cell ({args.model} = ...), "
                           "or name the variable with --model VAR.")
    if args.model not in ns:
        raise InvalidInput(f"The training cell for model {name!r} did not leave a variable "
                           f"{args.model!r}, so nothing was registered.",
                           f"Assign the trained estimator to {args.model} "
                           "(or name the variable with --model VAR).")
    model = ns[args.model]
    _check_trained(model, args.model, name)
    evaluation = evaluate(model, X_test, y_test, task=task, extra=args.metric)

    baseline = _current(lh, name, alias or DEFAULT_ALIAS)
    identity = step_identity(cell_code, ns, step=name)
    lineage = {**identity, "label": label, "labels": labels,
               "split": {"test_size": args.test_size, "by_time": bool(args.split_by_time),
                         "seed": args.seed, "train_rows": int(len(X_train)),
                         "test_rows": int(len(X_test))},
               "training_seconds": round(time.perf_counter() - started, 3)}
    mv = lh.registry.register(
        model, name, metrics=evaluation.metrics, view=view, input_example=X_train,
        training_versions=dict(getattr(split, "versions", None) or {}), lineage=lineage,
        task=task, evaluation=evaluation.details)

    promoted: bool | None = None
    note = ""
    if promote_metric:
        promoted, note = lh.registry.promote_if_better(name, mv.version, promote_metric,
                                                       alias=alias)
        if promoted:
            mv = lh.registry.get(name, mv.version)
    elif alias is not None:
        mv = lh.registry.set_alias(name, alias, mv.version, reason="%%training --alias")
        promoted = True
    return TrainingResult(mv, evaluation, baseline=baseline, alias=alias, promoted=promoted,
                          promotion_note=note, duration_s=time.perf_counter() - started,
                          estimator=type(model).__name__,
                          namespace_vars=list(given))


def _check_trained(model: Any, var: str, name: str) -> None:
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted
    if isinstance(model, BaseEstimator):
        try:
            check_is_fitted(model)
        except NotFittedError:
            raise InvalidInput(f"{var} holds a {type(model).__name__} that is not fitted, so "
                               f"model {name!r} was not registered.",
                               f"Call {var}.fit(X_train, y_train) in the cell.") from None
    elif not callable(getattr(model, "predict", None)):
        raise InvalidInput(f"{var} holds a {type(model).__name__}, not a trained model "
                           "(it has no predict method).",
                           f"Assign the fitted estimator to {var}.")


def _current(lh: Any, name: str, alias: str) -> ModelVersion | None:
    try:
        return lh.registry.get(name, alias=alias)
    except NotFound:
        return None


def training_card(result: TrainingResult) -> str:
    """The compact card a ``%%training`` cell shows."""
    from ...render.html import Raw, badge, card, table
    mv, base = result.model_version, result.baseline
    rows: list[tuple[str, Any]] = [("task", f"{result.evaluation.task} on "
                                    f"{result.evaluation.details.get('n_test', '?')} held-out rows")]
    columns = ["metric", f"v{mv.version}"]
    if base is not None:
        columns += [f"{result.alias or DEFAULT_ALIAS} (v{base.version})", "change"]
    metric_rows = []
    for key, value in result.metrics.items():
        row: list[Any] = [key, f"{value:.4g}"]
        if base is not None:
            old = base.metrics.get(key)
            if old is None:
                row += ["–", ""]
            else:
                delta = value - old
                good = (delta > 0) == higher_is_better(key) and delta != 0
                colour = "#2e7d32" if good else ("#c62828" if delta else "inherit")
                row += [f"{old:.4g}", Raw(f"<span style='color:{colour}'>{delta:+.4g}</span>")]
        metric_rows.append(row)
    rows.append(("metrics", Raw(table(columns, metric_rows))))
    if result.alias:
        if result.promoted:
            rows.append(("alias", Raw(badge(result.alias, "#2e7d32") +
                                      (f" moved ({result.promotion_note})"
                                       if result.promotion_note else " set"))))
        else:
            rows.append(("alias", f"{result.alias} not moved: {result.promotion_note}"))
    if mv.view:
        pins = ", ".join(f"{t}@{v}" for t, v in sorted(mv.training_versions.items()))
        rows.append(("trained on", f"{mv.view['name']} v{mv.view.get('version')}"
                     + (f" ({pins})" if pins else "")))
    split = mv.lineage.get("split") or {}
    if split:
        rows.append(("split", f"{split.get('train_rows')} train / {split.get('test_rows')} "
                     f"test" + (" by time" if split.get("by_time") else
                                f", seed {split.get('seed')}")))
    if mv.lineage.get("notebook"):
        rows.append(("notebook", mv.lineage["notebook"]))
    rows.append(("time taken", f"{result.duration_s:.2f} s"))
    return card(f"{mv.name} v{mv.version} registered", rows, subtitle=result.estimator)
