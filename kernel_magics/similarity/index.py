"""The approximate-nearest-neighbour index of one embedding column, kept beside the online store.

The Delta table is the source of truth; the index is a cache of it that can always be rebuilt.
It holds, per key, the vector of the row the online store holds (the newest event time; on a
tie, the row written last), in three parts:

- the **graph**: a usearch HNSW index (``metric="ip"`` on normalised vectors for cosine,
  ``"ip"`` for dot, ``"l2sq"`` for l2), saved in the home with a sidecar of its keys;
- the **tail**: rows committed to Delta after the graph was saved, not yet in the graph,
  searched exactly with numpy. An insert only adds to the tail, so it never waits for graph
  building (HNSW insertion costs ~0.2-0.4 ms of CPU per vector, ~100x a Delta write);
- a **merge** moves the tail into the graph in batches (in a background thread once the tail
  is large, or ``fg.build_index()``) and saves. It adds to the graph outside the index's lock
  (searches, inserts and deletes go on); a first build goes into a graph of its own, swapped
  in when done, since usearch makes a search wait for a running ``add``.

Without a usable saved index (the first insert, another process, a corrupt file) an open puts
every key's newest row in the tail and the graph is built by a background merge: an insert or
a search never waits for a graph build. A delete (a Delta commit listing the keys it touched)
removes those keys' vectors from the graph and the tail and puts their newest remaining rows
in the tail; replayed from the log by every process, it gives the same index.

Layout: ``<home>/indexes/<group>_v<version>/<column>/`` holds ``graph-<token>.usearch``,
``keys-<token>.arrow`` (per graph row: id, key text, event micros) and ``manifest.json``
(format, dimension, metric, the Delta version the graph covers, the two files and their
blake2b). Files are written under new names and the manifest is replaced last (``rename``),
so a process killed mid-save leaves the old or the new index, never a mix. On team storage
(S3) that folder is a local cache: the files and the manifest are kept beside the group's
table (``indexes/<group>_v<version>/<column>/`` on the storage, manifest uploaded last), so
another home loads them instead of rebuilding. On open, a
missing file, a checksum or header mismatch, or a Delta log older than the manifest's version
rebuilds the index from the table (usearch itself does not detect flipped bytes).

Ids: a key's id is 63 bits of the blake2b of its key text (the online store's key text), so
every process names a key the same way without sharing state (the chance of any collision
among a million keys is about 5e-8).
"""
from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import logging
import os
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..features import tables
from ..features.columns import COMMIT_COLUMN, ROW_COLUMN
from ..features.embeddings import Embedding, matrix
from ..features.online.base import event_micros, key_texts, newest_rows
from ..storage import delta as storage
from .metrics import normalised

log = logging.getLogger("kernel_magics.similarity")

FORMAT = 1
NOT_SAVED = "no index saved yet"
MANIFEST = "manifest.json"
#: HNSW settings measured in research-ann (M=16, efConstruction=128): recall@10 >= 0.95
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 96
#: a graph of at most this many keys is searched exactly (brute force over it is as fast as
#: the walk, and a small graph that lost many nodes to deletes walks poorly)
EXACT_GRAPH = 2048
#: vectors per ``add`` call while readers may be searching: ``add`` holds the GIL
MERGE_BATCH = 256
#: a tail this large is merged with one bulk, multi-threaded ``add`` (a rebuild)
BULK_ROWS = 20_000
#: on team storage, how often (seconds) a search looks for other processes' commits and saves
POLL_S = 1.0
#: vectors per multi-threaded ``add`` of a build: between two, a build can stop (at exit)
BUILD_CHUNK = 10_000

#: indexes with a background open or merge running (stopped and waited for at exit: a
#: thread cut off inside usearch or deltalake at interpreter exit aborts the process). A
#: build of at most BUILD_CHUNK rows finishes and is saved; a larger one stops after its
#: current chunk and the next open builds it again.
_BUSY: "weakref.WeakSet[VectorIndex]" = weakref.WeakSet()


class _Stopped(Exception):
    """A background merge was asked to stop (the process is exiting)."""


@atexit.register
def _stop_background_work() -> None:
    busy = list(_BUSY)
    for index in busy:
        index._stop = True
    for index in busy:
        for attr in ("_opening", "_merging"):  # an open may start a merge: that one is next
            thread = getattr(index, attr)
            if thread is not None and thread.is_alive():
                thread.join()


