"""ONNX models from any framework, served with onnxruntime.

Why the file is data: see :mod:`.onnx_format` (standard operators only, unless a custom one
is trusted by name; no external data; built from bytes, never from a path). A scikit-learn
model registered with ``flavour="onnx"`` is converted with ``skl2onnx`` (``zipmap=False``:
a label and a probability matrix).

:func:`onnx_model` wraps a ModelProto (or its bytes) for registration, saying what the
outputs mean when the graph cannot (``classes=``; ``logits=True`` when the probability
output holds raw scores to pass through a softmax).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from ...shared.errors import InvalidInput, UnsafeArtifact
from ..flavours import Flavour
from ..trust import TrustPolicy
from . import artifacts
from .onnx_format import check, custom_ops
from .predictor import (CLASSIFICATION, REGRESSION, FrameworkModel, ModelInfo, class_labels,
                        softmax)

if TYPE_CHECKING:  # pragma: no cover
    from ..export import MlflowTarget

EXTRA = "onnx"
_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64,
           "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(bool)": np.bool_,
           "tensor(string)": object}
_CLASS_ATTRS = ("classlabels_int64s", "classlabels_strings", "classlabels_ints")


class OnnxModel(FrameworkModel):
    """An ONNX model in an onnxruntime session, behind scikit-learn's verbs."""

    flavour = "onnx"

    def __init__(self, data: bytes, session: Any, info: ModelInfo) -> None:
        super().__init__(info)
        self.data = data
        self.session = session
        inputs = session.get_inputs()
        self._inputs_meta = [(i.name, _DTYPES.get(i.type, np.float32)) for i in inputs]
        io = info.io
        self._fetch = [n for n in (io.get("proba"), io.get("label"), io.get("value")) if n]

    def _inputs(self, X: Any) -> Any:
        return X  # columns are fed one by one or as one matrix in _scores

    def _feed(self, X: Any) -> dict[str, np.ndarray]:
        import pandas as pd
        meta = self._inputs_meta
        names = self.info.features
        if len(meta) == 1:
            name, dtype = meta[0]
            if isinstance(X, pd.DataFrame):
                if names and list(X.columns) != names:
                    X = X[names]
                return {name: X.to_numpy(dtype=dtype)}
            arr = np.asarray(X, dtype=dtype)
            return {name: arr.reshape(1, -1) if arr.ndim == 1 else arr}
        if not isinstance(X, pd.DataFrame):
            raise InvalidInput(f"This ONNX model takes named inputs "
                               f"({', '.join(n for n, _ in meta)}).",
                               "Pass a DataFrame with those columns.")
        return {name: X[name].to_numpy(dtype=dtype).reshape(-1, 1) for name, dtype in meta}

    def _scores(self, X: Any) -> np.ndarray:
        io = self.info.io
        try:
            out = self.session.run(self._fetch, self._feed(X))
        except KeyError as exc:
            raise InvalidInput(f"The ONNX model needs column {exc}, which the input does not "
                               "have.", "Pass the columns the model was trained on.") from None
        first = out[0]
        if io.get("proba"):
            proba = _matrix(first, self.info.classes)
            return softmax(proba.astype(np.float64)) if io.get("logits") else proba
        if io.get("label"):  # labels only: their index in classes
            lookup = {c: i for i, c in enumerate(self.info.classes)}
            return np.asarray([lookup[v.item() if hasattr(v, "item") else v]
                               for v in np.asarray(first).reshape(-1)])
        return np.asarray(first).reshape(-1)


def _matrix(value: Any, classes: list[Any] | None) -> np.ndarray:
    """A probability output as an (n, classes) array (a ZipMap output is a list of dicts)."""
    if isinstance(value, list):
        keys = classes if classes is not None else sorted(value[0]) if value else []
        return np.asarray([[row[k] for k in keys] for row in value], dtype=np.float64)
    return np.asarray(value, dtype=np.float64)


