"""The feature store: feature groups (Delta tables with keys, event time, checks and
statistics), feature views (point-in-time joins) and the online store."""
from .groups import CommitInfo, FeatureGroup
from .api import FeatureStore

__all__ = ["CommitInfo", "FeatureGroup", "FeatureStore"]
