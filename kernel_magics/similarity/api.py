"""Similarity search over embedding columns (``lh.similarity``): the indexes this process
holds, kept in step with every insert, and the queries feature groups and views answer.

Feature groups and views reach this through the lakehouse (``fg.find_neighbors``,
``fv.find_neighbors``, ``fv.batch_neighbors``); the features area never imports it.
"""
from __future__ import annotations

import logging
import shutil
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from ..features.embeddings import Embedding, index_folder
from ..shared.errors import InvalidInput, NotFound
from . import search
from .index import Source, VectorIndex, saved_manifest
from .metrics import query_vector

log = logging.getLogger("kernel_magics.similarity")

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..features.groups import FeatureGroup
    from ..features.views import FeatureView
    from ..lakehouse import Lakehouse


class Similarity:
    """Vector indexes and nearest-neighbour queries of one lakehouse."""

    def __init__(self, lh: "Lakehouse") -> None:
        self._lh = lh
        self._indexes: dict[tuple[int, str], VectorIndex] = {}
        #: per index, the table version whose owed online updates were last looked for
        self._checked: dict[tuple[int, str], int] = {}
        self._lock = threading.Lock()

    # -- indexes ---------------------------------------------------------------------------
    def directory(self, fg: "FeatureGroup", column: str):
        """The local folder of ``column``'s index (on team storage: its local cache)."""
        return index_folder(self._lh.home, fg.name, fg.version) / column

    def shared(self, fg: "FeatureGroup", column: str | None = None):
        """On team storage (S3): the folder beside the group's table where its indexes are
        kept for every home (``indexes/<group>_v<n>/<column>``); None on the laptop."""
        if self._lh.storage.is_local:
            return None
        folder = self._lh.storage.location(f"indexes/{fg.name}_v{fg.version}")
        return folder if column is None else folder / column

    def _saved(self, fg: "FeatureGroup", column: str) -> dict[str, Any] | None:
        shared = self.shared(fg, column)
        return saved_manifest(shared if shared is not None else self.directory(fg, column))

    def get(self, fg: "FeatureGroup", col: str | None = None) -> VectorIndex:
        """The open index of ``fg``'s embedding column ``col`` (the only one when None):
        loaded, or started from the Delta table (a cache of it), on first use here."""
        return self._open(fg, self._embedding(fg, col))

    def _embedding(self, fg: "FeatureGroup", col: str | None) -> Embedding:
        """The embedding column ``col`` of ``fg`` (the only one when ``col`` is None)."""
        embeddings = fg.embeddings
        if not embeddings:
            raise InvalidInput(f"Feature group {fg.name!r} version {fg.version} has no "
                               "embedding columns.",
                               "Declare one: lh.create_feature_group(..., embeddings="
                               "{'desc_vec': {'dim': 128, 'metric': 'cosine'}}) or %%feature "
                               "... --embedding desc_vec:128:cosine.")
        if col is None:
            if len(embeddings) > 1:
                raise InvalidInput(f"Feature group {fg.name!r} has several embedding columns "
                                   f"({', '.join(embeddings)}).", "Pass col='...'.")
            return next(iter(embeddings.values()))
        if col not in embeddings:
            raise InvalidInput(f"Feature group {fg.name!r} has no embedding column {col!r}.",
                               f"Its embedding columns: {', '.join(embeddings)}.")
        return embeddings[col]

    def _open(self, fg: "FeatureGroup", emb: Embedding, wait: bool = True) -> VectorIndex:
        """The open index of ``emb`` (loaded, or started from the Delta table, on first use
        in this process; a graph still to build is built in the background). ``wait=False``
        opens it in the background too (what an insert does: it never waits for the index)."""
        key = (fg.id, emb.column)
        with self._lock:
            index = self._indexes.get(key)
            fresh = index is None or index.failed is not None
            if fresh:
                source = Source(fg.table_path, tuple(fg.keys), fg.event_time, emb,
                                self.directory(fg, emb.column), self.shared(fg, emb.column))
                index = VectorIndex(source)
                self._indexes[key] = index
        if fresh and not wait:
            index.open_in_background(then=self._keep_up)
        elif fresh:
            index.open()
            self._keep_up(index)
        elif wait:
            index.wait_opened()
            if index.failed is not None:  # the background open failed: open it now
                return self._open(fg, emb)
        return index

    def _keep_up(self, index: VectorIndex) -> None:
        """Merge the tail into the graph in the background when there is no graph yet, or
        when the tail has grown past ``[similarity] merge_rows``."""
        pending = index.pending
        threshold = self._lh.config.index_merge_rows
        if pending and (index.graph_version < 0 or (threshold and pending >= threshold)):
            index.merge_in_background()

    def after_insert(self, fg: "FeatureGroup") -> None:
        """Bring ``fg``'s indexes up to its table after an insert or delete: the new rows
        join the exactly searched tail at once, deleted keys leave; a large tail is merged in
        the background. An index not open in this process is opened in the background (the
        insert does not wait; a later open catches up from the Delta log anyway)."""
        if not fg.online:
            return
        for emb in fg.embeddings.values():
            try:
                index = self._indexes.get((fg.id, emb.column))
                if index is None or index.failed is not None:
                    self._open(fg, emb, wait=False)
                    continue
                index.touch()
                if index.opened:
                    index.refresh(force=True)  # this process's own write: read it now
                    self._keep_up(index)
            except Exception:  # noqa: BLE001 - the insert is committed; the index is a cache
                # that the next query or open brings up to the table (from the Delta log)
                log.exception("Feature group %r: the index of %r could not follow the "
                              "insert; it catches up on the next search.", fg.name, emb.column)

    def build_index(self, fg: "FeatureGroup", col: str | None = None) -> dict[str, Any]:
        """Merge every pending row into the graph now and save it; returns its status."""
        self._require_online(fg, "build an index")
        index = self._open(fg, self._embedding(fg, col))
        index.wait()
        index.merge()
        return index.status()

    def rebuild_index(self, fg: "FeatureGroup", col: str | None = None) -> dict[str, Any]:
        """Throw the saved index away and build it again from the Delta table."""
        self._require_online(fg, "build an index")
        emb = self._embedding(fg, col)
        with self._lock:
            old = self._indexes.pop((fg.id, emb.column), None)
        if old is not None:
            old.wait()
        shutil.rmtree(self.directory(fg, emb.column), ignore_errors=True)
        shared = self.shared(fg, emb.column)
        if shared is not None:
            shared.delete()
        index = self._open(fg, emb)
        index.wait()
        index.merge()  # built now: the caller asked for it
        return index.status()

    def index_status(self, fg: "FeatureGroup") -> list[dict[str, Any]]:
        """Per embedding column: dimension, metric and the index state (``ready``, ``tail``:
        rows not yet in the graph, searched exactly; ``merging``; ``offline``: the group is
        not online, so only the exact search runs; ``not built``: not opened yet)."""
        out = []
        for emb in fg.embeddings.values():
            index = self._indexes.get((fg.id, emb.column))
            if not fg.online:
                out.append({"column": emb.column, "dim": emb.dim, "metric": emb.metric,
                            "state": "offline"})
            elif index is None:  # not opened in this process: what its manifest says
                manifest = self._saved(fg, emb.column)
                out.append({"column": emb.column, "dim": emb.dim, "metric": emb.metric,
                            "library": "usearch",
                            "state": "saved" if manifest else "not built",
                            "indexed": manifest.get("rows") if manifest else 0,
                            "pending": None,  # known once the index is opened
                            "graph_delta_version": manifest.get("delta_version")
                            if manifest else None})
            else:
                index.refresh()
                out.append(index.status())
        return out

    def verify_index(self, fg: "FeatureGroup", col: str | None = None) -> dict[str, int]:
        """Compare the index with the Delta table (see :meth:`VectorIndex.verify`)."""
        self._require_online(fg, "verify")
        return self._open(fg, self._embedding(fg, col)).verify()

    def forget(self, fg: "FeatureGroup") -> None:
        """Drop ``fg``'s indexes (the group version was deleted)."""
        with self._lock:
            for key in [k for k in self._indexes if k[0] == fg.id]:
                self._indexes.pop(key).wait()
                self._checked.pop(key, None)
        shutil.rmtree(index_folder(self._lh.home, fg.name, fg.version), ignore_errors=True)
        shared = self.shared(fg)
        if shared is not None:
            shared.delete()

    def _require_online(self, fg: "FeatureGroup", what: str) -> None:
        if not fg.online:
            raise InvalidInput(f"Feature group {fg.name!r} version {fg.version} is not online, "
                               f"so it has no online index to {what.split()[0]}.",
                               "Create it with online=True (--online), or search it with "
                               "exact=True.")

    # -- queries ---------------------------------------------------------------------------
    def find_neighbors(self, fg: "FeatureGroup", vector: Any, k: int = 10,
                       filter: str | None = None, col: str | None = None,
                       exact: bool = False) -> "pd.DataFrame":
        """See :meth:`FeatureGroup.find_neighbors`."""
        emb = self._embedding(fg, col)
        k = _k(k)
        q = query_vector(vector, emb, fg.name)
        where = search.validate_filter(filter, fg.name)
        if exact:
            return search.exact_search(fg, emb, q, k, where)
        self._require_online(fg, "search")
        index = self._open(fg, emb)
        index.refresh()
        if self._checked.get((fg.id, emb.column)) != index.version:
            # an online update owed by a cut-off insert is finished first; only a new commit
            # can leave one owed, so this is looked at once per table version (a catalog
            # query per search would cost more than the search)
            from ..features import online_pending
            online_pending.finish_quietly(fg)
            self._checked[(fg.id, emb.column)] = index.version
        found = search.online_search(fg, index, emb, q, k, where)
        return found if found is not None else search.exact_search(fg, emb, q, k, where)

    def neighbors_of_key(self, fg: "FeatureGroup", key: dict[str, Any] | Any, k: int = 10,
                         col: str | None = None, filter: str | None = None
                         ) -> "pd.DataFrame":
        """The rows nearest to the stored vector of one key (the key itself left out)."""
        emb = self._embedding(fg, col)
        values = _key_values(fg, key)
        row = self._lh.online_store.get_one(fg.online_table, list(fg.keys), values) \
            if fg.online else None
        if row is None or row.get(emb.column) is None:
            raise NotFound(f"Feature group {fg.name!r} has no vector in {emb.column!r} for key "
                           f"{dict(zip(fg.keys, values))}.", "Check the key (it must be online).")
        out = self.find_neighbors(fg, row[emb.column], k=_k(k) + 1, filter=filter,
                                  col=emb.column)
        same = np.ones(len(out), bool)
        for name, value in zip(fg.keys, values):
            same &= (out[name] == value).to_numpy()
        return out[~same].head(_k(k)).reset_index(drop=True)

    def view_neighbors(self, fv: "FeatureView", vector: Any, k: int = 10,
                       filter: str | None = None, col: str | None = None,
                       exact: bool = False) -> "pd.DataFrame":
        """See :meth:`FeatureView.find_neighbors`."""
        fg, entry_cols = self._view_group(fv, col)
        found = self.find_neighbors(fg, vector, k=k, filter=filter, col=col, exact=exact)
        dist = search.distance_name(list(found.columns[:-1]))
        entries = [{e: row[g] for g, e in zip(fg.keys, entry_cols)}
                   for row in found.to_dict("records")]
        import pandas as pd
        features = fv.feature_vectors(entries) if entries else \
            pd.DataFrame(columns=[*fv.features, "_found"])
        out = pd.DataFrame(entries, columns=list(dict.fromkeys(entry_cols)))
        out = pd.concat([out, features.drop(columns=[c for c in features.columns
                                                     if c in out.columns])], axis=1)
        out[dist] = found[dist].to_numpy()
        return out

    def view_batch_neighbors(self, fv: "FeatureView", vectors: Any, k: int = 10,
                             filter: str | None = None, col: str | None = None
                             ) -> "pd.DataFrame":
        """See :meth:`FeatureView.batch_neighbors`."""
        fg, entry_cols = self._view_group(fv, col)
        emb = self._embedding(fg, col)
        queries = _queries(vectors, emb, fg.name)
        where = search.validate_filter(filter, fg.name)
        out = search.batch_search(fg, emb, queries, _k(k), where)
        keep = ["query", "rank", *fg.keys,
                *[c for c in out.columns if c in fv.features and c not in fg.keys],
                out.columns[-1]]
        out = out[list(dict.fromkeys(keep))]
        return out.rename(columns=dict(zip(fg.keys, entry_cols)))

    def _view_group(self, fv: "FeatureView", col: str | None):
        """The group of ``fv`` holding the embedding column (``col``, else the only one),
        and the view's entry columns for that group's keys."""
        spine = fv.spec["spine"]
        candidates = [(spine["group"], spine["version"], {k: k for k in fv.keys})]
        for j in fv.spec["joins"]:
            candidates.append((j["group"], j["version"], {g: s for s, g in j["on"]}))
        found = []
        for name, version, on in candidates:
            fg = fv._group(name, version)
            if fg.embeddings and (col is None or col in fg.embeddings):
                found.append((fg, [on.get(k, k) for k in fg.keys]))
        if not found:
            raise InvalidInput(f"Feature view {fv.name!r} reads no group with "
                               + (f"an embedding column {col!r}." if col else
                                  "embedding columns."),
                               "Join a group that declares embeddings=... to the view.")
        if len(found) > 1 and col is None:
            raise InvalidInput(f"Feature view {fv.name!r} reads several groups with "
                               "embedding columns.", "Pass col='...'.")
        return found[0]