def _session(data: bytes, what: str) -> Any:
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(data, sess_options=options,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's Fail / InvalidGraph
        raise InvalidInput(f"{what}: onnxruntime cannot run this model "
                           f"({type(exc).__name__}: {str(exc)[:300]}).",
                           "Export it again with operators onnxruntime implements (or "
                           "register the library of its custom operators).") from None


def _classes_in(model: Any) -> list[Any] | None:
    from onnx import helper
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.name in _CLASS_ATTRS:
                values = helper.get_attribute_value(attr)
                labels = [v.decode() if isinstance(v, bytes) else v for v in values]
                if labels:
                    return labels
    return None


def _wire(model: Any, session: Any, classes: list[Any] | None, logits: bool,
          features: list[str] | None) -> ModelInfo:
    outputs = session.get_outputs()
    names = [o.name for o in outputs]
    proba = next((o.name for o in outputs if "prob" in o.name.lower()), None)
    label = next((o.name for o in outputs if "label" in o.name.lower()), None)
    if logits and proba is None and len(outputs) == 1:
        proba = names[0]
    found = classes if classes is not None else _classes_in(model)
    if proba is not None:
        if found is None:
            width = outputs[names.index(proba)].shape
            k = width[-1] if width and isinstance(width[-1], int) else None
            if k is None:
                raise InvalidInput("The ONNX model's probability output has no fixed number "
                                   "of classes.", "Name them: kb.onnx_model(m, classes=[...]).")
            found = list(range(k))
        io = {"proba": proba, "logits": bool(logits)}
        task, output = CLASSIFICATION, "probabilities"
    elif label is not None and found is not None:
        io, task, output = {"label": label}, CLASSIFICATION, "label"
    else:
        io, task, output = {"value": names[0]}, REGRESSION, "value"
        found = None
    inputs = session.get_inputs()
    if len(inputs) > 1:
        features = [i.name for i in inputs]
    return ModelInfo(task=task, features=features, output=output,
                     classes=class_labels(found) if found is not None else None, io=io,
                     trained_as="onnx.ModelProto",
                     params={"producer": f"{model.producer_name} {model.producer_version}"
                             .strip(), "opset": {o.domain or "ai.onnx": o.version
                                                 for o in model.opset_import}})


def onnx_model(model: Any, classes: Iterable[Any] | None = None, logits: bool = False,
               features: Iterable[str] | None = None,
               trusted: Iterable[str] | None = None) -> OnnxModel:
    """An ONNX model (a ``ModelProto``, its bytes or a path to a ``.onnx`` file) ready to
    register: ``classes`` names the classes of its probability columns (read from the graph
    when it has them), ``logits=True`` when those columns are raw scores, ``features`` the
    columns of its one input matrix, ``trusted`` the custom operators it may use
    (``"onnx:com.microsoft.Gelu"``)."""
    artifacts.require("onnx", EXTRA, "An ONNX model")
    artifacts.require("onnxruntime", EXTRA, "An ONNX model")
    what = "The ONNX model"
    if isinstance(model, (str, Path)):
        data = Path(model).read_bytes()
    elif isinstance(model, (bytes, bytearray)):
        data = bytes(model)
    elif hasattr(model, "SerializeToString"):
        data = model.SerializeToString()
    else:
        raise InvalidInput(f"{type(model).__name__} is not an ONNX model.",
                           "Pass an onnx.ModelProto, its bytes or the path of a .onnx file.")
    proto = check(data, what)
    TrustPolicy.with_types(trusted).check(custom_ops(proto), what)
    data = proto.SerializeToString()
    session = _session(data, what)
    info = _wire(proto, session, None if classes is None else list(classes), logits,
                 list(features) if features is not None else None)
    return OnnxModel(data, session, info)


class OnnxFlavour(Flavour):
    """ONNX graphs (any framework's export), run by onnxruntime."""

    name = "onnx"
    filename = "model.onnx"
    extra = EXTRA
    mlflow_flavour = "onnx"
    mlflow_packages = ("onnx", "onnxruntime", "numpy")

    def matches(self, model: Any) -> bool:
        return isinstance(model, OnnxModel) or type(model).__name__ == "ModelProto" and \
            type(model).__module__.startswith("onnx")

    def prepare(self, model: Any, example: Any = None, what: str = "The model",
                policy: TrustPolicy | None = None) -> OnnxModel:
        if isinstance(model, OnnxModel):
            return model
        features = [str(c) for c in getattr(example, "columns", [])] or None
        from sklearn.base import BaseEstimator
        if isinstance(model, BaseEstimator):
            model = _from_sklearn(model, example, what)
        return onnx_model(model, features=features,
                          trusted=sorted(policy.extra) if policy else None)

    def save(self, model: OnnxModel, folder: Path) -> Path:
        return artifacts.write(folder, self.filename, model.data, model.info)

    def digest(self, folder: Path) -> str:
        return artifacts.digest(folder, self.filename)

    def untrusted_types(self, folder: Path) -> list[str]:
        return custom_ops(check((folder / self.filename).read_bytes(), "The ONNX model"))

    def load(self, folder: Path, policy: TrustPolicy, allow_unsafe: bool = False,
             what: str = "The artifact", digest: str | None = None,
             model: str | None = None) -> OnnxModel:
        artifacts.require("onnxruntime", EXTRA, what)
        artifacts.require("onnx", EXTRA, what)
        data, info = artifacts.read(folder, self.filename, digest, what)
        proto = check(data, what)
        policy.check(custom_ops(proto), what, model)
        data = proto.SerializeToString()
        return OnnxModel(data, _session(data, what), info)

    def library_versions(self) -> dict[str, str]:
        import onnx
        import onnxruntime
        return {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}

    def to_mlflow(self, model: OnnxModel, target: "MlflowTarget") -> None:
        """MLflow's onnx flavour, run on the CPU by onnxruntime. Its ``predict`` answers a
        DataFrame with one column per output, so a probability matrix is also given as one
        output per class (``probabilities_<class>``; see :func:`_per_row_outputs`)."""
        import mlflow.onnx
        import onnx
        proto = onnx.load_from_string(model.data)
        custom = custom_ops(proto)
        if custom:  # allowed by name in Lakebook, but MLflow's session has no such library
            raise InvalidInput(
                f"{target.what} uses custom ONNX operators ({', '.join(custom)}), which "
                "MLflow's onnx flavour cannot run.",
                "Export the model with standard ONNX operators only, then register it again.")
        mlflow.onnx.save_model(
            _per_row_outputs(proto, model.info), str(target.path), onnx_execution_providers=["CPUExecutionProvider"],
            signature=target.column_signature(), input_example=target.example,
            pip_requirements=target.requirements, metadata=target.metadata)


def _per_row_outputs(proto: Any, info: ModelInfo) -> Any:
    """A copy of ``proto`` whose probability matrix (one row per input row) is given as one
    output per class, a column each (``Gather`` along the class axis, a standard operator):
    MLflow's onnx ``predict`` puts each output in one column of its DataFrame and cannot
    place a matrix there."""
    import onnx
    from onnx import TensorProto, helper
    name = info.io.get("proba")
    if not name or not info.classes:
        return proto
    out = onnx.ModelProto()
    out.CopyFrom(proto)
    graph = out.graph
    kept = [o for o in graph.output if o.name != name]
    del graph.output[:]
    graph.output.extend(kept)
    dtype = next((o.type.tensor_type.elem_type for o in proto.graph.output if o.name == name),
                 TensorProto.FLOAT)
    for j, label in enumerate(info.classes):
        index = f"lakebook_class_index_{j}"
        column = f"{name}_{label}"
        graph.initializer.append(helper.make_tensor(index, TensorProto.INT64, [], [j]))
        graph.node.append(helper.make_node("Gather", [name, index], [column], axis=1))
        graph.output.append(helper.make_tensor_value_info(column, dtype, [None]))
    onnx.checker.check_model(out)
    return out


def _from_sklearn(model: Any, example: Any, what: str) -> Any:
    skl2onnx = artifacts.require("skl2onnx", "onnx", f"{what} (converting scikit-learn to ONNX)")
    if example is None:
        raise InvalidInput(f"{what}: converting a scikit-learn model to ONNX needs an input "
                           "example.", "Pass input_example=X_train (%%training does).")
    import pandas as pd
    sample = example.head(1) if isinstance(example, pd.DataFrame) else np.asarray(example)[:1]
    try:
        return skl2onnx.to_onnx(model, np.asarray(sample, dtype=np.float32),
                                options={"zipmap": False},
                                target_opset={"": 17, "ai.onnx.ml": 3})
    except Exception as exc:
        raise InvalidInput(f"{what} cannot be converted to ONNX by skl2onnx "
                           f"({type(exc).__name__}: {str(exc)[:200]}).",
                           "Register it with the sklearn flavour instead.") from None


__all__ = ["OnnxModel", "OnnxFlavour", "onnx_model", "UnsafeArtifact"]


#: the instance the flavour registry names
FLAVOUR = OnnxFlavour()
