"""Lakebook: an AI Lakehouse inside Jupyter.

``import kernel_magics as kb; lh = kb.connect()`` gives the Python API;
``%load_ext kernel_magics`` gives the ``%%feature``, ``%%training``, ``%%inference`` and
``%lakebook`` magics.
"""
from __future__ import annotations

from typing import Any

from ._version import __version__
from .shared.errors import LakebookError
from .lakehouse import Lakehouse, connect

__all__ = ["__version__", "connect", "recover", "onnx_model", "torch_model", "Lakehouse", "LakebookError"]


def recover(path: Any = None, force: bool = False) -> Any:
    """Rebuild a lost or damaged catalog from the lakehouse's tables; see
    :func:`kernel_magics.recovery.recover`."""
    from .recovery import recover as rebuild
    return rebuild(path, force=force)


def onnx_model(model: Any, classes: Any = None, logits: bool = False, features: Any = None,
               trusted: Any = None) -> Any:
    """An ONNX model (ModelProto, bytes or path) ready to register; see
    :func:`kernel_magics.registry.frameworks.onnx_flavour.onnx_model`."""
    from .registry.frameworks.onnx_flavour import onnx_model as wrap
    return wrap(model, classes=classes, logits=logits, features=features, trusted=trusted)


def torch_model(module: Any, classes: Any = None, output: str | None = None, args: Any = None,
                kwargs: Any = None) -> Any:
    """A trained ``torch.nn.Module`` ready to register (``classes=[0, 1]`` for a
    classifier); see :func:`kernel_magics.registry.frameworks.torch_flavour.torch_model`."""
    from .registry.frameworks.torch_flavour import torch_model as wrap
    return wrap(module, classes=classes, output=output, args=args, kwargs=kwargs)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext kernel_magics``: register the Lakebook magics."""
    from .doors.magics import register
    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .doors.magics import unregister
    unregister(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "lakebook"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "kernel_magics.doors.rest"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from .doors.rest import _load_jupyter_server_extension as load
    load(server_app)
