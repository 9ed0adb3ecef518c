"""Names a package exports but imports on first use, so that start-up (``lakebook --help``,
the server extension) pays for no heavy module it does not need."""
from __future__ import annotations

from importlib import import_module
from typing import Any, Callable


def lazy_exports(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: ``names`` maps an exported name to the
    relative module that defines it (``{"FeatureGroup": ".groups"}``)."""
    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(import_module(names[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return __getattr__
