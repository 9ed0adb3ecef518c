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


def write(folder: Path, filename: str, data: bytes, info: ModelInfo,
          extra: dict[str, bytes] | None = None) -> Path:
    """Write the model file, its description and any ``extra`` files into ``folder``."""
    path = folder / filename
    path.write_bytes(data)
    for name, content in (extra or {}).items():
        (folder / name).write_bytes(content)
    (folder / INFO_FILE).write_text(json.dumps(info.to_json(), sort_keys=True))
    return path


def digest(folder: Path, filename: str, extra: tuple[str, ...] = ()) -> str:
    """The sha256 recorded at registration (over every file of the version)."""
    return _digest((folder / filename).read_bytes(), *[(folder / n).read_bytes() for n in extra],
                   (folder / INFO_FILE).read_bytes())


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256(parts[0])
    for part in parts[1:]:
        h.update(b"\0")
        h.update(part)
    return h.hexdigest()


def read(folder: Path, filename: str, expected: str | None, what: str,
         extra: tuple[str, ...] = ()) -> tuple[bytes, ModelInfo]:
    """The model file's bytes and its description, refused when they (and the ``extra``
    files) are not the files that were registered."""
    model, info, _ = read_all(folder, filename, expected, what, extra)
    return model, info


def read_all(folder: Path, filename: str, expected: str | None, what: str,
             extra: tuple[str, ...] = ()) -> tuple[bytes, ModelInfo, dict[str, bytes]]:
    """:func:`read`, with the bytes of every ``extra`` file."""
    model = read_artifact(folder / filename, None, what)
    others = {name: read_artifact(folder / name, None, what) for name in extra}
    raw_info = read_artifact(folder / INFO_FILE, None, what)
    if expected and _digest(model, *others.values(), raw_info) != expected:
        raise UnsafeArtifact(
            f"{what}: the artifact in {folder} is not what was registered (its sha256 "
            "changed), so it was not loaded.",
            "Someone or something replaced the files. Register the model again from its code.")
    try:
        data: Any = json.loads(raw_info)
    except ValueError:
        raise UnsafeArtifact(f"{what}: its {INFO_FILE} is not JSON.",
                             "Register the model again.") from None
    return model, ModelInfo.from_json(data, what), others
