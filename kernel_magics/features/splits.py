"""Training data split for a model: ``X_train, X_test, y_train, y_test`` from a view."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..shared.errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .views import FeatureView

#: the attribute of a read frame naming the Delta version read of every group
VERSIONS_ATTR = "lakebook_versions"


class TrainTestSplit(tuple):
    """``X_train, X_test, y_train, y_test`` with the full frames and provenance attached."""

    train_df: "pd.DataFrame"
    test_df: "pd.DataFrame"
    versions: dict[str, int]
    labels: list[str]
    task: str | None

    def __new__(cls, parts: tuple, **attrs: Any) -> "TrainTestSplit":
        obj = super().__new__(cls, parts)
        for k, v in attrs.items():
            setattr(obj, k, v)
        return obj


def train_test_split(view: "FeatureView", test_size: float = 0.2, by_time: bool = False,
                     seed: int = 42, start: Any = None, end: Any = None,
                     versions: dict[str, int] | None = None) -> TrainTestSplit:
    """``X_train, X_test, y_train, y_test`` from the view's training data (see
    :meth:`FeatureView.train_test_split`)."""
    import numpy as np

    if not view.labels:
        raise InvalidInput(f"Feature view {view.name!r} has no label.",
                           "Create a version with label='column' to split for training.")
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) \
            or not 0 < test_size < 1:
        raise InvalidInput(f"test_size={test_size!r} is not a fraction between 0 and 1.",
                           "Pass e.g. test_size=0.2.")
    df = view.training_data(start, end, versions)
    n = len(df)
    n_test = int(math.ceil(n * test_size))
    if n < 2 or n_test >= n:
        raise InvalidInput(f"Feature view {view.name!r} has {n} training row(s): too few "
                           f"to hold out {test_size:.0%}.",
                           "Insert more label events, widen start/end, or lower test_size.")
    if by_time:
        times = df[view.event_time]
        cut = times.iloc[n - n_test]  # rows are in time order
        test_mask = (times >= cut).to_numpy()
        if test_mask.all():
            test_mask = (times > cut).to_numpy()
    else:
        order = np.random.default_rng(seed).permutation(n)
        test_mask = np.zeros(n, dtype=bool)
        test_mask[order[:n_test]] = True
    train_df = df[~test_mask].reset_index(drop=True)
    test_df = df[test_mask].reset_index(drop=True)
    for part in (train_df, test_df):
        part.attrs = dict(df.attrs)
    y = (lambda d: d[view.labels[0]]) if len(view.labels) == 1 else \
        (lambda d: d[view.labels])
    return TrainTestSplit(
        (train_df[view.features], test_df[view.features], y(train_df), y(test_df)),
        train_df=train_df, test_df=test_df, versions=df.attrs[VERSIONS_ATTR],
        labels=list(view.labels), task=guess_task(df, view.labels))


def guess_task(df: "pd.DataFrame", labels: list[str]) -> str | None:
    """``classification`` for a bool/string/small-integer label, else ``regression``."""
    import pandas as pd

    if len(labels) != 1 or labels[0] not in df:
        return None
    y = df[labels[0]].dropna()
    if y.empty:
        return None
    if pd.api.types.is_bool_dtype(y) or pd.api.types.is_object_dtype(y) \
            or isinstance(y.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(y):
        return "classification"
    if pd.api.types.is_integer_dtype(y) or (pd.api.types.is_float_dtype(y)
                                            and (y == y.round()).all()):
        return "classification" if y.nunique() <= 20 else "regression"
    return "regression"
