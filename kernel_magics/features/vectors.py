"""Online feature vectors of a view: per entry (its key values), the view's features read
from the online store, ``_found`` False for a key the store does not have (its features are
then null), and values the caller passed taking precedence."""
from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, Sequence

from ..shared.errors import InvalidInput
from . import online_pending

if TYPE_CHECKING:  # pragma: no cover
    from .views import FeatureView


def lookup_plan(view: "FeatureView") -> list[dict[str, Any]]:
    """What to read from the online store: per source, the table, the entry columns that
    form its key (in the group's key order) and the (column, output) pairs."""
    out = []
    s = view.spec["spine"]
    spine = view._group(s["group"], s["version"])
    spine_feats = [f for f in s["features"] if f in view.features]
    if spine_feats and spine.online:
        out.append({"group": spine, "key_cols": list(spine.keys),
                    "columns": [(f, f) for f in spine_feats], "ttl": None})
    for j in view.spec["joins"]:
        fg = view._group(j["group"], j["version"])
        cols = [tuple(p) for p in j["features"] if p[1] in view.features]
        if not cols:
            continue
        if not fg.online:
            raise InvalidInput(
                f"Feature group {fg.name!r} (version {fg.version}) of view {view.name!r} is "
                "not online, so its features cannot be looked up by key.",
                "Create the group with online=True (%%feature --online) and insert again, "
                "or use batch_data() for offline features.")
        by_group = {g: s_ for s_, g in j["on"]}
        if set(by_group) != set(fg.keys):
            raise InvalidInput(
                f"View {view.name!r} joins group {fg.name!r} on {list(by_group)}, not on "
                f"its key {fg.keys}; the online store is looked up by key.",
                "Join on the group's key columns to serve the view online.")
        out.append({"group": fg, "key_cols": [by_group[k] for k in fg.keys],
                    "columns": cols,
                    "ttl": None if j["ttl_s"] is None else dt.timedelta(seconds=j["ttl_s"])})
    return out


def vectors(view: "FeatureView", entries: Sequence[dict[str, Any]], passed: Any
            ) -> list[dict[str, Any]]:
    """One feature vector per entry (see :meth:`FeatureView.feature_vectors`)."""
    if isinstance(entries, dict):
        entries = [entries]
    entries = list(entries)
    for e in entries:
        if not isinstance(e, dict):
            raise InvalidInput(f"A feature-vector entry must be a dict of key columns, not "
                               f"{type(e).__name__}.", f"Pass e.g. {{{view.keys[0]!r}: 42}}.")
    if passed is None:
        passed_rows: list[dict] = [{}] * len(entries)
    elif isinstance(passed, dict):
        passed_rows = [passed] * len(entries)
    else:
        passed_rows = list(passed)
        if len(passed_rows) != len(entries):
            raise InvalidInput(f"passed has {len(passed_rows)} rows for {len(entries)} "
                               "entries.", "Pass one dict per entry, or one for all.")
    lookups = view.lookup_plan()
    store = view._lh.online_store if lookups else None
    out = [dict.fromkeys(view.features) for _ in entries]
    found = [True] * len(entries)
    now = dt.datetime.now(dt.timezone.utc)
    # an interrupted insert's rows first (one query for all the groups read)
    online_pending.finish_quietly_all([lk["group"] for lk in lookups])
    for lk in lookups:
        fg = lk["group"]
        missing = sorted({c for e in entries for c in lk["key_cols"] if c not in e})
        if missing:
            example = ", ".join(f"{c!r}: ..." for c in lk["key_cols"])
            raise InvalidInput(f"The entry lacks the key column(s) {missing} needed to look "
                               f"up group {fg.name!r}.", f"Pass e.g. {{{example}}}.")
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
