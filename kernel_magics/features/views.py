"""Feature views: a spine of label events joined point-in-time to feature groups.

A view is a named, versioned spec kept in the catalog: the spine group (its keys and event time
are the view's), the joined groups with their join columns, features and ttl, and the labels.
Creating a view with the same spec as an existing version returns that version; a different
spec under the same name becomes the next version.

From a view come training data (``training_data``, ``train_test_split``), inference batches
(``batch_data``) — each recording the Delta versions it read, so ``versions=`` rebuilds it
exactly — and online feature vectors (``feature_vector(s)``) from the online store.
"""
from __future__ import annotations

import datetime as dt
import math
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import pyarrow as pa

from ..catalog.versioned import versioned_row
from ..catalog import from_json, to_json
from ..shared.times import now_utc
from ..shared.durations import parse_duration
from ..shared.errors import InvalidInput, NotFound
from ..shared.times import parse_time
from . import online_pending
from ..shared.names import validate_name
from .columns import HIDDEN_COLUMNS
from .pit import PitSource, run as run_pit
from .ties import cached_ties

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..lakehouse import Lakehouse
    from .groups import FeatureGroup

VERSIONS_ATTR = "lakebook_versions"


# -- building blocks users write ----------------------------------------------------------------
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
                               "Pass lh.feature_group('name') or Join(fg, on=[...]).")
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
            f"Insert rows first (lh.feature_group({fg.name!r}).insert(df) or %%feature).")
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
                           "Pass spine=lh.feature_group('name') (the group holding the label "
                           "events), or fg.select([...]).")
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
                    f"Say which spine columns match its keys: Join(lh.feature_group("
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
                    f"Pass Join(lh.feature_group({fg.name!r}), prefix='...') or select other "
                    "features.")
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


# -- the catalog ----------------------------------------------------------------------------------
def create_feature_view(lh: "Lakehouse", name: str, spine: Any, join: Iterable[Any] | None = None,
                        label: Any = None, features: Sequence[str] | None = None,
                        description: str = "") -> "FeatureView":
    """Create a feature view (or return the existing version with the same spec).

    ``spine``: the group (or ``fg.select([...])``) whose rows are the label events; its keys
    and event time are the view's. ``join``: groups or :class:`Join` entries, joined point in
    time (``[]``/None: the spine alone). ``label``: label column(s), from the spine or a
    joined group. ``features``: keep only these output features (default all).
    """
    validate_name(name, "feature view")
    if description is not None and not isinstance(description, str):
        raise InvalidInput("description must be a string.", "Pass description='…'.")
    spec = resolve_spec(spine, join, label, features)
    text = to_json(spec)
    catalog = lh.catalog
    for _attempt in range(3):
        try:
            with catalog.transaction() as conn:
                rows = conn.execute("SELECT version, spec FROM feature_views WHERE name = ?"
                                    " ORDER BY version", (name,)).fetchall()
                same = [r[0] for r in rows if r[1] == text]
                if same:
                    return get_feature_view(lh, name, same[-1])
                version = 1 + max((r[0] for r in rows), default=0)
                conn.execute("INSERT INTO feature_views(name, version, spec, description,"
                             " created_at) VALUES (?,?,?,?,?)",
                             (name, version, text, description or "", now_utc()))
            break
        except sqlite3.IntegrityError:  # another process took that version: look again
            continue
    from ..storage import descriptors
    row = catalog.query_one("SELECT * FROM feature_views WHERE name = ? AND version = ?",
                            (name, version))
    descriptors.write(descriptors.view_file(lh.home, name, version),
                      {"name": name, "version": version, "spec": spec,
                       "description": row["description"], "created_at": row["created_at"]})
    catalog.record_event("feature_view.created", f"{name}_v{version}",
                         {"spine": spec["spine"]["group"],
                          "joins": [j["group"] for j in spec["joins"]]})
    return get_feature_view(lh, name, version)


def get_feature_view(lh: "Lakehouse", name: str, version: int | None = None) -> "FeatureView":
    """Feature view ``name`` at ``version`` (default: the latest)."""
    validate_name(name, "feature view")
    row = versioned_row(lh.catalog, "feature_views", name, version,
                        noun="feature view", latest_call=f"lh.feature_view({name!r})",
                        create_hint="Create it with lh.create_feature_view(name, spine=..., "
                                    "join=[...]).")
    return FeatureView(lh, row["name"], row["version"], from_json(row["spec"]),
                       row["description"], row["created_at"])


