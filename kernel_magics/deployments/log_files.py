"""Where inference-log rows go when they cannot go to the Delta table (yet).

- Dead letters: rows a write refused (the table would not take them), kept for a person with
  the error, one JSON line per refused batch in ``<home>/dead_letters/inference_log_<name>.jsonl``.
  The deployment's statistics count them and an alert is raised.
- Spills: rows still buffered when the process stopped and the table could not be written
  then, in ``<home>/spill/inference_log_<name>/*.jsonl``; the deployment's inference log
  writes them (and removes the file) when it next starts.

Both hold plain JSON rows (the log's columns), readable without Lakebook.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterable

from ..shared import jsonsafe
from ..shared.times import now_utc

DEAD_LETTERS = "dead_letters"
SPILL = "spill"


def dead_letter_file(home: Path, deployment: str) -> Path:
    return Path(home) / DEAD_LETTERS / f"inference_log_{deployment}.jsonl"


def spill_dir(home: Path, deployment: str) -> Path:
    return Path(home) / SPILL / f"inference_log_{deployment}"


def _line(payload: dict[str, Any]) -> str:
    return jsonsafe.dumps(payload) + "\n"


def plain_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [jsonsafe.plain(row) for row in rows]


def add_dead_letters(home: Path, deployment: str, rows: list[dict[str, Any]],
                     error: str) -> Path:
    """Append refused ``rows`` with the ``error`` that refused them (durably: flushed and
    synced before returning, so a row is never only in memory once it left the buffer)."""
    path = dead_letter_file(home, deployment)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(_line({"at": now_utc(), "deployment": deployment, "error": error,
                        "rows": plain_rows(rows)}))
        fh.flush()
        os.fsync(fh.fileno())
    return path


def read_dead_letters(home: Path, deployment: str) -> list[dict[str, Any]]:
    """Every dead-letter entry of a deployment: ``{"at", "error", "rows"}``."""
    path = dead_letter_file(home, deployment)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def spill(home: Path, deployment: str, rows: list[dict[str, Any]]) -> Path:
    """Write buffered ``rows`` to a new spill file (atomically) and return it."""
    folder = spill_dir(home, deployment)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in plain_rows(rows):
            fh.write(_line(row))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def spills(home: Path, deployment: str) -> list[Path]:
    """The deployment's spill files, oldest first (also those a process died replaying)."""
    folder = spill_dir(home, deployment)
    found = list(folder.glob("*.jsonl"))
    for claimed in folder.glob("*.jsonl.replaying-*"):
        pid = claimed.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            found.append(claimed)
    return sorted(found, key=lambda p: p.name)


def claim(path: Path) -> Path | None:
    """Take a spill file for this process (an atomic rename), so that two processes starting
    the same deployment never write its rows twice; None when another took it first."""
    base = path.name.split(".replaying-")[0]
    mine = path.with_name(f"{base}.replaying-{os.getpid()}")
    try:
        os.rename(path, mine)
    except FileNotFoundError:
        return None
    return mine


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_spill(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
