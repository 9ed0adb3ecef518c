"""Import a module that an area of Lakebook may not provide (yet)."""
from __future__ import annotations

import importlib
from types import ModuleType


def optional_module(name: str) -> ModuleType | None:
    """``name`` imported, or None when it (or its package) does not exist. An import error
    inside an existing module still raises: that is a bug to see, not an absent part."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise
