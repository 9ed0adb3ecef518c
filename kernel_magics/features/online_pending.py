"""Online updates that an insert owes the online store, kept in the catalog until they land.

An online group's insert is two writes, the Delta commit and the online upsert; a process
killed between them (or an online store that was down) would leave the online store behind
the table for good. So the insert records ``online_pending(group, commit_seq)`` *before* its
Delta commit and deletes it once the online store has the rows. A row still there on the next
open, insert or lookup of the group is finished then (:func:`finish`): if that commit landed,
the rows of it and of every later commit are written to the online store again (the store's
"newer event time wins, a tie goes to the later write" makes that safe to repeat); if it never
landed and its writer is gone, the row is dropped. A landed commit whose writer may still be
on its way to the online store (this process's insert in progress, a live process on this host,
or another host's insert younger than :data:`WRITER_GRACE`) is left to that writer: a reader
replaying it meanwhile would only repeat the write and slow every lookup down.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from ..shared.times import parse_time, utcnow
from . import records
from .columns import COMMIT_COLUMN, ROW_COLUMN

if TYPE_CHECKING:  # pragma: no cover
    from .groups import FeatureGroup

log = logging.getLogger("kernel_magics.features")

#: an uncommitted pending update older than this, from another host, is given up
STALE_AFTER = timedelta(days=1)

#: how long another process's landed insert is left to finish its own online write
WRITER_GRACE = timedelta(seconds=60)

#: (group id, commit seq) of the inserts of this process still on their way
_in_progress: set[tuple[int, int]] = set()

#: how long a feature-vector lookup trusts its last look that found nothing pending: a
#: catalog query on every lookup was most of an online predict's time (issue 25), and an
#: update a killed writer left behind is still finished by the first lookup after that
RECHECK_AFTER_S = 1.0

#: (catalog, group ids) -> time.monotonic() of the last look that found nothing pending
_nothing_pending: dict[tuple[int, tuple[int, ...]], float] = {}


def record(fg: "FeatureGroup", seq: int) -> None:
    """Note, before the Delta commit of insert ``seq``, that the online store will owe it."""
    _nothing_pending.clear()  # this process's next lookup looks again, whatever it saw
    _in_progress.add((fg.id, seq))
    records.add_pending(fg._lh.catalog, fg.id, seq, os.getpid(), socket.gethostname())


def settled(fg: "FeatureGroup", seq: int) -> None:
    """Insert ``seq`` of this process is over, whether or not the online store got its rows:
    what it still owes is finished like any other writer's from now on."""
    _in_progress.discard((fg.id, seq))


def clear(fg: "FeatureGroup", seqs: list[int]) -> None:
    """The online store has (or will never need) the rows of these inserts."""
    records.clear_pending(fg._lh.catalog, fg.id, seqs)


def any_pending(fg: "FeatureGroup") -> bool:
    """One indexed lookup: cheap enough for every feature-vector lookup."""
    return records.any_pending(fg._lh.catalog, fg.id)


