"""The model registry: versions, aliases, lineage and safe artifacts; and training.

The names below are imported on first use (``lakebook status`` reads the registry's table
module without loading NumPy or pandas).
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {"ModelRegistry": ".api", "ModelVersion": ".versions", "TrustPolicy": ".trust"}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
