"""The objects the summary lists return (``lh.registry.list()``, ``lh.deployments.list()``,
``lh.pipelines.list()`` / ``get()``): records with attributes and ``to_dict()``, like
every other object of the API (FeatureGroup, ModelVersion, Monitor, Run, Schedule).

A record is also the mapping it was made from (``record["name"]``, ``==`` against a dict,
``json.dumps``), so code written against the earlier plain-dict answers keeps working.
"""
from __future__ import annotations

from typing import Any


class Record(dict):
    """A summary: ``record.name``, ``record.to_dict()`` (and ``record["name"]``). A fresh
    record is made on every call, so changing one changes nothing in the lakehouse."""

    #: what one record is, for error messages ("deployment", "model", ...); not ``kind``,
    #: which is a field of several records (a deployment's, an alert's)
    noun = "record"

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"A {self.noun} has no {name!r}; it has: "
                                 f"{', '.join(self)}.") from None

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain, JSON-ready dict (a copy)."""
        return dict(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"
