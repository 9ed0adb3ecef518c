"""The catalog: SQLite in WAL mode, shared by kernels, the server and schedulers."""
from .db import Catalog, Duplicate, from_json, to_json
from .migrations import SCHEMA_VERSION

__all__ = ["Catalog", "Duplicate", "SCHEMA_VERSION", "to_json", "from_json"]
