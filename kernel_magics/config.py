"""Where the lakehouse lives and how it is configured.

The home folder is, in order: the ``path`` argument, ``$LAKEBOOK_HOME``, the ``home`` named by
the nearest ``lakebook.toml`` found upward from the working directory (relative to that file),
else ``./.lakebook``. Settings come from that ``lakebook.toml`` and, when present, from
``<home>/lakebook.toml`` (which wins).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .shared.errors import InvalidInput

CONFIG_FILE = "lakebook.toml"
DEFAULT_HOME = ".lakebook"


@dataclass
class Config:
    """Settings of one lakehouse (all optional; defaults fit one laptop)."""

    home: Path
    #: ``sqlite`` (embedded, default) or ``redis``.
    online_backend: str = "sqlite"
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: ``local`` process pool (default) or ``dask``.
    executor: str = "local"
    executor_concurrency: int = 2
    dask_address: str | None = None
    max_request_bytes: int = 1_000_000
    source: list[Path] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


def find_config_file(start: Path | None = None) -> Path | None:
    """The nearest ``lakebook.toml`` in ``start`` or one of its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}.",
                           "Fix the file or remove it to use the defaults.") from exc


def resolve_home(path: str | os.PathLike | None = None) -> tuple[Path, Path | None]:
    """The home folder and the project ``lakebook.toml`` that named it (if any)."""
    if path is not None:
        return Path(path).expanduser().resolve(), None
    env = os.environ.get("LAKEBOOK_HOME")
    if env:
        return Path(env).expanduser().resolve(), None
    toml_path = find_config_file()
    if toml_path is not None:
        data = _read_toml(toml_path)
        home = data.get("lakebook", {}).get("home", DEFAULT_HOME)
        return (toml_path.parent / home).resolve(), toml_path
    return (Path.cwd() / DEFAULT_HOME).resolve(), None


def load_config(home: Path, project_file: Path | None = None) -> Config:
    """Merge the project's and the home's ``lakebook.toml`` into a :class:`Config`."""
    raw: dict[str, Any] = {}
    sources: list[Path] = []
    candidates = [project_file or find_config_file(), home / CONFIG_FILE]
    for candidate in candidates:
        if candidate is not None and candidate.is_file() and candidate not in sources:
            for section, values in _read_toml(candidate).items():
                if isinstance(values, dict):
                    raw.setdefault(section, {}).update(values)
            sources.append(candidate)
    online = raw.get("online", {})
    sched = raw.get("scheduler", {})
    server = raw.get("server", {})
    cfg = Config(
        home=home,
        online_backend=str(online.get("backend", "sqlite")),
        redis_url=str(online.get("redis_url", online.get("url", "redis://127.0.0.1:6379/0"))),
        executor=str(sched.get("executor", "local")),
        executor_concurrency=int(sched.get("concurrency", 2)),
        dask_address=sched.get("dask_address"),
        max_request_bytes=int(server.get("max_request_bytes", 1_000_000)),
        source=sources,
        raw=raw,
    )
    if cfg.online_backend not in ("sqlite", "redis"):
        raise InvalidInput(f"Unknown online backend {cfg.online_backend!r} in lakebook.toml.",
                           'Use backend = "sqlite" or backend = "redis" under [online].')
    if cfg.executor not in ("local", "dask"):
        raise InvalidInput(f"Unknown executor {cfg.executor!r} in lakebook.toml.",
                           'Use executor = "local" or executor = "dask" under [scheduler].')
    return cfg
