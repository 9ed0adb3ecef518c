"""Embedding columns: what a feature group declares about them, and the check every insert
passes before anything is written.

A group declares ``embeddings={"desc_vec": {"dim": 128, "metric": "cosine"}}`` (or
``%%feature ... --embedding desc_vec:128:cosine``). Such a column is stored in Delta as a list
of float32 (Delta has no fixed-size list type: the dimension is the group's rule, enforced on
every insert, and DuckDB reads it back as ``FLOAT[dim]`` with a cast). An insert whose vectors
have the wrong length, NaN or infinity, or values that are not numbers is refused, naming the
column and the first bad rows. A null vector is allowed (a row without text, say); it is not
indexed and never returned as a neighbour.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..shared.errors import InvalidInput
from ..shared.names import validate_column

#: the metrics a column may declare, and what "distance" means for each (smaller is nearer)
METRICS = {
    "cosine": "1 - cosine similarity",
    "l2": "Euclidean distance",
    "dot": "minus the inner product",
}
#: the Arrow type every embedding column is stored as (what Delta reads back)
VECTOR_TYPE = pa.list_(pa.field("element", pa.float32()))
#: bad rows named in an error
SAMPLE = 5


@dataclass(frozen=True)
class Embedding:
    """One embedding column: its name, dimension and metric."""

    column: str
    dim: int
    metric: str

    def to_dict(self) -> dict[str, Any]:
        return {"dim": self.dim, "metric": self.metric}


def parse_embeddings(spec: Any, group: str) -> dict[str, Embedding]:
    """``{"col": {"dim": 128, "metric": "cosine"}}`` (or ``{"col": 128}``: cosine) as
    :class:`Embedding` s; anything else is refused, naming the column."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise InvalidInput(f"embeddings of feature group {group!r} must be a dict of column to "
                           f"{{'dim': N, 'metric': M}}, not {type(spec).__name__}.",
                           "Pass e.g. embeddings={'desc_vec': {'dim': 128, 'metric': 'cosine'}}.")
    out = {}
    for column, value in spec.items():
        validate_column(column, "embedding column")
        if isinstance(value, Embedding):
            value = value.to_dict()
        if isinstance(value, int) and not isinstance(value, bool):
            value = {"dim": value}
        if not isinstance(value, dict):
            raise InvalidInput(f"Embedding column {column!r} of feature group {group!r}: "
                               f"{value!r} is not {{'dim': N, 'metric': M}}.",
                               f"Pass e.g. {{{column!r}: {{'dim': 128, 'metric': 'cosine'}}}}.")
        unknown = set(value) - {"dim", "metric"}
        if unknown:
            raise InvalidInput(f"Embedding column {column!r} of feature group {group!r} has "
                               f"unknown setting(s) {sorted(unknown)}.",
                               "An embedding column takes 'dim' and 'metric' only.")
        dim = value.get("dim")
        if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= 65_536:
            raise InvalidInput(f"Embedding column {column!r} of feature group {group!r}: dim "
                               f"{dim!r} is not a whole number from 1 to 65536.",
                               "Give the length of the vectors, e.g. 'dim': 128.")
        metric = value.get("metric", "cosine")
        if metric not in METRICS:
            raise InvalidInput(f"Embedding column {column!r} of feature group {group!r}: "
                               f"unknown metric {metric!r}.",
                               f"Use one of {', '.join(METRICS)}.")
        out[column] = Embedding(column, dim, metric)
    return out


