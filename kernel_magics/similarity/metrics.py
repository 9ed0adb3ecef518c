"""Distances and query vectors for embedding columns: the one definition of what "near"
means for each metric (see :data:`~kernel_magics.features.embeddings.METRICS`)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..features.embeddings import Embedding
from ..shared.errors import InvalidInput


def query_vector(vector: Any, emb: Embedding, group: str) -> np.ndarray:
    """A query vector as float32 of the column's dimension (refused otherwise)."""
    try:
        q = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"The query for embedding column {emb.column!r} of feature group "
                           f"{group!r} is not a list of numbers.",
                           f"Pass a list or numpy array of {emb.dim} floats.") from None
    if q.ndim != 1 or q.shape[0] != emb.dim:
        raise InvalidInput(f"The query for embedding column {emb.column!r} of feature group "
                           f"{group!r} has shape {list(q.shape)}; the column holds {emb.dim} "
                           "values per row.", f"Pass one vector of {emb.dim} floats.")
    if not np.isfinite(q).all():
        raise InvalidInput(f"The query for embedding column {emb.column!r} of feature group "
                           f"{group!r} has NaN or infinite values.", "Pass finite numbers.")
    return q.astype(np.float32)


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero): cosine as an inner product."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32, copy=False)


def distances(metric: str, vectors: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Exact distances of ``vectors`` (n, dim) to ``q`` (dim,) for ``metric`` (smaller is
    nearer; see :data:`METRICS`), computed in float64."""
    v = vectors.astype(np.float64, copy=False)
    q = q.astype(np.float64, copy=False)
    if metric == "cosine":
        nv = np.linalg.norm(v, axis=1)
        nq = np.linalg.norm(q)
        denom = np.where((nv == 0) | (nq == 0), 1.0, nv * nq)
        return 1.0 - (v @ q) / denom
    if metric == "l2":
        return np.sqrt(np.maximum(((v - q) ** 2).sum(axis=1), 0.0))
    return -(v @ q)
