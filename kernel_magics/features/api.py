"""The feature store of a lakehouse: feature groups and views are created, got, listed and
deleted through their collections (``lh.features.groups``, ``lh.features.views``)."""
from __future__ import annotations

import shutil
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..catalog import Duplicate, from_json, to_json
from ..storage import descriptors
from ..shared.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from ..shared.refs import Ref, takes_objects
from . import records
from .checks import validate_checks
from .embeddings import index_folder, parse_embeddings
from . import online_pending
from .groups import FeatureGroup
from .view_spec import resolve_spec
from .views import FeatureView
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


class FeatureGroups:
    """``lh.features.groups``: create, get, list and delete feature groups."""

    def __init__(self, lh: "Lakehouse") -> None:
        self._lh = lh

    @takes_objects(name=Ref("feature group", version="version"))
    def get(self, name: str, version: int | None = None) -> FeatureGroup:
        """Feature group ``name`` at ``version`` (default: its latest version); NotFound
        when there is none (it is never created here)."""
        validate_name(name)
        row = records.versioned_row(self._lh.catalog, "feature group", name, version,
                                    latest_call=f"lh.features.groups.get({name!r})",
                                    create_hint="Create it with lh.create_feature_group"
                                                "(...) or %%feature.")
        fg = FeatureGroup(self._lh, row)
        if fg.online:  # an online update cut off by a crash is finished on open
            online_pending.finish_quietly(fg)
        return fg

    def get_or_create(self, name: str, key: list[str] | str, event_time: str,
                      version: int | None = None, **kwargs: Any) -> FeatureGroup:
        """The group ``name`` (``version``, default latest) if it exists, else a new one.

        An existing group must have the same keys and event time (else
        :class:`InvalidInput`, which suggests a new version)."""
        validate_name(name)
        try:
            fg = self.get(name, version)
        except NotFound:
            try:
                return self.create(
                    name, key=key, event_time=event_time, version=version or 1, **kwargs)
            except AlreadyExists:  # another process created it first
                fg = self.get(name, version)
        keys = _key_list(key, name)
        if fg.keys != keys or fg.event_time != event_time:
            raise InvalidInput(
                f"Feature group {name!r} version {fg.version} has key {fg.keys} and event time "
                f"{fg.event_time!r}, not key {keys} and event time {event_time!r}.",
                f"Use the group's own key and event time, or start a new version "
                f"(--version {fg.version + 1} / version={fg.version + 1}).")
        return fg

    def create(self, name: str, key: list[str] | str, event_time: str,
                             online: bool = False, description: str | None = None,
                             checks: list[str] | None = None,
                             version: int | None = None,
                             overwrite: bool = False,
                             embeddings: dict[str, Any] | None = None) -> FeatureGroup:
        """Create a feature group version (``lh.create_feature_group`` is this call);
        :class:`AlreadyExists` when that version exists (see :meth:`get_or_create`).

        ``key``: primary key column(s); ``event_time``: the timezone-aware time each row is
        valid from; ``online``: also keep the latest row per key in the online store;
        ``checks``: SQL predicates every inserted row must satisfy (checked before commit).
        ``embeddings``: vector columns, ``{"desc_vec": {"dim": 128, "metric": "cosine"}}``
        (metric ``cosine``, ``l2`` or ``dot``): every insert is checked against them, an
        online group keeps an approximate-nearest-neighbour index of them
        (``fg.find_neighbors``).
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
        embedding_specs = {c: e.to_dict() for c, e in parse_embeddings(embeddings, name).items()}
        clash = [c for c in embedding_specs if c in keys or c == event_time]
        if clash:
            raise InvalidInput(f"Feature group {name!r}: the embedding column {clash[0]!r} is "
                               "also a key or the event time.", "Pick another column.")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                    or version < 1):
            raise InvalidInput(f"Version {version!r} of feature group {name!r} is not a "
                               "positive integer.", "Pass version=1, 2, …")
        if description is not None and not isinstance(description, str):
            raise InvalidInput("description must be a string.", "Pass description='…'.")
        catalog = self._lh.catalog

        def no_unknown_data(version: int) -> None:
            leftover = self._lh.storage.location(f"tables/{name}_v{version}")
            if not overwrite and leftover.names():
                raise Conflict(
                    f"Feature group {name!r} version {version} is not in the catalog, but "
                    f"its table folder {leftover} holds data the catalog does not know "
                    "(a lost or replaced catalog?); creating the group would delete it.",
                    "If the catalog was lost, rebuild it from the tables with `lakebook "
                    f"recover --home {self._lh.home}`. To start this version over and "
                    "delete that data, pass overwrite=True.")

        try:
            version = records.insert_group(catalog, name, version, keys, event_time, online,
                                           description or "", checks, no_unknown_data,
                                           embedding_specs)
        except Duplicate:
            raise AlreadyExists(f"Feature group {name!r} version {version or '(next)'} exists "
                                "already.",
                                f"Open it with lh.features.groups.get({name!r}, "
                                f"version={version}), or create the next version "
                                "(version=None).") from None
        if overwrite:  # the caller asked for the unknown data to go
            self._lh.storage.location(f"tables/{name}_v{version}").delete()
            shutil.rmtree(index_folder(self._lh.home, name, version), ignore_errors=True)
        catalog.record_event("feature_group.created", f"{name}_v{version}",
                             {"keys": keys, "event_time": event_time, "online": bool(online)})
        return self.get(name, version)

    @takes_objects(name=Ref("feature group", version="version"))
    def delete(self, name: str, version: int | None = None) -> None:
        """Delete the version of group ``name`` that :meth:`get` gives (default the latest):
        see :meth:`FeatureGroup.delete`. Other versions stay."""
        self.get(name, version).delete()

    def list(self, all_versions: bool = False) -> list[FeatureGroup]:
        """Feature groups, by name: the latest version of each (or every version)."""
        return [FeatureGroup(self._lh, r)
                for r in records.list_groups(self._lh.catalog, all_versions)]

    def _repr_html_(self) -> str:
        from ..render.features import groups_html
        return groups_html([{"name": g.name, "version": g.version, "keys": g.keys,
                             "event_time": g.event_time, "online": g.online}
                            for g in self.list()])


class FeatureViews:
    """``lh.features.views``: create, get, list and delete feature views."""

    def __init__(self, lh: "Lakehouse") -> None:
        self._lh = lh

    @takes_objects(name=Ref("feature view", version="version"))
    def get(self, name: str, version: int | None = None) -> FeatureView:
        """Feature view ``name`` at ``version`` (default: the latest); NotFound when there
        is none."""
        validate_name(name, "feature view")
        row = records.versioned_row(self._lh.catalog, "feature view", name, version,
                                    latest_call=f"lh.features.views.get({name!r})",
                                    create_hint="Create it with lh.create_feature_view(name, "
                                                "spine=..., join=[...]).")
        return _view(self._lh, row)

    def create(self, name: str, spine: Any, join: Iterable[Any] | None = None,
               label: Any = None, features: Sequence[str] | None = None,
               description: str = "") -> FeatureView:
        """Create the next version of feature view ``name`` (version 1 for a new name);
        ``lh.create_feature_view`` is this call. :class:`AlreadyExists` when a version with
        this spec exists (:meth:`get_or_create` answers that version instead).

        ``spine``: the group (or ``fg.select([...])``) whose rows are the label events; its
        keys and event time are the view's. ``join``: groups or :class:`Join` entries, joined
        point in time (``[]``/None: the spine alone). ``label``: label column(s), from the
        spine or a joined group. ``features``: keep only these output features (default all).
        """
        return self._put(name, spine, join, label, features, description, existing_ok=False)

    def get_or_create(self, name: str, spine: Any, join: Iterable[Any] | None = None,
                      label: Any = None, features: Sequence[str] | None = None,
                      description: str = "") -> FeatureView:
        """The version of view ``name`` with this spec: the existing one, else the next
        version (idempotent by design: a notebook that defines its view runs on every
        schedule). Arguments as :meth:`create`."""
        return self._put(name, spine, join, label, features, description, existing_ok=True)

    @takes_objects(name=Ref("feature view", version="version"))
    def delete(self, name: str, version: int | None = None) -> None:
        """Delete the version of view ``name`` that :meth:`get` gives (default the latest):
        its catalog entry and descriptor. Refused, naming it, while a deployment serves
        that version; the groups it joins stay."""
        fv = self.get(name, version)
        users = [d.name for d in self._lh.deployments.list()
                 if d.to_dict().get("view") == fv.name
                 and d.to_dict().get("view_version") == fv.version]
        if users:
            raise Conflict(f"Feature view {fv.name!r} version {fv.version} is served by "
                           f"deployment {users[0]!r}.",
                           f"Delete that deployment first (lh.deployments.delete({users[0]!r})) "
                           "or deploy it with another view.")
        records.delete_view(self._lh.catalog, fv.name, fv.version)
        descriptors.remove(descriptors.view_file(self._lh.location(""), fv.name, fv.version))
        self._lh.catalog.record_event("feature_view.deleted", f"{fv.name}_v{fv.version}", {})

    def _put(self, name: str, spine: Any, join: Iterable[Any] | None, label: Any,
             features: Sequence[str] | None, description: str, existing_ok: bool
             ) -> FeatureView:
        validate_name(name, "feature view")
        if description is not None and not isinstance(description, str):
            raise InvalidInput("description must be a string.", "Pass description='…'.")
        spec = resolve_spec(spine, join, label, features)
        text = to_json(spec)
        catalog = self._lh.catalog
        for _attempt in range(3):
            try:
                version, created = records.insert_view(catalog, name, text, description or "")
                break
            except Duplicate:  # another process took that version: look again
                continue
        if not created and not existing_ok:
            raise AlreadyExists(f"Feature view {name!r} version {version} has this spec "
                                "already.", f"Open it with lh.features.views.get({name!r}, "
                                f"version={version}), or use lh.features.views.get_or_create"
                                "(...) where the same definition runs again.")
        fv = self.get(name, version)
        descriptors.write(descriptors.view_file(self._lh.location(""), name, version),
                          {"name": name, "version": version, "spec": spec,
                           "description": fv.description, "created_at": fv.created_at})
        from ..lineage.api import ref
        self._lh.lineage.wrote("feature_view", name, version, inputs=[
            ref("feature_group", g, v) for g, v in fv._tables()])
        catalog.record_event("feature_view.created", f"{name}_v{version}",
                             {"spine": spec["spine"]["group"],
                              "joins": [j["group"] for j in spec["joins"]]})
        return fv

    def list(self, all_versions: bool = False) -> list[FeatureView]:
        """Feature views by name: the latest version of each (or every version)."""
        return [_view(self._lh, r) for r in records.list_views(self._lh.catalog, all_versions)]


class FeatureStore:
    """Feature groups and views of one lakehouse (``lh.features``): create, get, list and
    delete them through ``groups`` and ``views``."""

    def __init__(self, lh: "Lakehouse") -> None:
        self._lh = lh

    @cached_property
    def groups(self) -> FeatureGroups:
        """The feature groups: ``groups.create(...)``, ``get(name, version)``, ``list()``,
        ``delete(name, version)``."""
        return FeatureGroups(self._lh)

    @cached_property
    def views(self) -> FeatureViews:
        """The feature views: ``views.create(...)`` / ``get_or_create(...)``,
        ``get(name, version)``, ``list()``, ``delete(name, version)``."""
        return FeatureViews(self._lh)

    def _versions(self, name: str) -> list[dict[str, Any]]:
        return records.group_versions(self._lh.catalog, name)

    def view_groups(self, view: str) -> set[str] | None:
        """The feature groups the latest version of ``view`` reads (None when there is no
        such view yet): what a pipeline orders training steps after."""
        spec = records.latest_view_spec(self._lh.catalog, view)
        if spec is None:
            return None
        return {spec["spine"]["group"], *(j["group"] for j in spec["joins"])}

    def latest_delta_versions(self) -> dict[tuple[str, int], int]:
        """``{(group, version): its newest Delta version}`` from the catalog (no table is
        opened): what lineage compares the versions a consumer read with."""
        return records.latest_delta_versions(self._lh.catalog)

    def rows_added(self, name: str, version: int, since: int | None, until: int) -> int:
        """Rows the commits after Delta version ``since`` up to ``until`` wrote."""
        per = records.rows_at(self._lh.catalog, name, version)
        return sum(n for v, n in per.items() if (since is None or v > since) and v <= until)

    def count(self) -> dict[str, int]:
        """How many feature groups and views (by name) there are."""
        return records.counts(self._lh.catalog)

    def _repr_html_(self) -> str:
        return self.groups._repr_html_()


def _view(lh: "Lakehouse", row: dict[str, Any]) -> FeatureView:
    return FeatureView(lh, row["name"], row["version"], from_json(row["spec"]),
                       row["description"], row["created_at"], row.get("created_by"))
