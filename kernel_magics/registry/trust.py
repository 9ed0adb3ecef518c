"""The loader-side trust policy for model artifacts.

A registry must not run code from a file it loads. skops lists the types a dump would
construct that it does not trust by default; this module decides which of those the registry
accepts. The answer comes from the registry's own policy — classes of scikit-learn, NumPy and
SciPy, plus the type names the user passed explicitly — never from the artifact itself.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..errors import UnsafeArtifact

#: Libraries whose classes an artifact may construct without the user naming them.
TRUSTED_PREFIXES: tuple[str, ...] = ("sklearn.", "numpy.", "scipy.")

#: Parts of those libraries that read files, run code or exist only for tests: never trusted
#: by prefix (a user may still trust one explicitly).
_DENIED_MODULES = re.compile(
    r"^(numpy\.(f2py|distutils|testing|ctypeslib|lib\.(_?npyio|format|_npyio_impl))"
    r"|scipy\.(io|_lib|weave)|sklearn\.(utils\._testing|externals|datasets))(\.|$)")
#: Callables (not classes) whose names suggest I/O or evaluation are refused even under a
#: trusted prefix: a crafted ``reduce`` node could call ``numpy.load(..., allow_pickle)``.
_DENIED_CALLABLE = re.compile(r"(load|save|file|open|exec|eval|system|pickle|memmap|import)",
                              re.IGNORECASE)


def type_name(value: str | type | Any) -> str:
    """The fully qualified name skops uses for ``value`` (a type, a function or a name)."""
    if isinstance(value, str):
        return value
    obj = value if isinstance(value, type) or callable(value) else type(value)
    return f"{obj.__module__}.{obj.__qualname__}"


def _resolve(name: str) -> Any | None:
    """The object a dotted name refers to, importing only the named library's modules."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # not a module at this depth: try a shorter one
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


@dataclass
class TrustPolicy:
    """Which types an artifact may contain. ``extra`` holds names the user trusted."""

    extra: set[str] = field(default_factory=set)
    prefixes: tuple[str, ...] = TRUSTED_PREFIXES

    @classmethod
    def with_types(cls, trusted: Iterable[str | type] | None = None) -> "TrustPolicy":
        return cls(extra={type_name(t) for t in (trusted or [])})

    def allows(self, name: str) -> bool:
        """Whether the registry trusts the type (or function) called ``name``."""
        if name in self.extra:
            return True
        if not name.startswith(self.prefixes) or _DENIED_MODULES.match(name):
            return False
        obj = _resolve(name)
        if obj is None:  # a name that does not exist in the installed library: refuse
            return False
        if isinstance(obj, type):
            return True
        import numpy as np
        if isinstance(obj, np.ufunc):
            return True
        return callable(obj) and not _DENIED_CALLABLE.search(name.rsplit(".", 1)[-1])

    def refused(self, names: Iterable[str]) -> list[str]:
        """The names among ``names`` this policy does not trust."""
        return sorted(n for n in set(names) if not self.allows(n))

    def check(self, untrusted: Iterable[str], what: str) -> list[str]:
        """The types to pass to the loader; raises :class:`UnsafeArtifact` naming any type the
        policy refuses. ``what`` names the artifact in the user's terms."""
        names = sorted(set(untrusted))
        refused = self.refused(names)
        if refused:
            listed = ", ".join(refused)
            raise UnsafeArtifact(
                f"{what} holds type{'s' if len(refused) > 1 else ''} {listed} that the registry "
                "does not trust, so it was not loaded.",
                "If you wrote that code and trust this file, pass "
                f"trusted={refused!r} to load() (or to register()).")
        return names
