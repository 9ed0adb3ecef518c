"""The files of a framework model's version: the library's own model file beside
``model_info.json``, one sha256 over both, and the library itself (an optional extra).

The digest is taken over the model file's bytes, a NUL and the description's bytes, so
neither can be swapped after registration; the bytes that were checked are the bytes that
are loaded (each file is read once).
"""
from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from ...shared.errors import InvalidInput, UnsafeArtifact
from ..flavours import read_artifact
from .predictor import ModelInfo

#: (not ``lakebook.json``: that is the version descriptor ``lakebook recover`` reads)
INFO_FILE = "model_info.json"


def require(module: str, extra: str, what: str) -> ModuleType:
    """``module`` imported, or :class:`InvalidInput` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InvalidInput(f"{what} needs the {module} library, which is not installed.",
                           f"Install it with: pip install 'lakebook[{extra}]'") from None


def write(folder: Path, filename: str, data: bytes, info: ModelInfo) -> Path:
    """Write the model file and its description into ``folder``."""
    path = folder / filename
    path.write_bytes(data)
    (folder / INFO_FILE).write_text(json.dumps(info.to_json(), sort_keys=True))
    return path


def digest(folder: Path, filename: str) -> str:
    """The sha256 recorded at registration (over both files)."""
    return _digest((folder / filename).read_bytes(), (folder / INFO_FILE).read_bytes())


def _digest(model: bytes, info: bytes) -> str:
    h = hashlib.sha256(model)
    h.update(b"\0")
    h.update(info)
    return h.hexdigest()


def read(folder: Path, filename: str, expected: str | None, what: str
         ) -> tuple[bytes, ModelInfo]:
    """The model file's bytes and its description, refused when they are not the files
    that were registered."""
    model = read_artifact(folder / filename, None, what)
    raw_info = read_artifact(folder / INFO_FILE, None, what)
    if expected and _digest(model, raw_info) != expected:
        raise UnsafeArtifact(
            f"{what}: the artifact in {folder} is not what was registered (its sha256 "
            "changed), so it was not loaded.",
            "Someone or something replaced the files. Register the model again from its code.")
    try:
        data: Any = json.loads(raw_info)
    except ValueError:
        raise UnsafeArtifact(f"{what}: its {INFO_FILE} is not JSON.",
                             "Register the model again.") from None
    return model, ModelInfo.from_json(data, what)
