"""The model registry: versions, aliases, lineage and safe artifacts; and ``%%training``."""
from .registry import ModelRegistry, ModelVersion
from .trust import TrustPolicy

__all__ = ["ModelRegistry", "ModelVersion", "TrustPolicy"]
