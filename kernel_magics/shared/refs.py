"""Names or objects: wherever the API takes the name of a feature group, feature view, model,
model version, deployment or monitor, it also takes the object itself.

``lh.deploy("d", model=mv, view=fv)`` means ``model=mv.name, version=mv.version,
view=fv.name, view_version=fv.version``. A method declares which of its parameters are such
references with :func:`takes_objects`; the decorator turns each object into its name (and,
where the method has one, fills the matching version parameter the caller left empty), so the
method body only ever sees names and numbers.
"""
from __future__ import annotations

import functools
import inspect
import numbers
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from .errors import InvalidInput

F = TypeVar("F", bound=Callable[..., Any])

#: the classes (by name, so this module imports none of them) that stand for each kind
_CLASSES = {
    "feature group": ("FeatureGroup",),
    "feature view": ("FeatureView",),
    "model": ("ModelVersion",),  # a model, named by one of its versions
    "model version": ("ModelVersion",),
    "deployment": ("Deployment",),
    "monitor": ("Monitor",),
}


@dataclass(frozen=True)
class Ref:
    """How one parameter refers to a catalog object.

    ``kind`` is what it names; ``version`` the parameter that an object's version fills when
    the caller left it empty, unless one of ``unless`` was given (``alias`` for a model:
    an alias, not the object's version, then says which version).
    """

    kind: str
    version: str | None = None
    unless: tuple[str, ...] = ()


def resolve(value: Any, kind: str) -> tuple[Any, int | None]:
    """``(name, version)`` for a name or an object of ``kind``; a ``model version``
    reference resolves to ``(version number, None)``."""
    if value is None or isinstance(value, str):
        return value, None
    if kind == "model version" and isinstance(value, numbers.Integral) \
            and not isinstance(value, bool):
        return int(value), None
    if type(value).__name__ in _CLASSES[kind]:
        if kind == "model version":
            return int(value.version), None
        version = getattr(value, "version", None)
        return value.name, (int(version) if version is not None else None)
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise InvalidInput(f"Expected a {kind} or its name, not {type(value).__name__} {shown}.",
                       f"Pass the {kind} itself or its name.")


def takes_objects(**refs: Ref | str) -> Callable[[F], F]:
    """Decorate a method so that each parameter in ``refs`` takes a name or the object
    (``Ref`` or just the kind, e.g. ``name="deployment"``)."""
    specs = {param: (ref if isinstance(ref, Ref) else Ref(ref)) for param, ref in refs.items()}

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)
        for param, ref in specs.items():
            missing = {param, *filter(None, [ref.version]), *ref.unless} - set(
                signature.parameters)
            if missing:
                raise TypeError(f"{fn.__qualname__} has no parameter {', '.join(missing)}")

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            arguments = bound.arguments
            for param, ref in specs.items():
                value = arguments.get(param)
                if value is None or isinstance(value, str):
                    continue
                name, version = resolve(value, ref.kind)
                arguments[param] = name
                if ref.version and version is not None and arguments.get(ref.version) is None \
                        and not any(arguments.get(u) is not None for u in ref.unless):
                    arguments[ref.version] = version
            return fn(*bound.args, **bound.kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
