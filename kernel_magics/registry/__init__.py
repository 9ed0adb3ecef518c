"""The model registry: versions, aliases, lineage and safe artifacts; and ``%%training``."""
from .api import ModelRegistry, ModelVersion
from .trust import TrustPolicy

__all__ = ["ModelRegistry", "ModelVersion", "TrustPolicy"]
