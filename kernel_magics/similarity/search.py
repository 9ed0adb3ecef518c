"""Nearest-neighbour queries on an embedding column: online (the index, then the online
store's rows) and exact (DuckDB over the Delta table: the oracle, and the offline path).

Online: the index proposes candidates; their rows are read from the online store (the latest
row per key, what ``feature_vector`` returns), re-scored exactly from the row's own float32
vector, filtered, and cut to k. A filter is applied before the cut: the search over-fetches
(8x, then 64x k, up to :data:`MAX_FETCH`) until k matching rows are found, and otherwise runs
the exact search, so it never returns fewer than k rows when k rows match.
"""
from __future__ import annotations

import json
import os
import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ..features.columns import COMMIT_COLUMN, ROW_COLUMN
from ..features.embeddings import Embedding, matrix
from ..shared.errors import InvalidInput
from ..shared.quoting import quote_ident as qi
from ..shared.sql_sandbox import sandboxed_connection
from ..storage import delta as storage
from .metrics import distances

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..features.groups import FeatureGroup
    from .index import VectorIndex

#: candidates fetched for an unfiltered query, as a multiple of k (re-scoring needs spares)
FETCH = 2
#: the most candidates an online query fetches before it falls back to the exact search
MAX_FETCH = 4096
#: the name of the distance column (``_distance`` when a feature is called ``distance``)
DISTANCE = "distance"


def distance_name(columns: list[str]) -> str:
    return DISTANCE if DISTANCE not in columns else "_distance"


def validate_filter(text: Any, group: str) -> str | None:
    """A filter is one SQL predicate over the group's columns (like a check)."""
    if text is None:
        return None
    from ..features.checks import validate_checks
    try:
        return validate_checks([text], group)[0]
    except InvalidInput as exc:
        raise InvalidInput(exc.message.replace("Check", "Filter", 1),
                           'A filter is one SQL predicate, e.g. "category = \'grocery\'".') \
            from None


_local = threading.local()


def _filter_connection():
    """This thread's sandboxed DuckDB connection for filters: opening one costs ~20 ms, far
    more than the query it serves, so each thread keeps one (it holds no data between calls:
    the candidates are registered and unregistered around each query)."""
    con = getattr(_local, "con", None)
    if con is None or getattr(_local, "pid", None) != os.getpid():
        con = _local.con = sandboxed_connection()
        _local.pid = os.getpid()
    return con


def _apply_filter(table: pa.Table, where: str, group: str) -> np.ndarray:
    """Positions of ``table``'s rows for which ``where`` holds (user SQL: sandboxed)."""
    con = _filter_connection()
    con.register("rows_", table.append_column("__lb_i", pa.array(
        np.arange(table.num_rows, dtype=np.int64))))
    try:
        got = con.execute(f"SELECT __lb_i FROM rows_ WHERE ({where})").fetchnumpy()
    except Exception as exc:  # duckdb.Error: a column that is not there, a type error
        raise InvalidInput(f"The filter {where!r} cannot run on feature group {group!r}: "
                           f"{str(exc).strip().splitlines()[0]}",
                           "Name the group's columns, e.g. \"category = 'grocery'\".") \
            from None
    finally:
        con.unregister("rows_")
    return np.sort(got["__lb_i"].astype(np.int64))


#: filters whose matching keys are kept (per table version): (table, filter) -> (version, keys)
_ALLOWED: dict[tuple[str, str], tuple[int, frozenset]] = {}
_ALLOWED_LOCK = threading.Lock()
#: a filter matching at most this many keys is answered exactly over those keys' rows
EXACT_SUBSET = 256


def allowed_keys(fg: "FeatureGroup", where: str, version: int) -> frozenset:
    """The key texts whose latest row (at Delta ``version``) matches ``where``, computed once
    per table version (the embedding columns are not read): a filtered query then checks its
    candidates against a set instead of running SQL on each batch of them."""
    cache_key = (str(fg.table_path), where)
    with _ALLOWED_LOCK:
        hit = _ALLOWED.get(cache_key)
    if hit is not None and hit[0] == version:
        return hit[1]
    from ..features.online.base import key_texts, newest_rows
    delta = storage.open_table(fg.table_path, version if version >= 0 else None)
    if delta is None:
        return frozenset()
    dataset = storage.as_dataset(delta, fg.table_path)
    columns = [c for c in dataset.schema.names if c not in fg.embeddings]
    table = dataset.to_table(columns=columns)
    if table.num_rows > 1:
        table = table.take(pa.array(np.lexsort((table.column(ROW_COLUMN).to_numpy(),
                                                table.column(COMMIT_COLUMN).to_numpy()))))
    table = newest_rows(list(fg.keys), fg.event_time, table)
    visible = table.select([c for c in table.column_names
                            if c not in (COMMIT_COLUMN, ROW_COLUMN)])
    keep = _apply_filter(visible, where, fg.name)
    keys = frozenset(key_texts(list(fg.keys), table.take(pa.array(keep))).to_pylist())
    with _ALLOWED_LOCK:
        if len(_ALLOWED) > 64:
            _ALLOWED.clear()
        _ALLOWED[cache_key] = (version, keys)
    return keys


