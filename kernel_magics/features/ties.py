"""Whether a joined table can hold ties: two rows with the same join key(s) and event time.

Point-in-time joins give a tie to the most recently written row, which costs an ASOF join on a
128-bit (event time, commit, row) value (~1.45x the time of a plain ASOF JOIN on the event
time at 10M rows). A table without ties has nothing to break, so a plain ASOF on the event
time is exact there. Checking costs one DuckDB pass over the key and time columns (~0.65 s per
10M rows); the answer depends only on the table's Parquet files, which Delta never changes,
so it is computed once per pinned file set and kept next to the table.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

from .names import quote_ident as q

#: subfolder of a group's Delta table holding Lakebook's derived facts (Delta and other
#: engines ignore folders starting with ``_``)
CACHE_DIR = "_lakebook"


def has_ties(files: Sequence[str], on: Sequence[str], event_time: str, con: Any = None) -> bool:
    """True if two rows of ``files`` share the ``on`` columns and ``event_time`` (or may: a
    64-bit hash collision also answers True, which only costs speed, never correctness)."""
    if not files:
        return False
    import duckdb

    own = con is None
    con = duckdb.connect() if own else con
    try:
        cols = ", ".join(q(c) for c in [*on, event_time])
        sql = (f"SELECT count(*) - count(DISTINCT hash({cols})) "
               "FROM read_parquet($files, union_by_name = true)")
        files = [f[len("file://"):] if f.startswith("file://") else f for f in files]
        return bool(con.execute(sql, {"files": files}).fetchall()[0][0])
    finally:
        if own:
            con.close()


def _cache_file(table_path: Path, files: Sequence[str], on: Sequence[str],
                event_time: str) -> Path:
    names = sorted(os.path.basename(f) for f in files)  # Delta data files have unique names
    digest = hashlib.sha256(json.dumps([names, list(on), event_time]).encode()).hexdigest()
    return Path(table_path) / CACHE_DIR / f"ties-{digest[:40]}.json"


def cached_has_ties(table_path: Path, files: Sequence[str], on: Sequence[str],
                    event_time: str) -> bool:
    """:func:`has_ties`, remembered per (file set, columns) under ``<table>/_lakebook/``."""
    if not files:
        return False
    path = _cache_file(table_path, files, on, event_time)
    try:
        return bool(json.loads(path.read_text())["ties"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    ties = has_ties(files, on, event_time)
    try:  # atomic: a concurrent reader sees the whole answer or none
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"ties": ties, "on": list(on), "event_time": event_time,
                                   "files": len(files)}))
        os.replace(tmp, path)
    except OSError:  # a read-only home still answers, just without remembering
        pass
    return ties
