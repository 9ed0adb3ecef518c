"""The catalog: SQLite in WAL mode, shared by kernels, the server and schedulers."""
from .db import Catalog, to_json, from_json
from .migrations import SCHEMA_VERSION

__all__ = ["Catalog", "SCHEMA_VERSION", "to_json", "from_json"]
