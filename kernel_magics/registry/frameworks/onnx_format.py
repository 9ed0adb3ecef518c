"""Checks of an ONNX model before onnxruntime sees it.

An ONNX file is a graph of operators, and a model is data as long as every operator is one
onnxruntime implements itself: a custom operator (any domain other than the standard
``ai.onnx`` and ``ai.onnx.ml``) is native code registered by the caller, so it is refused
unless the user allowed it by name (``onnx:<domain>.<op>``, through the registry's trust
policy). The walk covers subgraphs (``If``/``Loop``/``Scan`` bodies) and local functions.
Tensors stored outside the file (external data) are refused: they would make onnxruntime
read other files. ``ort_config`` metadata (session options a model may carry when
``ORT_LOAD_CONFIG_FROM_MODEL`` is set, e.g. profiling that writes files) is dropped.
"""
from __future__ import annotations

from typing import Any, Iterator

from ...shared.errors import UnsafeArtifact
from .tree_checks import refuse

#: the operator domains onnxruntime implements itself
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})
#: how an operator is named in a trust policy
PREFIX = "onnx:"


def op_name(domain: str, op: str) -> str:
    """The name a user trusts a custom operator by: ``onnx:com.microsoft.Gelu``."""
    return f"{PREFIX}{domain}.{op}"


def parse(data: bytes, what: str) -> Any:
    """The ModelProto parsed from ``data`` (protobuf parsing builds messages only)."""
    import onnx
    try:
        model = onnx.load_from_string(data)
    except Exception as exc:  # DecodeError and friends
        raise refuse(what, f"it is not an ONNX model: {type(exc).__name__}") from None
    if not len(model.graph.node) and not len(model.graph.output):
        raise refuse(what, "it holds no graph")
    return model


def _graphs(graph: Any) -> Iterator[Any]:
    """``graph`` and the bodies of its ``If``/``Loop``/``Scan`` nodes, recursively."""
    yield graph
    from onnx import AttributeProto
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == AttributeProto.GRAPH:
                yield from _graphs(attr.g)
            elif attr.type == AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _graphs(g)


def _all_graphs(model: Any) -> Iterator[Any]:
    """The main graph, the local functions (a FunctionProto has nodes like a graph) and
    every subgraph of either."""
    yield from _graphs(model.graph)
    for function in model.functions:
        yield from _graphs(function)


def custom_ops(model: Any) -> list[str]:
    """Every operator outside the standard domains, as ``onnx:<domain>.<op>`` (local
    functions are ONNX code, not native operators: their bodies are walked instead)."""
    local = {(f.domain, f.name) for f in model.functions}
    found = set()
    for graph in _all_graphs(model):
        for node in graph.node:
            if node.domain in STANDARD_DOMAINS or (node.domain, node.op_type) in local:
                continue
            found.add(op_name(node.domain, node.op_type))
    return sorted(found)


def _tensors(model: Any) -> Iterator[Any]:
    from onnx import AttributeProto
    for graph in _all_graphs(model):
        yield from getattr(graph, "initializer", ())
        for sparse in getattr(graph, "sparse_initializer", ()):
            yield sparse.values
            yield sparse.indices
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == AttributeProto.TENSOR:
                    yield attr.t
                elif attr.type == AttributeProto.TENSORS:
                    yield from attr.tensors


def check(data: bytes, what: str) -> Any:
    """The parsed model, refused when a tensor lives outside the file; ``ort_config``
    metadata removed."""
    from onnx import TensorProto
    model = parse(data, what)
    for tensor in _tensors(model):
        if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data):
            raise UnsafeArtifact(
                f"{what} keeps tensor {tensor.name!r} in another file (ONNX external data), "
                "so it was not loaded: loading it would read files beside the model.",
                "Save the model as one file (onnx.save_model(m, path, "
                "save_as_external_data=False)) and register it again.")
    kept = [p for p in model.metadata_props if p.key != "ort_config"]
    if len(kept) != len(model.metadata_props):
        del model.metadata_props[:]
        model.metadata_props.extend(kept)
    return model
