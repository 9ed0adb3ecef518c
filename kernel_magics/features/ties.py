"""Ties in a joined table: rows sharing the join key(s) and the event time.

Point-in-time joins give a tie to the most recently written row. Breaking ties inside the
ASOF join costs a 128-bit (event time, commit, row) order value (~1.45x the time of a plain
ASOF JOIN on the event time, 10M x 1M rows). Instead:

- a table without ties has nothing to break: a plain ASOF on the event time is exact;
- a table with a few ties: dropping the rows that lose a tie (a hash join against the tied
  pairs and their winners) leaves a table without ties, again joined on the plain event time;
- only a table where many rows tie keeps the 128-bit join.

Checking costs one DuckDB pass over the key and time columns (~0.65 s per 10M rows; the tied
pairs, when there are any, one more). The answer depends only on the table's Parquet files,
which Delta never changes, so feature views compute it once per pinned file set and keep it
next to the table (``<table>/_lakebook/``).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa

from .columns import COMMIT_COLUMN, ROW_COLUMN
from ..shared.quoting import quote_ident as q

#: subfolder of a group's Delta table holding Lakebook's derived facts (Delta and other
#: engines ignore folders starting with ``_``)
CACHE_DIR = "_lakebook"
#: tied rows filtered out before a plain ASOF: at most this many, or this fraction of the
#: rows if more; beyond, the 128-bit join is cheaper than a hash join against their pairs
MIN_PAIRS_LIMIT = 100_000
PAIRS_FRACTION = 0.1


def _local(files: Sequence[str]) -> list[str]:
    return [f[len("file://"):] if f.startswith("file://") else f for f in files]


#: what a table is read from: its Parquet files (a local table), or an Arrow dataset of it
#: (an object-store table: DuckDB reads it through Arrow, without httpfs)
Source = Any


def _run(sql: str, params: dict[str, Any], con: Any, files: Source) -> Any:
    """Run ``sql``, whose ``{src}`` is the FROM item reading ``files``."""
    import duckdb

    own = con is None
    con = duckdb.connect() if own else con
    try:
        if isinstance(files, (list, tuple)):
            params = {**params, "files": _local(files)}
            src = "read_parquet($files, union_by_name = true)"
        else:
            src = "__lb_ties_src"
            con.register(src, files)
        return con.sql(sql.replace("{src}", src), params=params).to_arrow_table()
    finally:
        if own:
            con.close()


def _count(files: Source, on: Sequence[str], event_time: str,
           con: Any = None) -> tuple[int, int]:
    """(rows, rows beyond the first of each (on, time) pair). A 64-bit hash collision may
    count a tie that is not there, which only costs speed, never correctness."""
    cols = ", ".join(q(c) for c in [*on, event_time])
    got = _run(f"SELECT count(*) AS n, count(*) - count(DISTINCT hash({cols})) AS d "
               "FROM {src}", {}, con, files)
    return int(got["n"][0].as_py()), int(got["d"][0].as_py())


def has_ties(files: Source, on: Sequence[str], event_time: str, con: Any = None) -> bool:
    """True if two rows of ``files`` share the ``on`` columns and ``event_time``."""
    return bool(files) and _count(files, on, event_time, con)[1] > 0


def tied_pairs(files: Source, on: Sequence[str], event_time: str,
               con: Any = None) -> pa.Table:
    """The (on, event time) pairs held by more than one row (columns ``__k0``…, ``__lb_t``)
    and the id ``_lb_commit << 32 | _lb_row`` of the latest written row of each
    (``__lb_win``)."""
    keys = [f"{q(c)} AS __k{i}" for i, c in enumerate(on)]
    return _run(f"SELECT {', '.join(keys)}, {q(event_time)} AS __lb_t, "
                f"max(({q(COMMIT_COLUMN)} << 32) | {q(ROW_COLUMN)}) AS __lb_win "
                "FROM {src} GROUP BY ALL HAVING count(*) > 1", {}, con, files)


def ties_of(files: Source, on: Sequence[str], event_time: str,
            con: Any = None) -> tuple[bool, pa.Table | None]:
    """(whether there are ties, the tied pairs when few enough to filter the losers out)."""
    if isinstance(files, (list, tuple)) and not files:
        return False, None
    rows, extra = _count(files, on, event_time, con)
    if not extra:
        return False, None
    if extra > max(MIN_PAIRS_LIMIT, rows * PAIRS_FRACTION):
        return True, None
    pairs = tied_pairs(files, on, event_time, con)
    return (pairs.num_rows > 0), (pairs if pairs.num_rows else None)


def _cache_base(table_path: Path, files: Sequence[str], on: Sequence[str],
                event_time: str) -> Path:
    names = sorted(os.path.basename(f) for f in files)  # Delta data files have unique names
    digest = hashlib.sha256(json.dumps([names, list(on), event_time]).encode()).hexdigest()
    return Path(table_path) / CACHE_DIR / f"ties-{digest[:40]}"


def cached_ties(table_path: Path, files: Sequence[str], on: Sequence[str],
                event_time: str) -> tuple[bool, str | None]:
    """:func:`ties_of`, remembered per (file set, columns) under ``<table>/_lakebook/``:
    (whether there are ties, a Parquet file of the tied pairs and winners, or None)."""
    if not files:
        return False, None
    base = _cache_base(table_path, files, on, event_time)
    answer, pairs_file = base.with_suffix(".json"), base.with_suffix(".parquet")
    try:
        known = json.loads(answer.read_text())
        if not known["pairs"] or pairs_file.exists():
            return bool(known["ties"]), str(pairs_file) if known["pairs"] else None
    except (OSError, ValueError, KeyError, TypeError):
        pass
    ties, pairs = ties_of(files, on, event_time)
    try:  # the pairs first, then the answer naming them, each atomically
        base.parent.mkdir(exist_ok=True)
        tmp = base.with_name(f"{base.name}.{os.getpid()}.tmp")
        if pairs is not None:
            import pyarrow.parquet as pq
            pq.write_table(pairs, tmp)
            os.replace(tmp, pairs_file)
        tmp.write_text(json.dumps({"ties": ties, "pairs": pairs is not None, "on": list(on),
                                   "event_time": event_time, "files": len(files)}))
        os.replace(tmp, answer)
    except OSError:  # a read-only home still answers, just without remembering
        pass
    # without the pairs' file (not writable) the 128-bit join breaks the ties instead
    return ties, str(pairs_file) if pairs is not None and pairs_file.exists() else None
