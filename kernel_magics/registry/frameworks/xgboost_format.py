"""Checks of an XGBoost JSON model before XGBoost parses it.

XGBoost's own JSON format holds no code (it never unpickles), but XGBoost trusts its node
indices: a ``left_children`` entry of 10^6, -5 or the node itself loads fine and crashes the
process with SIGSEGV on ``predict``; so does a ``split_indices`` entry past the feature count.
:func:`check` parses the JSON in Python and walks every tree first (``tree_checks``).
"""
from __future__ import annotations

import json
from typing import Any

from .tree_checks import ints, refuse

#: boosters whose trees are checked here; gblinear holds only a weight vector
TREE_BOOSTERS = ("gbtree", "dart")
_PER_NODE = ("left_children", "right_children", "split_indices", "split_conditions",
             "default_left", "base_weights")


def check(data: bytes, what: str) -> dict[str, Any]:
    """The parsed model, or :class:`UnsafeArtifact` when its structure is not a valid model."""
    try:
        model = json.loads(data)
        learner = model["learner"]
        param = learner["learner_model_param"]
        num_feature = int(param["num_feature"])
        booster = learner["gradient_booster"]
        objective = learner["objective"]["name"]
    except (ValueError, KeyError, TypeError):
        raise refuse(what, "it is not XGBoost's JSON model format") from None
    if not isinstance(objective, str):
        raise refuse(what, "its objective is not a name")
    name = booster.get("name")
    if name == "gblinear":
        weights = booster.get("model", {}).get("weights")
        if not isinstance(weights, list) or not all(isinstance(w, (int, float)) for w in weights):
            raise refuse(what, "its linear weights are not numbers")
        return model
    if name not in TREE_BOOSTERS:
        raise refuse(what, f"booster {name!r} is not one Lakebook reads")
    gbtree = booster["gbtree"] if name == "dart" else booster
    try:
        trees = gbtree["model"]["trees"]
        declared = int(gbtree["model"]["gbtree_model_param"]["num_trees"])
        tree_info = gbtree["model"]["tree_info"]
    except (KeyError, TypeError, ValueError):
        raise refuse(what, "its trees are missing") from None
    if not isinstance(trees, list) or declared != len(trees) or len(tree_info) != len(trees):
        raise refuse(what, f"it declares {declared} trees and holds "
                           f"{len(trees) if isinstance(trees, list) else 'no'} list of them")
    for number, tree in enumerate(trees):
        _check_tree(tree, number, num_feature, what)
    return model


def _check_tree(tree: Any, number: int, num_feature: int, what: str) -> None:
    try:
        tp = tree["tree_param"]
        num_nodes = int(tp["num_nodes"])
        leaf_vector = int(tp.get("size_leaf_vector", "1") or 1)
        arrays = {f: tree[f] for f in _PER_NODE}
    except (KeyError, TypeError, ValueError):
        raise refuse(what, f"tree {number} is missing its node arrays") from None
    if leaf_vector > 1:
        raise refuse(what, f"tree {number} has vector leaves (multi-output trees are not "
                           "supported)")
    if num_nodes < 1:
        raise refuse(what, f"tree {number} has no nodes")
    for field, values in arrays.items():
        if not isinstance(values, list) or len(values) != num_nodes:
            raise refuse(what, f"tree {number} has {field} of another length than its "
                               f"{num_nodes} nodes")
    left = ints(arrays["left_children"], what, "left_children", number)
    right = ints(arrays["right_children"], what, "right_children", number)
    split = ints(arrays["split_indices"], what, "split_indices", number)

    def children(node: int):
        lo, hi = left[node], right[node]
        if (lo == -1) != (hi == -1):
            raise refuse(what, f"tree {number} node {node} has one child")
        if lo == -1:
            return ()
        if not 0 <= split[node] < num_feature:
            raise refuse(what, f"tree {number} node {node} splits on feature {split[node]}, "
                               f"but the model has {num_feature}")
        return (lo, hi)

    # XGBoost numbers leaves among the nodes; the root is no one's child
    seen = bytearray(num_nodes)
    stack = [0]
    while stack:
        node = stack.pop()
        if seen[node]:
            raise refuse(what, f"tree {number} reaches node {node} twice")
        seen[node] = 1
        for child in children(node):
            if not 0 < child < num_nodes:
                raise refuse(what, f"tree {number} node {node} points at node {child}, "
                                   f"outside 1..{num_nodes - 1}")
            stack.append(child)
    deleted = int(tp.get("num_deleted", "0") or 0)
    if sum(seen) != num_nodes - deleted:  # pruned nodes stay in the arrays, unreached
        raise refuse(what, f"tree {number} has nodes that no path reaches")
    _check_categories(tree, number, num_nodes, what)


def _check_categories(tree: dict[str, Any], number: int, num_nodes: int, what: str) -> None:
    nodes = tree.get("categories_nodes") or []
    segments = tree.get("categories_segments") or []
    sizes = tree.get("categories_sizes") or []
    categories = tree.get("categories") or []
    if not (len(nodes) == len(segments) == len(sizes)):
        raise refuse(what, f"tree {number} has inconsistent categorical splits")
    for node, start, size in zip(ints(nodes, what, "categories_nodes", number),
                                 ints(segments, what, "categories_segments", number),
                                 ints(sizes, what, "categories_sizes", number)):
        if not 0 <= node < num_nodes or start < 0 or size < 0 or start + size > len(categories):
            raise refuse(what, f"tree {number} has a categorical split outside its arrays")
