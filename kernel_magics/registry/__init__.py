"""The model registry: versions, aliases, lineage and safe artifacts; and training.

The names below are imported on first use (``lakebook status`` reads the registry's table
module without loading NumPy or pandas).
"""
from __future__ import annotations

from ..shared.lazy import lazy_exports

_LAZY = {"ModelRegistry": ".api", "ModelVersion": ".versions", "TrustPolicy": ".trust"}

__all__ = list(_LAZY)
__getattr__ = lazy_exports(__name__, _LAZY)
