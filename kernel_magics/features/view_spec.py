"""What a feature view is made of: the groups users join (:class:`Join`,
:class:`FeatureSelection`) and how they become the view's spec (:func:`resolve_spec`).

The spec is JSON the catalog keeps: the spine group (its keys and event time are the view's),
the joined groups with their join columns, features (with their output names) and ttl, and
the labels. Every name is checked against the groups' schemas here, so a bad view is refused
in the user's terms before anything is written.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..shared.durations import parse_duration
from ..shared.errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def _is_group(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("keys", "event_time", "parquet_files", "online_table"))


def _as_ttl(ttl: Any, group: str) -> dt.timedelta | None:
    """A ttl as a timedelta: a timedelta, seconds, or a duration string ("7d", "12h")."""
    if ttl is None:
        return None
    try:
        if isinstance(ttl, dt.timedelta):
            value = dt.timedelta(seconds=ttl.total_seconds())
        elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
            value = dt.timedelta(seconds=float(ttl))
        else:
            value = parse_duration(ttl, "ttl")
    except (InvalidInput, TypeError, ValueError, OverflowError):
        raise InvalidInput(f"ttl {ttl!r} for group {group!r} is not a duration.",
                           "Pass a timedelta, a number of seconds, or a duration such as "
                           "'7d' or '12h' (units s, m or min, h, d, w).") from None
    if value < dt.timedelta(0):
        raise InvalidInput(f"ttl {ttl!r} for group {group!r} is negative.",
                           "Use a positive duration (or ttl=None for no limit).")
    return value


class Join:
    """One group joined to a view's spine.

    ``on``: the spine columns to match (same name in the group), or ``(spine_col,
    group_col)`` pairs; default: the group's key columns that the spine also has.
    ``features``: the group's features to take (default all). ``ttl``: rows older than the
    spine time minus ttl give nulls. ``prefix``: put before every feature name of this group
    (default: only names that clash get ``<group>_``).
    """

    def __init__(self, group: Any, on: Sequence[str | tuple[str, str]] | str | None = None,
                 features: Sequence[str] | None = None, ttl: Any = None,
                 prefix: str | None = None) -> None:
        if isinstance(group, FeatureSelection):
            if group.joins:
                raise InvalidInput("A joined selection cannot carry joins of its own.",
                                   "Join each group to the spine directly.")
            features = features if features is not None else group.features
            group = group.group
        if not _is_group(group):
            raise InvalidInput(f"Cannot join {group!r}: it is not a feature group.",
                               "Pass lh.features.groups.get('name') or Join(fg, on=[...]).")
        self.group = group
        self.on = [on] if isinstance(on, str) else (None if on is None else list(on))
        self.features = None if features is None else list(features)
        self.ttl = _as_ttl(ttl, group.name)
        if prefix is not None and not isinstance(prefix, str):
            raise InvalidInput("prefix must be a string.", "Pass prefix='profile_'.")
        self.prefix = prefix

    def __repr__(self) -> str:
        return (f"Join({self.group.name!r}, on={self.on}, features={self.features}, "
                f"ttl={self.ttl})")


class FeatureSelection:
    """Some features of a group (``fg.select([...])``, ``fg.select_all()``), optionally with
    joins: ``fg.select([...]).join(other.select_all(), on=[...])``. Pass it as a view's spine,
    or read it directly with :meth:`read`."""

    def __init__(self, group: Any, features: Sequence[str] | None = None,
                 joins: Sequence[Join] = ()) -> None:
        if isinstance(features, str):
            features = [features]
        self.group = group
        self.features = None if features is None else list(features)
        self.joins = list(joins)

    def join(self, other: Any, on: Sequence[str | tuple[str, str]] | str | None = None,
             ttl: Any = None, prefix: str | None = None,
             features: Sequence[str] | None = None) -> "FeatureSelection":
        """This selection with ``other`` (a group or selection) joined point-in-time."""
        j = other if isinstance(other, Join) else Join(other, on=on, features=features,
                                                       ttl=ttl, prefix=prefix)
        return FeatureSelection(self.group, self.features, [*self.joins, j])

    def read(self, start: Any = None, end: Any = None) -> "pd.DataFrame":
        """The point-in-time joined rows (like a view's training data, without saving a view)."""
        from .views import FeatureView
        spec = resolve_spec(self, None, None, None)
        return FeatureView(self.group._lh, "(selection)", 0, spec).training_data(start, end)

    def __repr__(self) -> str:
        joins = "".join(f".join({j.group.name!r})" for j in self.joins)
        return f"FeatureSelection({self.group.name!r}, {self.features}){joins}"


# -- resolving a spec ---------------------------------------------------------------------------
def _group_columns(fg: Any, what: str) -> list[str]:
    schema = fg.schema
    if not schema:
        raise InvalidInput(
            f"Feature group {fg.name!r} (version {fg.version}) has no data yet, so its "
            f"columns are unknown and it cannot be used {what}.",
            f"Insert rows first (lh.features.groups.get({fg.name!r}).insert(df) or %%feature).")
    return [c["name"] for c in schema]


def _pick(fg: Any, wanted: Sequence[str] | None, columns: list[str], skip: set[str]) -> list[str]:
    available = [c for c in columns if c not in skip]
    if wanted is None:
        return available
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    unknown = [c for c in wanted if c not in columns]
    if unknown:
        raise InvalidInput(f"Feature group {fg.name!r} has no feature(s) "
                           f"{', '.join(map(repr, unknown))}.",
                           f"Its features are: {', '.join(available) or '(none)'}.")
    return list(dict.fromkeys(wanted))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def resolve_spec(spine: Any, join: Iterable[Any] | None, label: Any,
                 features: Sequence[str] | None) -> dict[str, Any]:
    """Check a view's parts against the groups' schemas and fix every name: the JSON spec the
    catalog keeps. Raises :class:`InvalidInput` in the user's terms."""
    selection = spine if isinstance(spine, FeatureSelection) else None
    if selection is not None:
        spine = selection.group
    if not _is_group(spine):
        raise InvalidInput(f"The spine {spine!r} is not a feature group.",
                           "Pass spine=lh.features.groups.get('name') (the group holding "
                           "the label events), or fg.select([...]).")
    spine_cols = _group_columns(spine, "as a spine")
    keys, et = list(spine.keys), spine.event_time
    spine_feats = _pick(spine, selection.features if selection else None, spine_cols,
                        {*keys, et})
    joins: list[Join] = list(selection.joins if selection else [])
    if isinstance(join, (str, bytes)) or (join is not None and not isinstance(join, Iterable)):
        join = [join]
    for entry in join or []:
        joins.append(entry if isinstance(entry, Join) else Join(entry))
    labels = _as_list(label)

    # every source's candidate names, to find clashes
    resolved = []
    for j in joins:
        fg = j.group
        cols = _group_columns(fg, "in a join")
        if j.on is None:
            on = [(k, k) for k in fg.keys if k in spine_cols]
            if not on:
                raise InvalidInput(
                    f"Feature group {fg.name!r} shares no key column with the spine "
                    f"{spine.name!r} (its keys: {fg.keys}; the spine's columns: {spine_cols}).",
                    f"Say which spine columns match its keys: Join(lh.features.groups.get("
                    f"{fg.name!r}), on=[...]).")
        else:
            on = [(c, c) if isinstance(c, str) else tuple(c) for c in j.on]
            if not on or any(len(p) != 2 for p in on):
                raise InvalidInput(f"on={j.on!r} for group {fg.name!r} is not a list of "
                                   "column names or (spine column, group column) pairs.",
                                   "Pass on=['cc_num'] or on=[('card', 'cc_num')].")
        bad_spine = [s for s, _ in on if s not in spine_cols]
        bad_group = [g for _, g in on if g not in cols]
        if bad_spine or bad_group:
            parts = []
            if bad_spine:
                parts.append(f"the spine {spine.name!r} has no column(s) {bad_spine}")
            if bad_group:
                parts.append(f"group {fg.name!r} has no column(s) {bad_group}")
            raise InvalidInput(f"Cannot join {fg.name!r}: {' and '.join(parts)}.",
                               f"Spine columns: {spine_cols}; {fg.name!r} columns: {cols}.")
        feats = _pick(fg, j.features, cols, {*(g for _, g in on), fg.event_time})
        resolved.append((j, fg, on, feats))

    spine_names = [*keys, et, *spine_feats]
    counts: dict[str, int] = {}
    for name in spine_names:
        counts[name] = counts.get(name, 0) + 1
    for _j, _fg, _on, feats in resolved:
        for f in feats:
            counts[f] = counts.get(f, 0) + 1
    for lab in labels:  # a spine label not selected as a feature still takes its name
        if lab in spine_cols and lab not in spine_names:
            counts[lab] = counts.get(lab, 0) + 1

    taken = set(spine_names) | {lab for lab in labels if lab in spine_cols}
    join_specs = []
    for j, fg, on, feats in resolved:
        pairs = []
        for f in feats:
            if j.prefix is not None:
                out = j.prefix + f
            elif counts.get(f, 0) > 1:
                out = f"{fg.name}_{f}"
            else:
                out = f
            if out in taken:
                raise InvalidInput(
                    f"Feature {f!r} of group {fg.name!r} would be named {out!r}, which another "
                    "column of the view already has.",
                    f"Pass Join(lh.features.groups.get({fg.name!r}), prefix='...') or "
                    "select other features.")
            taken.add(out)
            pairs.append([f, out])
        join_specs.append({"group": fg.name, "version": fg.version, "on": [list(p) for p in on],
                           "features": pairs,
                           "ttl_s": None if j.ttl is None else j.ttl.total_seconds()})

    # labels: a spine column, or a joined feature (by output or source name)
    out_names = [*spine_feats] + [p[1] for js in join_specs for p in js["features"]]
    label_names = []
    for lab in labels:
        if lab in out_names or lab in spine_cols:
            if lab in keys or lab == et:
                raise InvalidInput(f"Label {lab!r} is a key or the event time of the spine "
                                   f"{spine.name!r}.", "Pick a feature column as the label.")
            name = lab
        else:
            hits = [p[1] for js in join_specs for p in js["features"] if p[0] == lab]
            if len(hits) != 1:
                raise InvalidInput(
                    f"Label {lab!r} is not a column of the spine {spine.name!r} or of a joined "
                    "group" + (" (it is ambiguous)" if hits else "") + ".",
                    "Labels come from: " + (", ".join(dict.fromkeys(spine_cols + out_names))
                                            or "(no columns)") + ".")
            name = hits[0]
        label_names.append(name)
    if len(set(label_names)) != len(label_names):
        raise InvalidInput(f"A label is named twice: {labels}.", "List each label once.")
    spine_label_cols = [lab for lab in label_names if lab in spine_cols and lab not in spine_feats]

    feature_names = [n for n in out_names if n not in label_names]
    if features is not None:
        wanted = _as_list(features)
        unknown = [f for f in wanted if f not in feature_names]
        if unknown:
            raise InvalidInput(f"The view has no feature(s) {', '.join(map(repr, unknown))}.",
                               f"Its features are: {', '.join(feature_names) or '(none)'}.")
        feature_names = [f for f in feature_names if f in set(wanted)]
    return {
        "spine": {"group": spine.name, "version": spine.version, "features": spine_feats,
                  "label_columns": spine_label_cols},
        "keys": keys, "event_time": et, "joins": join_specs, "labels": label_names,
        "features": feature_names,
    }
