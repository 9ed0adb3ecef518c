"""What a piece of code did to files and the OS while it ran: a ``sys.addaudithook`` recorder
and a snapshot of watched folders.

An audit hook cannot be removed, so one hook is installed per process and records only inside
:func:`recording`.
"""
from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: audit events that touch files, the OS, other processes or run code
SENSITIVE_PREFIXES = ("os.", "subprocess.", "shutil.", "ctypes.", "socket.", "pty.", "mmap.",
                      "tempfile.", "glob.", "pathlib.")
SENSITIVE_EVENTS = {"open", "exec", "compile", "import", "builtins.input", "code.__new__",
                    "function.__new__", "marshal.loads", "pickle.find_class", "sys._getframe",
                    "urllib.Request", "webbrowser.open", "fcntl.fcntl", "sqlite3.connect"}

_events: list[tuple[str, tuple]] | None = None
_owner: int | None = None
_installed = False


def _hook(event: str, args: tuple) -> None:
    if _events is None or threading.get_ident() != _owner:
        return
    if event in SENSITIVE_EVENTS or event.startswith(SENSITIVE_PREFIXES):
        _events.append((event, tuple(_short(a) for a in args[:3])))


def _short(value) -> object:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, (str, bytes)):
        return value[:200]
    if isinstance(value, (int, float, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_short(v) for v in value[:5])
    return type(value).__name__


@contextmanager
def recording() -> Iterator[list[tuple[str, tuple]]]:
    """Record the sensitive audit events this thread raises inside the block."""
    global _events, _owner, _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    events: list[tuple[str, tuple]] = []
    _events, _owner = events, threading.get_ident()
    try:
        yield events
    finally:
        _events, _owner = None, None


def snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folders`` with its size and modification time."""
    out: dict[str, tuple[int, int]] = {}
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            for name in [*dirs, *files]:
                path = os.path.join(root, name)
                st = os.lstat(path)
                out[path] = (st.st_size, st.st_mtime_ns)
    return out


def changes(before: dict, after: dict) -> list[str]:
    """Paths created, deleted or changed between two snapshots."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