def online_search(fg: "FeatureGroup", index: "VectorIndex", emb: Embedding, q: np.ndarray,
                  k: int, where: str | None) -> "pd.DataFrame | None":
    """The k nearest current rows by the index (None: the exact search must answer)."""
    store = fg._lh.online_store
    schema = store.schema(fg.online_table)
    if schema is None:
        return _frame([], fg, emb)
    allowed = None
    n = max(k * FETCH, k + 8)
    if where is not None:
        index.refresh()
        allowed = allowed_keys(fg, where, index.version)
        if not allowed:
            return _frame([], fg, emb)
        if len(allowed) <= EXACT_SUBSET:  # few matches: score exactly every one of them
            return _rescored(fg, store, schema, emb, q, k, sorted(allowed))
        selectivity = len(allowed) / max(1, index.size)
        n = min(MAX_FETCH, max(n, int(np.ceil(FETCH * k / selectivity))))
    while True:
        texts, _ = index.search(q, n)
        exhausted = len(texts) < n  # every row the index holds was looked at
        if allowed is not None:
            texts = [t for t in texts if t in allowed]
        if allowed is None or len(texts) >= k or exhausted:
            return _rescored(fg, store, schema, emb, q, k, texts[:max(k * FETCH, k + 8)])
        if n >= MAX_FETCH:
            return None  # not enough matches among the nearest: the exact search answers
        n = min(MAX_FETCH, n * 8)


def _rescored(fg: "FeatureGroup", store: Any, schema: pa.Schema, emb: Embedding,
              q: np.ndarray, k: int, texts: list[str]) -> "pd.DataFrame":
    """The rows of ``texts`` from the online store, re-scored exactly from their own
    vectors, the k nearest first."""
    key_values = [tuple(json.loads(t)) for t in texts]
    rows = store.get(fg.online_table, list(fg.keys), key_values) if key_values else []
    rows = [r for r in rows if r is not None and r.get(emb.column) is not None]
    if not rows:
        return _frame([], fg, emb)
    # scored from the decoded rows; only the k kept become a table (the DataFrame's types)
    vectors = np.asarray([r[emb.column] for r in rows], dtype=np.float32)
    d = distances(emb.metric, vectors, q)
    order = np.lexsort((np.arange(len(d)), d))[:k]
    return _result(pa.Table.from_pylist([rows[i] for i in order], schema=schema), d[order])


def _result(table: pa.Table, d: np.ndarray) -> "pd.DataFrame":
    name = distance_name(table.column_names)
    # a handful of rows: converting them on this thread beats dispatching to Arrow's pool
    return table.append_column(name, pa.array(d, pa.float64())).to_pandas(use_threads=False)


def _frame(rows: list, fg: "FeatureGroup", emb: Embedding) -> "pd.DataFrame":
    import pandas as pd
    columns = [c["name"] for c in (fg.schema or [])]
    return pd.DataFrame(rows, columns=[*columns, distance_name(columns)])


def latest_rows(fg: "FeatureGroup", emb: Embedding) -> pa.Table | None:
    """The group's offline table at its current version (hidden columns kept), or None."""
    delta = storage.open_table(fg.table_path)
    if delta is None:
        return None
    return storage.as_dataset(delta, fg.table_path).to_table()


def _distance_sql(emb: Embedding, column: str, q: str) -> str:
    a = f"{column}::FLOAT[{emb.dim}]"
    b = f"{q}::FLOAT[{emb.dim}]"
    if emb.metric == "cosine":
        return f"1 - array_cosine_similarity({a}, {b})"
    if emb.metric == "l2":
        return f"array_distance({a}, {b})"
    return f"-array_inner_product({a}, {b})"