def _k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= 10_000:
        raise InvalidInput(f"k={k!r} is not a whole number from 1 to 10000.", "Pass e.g. k=10.")
    return int(k)


def _key_values(fg: "FeatureGroup", key: Any) -> tuple:
    if isinstance(key, dict):
        missing = [k for k in fg.keys if k not in key]
        if missing:
            raise InvalidInput(f"The key lacks the column(s) {missing} of group {fg.name!r}.",
                               f"Pass {{{', '.join(repr(k) + ': ...' for k in fg.keys)}}}.")
        return tuple(key[k] for k in fg.keys)
    if len(fg.keys) != 1:
        raise InvalidInput(f"Feature group {fg.name!r} has a key of {len(fg.keys)} columns.",
                           "Pass the key as a dict.")
    return (key,)


def _queries(vectors: Any, emb: Embedding, group: str) -> np.ndarray:
    """Many query vectors: a DataFrame with the embedding column, or a 2-D array / list."""
    import pandas as pd
    if isinstance(vectors, pd.DataFrame):
        if emb.column not in vectors.columns:
            raise InvalidInput(f"The query DataFrame has no column {emb.column!r}.",
                               f"Put the vectors in a column named {emb.column!r}.")
        vectors = list(vectors[emb.column])
    rows = [query_vector(v, emb, group) for v in vectors]
    return np.stack(rows) if rows else np.zeros((0, emb.dim), np.float32)
