"""Where inference-log rows go when they cannot go to the Delta table (yet).

Both live in the lakehouse's storage (the home folder on a laptop, the ``[storage] url``
prefix on a team), so every home and server of a team sees them:

- Dead letters: rows a write refused (the table would not take them), kept for a person with
  the error, one JSON file per refused batch in
  ``dead_letters/inference_log_<name>/<time>-<pid>-<id>.json``. The deployment's statistics
  count them and an alert is raised.
- Spills: rows still buffered when the process stopped and the table could not be written
  then, in ``spill/inference_log_<name>/*.jsonl``; the deployment's inference log writes them
  (and removes the file) when it next starts, on any host. When the storage itself cannot be
  written (an object store that is down), the rows are spilled to the local home's ``spill/``
  instead, and written from there by the next start on this host.

Both hold plain JSON rows (the log's columns), readable without Lakebook.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from ..shared import jsonsafe
from ..shared.times import now_utc
from ..storage.location import Location, Storage

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse

log = logging.getLogger(__name__)

DEAD_LETTERS = "dead_letters"
SPILL = "spill"
CLAIM = ".claim"


def dead_letter_folder(lh: "Lakehouse", deployment: str) -> Location:
    """The storage folder of a deployment's dead letters."""
    return lh.location(f"{DEAD_LETTERS}/inference_log_{deployment}")


def spill_folder(lh: "Lakehouse", deployment: str) -> Location:
    """The storage folder of a deployment's spills."""
    return lh.location(f"{SPILL}/inference_log_{deployment}")


def _local_spill_folder(lh: "Lakehouse", deployment: str) -> Location | None:
    """Where spills go when the (object) storage cannot be written: the local home; None
    on the laptop, whose storage is the home."""
    if lh.storage.is_local:
        return None
    return Storage(str(lh.home)).location(f"{SPILL}/inference_log_{deployment}")


def _stamp() -> str:
    return (f"{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}-"
            f"{uuid.uuid4().hex[:8]}")


def plain_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [jsonsafe.plain(row) for row in rows]


def add_dead_letters(lh: "Lakehouse", deployment: str, rows: list[dict[str, Any]],
                     error: str) -> Location:
    """Keep refused ``rows`` with the ``error`` that refused them, as one new file (written
    whole before returning, so a row is never only in memory once it left the buffer)."""
    path = dead_letter_folder(lh, deployment) / f"{_stamp()}.json"
    path.write_text(jsonsafe.dumps({"at": now_utc(), "deployment": deployment,
                                    "error": error, "rows": plain_rows(rows)}))
    return path


def read_dead_letters(lh: "Lakehouse", deployment: str) -> list[dict[str, Any]]:
    """Every dead-letter entry of a deployment, oldest first: ``{"at", "error", "rows"}``."""
    folder = dead_letter_folder(lh, deployment)
    entries = [json.loads((folder / name).read_text()) for name in folder.names(".json")]
    # before the storage kept them, one JSON-lines file per deployment held them all
    legacy = lh.location(f"{DEAD_LETTERS}/inference_log_{deployment}.jsonl")
    try:
        lines = legacy.read_text().splitlines()
    except FileNotFoundError:
        lines = []
    return [json.loads(line) for line in lines if line.strip()] + entries


def spill(lh: "Lakehouse", deployment: str, rows: list[dict[str, Any]]) -> Location:
    """Write buffered ``rows`` to a new spill file (whole) and return it: in the storage,
    else (the storage refused the write) in the local home."""
    name = f"{_stamp()}.jsonl"
    text = "".join(jsonsafe.dumps(row) + "\n" for row in plain_rows(rows))
    path = spill_folder(lh, deployment) / name
    try:
        path.write_text(text)
        return path
    except Exception as exc:
        local = _local_spill_folder(lh, deployment)
        if local is None:
            raise
        log.warning("Inference log of %s: the storage refused the spill (%s); spilling to the "
                    "local home instead", deployment, exc)
        path = local / name
        path.write_text(text)
        return path


@dataclass(frozen=True)
class Spill:
    """One spill file, and the claim that makes it this process's to write."""

    file: Location

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def _claim(self) -> Location:
        return self.file.parent / f"{self.file.name}{CLAIM}"

    def claim(self) -> bool:
        """Take the file for this process, so that two processes starting the same
        deployment never write its rows twice (an exclusive create of its claim: atomic
        locally and, with a conditional PUT, on S3). A claim left by a dead process of this
        host is taken over; False when another live process holds it."""
        me = f"{socket.gethostname()} {os.getpid()}".encode()
        if self._claim.create(me):
            return True
        try:
            host, pid = self._claim.read_text().split()
        except (FileNotFoundError, ValueError):
            return False
        if host != socket.gethostname() or not pid.isdigit() or _alive(int(pid)):
            return False
        self._claim.delete_file()  # its holder died (here) before writing the rows
        return self._claim.create(me)

    def rows(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.file.read_text().splitlines()
                if line.strip()]

    def done(self) -> None:
        """The rows are in the table: the file goes, then its claim."""
        self.file.delete_file()
        self._claim.delete_file()


def spills(lh: "Lakehouse", deployment: str) -> list[Spill]:
    """The deployment's spill files, oldest first (those in the storage, then those the
    storage refused and the local home kept)."""
    found = []
    for folder in (spill_folder(lh, deployment), _local_spill_folder(lh, deployment)):
        if folder is not None:
            found += [Spill(folder / n) for n in folder.names(".jsonl")]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = ["add_dead_letters", "read_dead_letters", "dead_letter_folder", "spill", "spills",
           "Spill"]