def exact_search(fg: "FeatureGroup", emb: Embedding, q: np.ndarray, k: int,
                 where: str | None) -> "pd.DataFrame":
    """The exact k nearest latest rows per key, by DuckDB over the Delta table (the recall
    oracle): the newest event time per key (a tie: the row written last), the filter, then
    ``array_cosine_similarity`` / ``array_distance`` / ``array_inner_product``."""
    table = latest_rows(fg, emb)
    if table is None:
        return _frame([], fg, emb)
    visible = [c for c in table.column_names if c not in (COMMIT_COLUMN, ROW_COLUMN)]
    name = distance_name(visible)
    keys = ", ".join(qi(c) for c in fg.keys)
    con = sandboxed_connection()
    try:
        con.register("rows_", table)
        sql = (f"SELECT {', '.join(qi(c) for c in visible)}, "
               f"{_distance_sql(emb, qi(emb.column), '$q')} AS {qi(name)} FROM ("
               f"SELECT * FROM rows_ QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY "
               f"{qi(fg.event_time)} DESC, {qi(COMMIT_COLUMN)} DESC, {qi(ROW_COLUMN)} DESC) = 1"
               f") AS latest WHERE {qi(emb.column)} IS NOT NULL"
               + (f" AND ({where})" if where is not None else "")
               + f" ORDER BY {qi(name)}, {keys} LIMIT {int(k)}")
        try:
            out = con.execute(sql, {"q": q.astype(float).tolist()}).fetch_arrow_table()
        except Exception as exc:  # duckdb.Error from the user's filter
            raise InvalidInput(f"The filter {where!r} cannot run on feature group {fg.name!r}: "
                               f"{str(exc).strip().splitlines()[0]}",
                               "Name the group's columns, e.g. \"category = 'grocery'\".") \
                from None
    finally:
        con.close()
    return out.to_pandas()


def batch_search(fg: "FeatureGroup", emb: Embedding, queries: np.ndarray, k: int,
                 where: str | None) -> "pd.DataFrame":
    """Exact k nearest latest rows for each query row (numpy over the table's vectors, in
    blocks: for many queries it beats one DuckDB query per vector by ~10x, research-ann):
    one row per (query, rank) with the neighbour's columns and distance."""
    import pandas as pd
    from ..features.online.base import newest_rows

    table = latest_rows(fg, emb)
    visible = [c["name"] for c in (fg.schema or [])]
    name = distance_name(visible)
    empty = pd.DataFrame(columns=["query", "rank", *visible, name])
    if table is None or not len(queries):
        return empty
    table = table.take(pa.array(np.lexsort((table.column(ROW_COLUMN).to_numpy(),
                                            table.column(COMMIT_COLUMN).to_numpy()))))
    table = newest_rows(list(fg.keys), fg.event_time, table).select(visible)
    if where is not None:
        table = table.take(pa.array(_apply_filter(table, where, fg.name)))
    vectors, present = matrix(table.column(emb.column), emb.dim)
    table = table.take(pa.array(present))
    if not len(present):
        return empty
    kk = min(k, len(present))
    picks, dists = [], []
    for start in range(0, len(queries), 256):
        block = queries[start:start + 256]
        d = np.stack([distances(emb.metric, vectors, q) for q in block]) \
            if emb.metric != "cosine" else _cosine_block(vectors, block)
        part = np.argpartition(d, kk - 1, axis=1)[:, :kk]
        pd_ = np.take_along_axis(d, part, axis=1)
        order = np.argsort(pd_, axis=1, kind="stable")
        picks.append(np.take_along_axis(part, order, axis=1))
        dists.append(np.take_along_axis(pd_, order, axis=1))
    pick = np.concatenate(picks)
    dist = np.concatenate(dists)
    out = table.take(pa.array(pick.ravel())).to_pandas()
    out.insert(0, "rank", np.tile(np.arange(kk), len(queries)))
    out.insert(0, "query", np.repeat(np.arange(len(queries)), kk))
    out[name] = dist.ravel()
    return out


def _cosine_block(vectors: np.ndarray, block: np.ndarray) -> np.ndarray:
    v = vectors.astype(np.float64)
    b = block.astype(np.float64)
    nv = np.linalg.norm(v, axis=1)
    nb = np.linalg.norm(b, axis=1)
    sims = (b @ v.T) / np.where(np.outer(nb, nv) == 0, 1.0, np.outer(nb, nv))
    return 1.0 - sims
