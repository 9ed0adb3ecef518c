"""The feature store of a lakehouse: create, find and list feature groups (and, through the
views module, feature views)."""
from __future__ import annotations

import shutil
import sqlite3
from typing import TYPE_CHECKING, Any

from ..catalog.versioned import versioned_row
from ..catalog import from_json, to_json
from ..shared.times import now_utc
from ..shared.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from ..shared.refs import Ref, takes_objects
from .checks import validate_checks
from . import online_pending
from .groups import FeatureGroup
from ..shared.names import validate_column, validate_name

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse


def _key_list(key: Any, group: str) -> list[str]:
    keys = [key] if isinstance(key, str) else list(key or [])
    if not keys:
        raise InvalidInput(f"Feature group {group!r} needs a primary key.",
                           "Pass key='cc_num' or key=['a', 'b'] (--key in %%feature).")
    for k in keys:
        validate_column(k, "key column")
    if len(set(keys)) != len(keys):
        raise InvalidInput(f"Feature group {group!r} names a key column twice: {keys}.",
                           "List each key column once.")
    return keys


class FeatureStore:
    """Feature groups and views of one lakehouse (``lh.features``)."""

    def __init__(self, lh: "Lakehouse") -> None:
        self._lh = lh

    # -- groups ----------------------------------------------------------------------------
    def create_feature_group(self, name: str, key: list[str] | str, event_time: str,
                             online: bool = False, description: str | None = None,
                             checks: list[str] | None = None,
                             version: int | None = None,
                             overwrite: bool = False) -> FeatureGroup:
        """Create a feature group version.

        ``key``: primary key column(s); ``event_time``: the timezone-aware time each row is
        valid from; ``online``: also keep the latest row per key in the online store;
        ``checks``: SQL predicates every inserted row must satisfy (checked before commit).
        ``version=None`` creates the next version (1 for a new name); a new version starts
        clean (no data, schema fixed by its first insert). A table folder the catalog does
        not know (``tables/<name>_v<version>`` left by a lost catalog) is never deleted:
        the call is refused, naming it, unless ``overwrite=True``.
        """
        validate_name(name)
        keys = _key_list(key, name)
        validate_column(event_time, "event-time column")
        if event_time in keys:
            raise InvalidInput(f"Feature group {name!r}: the event time {event_time!r} cannot "
                               "also be a key.", "Pick distinct key and event-time columns.")
        checks = validate_checks(checks, name)
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                    or version < 1):
            raise InvalidInput(f"Version {version!r} of feature group {name!r} is not a "
                               "positive integer.", "Pass version=1, 2, …")
        if description is not None and not isinstance(description, str):
            raise InvalidInput("description must be a string.", "Pass description='…'.")
        catalog = self._lh.catalog
        now = now_utc()
        try:
            with catalog.transaction() as conn:
                if version is None:
                    version = 1 + (conn.execute(
                        "SELECT COALESCE(MAX(version), 0) FROM feature_groups WHERE name = ?",
                        (name,)).fetchone()[0])
                table_path = f"tables/{name}_v{version}"
                leftover = self._lh.home / table_path
                if not overwrite and leftover.is_dir() and any(leftover.iterdir()):
                    raise Conflict(
                        f"Feature group {name!r} version {version} is not in the catalog, but "
                        f"its table folder {leftover} holds data the catalog does not know "
                        "(a lost or replaced catalog?); creating the group would delete it.",
                        "If the catalog was lost, rebuild it from the tables with `lakebook "
                        f"recover --home {self._lh.home}`. To start this version over and "
                        "delete that data, pass overwrite=True.")
                conn.execute(
                    "INSERT INTO feature_groups(name, version, keys, event_time, online,"
                    " description, checks, schema, table_path, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,NULL,?,?,?)",
                    (name, version, to_json(keys), event_time, int(bool(online)),
                     description or "", to_json(checks), table_path, now, now))
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"Feature group {name!r} version {version} exists already.",
                                f"Open it with lh.feature_group({name!r}, version={version}), "
                                "or create the next version (version=None).") from None
        if overwrite:  # the caller asked for the unknown data to go
            shutil.rmtree(self._lh.home / table_path, ignore_errors=True)
        catalog.record_event("feature_group.created", f"{name}_v{version}",
                             {"keys": keys, "event_time": event_time, "online": bool(online)})
        return self.feature_group(name, version)

    @takes_objects(name=Ref("feature group", version="version"))
    def feature_group(self, name: str, version: int | None = None) -> FeatureGroup:
        """Feature group ``name`` at ``version`` (default: its latest version)."""
        validate_name(name)
        row = versioned_row(self._lh.catalog, "feature_groups", name, version,
                            noun="feature group", latest_call=f"lh.feature_group({name!r})",
                            create_hint="Create it with lh.create_feature_group(...) or "
                                        "%%feature.")
        fg = FeatureGroup(self._lh, row)
        if fg.online:  # an online update cut off by a crash is finished on open
            online_pending.finish_quietly(fg)
        return fg

    def get_or_create_feature_group(self, name: str, key: list[str] | str, event_time: str,
                                    version: int | None = None, **kwargs: Any) -> FeatureGroup:
        """The group ``name`` (``version``, default latest) if it exists, else a new one.

        An existing group must have the same keys and event time (else
        :class:`InvalidInput`, which suggests a new version)."""
        validate_name(name)
        try:
            fg = self.feature_group(name, version)
        except NotFound:
            try:
                return self.create_feature_group(name, key=key, event_time=event_time,
                                                 version=version or 1, **kwargs)
            except AlreadyExists:  # another process created it first
                fg = self.feature_group(name, version)
        keys = _key_list(key, name)
        if fg.keys != keys or fg.event_time != event_time:
            raise InvalidInput(
                f"Feature group {name!r} version {fg.version} has key {fg.keys} and event time "
                f"{fg.event_time!r}, not key {keys} and event time {event_time!r}.",
                f"Use the group's own key and event time, or start a new version "
                f"(--version {fg.version + 1} / version={fg.version + 1}).")
        return fg

    def feature_groups(self, all_versions: bool = False) -> list[FeatureGroup]:
        """Feature groups, by name: the latest version of each (or every version)."""
        if all_versions:
            rows = self._lh.catalog.query("SELECT * FROM feature_groups ORDER BY name, version")
        else:
            rows = self._lh.catalog.query(
                "SELECT g.* FROM feature_groups g JOIN (SELECT name, MAX(version) AS v FROM"
                " feature_groups GROUP BY name) m ON g.name = m.name AND g.version = m.v"
                " ORDER BY g.name")
        return [FeatureGroup(self._lh, r) for r in rows]

    def _versions(self, name: str) -> list[dict[str, Any]]:
        rows = self._lh.catalog.query(
            "SELECT g.version, g.keys, g.event_time, g.online, g.schema, g.created_at,"
            " COUNT(c.id) AS commits, COALESCE(SUM(c.rows), 0) AS rows_written,"
            " MAX(c.delta_version) AS delta_version"
            " FROM feature_groups g LEFT JOIN feature_group_commits c ON c.group_id = g.id"
            " WHERE g.name = ? GROUP BY g.id ORDER BY g.version", (name,))
        for r in rows:
            r["keys"] = from_json(r["keys"], [])
            r["schema"] = from_json(r["schema"])
            r["online"] = bool(r["online"])
        return rows

    # -- views (built by the views module) -------------------------------------------------
    def create_feature_view(self, name: str, spine: Any, join: list | None = None,
                            label: list[str] | str | None = None, **kwargs: Any):
        """Create (or version) a feature view; see ``kernel_magics.features.views``."""
        from .views import create_feature_view
        return create_feature_view(self._lh, name, spine=spine, join=join, label=label,
                                   **kwargs)

    @takes_objects(name=Ref("feature view", version="version"))
    def feature_view(self, name: str, version: int | None = None):
        from .views import get_feature_view
        return get_feature_view(self._lh, name, version)

    def feature_views(self) -> list:
        from .views import list_feature_views
        return list_feature_views(self._lh)

    def _repr_html_(self) -> str:
        from ..render.features import groups_html
        return groups_html(self.feature_groups())