@dataclass(frozen=True)
class Source:
    """Where an index's rows come from: a feature group's Delta table and key."""

    table_path: Path
    keys: tuple[str, ...]
    event_time: str
    embedding: Embedding
    #: the local folder the index files live in (on team storage: the local cache)
    directory: Path
    #: on team storage (S3): the folder beside the table where the index is kept, shared by
    #: every home using that storage; None on the laptop (the home is the storage)
    shared: Any = None


@dataclass
class _Entries:
    """Index rows: ids, key texts, event micros and vectors (in index space), aligned."""

    ids: np.ndarray
    keys: np.ndarray  # object array of key texts
    times: np.ndarray
    vectors: np.ndarray

    @classmethod
    def empty(cls, dim: int) -> "_Entries":
        return cls(np.zeros(0, np.uint64), np.zeros(0, object), np.zeros(0, np.int64),
                   np.zeros((0, dim), np.float32))

    def __len__(self) -> int:
        return len(self.ids)


def key_ids(texts: list[str] | np.ndarray) -> np.ndarray:
    """The index id of each key text (see the module docstring)."""
    out = np.empty(len(texts), dtype=np.uint64)
    mask = (1 << 63) - 1
    for i, text in enumerate(texts):
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "little") & mask
    return out


def saved_manifest(directory: Any) -> dict[str, Any] | None:
    """The manifest of the index saved in ``directory`` (a local folder or a storage
    Location; None: none, or unreadable)."""
    try:
        return json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def _without(current: _Entries, merged: _Entries) -> _Entries:
    """The entries of ``current`` that are not in ``merged`` as they are (same id, event
    time and vector): what a merge leaves in the tail."""
    if not len(merged) or not len(current):
        return current
    order = np.argsort(merged.ids, kind="stable")
    sorted_ids = merged.ids[order]
    pos = np.minimum(np.searchsorted(sorted_ids, current.ids), len(sorted_ids) - 1)
    idx = order[pos]
    same = (sorted_ids[pos] == current.ids) & (merged.times[idx] == current.times)
    if same.any():
        a, b = merged.vectors[idx[same]], current.vectors[same]
        same[same] = np.all((a == b) | (np.isnan(a) & np.isnan(b)), axis=1)
    keep = ~same
    return _Entries(current.ids[keep], current.keys[keep], current.times[keep],
                    current.vectors[keep])


