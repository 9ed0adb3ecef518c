"""The online-store backends, chosen by ``[online] backend`` in lakebook.toml.

Each entry is a function ``open(lh) -> OnlineStore`` (imported only when chosen: naming the
SQLite backend never imports redis). Add one with ``BACKENDS.register(name, "module:func")``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ...shared.plugins import Registry

if TYPE_CHECKING:  # pragma: no cover
    from ...lakehouse import Lakehouse
    from .base import OnlineStore

#: the SQLite backend's file in the home
ONLINE_DB = "online.db"

BACKENDS: Registry[Callable[["Lakehouse"], "OnlineStore"]] = Registry(
    "online backend", "online", "backend")
BACKENDS.register("sqlite", "kernel_magics.features.online.sqlite_store:open_store")
BACKENDS.register("redis", "kernel_magics.features.online.redis_store:open_store")


def open_online_store(lh: "Lakehouse") -> "OnlineStore":
    """The online store configured for ``lh`` (SQLite at ``<home>/online.db`` by default,
    Redis when ``[online] backend = "redis"``)."""
    return BACKENDS.get(lh.config.online_backend)(lh)