def list_feature_views(lh: "Lakehouse", all_versions: bool = False) -> list["FeatureView"]:
    """Feature views by name: the latest version of each (or every version)."""
    if all_versions:
        rows = lh.catalog.query("SELECT * FROM feature_views ORDER BY name, version")
    else:
        rows = lh.catalog.query(
            "SELECT v.* FROM feature_views v JOIN (SELECT name, MAX(version) AS m FROM"
            " feature_views GROUP BY name) l ON v.name = l.name AND v.version = l.m"
            " ORDER BY v.name")
    return [FeatureView(lh, r["name"], r["version"], from_json(r["spec"]), r["description"],
                        r["created_at"]) for r in rows]


# -- the view -------------------------------------------------------------------------------------
class TrainTestSplit(tuple):
    """``X_train, X_test, y_train, y_test`` with the full frames and provenance attached."""

    train_df: "pd.DataFrame"
    test_df: "pd.DataFrame"
    versions: dict[str, int]
    labels: list[str]
    task: str | None

    def __new__(cls, parts: tuple, **attrs: Any) -> "TrainTestSplit":
        obj = super().__new__(cls, parts)
        for k, v in attrs.items():
            setattr(obj, k, v)
        return obj


@dataclass
class _Pinned:
    group: Any
    table: str
    delta_version: int | None


