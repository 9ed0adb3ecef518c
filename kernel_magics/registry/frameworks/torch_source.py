"""The source of a user's ``torch.nn.Module`` class, kept with a model version.

A PyTorch model is its code plus its weights. The weights are data (safetensors); the code is
the user's own (a notebook cell or a module beside it), kept as text and run again at load,
as a scheduled run runs the notebook's cells. Where the class was written decides what is
kept: the whole file for a class of an importable module; for a class defined in a notebook
cell (IPython keeps each cell's text in ``linecache``), the cell's imports and the class
definition.
"""
from __future__ import annotations

import ast
import inspect
import linecache
import sys
from typing import Any

from ...shared.errors import InvalidInput


def builtin_name(cls: type) -> str | None:
    """``Linear`` for ``torch.nn.Linear`` (a class PyTorch itself provides), else None."""
    import torch
    if cls.__module__.startswith("torch.") and getattr(torch.nn, cls.__name__, None) is cls:
        return cls.__name__
    return None


def class_source(cls: type) -> str:
    """Python source that defines ``cls`` (and what it imports) when executed."""
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None) if cls.__module__ != "__main__" else None
    if path:
        try:
            return inspect.getsource(module)
        except (OSError, TypeError):
            pass
    for method in vars(cls).values():
        code = getattr(method, "__code__", None)
        if code is None:
            continue
        text = "".join(linecache.getlines(code.co_filename))
        if text:
            found = _class_in(text, cls.__name__)
            if found:
                return found
    raise InvalidInput(
        f"The source of {cls.__qualname__} cannot be found, so the model could not be kept "
        "with its code.",
        "Define the module's class in a notebook cell or in a .py file next to the notebook.")


def _class_in(text: str, name: str) -> str | None:
    """The imports and the class ``name`` of a cell's text."""
    try:
        tree = ast.parse(text)
    except SyntaxError:  # IPython syntax (magics) in the cell: try the class alone
        return None
    parts = [ast.get_source_segment(text, node) for node in tree.body
             if isinstance(node, (ast.Import, ast.ImportFrom))]
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and
               node.name == name]
    if not classes:
        return None
    parts.append(ast.get_source_segment(text, classes[-1]))
    return "\n".join(p for p in parts if p) + "\n"


def init_arguments(module: Any, args: Any, kwargs: Any) -> tuple[list[Any], dict[str, Any]]:
    """The arguments that build ``module``'s class again: those given, else its
    ``__init__`` parameters read from same-named attributes (``self.hidden = hidden``)."""
    if args is not None or kwargs is not None:
        return list(args or []), dict(kwargs or {})
    out: dict[str, Any] = {}
    signature = inspect.signature(type(module).__init__)
    for name, param in list(signature.parameters.items())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        value = getattr(module, name, _MISSING)
        if _plain(value):
            out[name] = value
        elif param.default is param.empty:
            raise InvalidInput(
                f"{type(module).__name__}({name}=...) cannot be rebuilt: the module keeps no "
                f"attribute {name!r}.",
                f"Pass the arguments: kb.torch_model(net, kwargs={{{name!r}: ...}}), or keep "
                f"them on the module (self.{name} = {name}).")
    return [], out


_MISSING = object()


def _plain(value: Any) -> bool:
    """Whether ``value`` is an argument that JSON keeps (not a tensor, module or function)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return False
