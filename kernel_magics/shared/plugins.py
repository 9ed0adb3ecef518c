"""Extension points chosen by name, one registry each (as papermill chooses its engines).

An extension point (the executors that run pipelines, the online-store backends, the model
flavours; later catalog and storage backends) keeps its implementations in one
:class:`Registry`; configuration names one (``[scheduler] executor = "dask"``) and the code asks
the registry, never an if/else chain. An implementation may be registered as an object or as
``"module:attribute"``, imported only when chosen (so naming Redis does not import it until it
is used).
"""
from __future__ import annotations

import importlib
from typing import Any, Generic, Iterator, TypeVar

from .errors import InvalidInput

T = TypeVar("T")


class Registry(Generic[T]):
    """Named implementations of one extension point.

    ``what`` says what an entry is ("executor"); ``section`` and ``key`` where
    ``lakebook.toml`` names one (``[scheduler] executor``), for the error a wrong name gets.
    """

    def __init__(self, what: str, section: str | None = None, key: str | None = None) -> None:
        self.what = what
        self.section, self.key = section, key
        self._entries: dict[str, Any] = {}

    def register(self, name: str, implementation: T | str) -> T | str:
        """Add (or replace) ``name``; later registrations of one name win."""
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"A {self.what} needs a name.")
        self._entries[name] = implementation
        return implementation

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def check(self, name: str) -> str:
        """``name`` if it is registered, else :class:`InvalidInput` naming the choices."""
        if name not in self._entries:
            if self.section and self.key:
                raise InvalidInput(f"Unknown {self.what} {name!r} in lakebook.toml.",
                                   "Use " + " or ".join(f'{self.key} = "{n}"' for n in self)
                                   + f" under [{self.section}].")
            raise InvalidInput(f"Unknown {self.what} {name!r}.",
                               f"Use one of: {', '.join(sorted(self))}.")
        return name

    def get(self, name: str) -> T:
        """The implementation registered as ``name`` (imported now if it was given as
        ``"module:attribute"``)."""
        self.check(name)
        entry = self._entries[name]
        if isinstance(entry, str) and ":" in entry:
            module, _, attribute = entry.partition(":")
            entry = getattr(importlib.import_module(module), attribute)
            self._entries[name] = entry
        return entry

    def values(self) -> list[T]:
        """Every implementation (imported)."""
        return [self.get(name) for name in self.names()]