class FeatureView:
    """A versioned feature view. Get one with ``lh.feature_view(name)`` or
    ``lh.create_feature_view(...)``."""

    def __init__(self, lh: "Lakehouse", name: str, version: int, spec: dict[str, Any],
                 description: str = "", created_at: str | None = None) -> None:
        self._lh = lh
        self.name = name
        self.version = version
        self.spec = spec
        self.description = description
        self.created_at = created_at
        self.keys: list[str] = list(spec["keys"])
        self.event_time: str = spec["event_time"]
        self.labels: list[str] = list(spec["labels"])
        self.features: list[str] = list(spec["features"])
        self._lookup_plan: list[dict[str, Any]] | None = None

    # -- groups ----------------------------------------------------------------------------
    @property
    def spine_group(self) -> "FeatureGroup":
        s = self.spec["spine"]
        return self._group(s["group"], s["version"])

    def _group(self, name: str, version: int) -> "FeatureGroup":
        try:
            return self._lh.feature_group(name, version)
        except NotFound as exc:
            raise NotFound(f"Feature view {self.name!r} (version {self.version}) reads feature "
                           f"group {name!r} version {version}, which no longer exists.",
                           "Create a new version of the view on existing groups.") from exc

    def _tables(self) -> list[tuple[str, int]]:
        s = self.spec["spine"]
        out = [(s["group"], s["version"])]
        out += [(j["group"], j["version"]) for j in self.spec["joins"]]
        return list(dict.fromkeys(out))

    def _pin(self, versions: dict[str, int] | None) -> dict[tuple[str, int], _Pinned]:
        versions = dict(versions or {})
        pins: dict[tuple[str, int], _Pinned] = {}
        for name, version in self._tables():
            fg = self._group(name, version)
            table = f"{name}_v{version}"
            if table in versions:
                v = versions.pop(table)
                if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                    raise InvalidInput(f"versions[{table!r}] = {v!r} is not a Delta version.",
                                       "Pass the dict from df.attrs['lakebook_versions'].")
            else:
                v = fg.delta_version()
            pins[(name, version)] = _Pinned(fg, table, v)
        if versions:
            raise InvalidInput(f"Feature view {self.name!r} does not read "
                               f"{', '.join(map(repr, versions))}.",
                               f"It reads: {', '.join(p.table for p in pins.values())}.")
        return pins

    def _source(self, pin: _Pinned, columns: list[tuple[str, str]], **kw: Any) -> PitSource:
        fg, v = pin.group, pin.delta_version
        files = [] if v is None else fg.parquet_files(v)
        empty = None
        tiebreak = True
        if not files:
            if v is None:
                from .schema import arrow_schema
                empty = arrow_schema(fg.schema or []).empty_table()
            else:
                empty = fg.read(as_of=v, output="arrow", hidden=True).slice(0, 0)
            for col in HIDDEN_COLUMNS:
                if col not in empty.column_names:
                    empty = empty.append_column(col, pa.array([], pa.int64()))
            for src, _out in columns:  # a column the empty table lacks: an all-null one
                if src not in empty.column_names:
                    empty = empty.append_column(src, pa.array([], pa.null()))
        if kw.get("on"):  # a join: are there ties to break? (remembered per file set)
            kw["ties"], kw["winners"] = cached_ties(fg.table_path, files,
                                                    [g for _s, g in kw["on"]], fg.event_time)
        return PitSource(pin.table, files, fg.event_time, columns, tiebreak=tiebreak,
                         empty=empty, **kw)

    def _query(self, start: Any, end: Any, versions: dict[str, int] | None,
               with_labels: bool) -> "pd.DataFrame":
        start_t, end_t = parse_time(start, "start"), parse_time(end, "end")
        pins = self._pin(versions)
        s = self.spec["spine"]
        spine_pin = pins[(s["group"], s["version"])]
        if spine_pin.delta_version is None:
            raise InvalidInput(f"The spine {s['group']!r} of feature view {self.name!r} has no "
                               "rows yet.", f"Insert label events into {s['group']!r} first.")
        wanted = set(self.features) | (set(self.labels) if with_labels else set())
        spine_cols = [*self.keys, self.event_time,
                      *(f for f in [*s["features"], *s["label_columns"]] if f in wanted)]
        spine_src = self._source(spine_pin, [(c, c) for c in dict.fromkeys(spine_cols)],
                                 keys=self.keys)
        joins = []
        for j in self.spec["joins"]:
            cols = [tuple(p) for p in j["features"] if p[1] in wanted]
            if not cols:  # nothing of this group is read: skip its join
                continue
            ttl = None if j["ttl_s"] is None else dt.timedelta(seconds=j["ttl_s"])
            joins.append(self._source(pins[(j["group"], j["version"])], cols,
                                      on=[tuple(p) for p in j["on"]], ttl=ttl))
        table = run_pit(spine_src, joins, start_t, end_t)
        out = [*self.keys, self.event_time, *self.features]
        if with_labels:
            out += self.labels
        df = table.select(out).to_pandas()
        df.attrs[VERSIONS_ATTR] = {p.table: p.delta_version for p in pins.values()}
        return df

    # -- offline ---------------------------------------------------------------------------
    def training_data(self, start: Any = None, end: Any = None,
                      versions: dict[str, int] | None = None) -> "pd.DataFrame":
        """Keys, event time, features and labels, one row per spine row with
        ``start <= event time < end``, joined point in time. ``df.attrs["lakebook_versions"]``
        names the Delta version read of every group; pass it back as ``versions=`` to
        rebuild the same rows."""
        return self._query(start, end, versions, with_labels=True)

    def batch_data(self, start: Any = None, end: Any = None,
                   versions: dict[str, int] | None = None) -> "pd.DataFrame":
        """Keys, event time and features (no labels) of the spine rows in the window: the
        input of a batch inference run."""
        return self._query(start, end, versions, with_labels=False)

    def train_test_split(self, test_size: float = 0.2, by_time: bool = False, seed: int = 42,
                         start: Any = None, end: Any = None,
                         versions: dict[str, int] | None = None) -> TrainTestSplit:
        """``X_train, X_test, y_train, y_test`` from :meth:`training_data`.

        Random rows (seeded) by default; ``by_time=True`` holds out the newest rows (every
        row at or after the cut time is in the test set, so no test row is older than a
        training row)."""
        import numpy as np

        if not self.labels:
            raise InvalidInput(f"Feature view {self.name!r} has no label.",
                               "Create a version with label='column' to split for training.")
        if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) \
                or not 0 < test_size < 1:
            raise InvalidInput(f"test_size={test_size!r} is not a fraction between 0 and 1.",
                               "Pass e.g. test_size=0.2.")
        df = self.training_data(start, end, versions)
        n = len(df)
        n_test = int(math.ceil(n * test_size))
        if n < 2 or n_test >= n:
            raise InvalidInput(f"Feature view {self.name!r} has {n} training row(s): too few "
                               f"to hold out {test_size:.0%}.",
                               "Insert more label events, widen start/end, or lower test_size.")
        if by_time:
            times = df[self.event_time]
            cut = times.iloc[n - n_test]  # rows are in time order
            test_mask = (times >= cut).to_numpy()
            if test_mask.all():
                test_mask = (times > cut).to_numpy()
        else:
            order = np.random.default_rng(seed).permutation(n)
            test_mask = np.zeros(n, dtype=bool)
            test_mask[order[:n_test]] = True
        train_df = df[~test_mask].reset_index(drop=True)
        test_df = df[test_mask].reset_index(drop=True)
        for part in (train_df, test_df):
            part.attrs = dict(df.attrs)
        y = (lambda d: d[self.labels[0]]) if len(self.labels) == 1 else \
            (lambda d: d[self.labels])
        return TrainTestSplit(
            (train_df[self.features], test_df[self.features], y(train_df), y(test_df)),
            train_df=train_df, test_df=test_df, versions=df.attrs[VERSIONS_ATTR],
            labels=list(self.labels), task=_guess_task(df, self.labels))

    # -- online ----------------------------------------------------------------------------
    def _lookups(self) -> list[dict[str, Any]]:
        """What to read from the online store: per source, the table, the entry columns that
        form its key (in the group's key order) and the (column, output) pairs."""
        out = []
        s = self.spec["spine"]
        spine = self._group(s["group"], s["version"])
        spine_feats = [f for f in s["features"] if f in self.features]
        if spine_feats and spine.online:
            out.append({"group": spine, "key_cols": list(spine.keys),
                        "columns": [(f, f) for f in spine_feats], "ttl": None})
        for j in self.spec["joins"]:
            fg = self._group(j["group"], j["version"])
            cols = [tuple(p) for p in j["features"] if p[1] in self.features]
            if not cols:
                continue
            if not fg.online:
                raise InvalidInput(
                    f"Feature group {fg.name!r} (version {fg.version}) of view {self.name!r} is "
                    "not online, so its features cannot be looked up by key.",
                    "Create the group with online=True (%%feature --online) and insert again, "
                    "or use batch_data() for offline features.")
            by_group = {g: s_ for s_, g in j["on"]}
            if set(by_group) != set(fg.keys):
                raise InvalidInput(
                    f"View {self.name!r} joins group {fg.name!r} on {list(by_group)}, not on "
                    f"its key {fg.keys}; the online store is looked up by key.",
                    "Join on the group's key columns to serve the view online.")
            out.append({"group": fg, "key_cols": [by_group[k] for k in fg.keys],
                        "columns": cols,
                        "ttl": None if j["ttl_s"] is None else dt.timedelta(seconds=j["ttl_s"])})
        return out

    def feature_vectors(self, entries: Sequence[dict[str, Any]],
                        passed: Sequence[dict[str, Any]] | dict[str, Any] | None = None
                        ) -> "pd.DataFrame":
        """Feature vectors for many entries (dicts holding the spine's key columns): one row
        per entry, the view's features in order, and ``_found`` (False when a key is not in
        the online store; its features are then null). ``passed``: feature values supplied by
        the caller (one dict for all entries, or one per entry), which take precedence."""
        import pandas as pd

        rows = self._vectors(entries, passed)
        return pd.DataFrame(rows, columns=[*self.features, "_found"])

    def feature_vector(self, entry: dict[str, Any], passed: dict[str, Any] | None = None
                       ) -> dict[str, Any]:
        """The feature vector of one entry, e.g. ``fv.feature_vector({"cc_num": 42})``:
        ``{feature: value, …, "_found": bool}``; an unknown key gives nulls and
        ``_found=False``."""
        return self._vectors([entry], None if passed is None else [passed])[0]

    def _vectors(self, entries: Sequence[dict[str, Any]], passed: Any) -> list[dict[str, Any]]:
        if isinstance(entries, dict):
            entries = [entries]
        entries = list(entries)
        for e in entries:
            if not isinstance(e, dict):
                raise InvalidInput(f"A feature-vector entry must be a dict of key columns, not "
                                   f"{type(e).__name__}.", f"Pass e.g. {{{self.keys[0]!r}: 42}}.")
        if passed is None:
            passed_rows: list[dict] = [{}] * len(entries)
        elif isinstance(passed, dict):
            passed_rows = [passed] * len(entries)
        else:
            passed_rows = list(passed)
            if len(passed_rows) != len(entries):
                raise InvalidInput(f"passed has {len(passed_rows)} rows for {len(entries)} "
                                   "entries.", "Pass one dict per entry, or one for all.")
        if self._lookup_plan is None:  # groups do not change under a view version
            self._lookup_plan = self._lookups()
        lookups = self._lookup_plan
        store = self._lh.online_store if lookups else None
        out = [dict.fromkeys(self.features) for _ in entries]
        found = [True] * len(entries)
        now = dt.datetime.now(dt.timezone.utc)
        for lk in lookups:
            fg = lk["group"]
            missing = sorted({c for e in entries for c in lk["key_cols"] if c not in e})
            if missing:
                example = ", ".join(f"{c!r}: ..." for c in lk["key_cols"])
                raise InvalidInput(f"The entry lacks the key column(s) {missing} needed to look "
                                   f"up group {fg.name!r}.", f"Pass e.g. {{{example}}}.")
            online_pending.finish_quietly(fg)  # an interrupted insert's rows first
            key_values = [tuple(e[c] for c in lk["key_cols"]) for e in entries]
            for i, values in enumerate(key_values):
                for c, v in zip(lk["key_cols"], values):
                    if v is None or isinstance(v, float) and math.isnan(v):
                        raise InvalidInput(f"Entry {i}: the key column {c!r} is null, so no "
                                           f"entity of group {fg.name!r} can be looked up.",
                                           f"Send a value for {c!r}.")
            got = store.get(fg.online_table, list(fg.keys), key_values)
            for i, row in enumerate(got):
                if row is not None and lk["ttl"] is not None:
                    t = row.get(fg.event_time)
                    if t is not None and t < now - lk["ttl"]:
                        row = None
                if row is None:
                    found[i] = False
                    continue
                for col, name in lk["columns"]:
                    out[i][name] = row.get(col)
        for i, row in enumerate(out):
            for k, v in passed_rows[i].items():
                if k in row:
                    row[k] = v
            row["_found"] = found[i]
        return out

    # -- catalog ---------------------------------------------------------------------------
    def versions(self) -> list[dict[str, Any]]:
        """Every version of this view: version, description, creation time and spec."""
        rows = self._lh.catalog.query("SELECT version, description, created_at, spec FROM"
                                      " feature_views WHERE name = ? ORDER BY version",
                                      (self.name,))
        for r in rows:
            r["spec"] = from_json(r["spec"])
        return rows

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (what the REST API answers)."""
        s = self.spec["spine"]
        return {"name": self.name, "version": self.version, "description": self.description,
                "created_at": self.created_at, "keys": self.keys, "event_time": self.event_time,
                "spine": {"group": s["group"], "version": s["version"]},
                "joins": [{"group": j["group"], "version": j["version"],
                           "on": j["on"], "ttl_s": j["ttl_s"],
                           "features": [p[1] for p in j["features"]]}
                          for j in self.spec["joins"]],
                "features": self.features, "labels": self.labels, "spec": self.spec}

    def _repr_html_(self) -> str:
        from ..render.html import card
        s = self.spec["spine"]
        joins = ", ".join(
            f"{j['group']} v{j['version']} on {', '.join(p[0] for p in j['on'])}"
            + (f" (ttl {dt.timedelta(seconds=j['ttl_s'])})" if j["ttl_s"] is not None else "")
            for j in self.spec["joins"]) or "(spine only)"
        rows = [("spine", f"{s['group']} v{s['version']}"),
                ("keys", ", ".join(self.keys)), ("event time", self.event_time),
                ("joins", joins), ("features", ", ".join(self.features) or "(none)"),
                ("labels", ", ".join(self.labels) or "(none)")]
        if self.description:
            rows.append(("description", self.description))
        return card(f"Feature view {self.name}", rows, subtitle=f"v{self.version}")

    def __repr__(self) -> str:
        return (f"FeatureView({self.name!r}, version={self.version}, keys={self.keys}, "
                f"features={self.features}, labels={self.labels})")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, FeatureView) and other.name == self.name
                and other.version == self.version)

    def __hash__(self) -> int:
        return hash(("FeatureView", self.name, self.version))


def _guess_task(df: "pd.DataFrame", labels: list[str]) -> str | None:
    """``classification`` for a bool/string/small-integer label, else ``regression``."""
    import pandas as pd

    if len(labels) != 1 or labels[0] not in df:
        return None
    y = df[labels[0]].dropna()
    if y.empty:
        return None
    if pd.api.types.is_bool_dtype(y) or pd.api.types.is_object_dtype(y) \
            or isinstance(y.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(y):
        return "classification"
    if pd.api.types.is_integer_dtype(y) or (pd.api.types.is_float_dtype(y)
                                            and (y == y.round()).all()):
        return "classification" if y.nunique() <= 20 else "regression"
    return "regression"
