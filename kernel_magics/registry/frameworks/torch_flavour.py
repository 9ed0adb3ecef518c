"""PyTorch modules: weights as safetensors, the module's class as source kept with the
version, and a small adapter from feature frames to tensors.

Why loading is safe: the weights are read with ``safetensors`` (a JSON header and raw
tensors; a header that lies about sizes or offsets is refused before any tensor is built)
and never with ``torch.load``; the only code that runs is the module's class, which is the
user's own code, kept as text with the version (:mod:`.torch_source`), pinned by the
version's sha256, and trusted as their notebook is.

Programs and files are not kept (as checked with PyTorch 2.13): loading a
``torch.export`` archive (``torch.export.load`` of a ``.pt2``) unpickles weights and
constants marked as pickled and opaque objects with the full pickle, and its sample inputs
with ``torch.load(weights_only=False)`` when the restricted load fails, so a crafted file
runs code (``tests/security/test_torch_artifacts.py`` shows it); its graph's call targets are
resolved by attribute from the ``torch`` module (``torch.os.system`` included) and its shape
expressions parsed by ``sympy.sympify``, an ``eval``. ``torch.jit.load`` of a TorchScript
archive runs the archive's compiled code, which is not the user's source. ``.pt``/``.pth``
files are pickles. ``lakebook export-model`` still writes a ``torch.export`` program for
MLflow, from the module this flavour rebuilt (MLflow checks it for pickles when it loads it).

:func:`torch_model` is the adapter a scikit-learn user writes once:
``kb.torch_model(net, classes=[0, 1])`` (its outputs are logits, turned into probabilities
with a softmax, or a sigmoid for one output column; ``output="probabilities"`` when the
module ends in its own softmax) or ``kb.torch_model(net)`` for a regressor.
"""
from __future__ import annotations

import json
import math
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from ...shared.errors import InvalidInput, UnsafeArtifact
from ..flavours import Flavour
from ..trust import TrustPolicy
from . import artifacts
from .predictor import (CLASSIFICATION, REGRESSION, FrameworkModel, ModelInfo, class_labels,
                        sigmoid, softmax, two_columns)
from .torch_source import builtin_name, class_source, init_arguments

if TYPE_CHECKING:  # pragma: no cover
    from ..export import MlflowTarget

EXTRA = "torch"
#: what to do instead of registering a TorchScript or torch.export program (or a file)
PROGRAMS_HINT = ("Build the network in your code and register the nn.Module itself: "
                 "kb.torch_model(net, classes=[0, 1]) keeps its weights as safetensors and "
                 "its class as source (lakebook export-model writes a torch.export program "
                 "for MLflow from it).")
SOURCE_FILE = "module.py"
OUTPUTS = ("logits", "probabilities", "values")


class TorchModel(FrameworkModel):
    """A ``torch.nn.Module`` in evaluation mode behind scikit-learn's verbs."""

    flavour = "torch"

    def __init__(self, module: Any, info: ModelInfo, source: str) -> None:
        super().__init__(info)
        self.module = module.eval()
        self.source = source

    def _scores(self, X: Any) -> np.ndarray:
        import torch
        if not isinstance(X, np.ndarray):
            raise InvalidInput("A PyTorch model takes numbers only.",
                               "Encode text and category columns as numbers in the view.")
        with torch.inference_mode():
            out = self.module(_tensor(X))
        values = out.detach().cpu().numpy().astype(np.float64)
        if not self.is_classifier:
            return values.reshape(-1)
        logits = self.info.io.get("output") == "logits"
        if values.ndim == 1 or values.shape[1] == 1:
            p1 = values.reshape(-1)
            return two_columns(sigmoid(p1) if logits else p1)
        return softmax(values) if logits else values


