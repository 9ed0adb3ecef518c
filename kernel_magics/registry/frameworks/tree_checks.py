"""Tree structure checks shared by the booster formats.

XGBoost and LightGBM index their tree arrays without bounds checks: a child index out of
range or pointing back up the tree crashes or hangs the process on the first prediction.
So every tree is walked here first: from the root, each node is reached exactly once
(no cycle, no shared node), every child index is in range and every split names a feature
the model has.
"""
from __future__ import annotations

from ...shared.errors import UnsafeArtifact


def refuse(what: str, why: str) -> UnsafeArtifact:
    """The error for a model file whose structure is not a valid model."""
    return UnsafeArtifact(f"{what} is not a valid model file ({why}), so it was not loaded.",
                          "A model file Lakebook wrote never looks like this: register the "
                          "model again from its training code.")


def walk(what: str, tree: int, n_internal: int, n_leaves: int, children) -> None:
    """Check that ``children(node) -> (left, right)`` describes one tree over exactly
    ``n_internal`` internal nodes (ids ``0..n_internal-1``) and ``n_leaves`` leaves. Children are given as
    ``("node", id)`` or ``("leaf", id)``; the root is internal node 0."""
    seen_nodes = bytearray(n_internal)
    seen_leaves = bytearray(n_leaves)
    stack = [0]
    while stack:
        node = stack.pop()
        if seen_nodes[node]:
            raise refuse(what, f"tree {tree} reaches node {node} twice")
        seen_nodes[node] = 1
        for kind, child in children(node):
            if kind == "leaf":
                if not 0 <= child < n_leaves:
                    raise refuse(what, f"tree {tree} node {node} points at leaf {child}, "
                                       f"outside 0..{n_leaves - 1}")
                if seen_leaves[child]:
                    raise refuse(what, f"tree {tree} reaches leaf {child} twice")
                seen_leaves[child] = 1
            else:
                if not 0 < child < n_internal:
                    raise refuse(what, f"tree {tree} node {node} points at node {child}, "
                                       f"outside 1..{n_internal - 1}")
                stack.append(child)
    # a LightGBM tree is a full binary tree: every node and leaf hangs from the root
    if not all(seen_nodes) or not all(seen_leaves):
        raise refuse(what, f"tree {tree} has nodes or leaves that no path reaches")


def ints(values, what: str, field: str, tree: int) -> list[int]:
    """``values`` as a list of ints (refusing anything else)."""
    try:
        out = [int(v) for v in values]
    except (TypeError, ValueError):
        raise refuse(what, f"tree {tree} has a non-integer {field}") from None
    if any(float(v) != i for v, i in zip(values, out) if not isinstance(v, str)):
        raise refuse(what, f"tree {tree} has a non-integer {field}")
    return out
