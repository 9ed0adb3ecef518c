"""Checks of a LightGBM model text before LightGBM parses it.

LightGBM's text format holds no code, but its parser trusts what it reads: a truncated file
crashes the process at load (SIGSEGV), a ``tree_sizes`` line that does not match the trees
aborts it, a child index out of range crashes ``predict`` and a child pointing back up the
tree makes it loop forever; a split feature past the feature count predicts garbage.
:func:`check` parses the text in Python first: every tree block is complete and its size as
declared, every array has the length its ``num_leaves`` implies, every tree is a tree
(``tree_checks.walk``) and every split names a feature (and a categorical split a category
set) that exists.
"""
from __future__ import annotations

import re
import json
from dataclasses import dataclass, field
from typing import Any

from .tree_checks import ints, refuse, walk

_TREE = re.compile(rb"^Tree=(\d+)\s*$", re.M)
_END = b"end of trees"


@dataclass
class Header:
    """What the header of a LightGBM model says."""

    objective: str
    num_class: int
    max_feature_idx: int
    feature_names: list[str]
    trees: int
    #: the indexes of the features trained as pandas categories, and each one's labels in
    #: code order (LightGBM's ``pandas_categorical``)
    categorical: list[int] = field(default_factory=list)
    categories: list[list[Any]] = field(default_factory=list)


def check(data: bytes, what: str) -> Header:
    """The model's header, or :class:`UnsafeArtifact` when the text is not a valid model."""
    if not data.startswith(b"tree\n"):
        raise refuse(what, "it is not LightGBM's model text")
    end = data.find(b"\n" + _END)
    if end < 0:
        raise refuse(what, "it ends before 'end of trees' (a truncated file)")
    starts = [m.start() for m in _TREE.finditer(data, 0, end + 1)]
    head = _pairs(data[:starts[0]] if starts else data[:end], what, "header")
    try:
        num_class = int(head.get("num_class", "1"))
        per_iteration = int(head.get("num_tree_per_iteration", "1"))
        max_feature = int(head["max_feature_idx"])
        objective = head.get("objective", "regression").split()[0]
    except (KeyError, ValueError, IndexError):
        raise refuse(what, "its header lacks num_class, max_feature_idx or objective") from None
    names = head.get("feature_names", "").split()
    if names and len(names) != max_feature + 1:
        raise refuse(what, f"it names {len(names)} features but max_feature_idx is "
                           f"{max_feature}")
    if per_iteration < 1 or len(starts) % per_iteration:
        raise refuse(what, f"{len(starts)} trees do not make whole iterations of "
                           f"{per_iteration}")
    ends = starts[1:] + [end + 1]
    if "tree_sizes" in head:
        declared = ints(head["tree_sizes"].split(), what, "tree_sizes", -1)
        actual = [e - s for s, e in zip(starts, ends)]
        if declared != actual:
            raise refuse(what, "its tree_sizes do not match its trees")
    for number, (s, e) in enumerate(zip(starts, ends)):
        _check_tree(_pairs(data[s:e], what, f"tree {number}"), number, max_feature, what)
    categorical, categories = _categories(data[end:], max_feature, what)
    return Header(objective=objective, num_class=num_class, max_feature_idx=max_feature,
                  feature_names=names, trees=len(starts), categorical=categorical,
                  categories=categories)


def _categories(tail: bytes, max_feature: int, what: str) -> tuple[list[int], list[list[Any]]]:
    """``[categorical_feature: 1,3]`` and ``pandas_categorical:[...]`` after the trees."""
    text = tail.decode("utf-8", errors="replace")
    found = re.search(r"^\[categorical_feature: ([0-9,]*)\]$", text, re.M)
    indexes = [int(i) for i in found.group(1).split(",") if i] if found else []
    labels = re.search(r"^pandas_categorical:(.*)$", text, re.M)
    try:
        categories = json.loads(labels.group(1)) if labels else None
    except ValueError:
        raise refuse(what, "its pandas_categorical is not JSON") from None
    if categories is None:
        return [], []
    if not isinstance(categories, list) or not all(isinstance(c, list) for c in categories) \
            or any(not 0 <= i <= max_feature for i in indexes):
        raise refuse(what, "its categorical features are inconsistent")
    if len(categories) != len(indexes):  # categories given as codes, not pandas labels
        return [], []
    return indexes, categories


def _pairs(block: bytes, what: str, where: str) -> dict[str, str]:
    try:
        text = block.decode("ascii")
    except UnicodeDecodeError:
        # feature names may be any UTF-8 text; everything else LightGBM writes is ASCII
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            raise refuse(what, f"its {where} is not text") from None
    out: dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _floats(values: list[str], what: str, field: str, tree: int) -> None:
    try:
        [float(v) for v in values]
    except ValueError:
        raise refuse(what, f"tree {tree} has a non-numeric {field}") from None


def _check_tree(tree: dict[str, str], number: int, max_feature: int, what: str) -> None:
    try:
        leaves = int(tree["num_leaves"])
        num_cat = int(tree.get("num_cat", "0"))
    except (KeyError, ValueError):
        raise refuse(what, f"tree {number} has no num_leaves") from None
    if leaves < 1:
        raise refuse(what, f"tree {number} has {leaves} leaves")
    if tree.get("is_linear", "0") != "0":
        raise refuse(what, f"tree {number} is a linear tree (linear_tree models are not "
                           "supported)")
    _floats(tree.get("leaf_value", "").split(), what, "leaf_value", number)
    if len(tree.get("leaf_value", "").split()) != leaves:
        raise refuse(what, f"tree {number} has not {leaves} leaf values")
    if leaves == 1:
        return
    n = leaves - 1
    fields = {}
    for field in ("split_feature", "threshold", "decision_type", "left_child", "right_child"):
        values = tree.get(field, "").split()
        if len(values) != n:
            raise refuse(what, f"tree {number} has {len(values)} {field} for {n} splits")
        fields[field] = values
    _floats(fields["threshold"], what, "threshold", number)
    features = ints(fields["split_feature"], what, "split_feature", number)
    decision = ints(fields["decision_type"], what, "decision_type", number)
    left = ints(fields["left_child"], what, "left_child", number)
    right = ints(fields["right_child"], what, "right_child", number)
    thresholds = fields["threshold"]
    if num_cat:
        bounds = ints(tree.get("cat_boundaries", "").split(), what, "cat_boundaries", number)
        cats = tree.get("cat_threshold", "").split()
        if len(bounds) != num_cat + 1 or bounds[0] != 0 or any(
                b > a for a, b in zip(bounds[1:], bounds)) or bounds[-1] != len(cats):
            raise refuse(what, f"tree {number} has inconsistent categorical splits")
        ints(cats, what, "cat_threshold", number)
    for node in range(n):
        if not 0 <= features[node] <= max_feature:
            raise refuse(what, f"tree {number} node {node} splits on feature "
                               f"{features[node]}, but the model has {max_feature + 1}")
        if decision[node] & 1:  # a categorical split: threshold is an index into cat sets
            try:
                index = int(float(thresholds[node]))
            except ValueError:
                index = -1
            if not 0 <= index < num_cat:
                raise refuse(what, f"tree {number} node {node} names category set "
                                   f"{thresholds[node]}, outside 0..{num_cat - 1}")

    def children(node: int):
        return [("leaf", ~c) if c < 0 else ("node", c) for c in (left[node], right[node])]

    walk(what, number, n, leaves, children)
