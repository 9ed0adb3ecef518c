"""Where the lakehouse lives and how it is configured: every setting, declared once.

The home folder is, in order: the ``path`` argument, ``$LAKEBOOK_HOME``, the ``home`` named by
the nearest ``lakebook.toml`` found upward from the working directory (relative to that file),
else ``./.lakebook``. Settings come from that ``lakebook.toml`` and, when present, from
``<home>/lakebook.toml`` (which wins).

Every setting is in :data:`SETTINGS` with its type, default and meaning; :class:`Config`
holds them typed. A section or key that is not declared is an error naming it (a typo must
not silently fall back to a default), and so is a value of the wrong type. Which names
``[online] backend`` and ``[scheduler] executor`` may take is up to their registries
(``features.online.backends``, ``pipelines.executors``), checked when a lakehouse opens.
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


@dataclass(frozen=True)
class Setting:
    """One setting of ``lakebook.toml``: ``[section] key``, read into ``Config.<attr>``."""

    section: str
    key: str
    attr: str
    type: type
    doc: str

    @property
    def default(self) -> Any:
        """The default (declared once, on :class:`Config`)."""
        return Config.__dataclass_fields__[self.attr].default


SETTINGS: tuple[Setting, ...] = (
    Setting("lakebook", "home", "project_home", str,
            "the lakehouse folder, relative to the lakebook.toml that names it"),
    Setting("online", "backend", "online_backend", str,
            'the online store: "sqlite" (<home>/online.db) or "redis"'),
    Setting("online", "redis_url", "redis_url", str,
            "the Redis server of the redis backend"),
    Setting("online", "url", "redis_url", str,
            "an older name of redis_url"),
    Setting("scheduler", "executor", "executor", str,
            'where runs execute: "local" (a process pool) or "dask"'),
    Setting("scheduler", "concurrency", "executor_concurrency", int,
            "runs the local executor executes at once"),
    Setting("scheduler", "dask_address", "dask_address", str,
            "the Dask scheduler of the dask executor (tcp://host:8786)"),
    Setting("scheduler", "poll_seconds", "scheduler_poll_s", float,
            "seconds between two ticks of a scheduler"),
    Setting("scheduler", "lease_seconds", "lease_s", float,
            "how long a run's claim lasts without a heartbeat (a dead worker is found then)"),
    Setting("scheduler", "heartbeat_seconds", "heartbeat_s", float,
            "seconds between a running run's heartbeats (default: a quarter of the lease, "
            "at most 1)"),
    Setting("scheduler", "misfire_grace_seconds", "misfire_grace_s", float,
            "how late a scheduled window may start under catchup = \"skip\""),
    Setting("catalog", "url", "catalog_url", str,
            'the catalog database: "postgresql://user:password@host:5432/db" '
            "(default: <home>/catalog.db, SQLite)"),
    Setting("storage", "url", "storage_url", str,
            'where tables, models, runs and reports live: "s3://bucket/prefix" '
            "(default: the home folder)"),
    Setting("storage", "endpoint", "storage_endpoint", str,
            "the S3 API endpoint (http://host:9000 for MinIO; default: AWS_ENDPOINT_URL or AWS)"),
    Setting("storage", "region", "storage_region", str,
            "the S3 region (default: AWS_REGION, else us-east-1)"),
    Setting("storage", "access_key_id", "storage_access_key_id", str,
            "the S3 access key (default: AWS_ACCESS_KEY_ID)"),
    Setting("storage", "secret_access_key", "storage_secret_access_key", str,
            "the S3 secret key (default: AWS_SECRET_ACCESS_KEY)"),
    Setting("storage", "conditional_put", "storage_conditional_put", str,
            'what to do when the endpoint does not honour conditional writes (concurrent '
            'Delta commits could be lost): "refuse" or "warn"'),
    Setting("server", "max_request_bytes", "max_request_bytes", int,
            "the largest REST request body (Jupyter's /lakebook/api and lakebook serve)"),
    Setting("serve", "refresh_ms", "serve_refresh_ms", float,
            "how often a deployment re-reads its alias and model (milliseconds)"),
    Setting("serve", "log_flush_ms", "log_flush_ms", float,
            "how often the inference log writes its buffered rows (milliseconds)"),
    Setting("lineage", "openlineage", "openlineage_transport", str,
            'where runs\' OpenLineage events go: "file" (<home>/openlineage.jsonl), "http" '
            'or "off"'),
    Setting("lineage", "openlineage_file", "openlineage_file", str,
            "the JSON-lines file of the file transport (relative to the home)"),
    Setting("lineage", "openlineage_url", "openlineage_url", str,
            "the OpenLineage server of the http transport (e.g. http://marquez:5000)"),
    Setting("lineage", "openlineage_endpoint", "openlineage_endpoint", str,
            "the http transport's endpoint path"),
    Setting("lineage", "openlineage_api_key", "openlineage_api_key", str,
            "a bearer token the http transport sends"),
    Setting("lineage", "openlineage_namespace", "openlineage_namespace", str,
            "the OpenLineage namespace of this lakehouse's jobs (default lakebook)"),
    Setting("similarity", "merge_rows", "index_merge_rows", int,
            "rows waiting in a vector index's exactly searched tail that start a background "
            "merge into its graph (0: only fg.build_index() merges)"),
)


@dataclass
class Config:
    """The settings of one lakehouse (all optional; the defaults fit one laptop). See
    :data:`SETTINGS` for what each means."""

    home: Path
    online_backend: str = "sqlite"
    redis_url: str = "redis://127.0.0.1:6379/0"
    executor: str = "local"
    executor_concurrency: int = 2
    dask_address: str | None = None
    scheduler_poll_s: float = 5.0
    lease_s: float = 30.0
    heartbeat_s: float | None = None
    misfire_grace_s: float = 60.0
    catalog_url: str | None = None
    storage_url: str | None = None
    storage_endpoint: str | None = None
    storage_region: str | None = None
    storage_access_key_id: str | None = None
    storage_secret_access_key: str | None = None
    storage_conditional_put: str = "refuse"
    max_request_bytes: int = 1_000_000
    serve_refresh_ms: float = 250.0
    log_flush_ms: float = 5000.0
    openlineage_transport: str = "file"
    openlineage_file: str = "openlineage.jsonl"
    openlineage_url: str | None = None
    openlineage_endpoint: str = "api/v1/lineage"
    openlineage_api_key: str | None = None
    openlineage_namespace: str = "lakebook"
    index_merge_rows: int = 2_000
    project_home: str = DEFAULT_HOME
    #: the lakebook.toml files read, in order (the later wins)
    source: list[Path] = field(default_factory=list)

    def settings(self) -> dict[str, Any]:
        """The declared settings' values (what another process needs to open the same
        lakehouse, e.g. a Dask worker)."""
        return {s.attr: getattr(self, s.attr) for s in SETTINGS}

    @property
    def heartbeat_seconds(self) -> float:
        """Seconds between heartbeats (the setting, else a quarter of the lease, at most 1)."""
        return self.heartbeat_s if self.heartbeat_s is not None else min(1.0, self.lease_s / 4)


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
                           "Fix the file or remove it to use the defaults.") from None


def resolve_home(path: str | os.PathLike | None = None) -> tuple[Path, Path | None]:
    """The home folder and the project ``lakebook.toml`` that named it (if any)."""
    if path is not None:
        return Path(path).expanduser().resolve(), None
    env = os.environ.get("LAKEBOOK_HOME")
    if env:
        return Path(env).expanduser().resolve(), None
    toml_path = find_config_file()
    if toml_path is not None:
        home = _settings(toml_path).get("project_home", DEFAULT_HOME)
        return (toml_path.parent / home).resolve(), toml_path
    return (Path.cwd() / DEFAULT_HOME).resolve(), None


def _typed(setting: Setting, value: Any, path: Path) -> Any:
    where = f"[{setting.section}] {setting.key} in {path}"
    if setting.type is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, setting.type) and not isinstance(value, bool):
        return value
    kind = {str: "a string", int: "a whole number", float: "a number"}[setting.type]
    raise InvalidInput(f"{where} must be {kind}, not {value!r}.",
                       f"It is {setting.doc}; e.g. {setting.key} = {setting.default!r}."
                       if setting.default is not None else f"It is {setting.doc}.")


def _settings(path: Path) -> dict[str, Any]:
    """The settings ``path`` sets, by attribute, checked against :data:`SETTINGS`."""
    declared = {(s.section, s.key): s for s in SETTINGS}
    sections = sorted({s.section for s in SETTINGS})
    out: dict[str, Any] = {}
    for section, values in _read_toml(path).items():
        if section not in sections or not isinstance(values, dict):
            raise InvalidInput(f"{path}: [{section}] is not a Lakebook section"
                               + ("" if isinstance(values, dict) else " (a section holds keys)")
                               + ".", f"Known sections: {', '.join(f'[{s}]' for s in sections)}.")
        for key, value in values.items():
            setting = declared.get((section, key))
            if setting is None:
                known = [s.key for s in SETTINGS if s.section == section]
                raise InvalidInput(f"{path}: [{section}] has no setting {key!r}.",
                                   f"Settings under [{section}]: {', '.join(known)}.")
            out[setting.attr] = _typed(setting, value, path)
    return out


def load_config(home: Path, project_file: Path | None = None) -> Config:
    """Merge the project's and the home's ``lakebook.toml`` into a :class:`Config`."""
    values: dict[str, Any] = {}
    sources: list[Path] = []
    for candidate in (project_file or find_config_file(), home / CONFIG_FILE):
        if candidate is not None and candidate.is_file() and candidate not in sources:
            values.update(_settings(candidate))
            sources.append(candidate)
    return Config(home=home, source=sources, **values)


def write_settings(home: Path, settings: dict[str, Any]) -> Path:
    """Write ``settings`` (by attribute, as :meth:`Config.settings` gives them) as
    ``<home>/lakebook.toml``: how a Dask worker's kernels open the submitter's lakehouse.
    Defaults and the home itself are left out."""
    import tomli_w
    sections: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for s in SETTINGS:
        value = settings.get(s.attr)
        if s.attr in seen or s.attr == "project_home" or value is None or value == s.default:
            continue
        seen.add(s.attr)
        sections.setdefault(s.section, {})[s.key] = value
    path = Path(home) / CONFIG_FILE
    path.write_text(tomli_w.dumps(sections))
    return path


def describe_settings() -> str:
    """Every setting as ``[section] key = default  # meaning`` lines (for docs and help)."""
    lines = []
    for s in SETTINGS:
        default = "(none)" if s.default is None else repr(s.default)
        lines.append(f"[{s.section}] {s.key} = {default}  # {s.doc}")
    return "\n".join(lines)
