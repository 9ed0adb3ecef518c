"""The online store: latest row per key of online feature groups, for low-latency lookups.

The backend is chosen in ``lakebook.toml``::

    [online]
    backend = "redis"                      # default "sqlite" (<home>/online.db)
    redis_url = "redis://127.0.0.1:6379/0"
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .base import OnlineStore

if TYPE_CHECKING:  # pragma: no cover
    from ...lakehouse import Lakehouse

ONLINE_DB = "online.db"

__all__ = ["OnlineStore", "open_online_store"]


def open_online_store(lh: "Lakehouse") -> OnlineStore:
    """The online store configured for ``lh`` (SQLite at ``<home>/online.db`` by default,
    Redis when ``[online] backend = "redis"``)."""
    backend = lh.config.online_backend
    if backend == "redis":
        from .redis_store import RedisOnlineStore
        return RedisOnlineStore(lh.config.redis_url)
    from .sqlite_store import SQLiteOnlineStore
    return SQLiteOnlineStore(lh.home / ONLINE_DB)
