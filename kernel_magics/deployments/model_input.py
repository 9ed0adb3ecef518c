"""A request's model inputs, as columns of values, in the form each model takes.

An online request holds a few rows as ``{column: [values]}``. A model that takes such a
mapping (the framework flavours: ``takes_columns``) gets it as it is; any other model (a
scikit-learn estimator or pipeline) gets a DataFrame, built only then: building a frame
column by column is the largest cost of a one-row request after the online lookup.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ModelInput:
    """The rows a request scores: ``data`` holds one list of values per column of
    ``columns`` (the model's inputs, in order)."""

    data: dict[str, list[Any]]
    columns: list[str]

    def __len__(self) -> int:
        return len(self.data[self.columns[0]]) if self.columns else 0

    def take(self, rows: Sequence[int]) -> "ModelInput":
        """The rows ``rows`` only (the rows one arm of a split scores)."""
        if len(rows) == len(self):
            return self
        return ModelInput({c: [values[i] for i in rows] for c, values in self.data.items()},
                          self.columns)

    def for_model(self, model: Any) -> Any:
        """What ``model`` (a deployment's ``LoadedModel``) predicts from: the mapping itself
        for an estimator that takes columns, else a DataFrame (see :func:`frame`)."""
        if getattr(model.estimator, "takes_columns", False):
            return self.data
        return frame(self.data, self.columns, model.input_types)

    def frame(self, input_types: dict[str, str] | None = None) -> pd.DataFrame:
        """The rows as a DataFrame."""
        return frame(self.data, self.columns, input_types)


def frame(data: dict[str, list[Any]], columns: list[str],
          input_types: dict[str, str] | None) -> pd.DataFrame:
    """The model's input frame. When the model was trained on numbers only, one float block
    (a fifth of the cost of building a frame column by column); otherwise column by column,
    keeping strings and categories."""
    if input_types and all(input_types.get(c) == "number" for c in columns):
        try:
            block = np.array([data[c] for c in columns], dtype="float64").T
        except (TypeError, ValueError):  # a string slipped in: let the model judge it
            return pd.DataFrame(data, columns=columns)
        return pd.DataFrame(block, columns=columns, copy=False)
    return pd.DataFrame(data, columns=columns)