def torch_model(module: Any, classes: Iterable[Any] | None = None, output: str | None = None,
                args: Iterable[Any] | None = None, kwargs: dict[str, Any] | None = None
                ) -> TorchModel:
    """A trained ``torch.nn.Module`` ready to register: ``classes`` (a classifier's labels,
    in the order of its output columns; none for a regressor), ``output`` (``logits``, the
    default for classifiers, or ``probabilities``), ``args``/``kwargs`` (what rebuilds the
    module's class; read from same-named attributes when not given)."""
    torch = artifacts.require("torch", EXTRA, "A PyTorch model")
    artifacts.require("safetensors", EXTRA, "A PyTorch model")
    if isinstance(module, TorchModel):
        return module
    if isinstance(module, (torch.jit.ScriptModule, torch.jit.ScriptFunction)):
        raise InvalidInput("A TorchScript program carries compiled code that is not your "
                           "source, so Lakebook does not keep it.", PROGRAMS_HINT)
    if isinstance(module, torch.export.ExportedProgram):
        raise InvalidInput("A torch.export program is not kept: loading one again "
                           "(torch.export.load) unpickles parts of the file and calls what "
                           "its graph names, so a file could run any code.", PROGRAMS_HINT)
    if isinstance(module, (str, bytes, PathLike)):
        raise InvalidInput(f"Lakebook does not load PyTorch files ({str(module)[:80]}): "
                           ".pt and .pth files are pickles, and torch.export.load and "
                           "torch.jit.load of a .pt2 or TorchScript file can run code from it.",
                           PROGRAMS_HINT)
    if not isinstance(module, torch.nn.Module):
        raise InvalidInput(f"{type(module).__name__} is not a torch.nn.Module.",
                           "Pass the trained network: kb.torch_model(net, classes=[0, 1]).")
    task = CLASSIFICATION if classes is not None else REGRESSION
    output = output or ("logits" if task == CLASSIFICATION else "values")
    if output not in OUTPUTS:
        raise InvalidInput(f"output={output!r} is not one of {', '.join(OUTPUTS)}.",
                           "Use output='logits' or output='probabilities'.")
    builtin = builtin_name(type(module))
    source = "" if builtin else class_source(type(module))
    init_args, init_kwargs = init_arguments(module, args, kwargs)
    try:
        json.dumps([init_args, init_kwargs])
    except TypeError:
        raise InvalidInput(f"The arguments of {type(module).__name__} are not plain values.",
                           "Pass numbers, strings and lists as args/kwargs.") from None
    info = ModelInfo(task=task, classes=class_labels(classes) if classes is not None else None,
                     output="probabilities" if task == CLASSIFICATION else "value",
                     trained_as=f"{type(module).__module__}.{type(module).__qualname__}",
                     params={"parameters": int(sum(p.numel() for p in module.parameters()))},
                     io={"output": output, "class": type(module).__name__,
                         "builtin": bool(builtin), "args": init_args, "kwargs": init_kwargs})
    # rebuild it now as a load will, so a module that cannot be rebuilt is refused before
    # anything is registered
    rebuilt = _build(source, info, "The PyTorch model")
    try:
        rebuilt.load_state_dict(module.state_dict(), strict=True)
    except (RuntimeError, KeyError) as exc:
        raise InvalidInput(f"{type(module).__name__} rebuilt from its arguments does not take "
                           f"its own weights ({str(exc)[:200]}).",
                           "Put the layers in your own nn.Module class whose __init__ "
                           "arguments are plain values, or pass args=/kwargs=.") from None
    return TorchModel(module, info, source)


