"""Small JSON files that describe, beside their data, what otherwise only the catalog knows.

Feature groups describe themselves in their Delta table (``features.tables``); feature views,
model versions with their aliases, and deployments have no table, so each gets a file in the
lakehouse's storage (the home on a laptop). They are written when the catalog changes and
read only by ``lakebook recover``, which rebuilds a lost laptop catalog from them:

==========================================  ================================================
``views/<name>/<version>.json``             the view's spec, description, creation time
``models/<name>/<version>/lakebook.json``   the version's catalog record (metrics, lineage…)
``models/<name>/aliases.json``              ``{alias: version}`` as last moved
``deployments/<name>.json``                 model, alias or version, view, kind, spec
==========================================  ================================================
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from ..shared import jsonsafe
from .location import Location

MODEL_FILE = "lakebook.json"
ALIASES_FILE = "aliases.json"


def view_file(root: Any, name: str, version: int) -> Any:
    """``root``: the lakehouse's storage root (``lh.location("")``) or a local home."""
    return root / "views" / name / f"{int(version)}.json"


def deployment_file(root: Any, name: str) -> Any:
    return root / "deployments" / f"{name}.json"


def write(path: "Location | Path", payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` (a storage Location or a local path) whole: a reader
    never sees half a file."""
    text = json.dumps(payload, indent=1, sort_keys=True, default=jsonsafe.default)
    if isinstance(path, Location):
        path.write_text(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def remove(path: "Location | Path") -> None:
    if isinstance(path, Location):
        path.delete_file()
        return
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def read(path: "Location | Path") -> dict[str, Any] | None:
    """The payload at ``path`` (None when it is missing or not a JSON object)."""
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None
