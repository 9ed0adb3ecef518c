"""The feature store: feature groups (Delta tables with keys, event time, checks and
statistics), feature views (point-in-time joins) and the online store.

The names below are imported on first use (pyarrow and DuckDB are not needed to open a
lakehouse or to answer ``lakebook --help``).
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {"CommitInfo": ".groups", "FeatureGroup": ".groups", "FeatureStore": ".api"}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
