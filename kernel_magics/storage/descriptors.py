"""Small JSON files that describe, beside their data, what otherwise only the catalog knows.

Feature groups describe themselves in their Delta table (``features.tables``); feature views,
model versions with their aliases, and deployments have no table, so each gets a file in the
home. They are written when the catalog changes and read only by ``lakebook recover``, which
rebuilds a lost catalog from them:

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

MODEL_FILE = "lakebook.json"
ALIASES_FILE = "aliases.json"


def view_file(home: Path, name: str, version: int) -> Path:
    return Path(home) / "views" / name / f"{int(version)}.json"


def deployment_file(home: Path, name: str) -> Path:
    return Path(home) / "deployments" / f"{name}.json"


def write(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True, default=jsonsafe.default))
    os.replace(tmp, path)


def remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def read(path: Path) -> dict[str, Any] | None:
    """The payload at ``path`` (None when it is missing or not a JSON object)."""
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None
