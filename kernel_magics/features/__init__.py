"""The feature store: feature groups (Delta tables with keys, event time, checks and
statistics), feature views (point-in-time joins) and the online store.

The names below are imported on first use (pyarrow and DuckDB are not needed to open a
lakehouse or to answer ``lakebook --help``).
"""
from __future__ import annotations

from ..shared.lazy import lazy_exports

_LAZY = {"CommitInfo": ".groups", "FeatureGroup": ".groups", "FeatureStore": ".api"}

__all__ = list(_LAZY)
__getattr__ = lazy_exports(__name__, _LAZY)