def parse_flag(text: str, group: str) -> tuple[str, dict[str, Any]]:
    """``desc_vec:128:cosine`` (the metric may be left out: cosine) as ``(column, spec)``."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[1].strip().isdigit():
        raise InvalidInput(f"--embedding {text!r} of feature group {group!r} is not "
                           "COLUMN:DIM[:METRIC].", "Write e.g. --embedding desc_vec:128:cosine.")
    spec: dict[str, Any] = {"dim": int(parts[1])}
    if len(parts) == 3:
        spec["metric"] = parts[2].strip()
    return parts[0].strip(), spec


def _row_list(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:SAMPLE])
    return shown + (f" … ({len(rows)} rows)" if len(rows) > SAMPLE else "")


def conform_vectors(table: pa.Table, embeddings: dict[str, Embedding], group: str) -> pa.Table:
    """``table`` with each embedding column as a list of float32 of the declared length.

    Accepts lists, arrays or tuples of numbers per row (pandas object columns of numpy arrays,
    Arrow lists and fixed-size lists of any numeric type). Refuses, naming the column and the
    first bad rows (0-based positions in the inserted data): a missing column, a value that is
    not a list of numbers, a wrong length, NaN or infinity."""
    for column, emb in embeddings.items():
        if column not in table.column_names:
            raise InvalidInput(f"The data for feature group {group!r} has no embedding column "
                               f"{column!r} (columns: {', '.join(table.column_names)}).",
                               f"Add the {emb.dim}-dimensional vectors as column {column!r}.")
        index = table.column_names.index(column)
        values = _as_float_lists(table.column(column), emb, group)
        table = table.set_column(index, pa.field(column, VECTOR_TYPE), values)
    return table


def _as_float_lists(col: pa.ChunkedArray, emb: Embedding, group: str) -> pa.ChunkedArray:
    where = f"Embedding column {emb.column!r} of feature group {group!r}"
    typ = col.type
    if pa.types.is_null(typ):
        return pa.chunked_array([pa.nulls(len(col), VECTOR_TYPE)])
    if not (pa.types.is_list(typ) or pa.types.is_large_list(typ)
            or pa.types.is_fixed_size_list(typ)):
        rows = _non_list_rows(col)
        raise InvalidInput(f"{where} holds {typ} values, not lists of numbers (rows "
                           f"{_row_list(rows)}). Nothing was written.",
                           f"Give each row a list or numpy array of {emb.dim} floats.")
    value_type = typ.value_type
    if not (pa.types.is_integer(value_type) or pa.types.is_floating(value_type)
            or pa.types.is_null(value_type)):
        raise InvalidInput(f"{where} holds lists of {value_type}, not numbers. Nothing was "
                           "written.", f"Give each row a list or numpy array of {emb.dim} "
                           "floats.")
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_fixed_size_list(typ):
        lengths = np.full(len(col), typ.list_size, dtype=np.int64)
    else:
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
    valid = col.is_valid().to_numpy(zero_copy_only=False)
    wrong = np.flatnonzero(valid & (np.nan_to_num(lengths, nan=-1) != emb.dim))
    if len(wrong):
        got = sorted({int(lengths[i]) for i in wrong[:SAMPLE]})
        raise InvalidInput(f"{where} must hold {emb.dim} values per row; rows "
                           f"{_row_list(wrong)} hold {', '.join(map(str, got))}. Nothing was "
                           "written.", f"Give every vector exactly {emb.dim} values (or start "
                           "a new version of the group with the new dimension).")
    flat = pc.list_flatten(col)
    if flat.null_count:
        bad = _rows_of(np.flatnonzero(~flat.is_valid().to_numpy(zero_copy_only=False)), emb.dim,
                       valid)
        # pandas turns NaN inside a list into a null: both read "NaN or missing"
        raise InvalidInput(f"{where} has NaN or missing values in rows {_row_list(bad)}. "
                           "Nothing was written.",
                           "Fix or drop those rows (a whole vector may be null).")
    numbers = flat.cast(pa.float64()).to_numpy(zero_copy_only=False)
    finite = np.isfinite(numbers)
    if not finite.all():
        bad = _rows_of(np.flatnonzero(~finite), emb.dim, valid)
        raise InvalidInput(f"{where} has NaN or infinite values in rows {_row_list(bad)}. "
                           "Nothing was written.", "Fix or drop those rows.")
    too_big = np.abs(numbers) > np.finfo(np.float32).max
    if too_big.any():
        bad = _rows_of(np.flatnonzero(too_big), emb.dim, valid)
        raise InvalidInput(f"{where} has values too large for float32 in rows "
                           f"{_row_list(bad)}. Nothing was written.", "Scale the vectors.")
    values = pa.array(numbers.astype(np.float32))
    offsets = pa.array(np.concatenate([[0], np.cumsum(np.where(valid, emb.dim, 0))]).astype(
        np.int32))
    out = pa.ListArray.from_arrays(offsets, values, type=VECTOR_TYPE,
                                   mask=pa.array(~valid))
    return pa.chunked_array([out])


def _rows_of(flat_positions: np.ndarray, dim: int, valid: np.ndarray) -> np.ndarray:
    """Row numbers of positions in the flattened values of the valid rows."""
    valid_rows = np.flatnonzero(valid)
    return np.unique(valid_rows[flat_positions // dim])


def _non_list_rows(col: pa.ChunkedArray) -> np.ndarray:
    valid = col.is_valid().to_numpy(zero_copy_only=False) if len(col) else np.array([], bool)
    return np.flatnonzero(valid)


def matrix(column: pa.ChunkedArray | pa.Array, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The vectors of a stored embedding column as an ``(n, dim)`` float32 matrix of its
    non-null rows, and those rows' positions."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(valid)
    if not len(rows):
        return np.zeros((0, dim), dtype=np.float32), rows
    kept = column.filter(pa.array(valid)) if len(rows) != len(column) else column
    flat = pc.list_flatten(kept).to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(flat.astype(np.float32, copy=False).reshape(-1, dim)), rows


def index_folder(home: Path, group: str, version: int) -> Path:
    """Where the vector indexes of a group version live: ``<home>/indexes/<group>_v<n>``."""
    return Path(home) / "indexes" / f"{group}_v{version}"