def _digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class VectorIndex:
    """The index of one embedding column (see the module docstring). Thread-safe: searches
    run while a merge adds to the graph; one merge or refresh at a time per process, and one
    save at a time per index folder (a file lock) across processes."""

    def __init__(self, source: Source, threads: int | None = None) -> None:
        self.source = source
        self.emb = source.embedding
        self.dir = source.directory
        self.threads = threads or max(1, os.cpu_count() or 1)
        self._lock = threading.RLock()
        self._graph: Any = None
        self._graph_entries = _Entries.empty(self.emb.dim)  # ids sorted; vectors unused
        self._tail = _Entries.empty(self.emb.dim)
        self._covered = -1          # Delta version the graph covers (-1: none)
        self._seen = -1             # Delta version graph + tail cover
        self._log_stamp: tuple | None = None
        self._manifest_stamp: tuple | None = None
        self.rebuilt: str | None = None  # why the last open rebuilt the index
        #: where the last load came from: ``home``, ``storage`` (team) or None (built here)
        self.loaded_from: str | None = None
        self._polled = 0.0
        self._merging: threading.Thread | None = None
        self._merge_lock = threading.Lock()
        self._stop = False
        self._opening: threading.Thread | None = None
        self._lookup: tuple | None = None  # see _tail_lookup
        # what refresh() stats on every search, made once (a local path, or the Location)
        delta_log = source.table_path / "_delta_log"
        self._log_path = getattr(delta_log, "local_path", delta_log) or delta_log
        self._manifest_path = self.dir / MANIFEST
        #: key texts deleted while a merge adds to the graph (None: no merge running)
        self._forgotten: set[str] | None = None
        self._opened = threading.Event()
        #: why a background open failed (the next use opens again)
        self.failed: BaseException | None = None

    @property
    def version(self) -> int:
        """The Delta version the index (graph and tail) is in step with."""
        return self._seen

    @property
    def size(self) -> int:
        """Keys held (graph plus tail; a key in both counts twice: an estimate)."""
        return len(self._graph_entries) + len(self._tail)

    # -- space -----------------------------------------------------------------------------
    @property
    def usearch_metric(self) -> str:
        return "l2sq" if self.emb.metric == "l2" else "ip"

    @property
    def dtype(self) -> str:
        # f16 halves memory and speeds building for 0.007 of recall (research-ann); only for
        # unit vectors, whose values f16 holds without overflow
        return "f16" if self.emb.metric == "cosine" else "f32"

    def to_space(self, vectors: np.ndarray) -> np.ndarray:
        """Vectors as the index stores them (unit length for cosine)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return normalised(vectors) if self.emb.metric == "cosine" else vectors

    def _space_distances(self, vectors: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Distances as usearch computes them (so graph and tail results compare)."""
        if self.usearch_metric == "l2sq":
            diff = vectors - q
            return np.einsum("ij,ij->i", diff, diff)
        return 1.0 - vectors @ q

    def _new_graph(self):
        from usearch.index import Index
        return Index(ndim=self.emb.dim, metric=self.usearch_metric, dtype=self.dtype,
                     connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD,
                     expansion_search=EXPANSION_SEARCH)

    # -- opening ---------------------------------------------------------------------------
    def open(self, _signal: bool = True) -> "VectorIndex":
        """Load the saved index and catch up with the Delta table; without a usable saved
        index, start from the table (every key in the exactly searched tail, see
        :meth:`_rebuild`): the graph is then built by a merge."""
        try:
            with self._lock:
                reason = self._load()
                if reason is not None:
                    level = logging.INFO if reason == NOT_SAVED else logging.WARNING
                    log.log(level, "Index of %s: %s; building it from the Delta table.",
                            self.dir, reason)
                    self.rebuilt = reason
                    self._rebuild()
                self.refresh(force=True)
        except BaseException as exc:
            self.failed = exc
            self._opened.set()
            raise
        if _signal:
            self._opened.set()
        return self

    def open_in_background(self, then: Any = None) -> None:
        """:meth:`open` in a daemon thread, then ``then(self)``; a failure is logged and
        kept in :attr:`failed` (the next use opens the index again)."""
        def run() -> None:
            try:
                self.open(_signal=False)
                if then is not None:  # before waiters go on: they then see its merge
                    then(self)
            except Exception:  # noqa: BLE001 - the table is the truth; the next use retries
                log.exception("Index of %s could not be opened in the background.", self.dir)
            finally:
                self._opened.set()

        _BUSY.add(self)
        self._opening = threading.Thread(target=run, name="lakebook-index-open", daemon=True)
        self._opening.start()

    @property
    def opened(self) -> bool:
        """Whether :meth:`open` finished (successfully or not, see :attr:`failed`)."""
        return self._opened.is_set()

    def wait_opened(self) -> None:
        self._opened.wait()

    def touch(self) -> None:
        """This process committed to the table: the next refresh looks at the log whatever
        its stamps or poll interval say."""
        self._polled = 0.0
        self._log_stamp = None

    @property
    def pending(self) -> int:
        """Rows in the tail (not yet in the graph)."""
        return len(self._tail)

    @property
    def graph_version(self) -> int:
        """The Delta version the graph covers (-1: no graph built yet)."""
        return self._covered

    def _read_manifest(self) -> dict[str, Any] | None:
        """The saved manifest: on team storage the shared one (the local copy is a cache)."""
        where = self.source.shared if self.source.shared is not None else self.dir
        try:
            return json.loads((where / MANIFEST).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"_unreadable": True}

    def _manifest_token(self) -> tuple | None:
        """What changes when another process saves: the local manifest's stat, or on team
        storage the shared manifest's graph file name (read on each poll)."""
        if self.source.shared is None:
            return self._stamp(self._manifest_path)
        manifest = self._read_manifest()
        return None if manifest is None else (manifest.get("graph"),)

    def _fetch(self, manifest: dict[str, Any]) -> None:
        """On team storage: bring the files ``manifest`` names into the local cache unless
        the cache holds them already (same names, same checksums)."""
        shared = self.source.shared
        if shared is None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        for name in ("graph", "keys"):
            local = self.dir / manifest[name]
            if local.exists() and _digest(local) == manifest["blake2b"][name]:
                continue
            try:
                data = (shared / manifest[name]).read_bytes()
            except FileNotFoundError:
                continue  # reported as missing by the caller
            tmp = self.dir / f".{manifest[name]}.part"
            _fsync_write(tmp, data)
            os.replace(tmp, local)

    def _load(self) -> str | None:
        """Load the saved graph; the reason it cannot be used, or None."""
        manifest = self._read_manifest()
        if manifest is None:
            return NOT_SAVED
        if manifest.get("_unreadable"):
            return "its manifest is unreadable"
        expected = {"format": FORMAT, "dim": self.emb.dim, "metric": self.emb.metric,
                    "dtype": self.dtype}
        for key, value in expected.items():
            if manifest.get(key) != value:
                return f"its manifest says {key}={manifest.get(key)!r}, not {value!r}"
        current = self._delta_version()
        if current is not None and manifest["delta_version"] > current:
            return (f"it covers Delta version {manifest['delta_version']} but the table is at "
                    f"{current} (a replaced table)")
        self._fetch(manifest)
        graph_path = self.dir / manifest["graph"]
        keys_path = self.dir / manifest["keys"]
        for path, name in ((graph_path, "graph"), (keys_path, "keys")):
            if not path.exists():
                return f"its {name} file {path.name} is missing"
            if _digest(path) != manifest["blake2b"][name]:
                return f"its {name} file {path.name} does not match its checksum (corrupt)"
        from usearch.index import Index
        try:
            meta = Index.metadata(str(graph_path))
            if meta is None or meta.get("dimensions") != self.emb.dim:
                return "its graph file has another dimension"
            graph = Index.restore(str(graph_path))
            with pa.memory_map(str(keys_path)) as source:
                sidecar = pa.ipc.open_file(source).read_all()
        except Exception as exc:  # noqa: BLE001 - any unreadable file means: rebuild
            return f"its files cannot be read ({exc})"
        if graph is None or len(graph) != sidecar.num_rows:
            return "its graph and key files disagree"
        graph.expansion_search = EXPANSION_SEARCH
        self._graph = graph
        self._graph_entries = _Entries(
            sidecar.column("id").to_numpy(), np.asarray(sidecar.column("key").to_pylist(),
                                                        dtype=object),
            sidecar.column("t").to_numpy(), np.zeros((0, self.emb.dim), np.float32))
        self._covered = self._seen = int(manifest["delta_version"])
        self._tail = _Entries.empty(self.emb.dim)
        self._manifest_stamp = self._manifest_token()
        self.loaded_from = "storage" if self.source.shared is not None else "home"
        return None

    def _delta_version(self) -> int | None:
        versions = tables.log_versions(self.source.table_path)
        return versions[-1] if versions else None

    @staticmethod
    def _stamp(path: Any) -> tuple | None:
        # a storage Location on an object store has no cheap stat: always look at the table
        local = getattr(path, "local_path", path)
        if local is None:
            return (time.monotonic_ns(),)
        try:
            st = Path(local).stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    # -- reading the table -----------------------------------------------------------------
    def _columns(self) -> list[str]:
        s = self.source
        return [*s.keys, s.event_time, s.embedding.column, COMMIT_COLUMN, ROW_COLUMN]

    def _entries(self, table: pa.Table) -> _Entries:
        """The newest row per key of ``table`` (rows in write order) as index entries
        (null vectors are left out)."""
        s = self.source
        if table.num_rows == 0:
            return _Entries.empty(self.emb.dim)
        if table.num_rows > 1:
            table = table.take(pc.sort_indices(table, [(COMMIT_COLUMN, "ascending"),
                                                       (ROW_COLUMN, "ascending")]))
        table = newest_rows(list(s.keys), s.event_time, table)
        vectors, rows = matrix(table.column(self.emb.column), self.emb.dim)
        texts = np.asarray(key_texts(list(s.keys), table).to_pylist(), dtype=object)
        times = event_micros(table.column(s.event_time)).to_numpy()
        # a key whose newest row has a null vector: kept with no vector (it hides older ones)
        entries_vec = np.full((table.num_rows, self.emb.dim), np.nan, np.float32)
        entries_vec[rows] = self.to_space(vectors)
        return _Entries(key_ids(texts), texts, times.astype(np.int64), entries_vec)

    def _read(self, version: int | None, seqs: list[int] | None) -> tuple[pa.Table, int]:
        """Rows of the table (at ``version``; only inserts ``seqs`` when given)."""
        delta = storage.open_table(self.source.table_path, version)
        if delta is None:
            return pa.table({c: [] for c in self._columns()}), -1
        dataset = storage.as_dataset(delta, self.source.table_path)
        expr = None if seqs is None else pc.field(COMMIT_COLUMN).isin(seqs)
        return dataset.to_table(columns=self._columns(), filter=expr), delta.version()

    # -- building --------------------------------------------------------------------------
    def _rebuild(self) -> None:
        """Start over from the table: every key's newest row goes to the tail (searched
        exactly at once) and an empty graph waits for the merge that builds it, which the
        caller runs in the background (an insert or a search never waits for a graph build:
        HNSW insertion costs ~0.2-0.4 ms of CPU per vector)."""
        table, version = self._read(None, None)
        self._graph = self._new_graph()
        self._graph_entries = _Entries.empty(self.emb.dim)
        self._tail = self._entries(table)
        self._covered = -1
        self._seen = version
        # the saved manifest (if any) is the one just found unusable: not worth retrying
        self._manifest_stamp = self._manifest_token()

    def _book(self, entries: _Entries, has_vec: np.ndarray) -> None:
        """Record in the graph's key list that ``entries`` were put in the graph (those
        with a vector; the others were only removed)."""
        g = self._graph_entries
        keep = ~np.isin(g.ids, entries.ids)
        ids_all = np.concatenate([g.ids[keep], entries.ids[has_vec]])
        order = np.argsort(ids_all, kind="stable")
        self._graph_entries = _Entries(
            ids_all[order], np.concatenate([g.keys[keep], entries.keys[has_vec]])[order],
            np.concatenate([g.times[keep], entries.times[has_vec]])[order],
            np.zeros((0, self.emb.dim), np.float32))

    def _add(self, graph: Any, entries: _Entries, present: np.ndarray) -> np.ndarray:
        """Put ``entries`` in ``graph``: the old vectors of the keys ``present`` are removed
        first (usearch keeps one vector per key), a null vector only removes. Returns which
        entries had a vector."""
        if len(present):
            graph.remove(present)
        has_vec = ~np.isnan(entries.vectors[:, 0]) if entries.vectors.size else \
            np.zeros(len(entries), bool)
        ids, vecs = entries.ids[has_vec], entries.vectors[has_vec]
        # a graph no search sees yet is built with multi-threaded adds; a searched graph in
        # small single-threaded batches (usearch makes a search wait for a running add)
        bulk = not len(graph)
        step, threads = (BUILD_CHUNK, self.threads) if bulk else (MERGE_BATCH, 1)
        for i in range(0, len(ids), step):
            if self._stop and i:  # exiting: a build of one chunk still finishes (and saves)
                raise _Stopped()
            graph.add(ids[i:i + step], vecs[i:i + step], threads=threads)
        return has_vec

    def _save(self) -> None:
        """Write the graph and its keys under new names, then the manifest (see the module
        docstring); older files are removed once the new manifest is in place."""
        self.dir.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex[:12]
        graph_name, keys_name = f"graph-{token}.usearch", f"keys-{token}.arrow"
        graph_path, keys_path = self.dir / graph_name, self.dir / keys_name
        self._graph.save(str(graph_path))
        with open(graph_path, "rb+") as f:
            os.fsync(f.fileno())
        g = self._graph_entries
        sidecar = pa.table({"id": pa.array(g.ids, pa.uint64()),
                            "key": pa.array(list(g.keys), pa.string()),
                            "t": pa.array(g.times, pa.int64())})
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, sidecar.schema) as writer:
            writer.write_table(sidecar)
        _fsync_write(keys_path, sink.getvalue().to_pybytes())
        manifest = {"format": FORMAT, "column": self.emb.column, "dim": self.emb.dim,
                    "metric": self.emb.metric, "dtype": self.dtype,
                    "delta_version": self._covered, "rows": len(g),
                    "graph": graph_name, "keys": keys_name,
                    "blake2b": {"graph": _digest(graph_path), "keys": _digest(keys_path)},
                    "saved_at": time.time()}
        tmp = self.dir / f".{MANIFEST}.{token}"
        _fsync_write(tmp, json.dumps(manifest).encode())
        if self.source.shared is not None:
            self._publish(manifest, graph_path, keys_path)
        os.replace(tmp, self.dir / MANIFEST)
        self._manifest_stamp = self._manifest_token()
        for old in self.dir.iterdir():
            if old.name not in (graph_name, keys_name, MANIFEST, ".lock") and \
                    not old.name.startswith(f".{MANIFEST}."):
                old.unlink(missing_ok=True)

    def _publish(self, manifest: dict[str, Any], graph_path: Path, keys_path: Path) -> None:
        """Put a saved index on the team storage beside the table: the two files under their
        new names first, the manifest last (readers see the old index or the new, never a
        mix); then the files the replaced manifest named. Two homes saving at once both
        leave valid indexes (the last manifest wins; the other's files stay behind)."""
        shared = self.source.shared
        before = self._read_manifest() or {}
        (shared / manifest["graph"]).write_bytes(graph_path.read_bytes())
        (shared / manifest["keys"]).write_bytes(keys_path.read_bytes())
        (shared / MANIFEST).write_bytes(json.dumps(manifest).encode())
        for name in ("graph", "keys"):
            old = before.get(name)
            if old and old != manifest[name]:
                try:
                    (shared / old).delete_file()
                except OSError:  # noqa: PERF203 - a leftover file is harmless
                    log.info("Index of %s: could not remove the old file %s", self.dir, old)

    # -- keeping up ------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> int:
        """Catch up with the Delta table: another process's saved index is loaded, and the
        rows committed since go to the tail. Cheap when nothing changed (two ``stat`` calls).
        Returns the tail's length."""
        if not force and self.source.shared is not None:
            # on object storage nothing is cheap to look at: poll at most every POLL_S
            # (this process's own writes force a refresh, so it always reads them)
            now = time.monotonic()
            if now - self._polled < POLL_S:
                return len(self._tail)
            self._polled = now
        log_stamp = self._stamp(self._log_path)
        manifest_stamp = self._manifest_token()
        if not force and log_stamp == self._log_stamp and manifest_stamp == self._manifest_stamp:
            return len(self._tail)
        with self._lock:
            if manifest_stamp != self._manifest_stamp and not force:
                manifest = self._read_manifest() or {}
                if manifest.get("delta_version", -1) > self._covered:
                    reason = self._load()  # another process merged and saved: take it
                    if reason is not None:
                        self.rebuilt = reason
                        self._rebuild()
            self._log_stamp = log_stamp
            current = self._delta_version()
            if current is None or current <= self._seen:
                return len(self._tail)
            seqs = []
            deleted: set[str] = set()
            for version in range(self._seen + 1, current + 1):
                entry = tables.commit_info(self.source.table_path, version)
                meta = tables.commit_metadata(entry) if entry else None
                if entry is not None and meta is None:
                    # a commit not written by Lakebook: its rows carry no insert number
                    self.rebuilt = f"Delta version {version} was written by another engine"
                    self._rebuild()
                    return len(self._tail)
                if meta is not None and meta.get("mode") == "delete":
                    if meta.get("deleted_keys") is None:  # too many keys to list: rebuild
                        self.rebuilt = f"Delta version {version} deleted rows of many keys"
                        self._rebuild()
                        return len(self._tail)
                    deleted.update(meta["deleted_keys"])
                elif meta is not None and meta.get("seq") is not None:
                    seqs.append(int(meta["seq"]))
            if seqs:
                table, _ = self._read(current, seqs)
                self._tail = self._combine(self._tail, self._entries(table))
            if deleted:
                self._forget(sorted(deleted), current)
            self._seen = current
            return len(self._tail)

    def _forget(self, texts: list[str], version: int) -> None:
        """After a delete: the keys ``texts`` lose what the index holds of them (the graph's
        vectors are removed, a tombstone in effect), and their newest remaining rows at Delta
        ``version`` go to the tail. Read at ``version``, so replaying it is harmless."""
        from ..features.deletes import rows_of_keys
        if self._forgotten is not None:  # a merge is adding to the graph: it removes these too
            self._forgotten.update(texts)
        ids = key_ids(texts)
        g = self._graph_entries
        present = g.ids[np.isin(g.ids, ids)]
        if len(present) and self._graph is not None:
            self._graph.remove(present)
        keep = ~np.isin(g.ids, ids)
        self._graph_entries = _Entries(g.ids[keep], g.keys[keep], g.times[keep], g.vectors)
        t = self._tail
        keep = ~np.isin(t.ids, ids)
        self._tail = _Entries(t.ids[keep], t.keys[keep], t.times[keep], t.vectors[keep])
        remaining = rows_of_keys(self.source.table_path, version, list(self.source.keys),
                                 texts, self._columns())
        self._tail = self._combine(self._tail, self._entries(remaining))

    @staticmethod
    def _combine(old: _Entries, new: _Entries) -> _Entries:
        """``old`` and ``new`` entries, one per id: the newer event time wins, a tie goes to
        ``new`` (written later), as in the online store."""
        if not len(old):
            return new
        if not len(new):
            return old
        ids = np.concatenate([old.ids, new.ids])
        times = np.concatenate([old.times, new.times])
        order = np.arange(len(ids))
        # last of each id after sorting by (id, time, write order)
        idx = np.lexsort((order, times, ids))
        last = np.ones(len(idx), bool)
        last[:-1] = ids[idx][1:] != ids[idx][:-1]
        pick = idx[last]
        return _Entries(ids[pick], np.concatenate([old.keys, new.keys])[pick], times[pick],
                        np.concatenate([old.vectors, new.vectors])[pick])

    def merge(self) -> int:
        """Move the tail into the graph and save; returns the rows merged. The graph is
        added to outside the index's lock, so searches, inserts and deletes go on meanwhile
        (what they change is reconciled at the end)."""
        with self._merge_lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            with open(self.dir / ".lock", "a") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)  # one save per folder across processes
                try:
                    return self._merge()
                finally:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _merge(self) -> int:
        with self._lock:
            self.refresh()
            manifest = self._read_manifest() or {}
            if self._manifest_token() != self._manifest_stamp and \
                    manifest.get("delta_version", -1) > self._covered:
                # another process saved meanwhile: take its graph first
                reason = self._load()
                if reason is not None:
                    self.rebuilt = reason
                    self._rebuild()
                self.refresh(force=True)
            snapshot, seen = self._tail, self._seen
            if not len(snapshot):
                return 0
            graph, g = self._graph, self._graph_entries
            pos = np.minimum(np.searchsorted(g.ids, snapshot.ids), max(len(g.ids) - 1, 0))
            older = (g.ids[pos] == snapshot.ids) & (g.times[pos] > snapshot.times) \
                if len(g.ids) else np.zeros(len(snapshot), bool)
            wins = _Entries(snapshot.ids[~older], snapshot.keys[~older],
                            snapshot.times[~older], snapshot.vectors[~older])
            present = wins.ids[np.isin(wins.ids, g.ids)]
            self._forgotten = set()
        # the heavy part, unlocked; a first build goes into a graph of its own, swapped in
        # when done (searches meanwhile use the tail)
        target = graph if len(graph) else self._new_graph()
        try:
            has_vec = self._add(target, wins, present if target is graph else present[:0])
        except BaseException:
            with self._lock:
                self._forgotten = None
            raise
        with self._lock:
            forgotten, self._forgotten = self._forgotten, None
            if self._graph is not graph:  # rebuilt or reloaded meanwhile: that state stands
                return 0
            self._graph = target
            self._book(wins, has_vec)
            if forgotten:  # keys deleted meanwhile: the vectors just added go again
                ids = key_ids(sorted(forgotten))
                gone = self._graph_entries.ids[np.isin(self._graph_entries.ids, ids)]
                if len(gone):
                    target.remove(gone)
                g = self._graph_entries
                keep = ~np.isin(g.ids, ids)
                self._graph_entries = _Entries(g.ids[keep], g.keys[keep], g.times[keep],
                                               g.vectors)
            self._tail = _without(self._tail, snapshot)  # rows that came meanwhile stay
            self._covered = seen
            self._save()
            return len(snapshot)

    def merge_in_background(self) -> None:
        """Start a merge in a daemon thread unless one is running."""
        with self._lock:
            if self._merging is not None and self._merging.is_alive():
                return

            def run() -> None:
                try:
                    self.merge()
                except _Stopped:
                    log.info("Index of %s: the background merge stopped (exiting); the next "
                             "open builds it again.", self.dir)
                except Exception:  # noqa: BLE001 - the tail stays searchable; retried later
                    log.exception("Index of %s: the background merge failed; the rows stay "
                                  "in the exactly searched tail.", self.dir)

            _BUSY.add(self)
            self._merging = threading.Thread(target=run, name="lakebook-index-merge",
                                             daemon=True)
            self._merging.start()

    def wait(self) -> None:
        """Wait for a background merge to finish."""
        with self._lock:  # merge_in_background starts the thread under this lock
            thread = self._merging
        if thread is not None:
            thread.join()

    # -- searching -------------------------------------------------------------------------
    def _tail_lookup(self, tail: _Entries, g: _Entries) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
        """For searching: the tail's ids sorted (and the order that sorts them), and which
        tail rows are older than the graph's row of their key. Computed once per tail and
        graph state, not per query (a large tail after a rebuild has every key)."""
        cached = self._lookup
        if cached is not None and cached[0] is tail and cached[1] is g:
            return cached[2]
        order = np.argsort(tail.ids, kind="stable")
        older = np.zeros(len(tail), bool)
        if len(g.ids):
            pos = np.minimum(np.searchsorted(g.ids, tail.ids), len(g.ids) - 1)
            older = (g.ids[pos] == tail.ids) & (g.times[pos] > tail.times)
        out = (tail.ids[order], order, older)
        self._lookup = (tail, g, out)
        return out

    def search(self, q: np.ndarray, n: int) -> tuple[list[str], np.ndarray]:
        """The key texts of (about) the ``n`` nearest keys to ``q``, nearest first, with
        their distances in index space (see :meth:`_space_distances`). The graph is searched
        approximately, the tail exactly; for a key in both, the newer row counts."""
        self.refresh()
        qs = self.to_space(q[None, :])[0]
        graph, g, tail = self._graph, self._graph_entries, self._tail
        ids: list[np.ndarray] = []
        dists: list[np.ndarray] = []
        texts: list[np.ndarray] = []
        if graph is not None and len(graph):
            found = graph.search(qs, min(n, len(graph)), threads=1,
                                 exact=len(graph) <= EXACT_GRAPH)
            keys = np.asarray(found.keys, dtype=np.uint64)
            pos = np.searchsorted(g.ids, keys)
            pos = np.minimum(pos, max(len(g.ids) - 1, 0))
            known = g.ids[pos] == keys if len(g.ids) else np.zeros(len(keys), bool)
            # a key the tail holds a newer (or same-time, later) row of is the tail's
            if len(tail):
                sorted_ids, order, _ = self._tail_lookup(tail, g)
                tpos = np.minimum(np.searchsorted(sorted_ids, keys), len(sorted_ids) - 1)
                in_tail = (sorted_ids[tpos] == keys) & known
                if in_tail.any():
                    newer = tail.times[order[tpos]] >= g.times[pos]
                    known &= ~(in_tail & newer)
            ids.append(keys[known])
            dists.append(np.asarray(found.distances, dtype=np.float64)[known])
            texts.append(g.keys[pos[known]] if len(g.ids) else np.zeros(0, object))
        if len(tail):
            # every tail row is scored (no copy of a large tail); rows without a vector or
            # older than the graph's row of their key are then set aside
            d = self._space_distances(tail.vectors, qs).astype(np.float64)
            d[np.isnan(d) | self._tail_lookup(tail, g)[2]] = np.inf
            top = np.argpartition(d, n - 1)[:n] if len(d) > n else np.arange(len(d))
            top = top[np.argsort(d[top], kind="stable")]
            top = top[np.isfinite(d[top])]
            if len(top):
                ids.append(tail.ids[top])
                dists.append(d[top])
                texts.append(tail.keys[top])
        if not ids:
            return [], np.zeros(0)
        all_d = np.concatenate(dists)
        all_t = np.concatenate(texts)
        order = np.argsort(all_d, kind="stable")[:n]
        return list(all_t[order]), all_d[order]

    # -- checking --------------------------------------------------------------------------
    def verify(self) -> dict[str, int]:
        """Compare the index with the Delta table's latest row per key (a full read):
        counts of keys ``missing`` from the index, held with a ``stale`` vector, or
        ``extra`` (not in the table); all zero when the index matches the table."""
        self.refresh()
        with self._lock:
            table, _ = self._read(self._seen, None)
            truth = self._entries(table)
            graph, g, tail = self._graph, self._graph_entries, self._tail
            held: dict[int, np.ndarray | None] = {}
            g_t = dict(zip(g.ids.tolist(), g.times.tolist()))
            for key in g.ids.tolist():
                vec = graph.get(np.uint64(key))
                if vec is not None:  # removed from the graph: not held
                    held[key] = np.asarray(vec, dtype=np.float32).ravel()
            for i, key in enumerate(tail.ids.tolist()):
                if key not in g_t or tail.times[i] >= g_t[key]:
                    vec = tail.vectors[i]
                    held[key] = None if np.isnan(vec[0]) else vec
        missing = stale = 0
        tolerance = 1e-2 if self.dtype == "f16" else 1e-5
        for i, key in enumerate(truth.ids.tolist()):
            want = truth.vectors[i]
            got = held.pop(key, "absent")
            if np.isnan(want[0]):
                if got is not None and not isinstance(got, str):
                    stale += 1
                continue
            if isinstance(got, str) or got is None:
                missing += 1
            elif not np.allclose(got, want, atol=tolerance * max(1.0, float(np.abs(want).max()))):
                stale += 1
        extra = sum(1 for v in held.values() if v is not None)
        return {"missing": missing, "stale": stale, "extra": extra}

    # -- status ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """What the sidebar and ``fg.index_status()`` show."""
        merging = self._merging is not None and self._merging.is_alive()
        return {"column": self.emb.column, "dim": self.emb.dim, "metric": self.emb.metric,
                "library": "usearch", "storage": self.dtype, "indexed": len(self._graph_entries),
                "pending": len(self._tail), "delta_version": self._seen,
                "graph_delta_version": self._covered,
                "state": ("building" if self._covered < 0 else "merging") if merging
                else ("ready" if not len(self._tail) else "tail"),
                "rebuilt": self.rebuilt, "loaded_from": self.loaded_from,
                "path": str(self.source.shared or self.dir)}