class TorchFlavour(Flavour):
    """PyTorch modules: safetensors weights plus the module's source."""

    name = "torch"
    filename = "weights.safetensors"
    extra = EXTRA
    mlflow_flavour = "pytorch"
    mlflow_packages = ("torch", "numpy")

    def matches(self, model: Any) -> bool:
        if isinstance(model, TorchModel):
            return True
        # (a torch.export program too: it is matched to be refused with the reason)
        return any(c.__module__ == "torch.nn.modules.module" and c.__name__ == "Module" or
                   c.__module__ == "torch.export.exported_program" and
                   c.__name__ == "ExportedProgram" for c in type(model).__mro__)

    def prepare(self, model: Any, example: Any = None, what: str = "The model",
                policy: TrustPolicy | None = None) -> TorchModel:
        if not isinstance(model, TorchModel):
            import torch
            if isinstance(model, torch.nn.Module) and not isinstance(
                    model, torch.jit.ScriptModule):
                raise InvalidInput(
                    f"{what} is a bare {type(model).__name__}: Lakebook cannot tell whether "
                    "its outputs are classes or values.",
                    f"Wrap it: {what} = kb.torch_model(net, classes=[0, 1]) for a "
                    "classifier, kb.torch_model(net) for a regressor.")
            model = torch_model(model)
        if model.info.features is None and getattr(example, "columns", None) is not None:
            model.info.features = [str(c) for c in example.columns]
        return model

    def save(self, model: TorchModel, folder: Path) -> Path:
        from safetensors.torch import save_model
        path = folder / self.filename
        save_model(model.module, str(path))  # handles tied weights
        return artifacts.write(folder, self.filename, path.read_bytes(), model.info,
                               extra={SOURCE_FILE: model.source.encode("utf-8")})

    def digest(self, folder: Path) -> str:
        return artifacts.digest(folder, self.filename, (SOURCE_FILE,))

    def load(self, folder: Path, policy: TrustPolicy, allow_unsafe: bool = False,
             what: str = "The artifact", digest: str | None = None,
             model: str | None = None) -> TorchModel:
        artifacts.require("torch", EXTRA, what)
        artifacts.require("safetensors", EXTRA, what)
        from safetensors import SafetensorError
        from safetensors.torch import load as load_tensors
        weights, info, extra = artifacts.read_all(folder, self.filename, digest, what,
                                                  (SOURCE_FILE,))
        try:
            tensors = load_tensors(weights)  # header and sizes checked before any tensor
        except SafetensorError as exc:
            raise UnsafeArtifact(f"{what}: its weights are not a valid safetensors file "
                                 f"({exc}), so it was not loaded.",
                                 "Register the model again from its training code.") from None
        source = extra[SOURCE_FILE].decode("utf-8")
        module = _build(source, info, what)
        try:
            module.load_state_dict(tensors, strict=True)
        except (RuntimeError, KeyError) as exc:
            raise UnsafeArtifact(f"{what}: its weights do not fit its module "
                                 f"({str(exc)[:300]}).", "Register the model again.") from None
        return TorchModel(module, info, source)

    def to_mlflow(self, model: TorchModel, target: "MlflowTarget") -> None:
        """MLflow's pytorch flavour as a ``torch.export`` program (``pt2``, which MLflow
        checks is free of pickles before loading), traced on the version's input example
        with a dynamic batch size. Its ``predict`` takes a float32 matrix of the input
        columns and gives the network's own outputs (logits for a classifier)."""
        import mlflow.pytorch
        import torch
        from mlflow.models import ModelSignature
        from mlflow.types import Schema, TensorSpec
        example = target.matrix_example()
        with torch.inference_mode():
            out = model.module(_tensor(example)).detach().numpy()
        signature = ModelSignature(
            inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, example.shape[1]))]),
            outputs=Schema([TensorSpec(np.dtype(out.dtype), (-1, *out.shape[1:]))]))
        mlflow.pytorch.save_model(
            model.module, str(target.path), serialization_format="pt2",
            input_example=example, signature=signature,
            pip_requirements=target.requirements, metadata=target.metadata)

    def library_versions(self) -> dict[str, str]:
        import safetensors
        import torch
        return {"torch": torch.__version__, "safetensors": safetensors.__version__}


def _tensor(X: np.ndarray) -> Any:
    import torch
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))


def _build(source: str, info: ModelInfo, what: str) -> Any:
    """The module's class run from its kept source (the user's code), then instantiated."""
    import torch
    name = info.io.get("class")
    if info.io.get("builtin"):  # one of PyTorch's own layers, by its exact name in torch.nn
        cls = getattr(torch.nn, str(name), None)
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
            raise UnsafeArtifact(f"{what}: torch.nn has no module {name!r}.",
                                 "Register the model again.")
        source = ""
    namespace: dict[str, Any] = {"__name__": "lakebook_torch_model", "torch": torch,
                                 "nn": torch.nn, "F": torch.nn.functional, "np": np,
                                 "math": math}
    try:
        if source:
            exec(compile(source, f"<{what}: {SOURCE_FILE}>", "exec"), namespace)  # noqa: S102
            cls = namespace[name]
        return cls(*info.io.get("args", []), **info.io.get("kwargs", {}))
    except Exception as exc:
        raise InvalidInput(f"{what}: its module could not be rebuilt from the source kept "
                           f"with it ({type(exc).__name__}: {str(exc)[:200]}).",
                           "Install the libraries its code imports, or register it again.") \
            from None


#: the instance the flavour registry names
FLAVOUR = TorchFlavour()
