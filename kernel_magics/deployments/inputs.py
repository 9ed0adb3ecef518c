"""What a scoring row may carry, and what it is: the model's input as sent, or an entity to
look up in the online store.

The rule, for a deployment with a feature view (MLflow clients send the model's input columns,
Lakebook clients send the view's keys):

* a row that carries **every model input** is scored as it is (no lookup);
* a row that carries the view's **entity keys** is looked up online, and any model input or
  view feature it also carries overrides the stored value (a request-time feature);
* any other row is refused, naming the keys and the inputs that are missing.

A deployment without a view takes every row as the model's input.

Every field name is checked against the deployment's columns (keys, model inputs, view
features). A name that differs from one of them, or from a column of the inference log
(``ts``, ``source``, ``prediction`` …), only by case is refused (``{"X": 1}`` beside ``x``):
it is a typo that would otherwise be ignored or written as a second column. Any other unknown
name is refused in Lakebook's own format and ignored in MLflow's formats, as MLflow's own
scoring server ignores extra columns. A refused request writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..shared.errors import InvalidInput
from .inference_log import RESERVED, data_column


@dataclass(frozen=True)
class Columns:
    """The names one served snapshot (model version + view version) accepts."""

    #: the view's entity keys (what an online lookup needs); empty without a view
    keys: tuple[str, ...]
    #: the model's input columns, in order (empty: whatever the first row sends)
    inputs: tuple[str, ...]
    #: every name a row may carry (keys, inputs, view features, the view's event time)
    known: frozenset[str]
    #: lower-cased name -> the column it would be confused with (known and log columns)
    folded: dict[str, str]

    @classmethod
    def of(cls, served: Any) -> "Columns":
        """The columns of a :class:`~kernel_magics.deployments.model_cache.Served` snapshot."""
        model = served.model
        view = served.view
        features = tuple(view.features) if view is not None else ()
        inputs = tuple(model.input_columns or features)
        keys = tuple(served.entry_columns) if view is not None else ()
        known = frozenset(keys) | frozenset(inputs) | frozenset(features)
        if view is not None and served.event_time:  # sent beside the keys, used for nothing
            known |= {served.event_time}
        folded: dict[str, str] = {}
        for name in sorted(RESERVED) + sorted(data_column(k) for k in known):
            folded.setdefault(name.lower(), name)
        for name in sorted(known):  # a data column wins the message over a log column
            folded[name.lower()] = name
        return cls(keys=keys, inputs=inputs, known=known, folded=folded)

    def check_names(self, i: int, row: dict[str, Any], strict: bool) -> dict[str, Any]:
        """``row`` with its names checked: a case clash raises, an unknown name raises when
        ``strict`` (Lakebook's format) and is dropped otherwise (MLflow's formats)."""
        if not self.known:  # a model without a recorded schema: the first row decides
            return row
        unknown = [name for name in row if name not in self.known]
        if not unknown:
            return row
        for name in unknown:
            clash = self.folded.get(name.lower())
            if clash is None and name.lower().startswith("proba_"):
                clash = "proba_<class>"
            if clash is not None:
                log_column = clash not in self.known
                what = f"the inference log's column {clash!r}" if log_column \
                    else f"column {clash!r}"
                raise InvalidInput(
                    f"Row {i}: field {name!r} "
                    + (f"is {what}" if name == clash else f"differs only by case from {what}")
                    + ", so it cannot be told apart from it.",
                    ("Rename the field: the log keeps its own column of that name."
                     if log_column else f"Send it as {clash!r}.") + self._takes())
        if strict:
            raise InvalidInput(f"Row {i} has unknown field(s) "
                               f"{', '.join(map(repr, unknown[:5]))}.", self._takes().strip())
        return {k: v for k, v in row.items() if k in self.known}

    def _takes(self) -> str:
        parts = []
        if self.keys:
            parts.append(f"keys {', '.join(self.keys)}")
        if self.inputs:
            parts.append(f"inputs {', '.join(self.inputs)}")
        return f" This deployment takes {' and '.join(parts)}." if parts else ""

    def positional(self, i: int, values: list[Any]) -> dict[str, Any]:
        """A row of values without names: the model's inputs in order when there are as many,
        else the view's keys (MLflow's meaning first: its clients send model inputs)."""
        for columns in (self.inputs, self.keys):
            if columns and len(values) == len(columns):
                return dict(zip(columns, values))
        shapes = " or ".join(f"{len(c)} ({', '.join(c)})" for c in (self.inputs, self.keys) if c)
        raise InvalidInput(
            f"Row {i} has {len(values)} value(s) but this deployment takes {shapes or 'none'}.",
            "Send rows with column names (dataframe_split with 'columns', or dataframe_records) "
            "or one value per column in that order.")

    def missing_inputs(self, row: dict[str, Any]) -> list[str]:
        """The model inputs ``row`` does not carry."""
        return [c for c in self.inputs if c not in row]

    def has_keys(self, row: dict[str, Any]) -> bool:
        return bool(self.keys) and all(k in row for k in self.keys)
