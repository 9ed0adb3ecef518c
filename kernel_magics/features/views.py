"""Feature views: a spine of label events joined point-in-time to feature groups.

A view is a named, versioned spec kept in the catalog (what it is made of: ``view_spec``).
``lh.features.views.get_or_create`` with the spec of an existing version returns that
version, and a different spec under the same name becomes the next version;
``lh.features.views.create`` (``lh.create_feature_view``) refuses a spec that has a version.

From a view come training data (``training_data``, ``train_test_split``: ``splits``),
inference batches (``batch_data``) — each recording the Delta versions it read, so
``versions=`` rebuilds it exactly — and online feature vectors (``feature_vector(s)``:
``vectors``) from the online store.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import pyarrow as pa

from ..shared.errors import InvalidInput, NotFound
from ..shared.times import parse_time
from . import records
from .columns import HIDDEN_COLUMNS
from .pit import PitSource, run as run_pit
from .splits import VERSIONS_ATTR, TrainTestSplit, train_test_split
from .ties import cached_ties, ties_of
from .vectors import lookup_plan, vectors
from .view_spec import FeatureSelection, Join  # noqa: F401 - built from these (public names)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..lakehouse import Lakehouse
    from .groups import FeatureGroup

__all__ = ["FeatureView", "FeatureSelection", "Join", "TrainTestSplit", "VERSIONS_ATTR"]


@dataclass
class _Pinned:
    group: Any
    table: str
    delta_version: int | None


class FeatureView:
    """A versioned feature view. Get one with ``lh.features.views.get(name)`` or
    ``lh.create_feature_view(...)``."""

    def __init__(self, lh: "Lakehouse", name: str, version: int, spec: dict[str, Any],
                 description: str = "", created_at: str | None = None,
                 created_by: str | None = None) -> None:
        self._lh = lh
        #: who created this view version
        self.created_by = created_by
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
    def _group(self, name: str, version: int) -> "FeatureGroup":
        try:
            return self._lh.features.groups.get(name, version)
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
        remote = fg.table_path.local_path is None
        files = [] if v is None else fg.parquet_files(v)
        dataset = None
        if remote and files:  # DuckDB reads an object-store table through Arrow
            dataset, files = fg.dataset(v), []
        empty = None
        tiebreak = True
        if not files and dataset is None:
            if v is None:
                from .schema import arrow_schema
                empty = arrow_schema(fg.schema or []).empty_table()
            else:
                empty = fg._read(as_of=v, output="arrow", hidden=True).slice(0, 0)
            for col in HIDDEN_COLUMNS:
                if col not in empty.column_names:
                    empty = empty.append_column(col, pa.array([], pa.int64()))
            for src, _out in columns:  # a column the empty table lacks: an all-null one
                if src not in empty.column_names:
                    empty = empty.append_column(src, pa.array([], pa.null()))
        if kw.get("on") and dataset is not None:  # a join: are there ties to break?
            kw["ties"], kw["winners"] = ties_of(dataset, [g for _s, g in kw["on"]],
                                                fg.event_time)
        elif kw.get("on"):  # (remembered per file set next to a local table)
            kw["ties"], kw["winners"] = cached_ties(fg.table_path.local_path, files,
                                                    [g for _s, g in kw["on"]], fg.event_time)
        return PitSource(pin.table, files, fg.event_time, columns, tiebreak=tiebreak,
                         empty=empty, dataset=dataset, **kw)

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
        lineage = self._lh.lineage
        for (group, version), pin in pins.items():
            lineage.read("feature_group", group, version, delta_version=pin.delta_version)
        lineage.read("feature_view", self.name, self.version)
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
        return train_test_split(self, test_size, by_time, seed, start, end, versions)

    # -- online ----------------------------------------------------------------------------
    def lookup_plan(self) -> list[dict[str, Any]]:
        """What to read from the online store: per source, the group, the entry columns that
        form its key (in the group's key order) and the (column, output) pairs. Computed once
        (the groups of a view version never change)."""
        if self._lookup_plan is None:
            self._lookup_plan = lookup_plan(self)
        return self._lookup_plan

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
        return vectors(self, entries, passed)

    # -- similarity ------------------------------------------------------------------------
    def find_neighbors(self, vector: Any, k: int = 10, filter: str | None = None,
                       col: str | None = None, exact: bool = False) -> "pd.DataFrame":
        """The ``k`` entities nearest to ``vector`` in the embedding column ``col`` of the
        view's group that declares it: their key columns (as the view names them), the
        view's features for them (online, as :meth:`feature_vectors` gives them) and
        ``distance``, nearest first. ``filter`` and ``exact`` as in
        :meth:`FeatureGroup.find_neighbors`."""
        return self._lh.similarity.view_neighbors(self, vector, k=k, filter=filter, col=col,
                                                  exact=exact)

    def batch_neighbors(self, vectors: Any, k: int = 10, filter: str | None = None,
                        col: str | None = None) -> "pd.DataFrame":
        """Exact neighbours of many query vectors at once, offline (the latest row per key
        of the Delta table): a DataFrame with one row per (``query``, ``rank``) holding the
        neighbour's keys, the view's features from its group, and ``distance``. ``vectors``:
        a DataFrame with the embedding column, or a list / 2-D array of vectors."""
        return self._lh.similarity.view_batch_neighbors(self, vectors, k=k, filter=filter,
                                                        col=col)

    # -- catalog ---------------------------------------------------------------------------
    def versions(self) -> list[dict[str, Any]]:
        """Every version of this view: version, description, creation time and spec."""
        return records.view_versions(self._lh.catalog, self.name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (what the REST API answers)."""
        s = self.spec["spine"]
        return {"name": self.name, "version": self.version, "description": self.description,
                "created_at": self.created_at, "created_by": self.created_by,
                "keys": self.keys, "event_time": self.event_time,
                "spine": {"group": s["group"], "version": s["version"]},
                "joins": [{"group": j["group"], "version": j["version"],
                           "on": j["on"], "ttl_s": j["ttl_s"],
                           "features": [p[1] for p in j["features"]]}
                          for j in self.spec["joins"]],
                "features": self.features, "labels": self.labels, "spec": self.spec}

    def _repr_html_(self) -> str:
        from ..render.features import view_html
        return view_html(self.to_dict())

    def __repr__(self) -> str:
        return (f"FeatureView({self.name!r}, version={self.version}, keys={self.keys}, "
                f"features={self.features}, labels={self.labels})")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, FeatureView) and other.name == self.name
                and other.version == self.version)

    def __hash__(self) -> int:
        return hash(("FeatureView", self.name, self.version))