def _writer_gone(row: dict[str, Any]) -> bool:
    if row["pid"] == os.getpid() and row["host"] == socket.gethostname():
        return False  # this process: its own insert is still running
    if row["host"] == socket.gethostname():
        try:
            os.kill(int(row["pid"]), 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False
    return utcnow() - parse_time(row["created_at"], "created_at") > STALE_AFTER


def _writer_busy(fg: "FeatureGroup", row: dict[str, Any]) -> bool:
    """The insert that recorded ``row`` (its Delta commit landed) may still be writing the
    online store itself."""
    here = row["host"] == socket.gethostname()
    if here and row["pid"] == os.getpid():
        return (fg.id, row["commit_seq"]) in _in_progress
    if utcnow() - parse_time(row["created_at"], "created_at") > WRITER_GRACE:
        return False  # a writer that has not finished by now is stuck or gone
    return not _writer_gone(row) if here else True


def finish(fg: "FeatureGroup") -> int:
    """Finish the online updates interrupted for ``fg``; returns the keys written (0 when
    nothing was pending). Logs what it did."""
    if not fg.online or not any_pending(fg):
        return 0
    rows = records.pending(fg._lh.catalog, fg.id)
    if not rows:
        return 0
    fg._reconcile()  # a commit that landed but was never recorded is recorded now
    seqs = [r["commit_seq"] for r in rows]
    landed = records.landed_commits(fg._lh.catalog, fg.id, seqs)
    never = [r["commit_seq"] for r in rows if r["commit_seq"] not in landed and _writer_gone(r)]
    if never:
        clear(fg, never)
        log.warning("Feature group %r version %d: insert(s) %s were interrupted before their "
                    "Delta commit; nothing was written, nothing is owed to the online store.",
                    fg.name, fg.version, ", ".join(map(str, never)))
    busy = {r["commit_seq"] for r in rows if r["commit_seq"] in landed and _writer_busy(fg, r)}
    landed = {seq: v for seq, v in landed.items() if seq not in busy}
    if not landed:
        return 0
    first = min(landed)
    table = _rows_since(fg, first)
    written = fg._lh.online_store.upsert(fg.online_table, fg.keys, fg.event_time, table) \
        if table.num_rows else 0
    _settle_deletes(fg, landed)
    clear(fg, sorted(landed))
    log.warning("Feature group %r version %d: finished the online update of interrupted "
                "insert(s) %s (Delta version(s) %s): %d row(s) replayed, %d key(s) updated.",
                fg.name, fg.version, ", ".join(map(str, sorted(landed))),
                ", ".join(str(landed[s]) for s in sorted(landed)), table.num_rows, written)
    fg._lh.catalog.record_event("feature_group.online_finished", fg.online_table,
                                {"commit_seqs": sorted(landed), "rows": table.num_rows,
                                 "keys": written})
    return written


def _settle_deletes(fg: "FeatureGroup", landed: dict[int, int]) -> None:
    """Landed deletes among the interrupted commits: their keys fall back to their newest
    remaining rows (the replay above never brings a deleted row back: it is not in the
    table)."""
    from . import tables
    from .deletes import settle_online
    for seq in sorted(landed):
        meta = tables.commit_metadata(tables.commit_info(fg.table_path, landed[seq]) or {})
        if meta and meta.get("mode") == "delete":
            settle_online(fg, meta.get("deleted_keys"))


def finish_quietly(fg: "FeatureGroup") -> None:
    """:func:`finish` on the way of an open, insert or lookup: a failure (the online store
    still down) is logged and left for the next access, never raised into that call."""
    try:
        if any_pending(fg):
            finish(fg)
    except Exception:
        log.exception("Feature group %r version %d: the interrupted online update could not "
                      "be finished yet; it is tried again on the next access.",
                      fg.name, fg.version)


def finish_quietly_all(groups: list["FeatureGroup"]) -> None:
    """:func:`finish_quietly` for several groups with one query for which have anything
    pending (a feature-vector lookup reads several groups and usually finds none)."""
    online = [fg for fg in groups if fg.online]
    if not online:
        return
    catalog = online[0]._lh.catalog
    seen = (id(catalog), tuple(fg.id for fg in online))
    if time.monotonic() - _nothing_pending.get(seen, -RECHECK_AFTER_S) < RECHECK_AFTER_S:
        return
    try:
        pending = records.groups_pending(catalog, [fg.id for fg in online])
    except Exception:
        log.exception("The pending online updates of feature groups %s could not be read; "
                      "they are tried again on the next access.",
                      ", ".join(repr(fg.name) for fg in online))
        return
    if not pending:
        _nothing_pending[seen] = time.monotonic()
    for fg in online:
        if fg.id in pending:
            finish_quietly(fg)


def _rows_since(fg: "FeatureGroup", first: int) -> pa.Table:
    """The table's current rows written by insert ``first`` or later, in write order."""
    delta = fg._open()
    if delta is None:
        return pa.table({})
    from ..storage.delta import as_dataset
    dataset = as_dataset(delta, fg.table_path)
    table = dataset.to_table(filter=pc.field(COMMIT_COLUMN) >= first)
    if table.num_rows > 1:
        table = table.take(pc.sort_indices(table, [(COMMIT_COLUMN, "ascending"),
                                                   (ROW_COLUMN, "ascending")]))
    return table
