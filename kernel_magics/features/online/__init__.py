"""The online store: latest row per key of online feature groups, for low-latency lookups.

The backend is chosen in ``lakebook.toml`` from :data:`~.backends.BACKENDS`::

    [online]
    backend = "redis"                      # default "sqlite" (<home>/online.db)
    redis_url = "redis://127.0.0.1:6379/0"
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from .backends import BACKENDS, ONLINE_DB, open_online_store

__all__ = ["BACKENDS", "ONLINE_DB", "OnlineStore", "open_online_store"]


def __getattr__(name: str) -> Any:
    if name == "OnlineStore":  # pyarrow, only when a store is used
        return import_module(".base", __name__).OnlineStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
