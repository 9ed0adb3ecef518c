"""The one object users hold: a lakehouse home with its catalog and stores."""
from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .catalog import Catalog
from .config import Config, load_config, resolve_home
from .shared.errors import NotFound
from .storage.location import Location, Storage

if TYPE_CHECKING:  # pragma: no cover
    from .deployments.deployment import Deployment
    from .features.groups import FeatureGroup
    from .features.views import FeatureView
    from .monitoring.monitors import Monitor
    from .pipelines.api import Pipelines
    from .registry.api import ModelRegistry

CATALOG_FILE = "catalog.db"


class Lakehouse:
    """A lakehouse: a home folder holding the catalog, tables, models and run records.

    Get one with :func:`kernel_magics.connect`. Every front door (magics, REST, CLI,
    scheduler) goes through the methods of this object.
    """

    def __init__(self, home: Path, config: Config) -> None:
        from .features.online.backends import BACKENDS
        from .pipelines.executors import EXECUTORS
        # a backend or executor lakebook.toml names must exist before anything opens
        BACKENDS.check(config.online_backend)
        EXECUTORS.check(config.executor)
        from .lineage.openlineage import check_transport
        check_transport(config)
        self.home = home
        self.config = config
        self.catalog = Catalog(config.catalog_url or home / CATALOG_FILE)
        #: where tables live: the home folder, or the object store [storage] url names
        self.storage = Storage.from_config(config)
        self._users: dict[str, Lakehouse] = {}

    # -- identity --------------------------------------------------------------------------
    @property
    def who(self) -> str:
        """Who this lakehouse's writes are recorded for (``LAKEBOOK_USER``, else the OS
        user; in Jupyter, the signed-in user: see :meth:`as_user`)."""
        return self.catalog.who

    def as_user(self, who: str | None) -> "Lakehouse":
        """This lakehouse, writing as ``who`` (the Jupyter server opens one per signed-in
        user): the same catalog pool and stores, its own areas."""
        if not who or who == self.who:
            return self
        other = self._users.get(who)
        if other is None:
            other = object.__new__(Lakehouse)
            other.home, other.config, other.storage = self.home, self.config, self.storage
            other.catalog = self.catalog.as_user(who)
            other._users = self._users
            if "online_store" in self.__dict__:
                other.__dict__["online_store"] = self.__dict__["online_store"]
            self._users[who] = other
        return other

    # -- layout ----------------------------------------------------------------------------
    # Everything a lakehouse keeps (tables, model artifacts, run records, reports, dead
    # letters, spills) lives in its storage: the home folder on a laptop, the [storage] url
    # prefix on a team, where every home using that catalog and storage reads it. The home
    # keeps only local caches of what a library needs as a path (cache_dir).
    def location(self, relative: str) -> "Location":
        """The folder (or file) ``relative`` to the lakehouse's storage root."""
        return self.storage.location(relative)

    @property
    def tables_dir(self) -> "Location":
        """Delta tables: ``tables/<name>_v<version>`` for feature groups."""
        return self.location("tables")

    @property
    def models_dir(self) -> "Location":
        """Model artifacts: ``models/<name>/<version>/``."""
        return self.location("models")

    @property
    def runs_dir(self) -> "Location":
        """Run records: ``runs/<run id>/`` (the sliced and the executed notebooks)."""
        return self.location("runs")

    @property
    def reports_dir(self) -> "Location":
        """Reports: ``reports/monitors/<monitor>/`` (HTML and JSON)."""
        return self.location("reports")

    @property
    def cache_dir(self) -> Path:
        """Local copies of storage files a library needs as a path (team storage only)."""
        return self.home / "cache"

    def local_folder(self, relative: str) -> Path:
        """A local folder where files bound for the storage folder ``relative`` are made
        (or read from): that folder itself on the laptop, else a place in the cache. Copy it
        up with ``lh.location(relative).put_folder(path)`` (a no-op on the laptop)."""
        if self.storage.is_local:
            return Path(self.storage.root) / relative
        return self.cache_dir / relative

    def publish(self, relative: str, files: list[Path], keep: bool = False) -> list[str]:
        """Put ``files`` (made in :meth:`local_folder` of ``relative``) into the storage folder
        ``relative`` and return their URIs there. On the laptop they are there already; on a
        team they are uploaded, and the local copies removed unless ``keep``."""
        folder, top = self.local_folder(relative), self.location(relative)
        uris = []
        for path in files:
            name = Path(path).relative_to(folder).as_posix()
            if not self.storage.is_local:
                (top / name).write_bytes(Path(path).read_bytes())
                if not keep:
                    Path(path).unlink(missing_ok=True)
            uris.append((top / name).uri)
        return uris

    # -- feature store ---------------------------------------------------------------------
    @cached_property
    def features(self):
        """The feature store (groups and views) of this lakehouse."""
        from .features.api import FeatureStore
        return FeatureStore(self)

    def create_feature_group(self, name: str, key: list[str] | str, event_time: str,
                             **kwargs: Any) -> "FeatureGroup":
        """Hopsworks' spelling of :meth:`lh.features.groups.create
        <kernel_magics.features.api.FeatureGroups.create>` (the same call)."""
        return self.features.groups.create(name, key=key, event_time=event_time, **kwargs)

    def create_feature_view(self, name: str, spine: Any, join: list | None = None,
                            label: list[str] | str | None = None, **kwargs: Any) -> "FeatureView":
        """Hopsworks' spelling of :meth:`lh.features.views.create
        <kernel_magics.features.api.FeatureViews.create>` (the same call: a spec that has a
        version already is refused; ``lh.features.views.get_or_create`` answers it)."""
        return self.features.views.create(name, spine=spine, join=join, label=label, **kwargs)

    @cached_property
    def online_store(self):
        """The online store backend chosen in ``lakebook.toml`` (SQLite by default)."""
        from .features.online import open_online_store
        return open_online_store(self)

    @cached_property
    def similarity(self):
        """Vector indexes and nearest-neighbour search over embedding columns."""
        from .similarity.api import Similarity
        return Similarity(self)

    # -- models ----------------------------------------------------------------------------
    @cached_property
    def registry(self) -> "ModelRegistry":
        """The model registry."""
        from .registry.api import ModelRegistry
        return ModelRegistry(self)

    # -- deployments -----------------------------------------------------------------------
    @cached_property
    def deployments(self):
        from .deployments.api import Deployments
        return Deployments(self)

    def deploy(self, name: str, model: str, **kwargs: Any) -> "Deployment":
        """Deploy ``model`` (by alias or version) as ``name``: :meth:`lh.deployments.create
        <kernel_magics.deployments.api.Deployments.create>` with ``replace=True``, so
        deploying again re-points the deployment."""
        kwargs.setdefault("replace", True)
        return self.deployments.create(name, model=model, **kwargs)

    # -- business results ------------------------------------------------------------------
    @cached_property
    def business(self):
        """Outcomes, KPIs and arm comparisons of deployments."""
        from .business.api import Business
        return Business(self)

    @property
    def outcomes(self):
        """Log outcomes (what really happened): ``lh.outcomes.insert(df, deployment=...)``."""
        return self.business.outcomes

    # -- pipelines -------------------------------------------------------------------------
    @cached_property
    def pipelines(self) -> "Pipelines":
        """Steps, pipelines, runs and schedules."""
        from .pipelines.api import Pipelines
        return Pipelines(self)

    # -- monitoring ------------------------------------------------------------------------
    @cached_property
    def monitoring(self):
        from .monitoring.api import Monitoring
        return Monitoring(self)

    def create_monitor(self, name: str, **kwargs: Any) -> "Monitor":
        """Create a monitor; see :meth:`Monitoring.create` (``replace=True`` redefines it)."""
        return self.monitoring.create(name, **kwargs)

    # -- lineage ---------------------------------------------------------------------------
    @cached_property
    def lineage(self):
        """What every API call read and wrote; ``lh.lineage(obj)`` gives the graph of ``obj``
        (see :meth:`~kernel_magics.lineage.api.Lineage.__call__`)."""
        from .lineage.api import Lineage
        return Lineage(self)

    # -- status ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """A JSON-ready summary: home, versions and what each area holds (its ``count()``,
        read from its own catalog tables without loading the area: ``lakebook status``
        stays light)."""
        from .business import records as business
        from .deployments import records as deployments
        from .features import records as features
        from .monitoring import records as monitoring
        from .pipelines import records as pipelines
        from .registry import records as registry
        from .lineage import records as lineage
        counts: dict[str, int] = {}
        for area in (features, registry, deployments, pipelines, monitoring, lineage, business):
            counts.update(area.counts(self.catalog))
        return {"home": str(self.home), "catalog_version": self.catalog.version,
                "lakebook_version": __version__, "counts": counts}

    def _repr_html_(self) -> str:
        from .render.html import status_html
        return status_html(self.status())

    def __repr__(self) -> str:
        return f"Lakehouse({str(self.home)!r})"


def data_without_catalog(home: Path) -> list[str]:
    """What a home holds that only a catalog describes: Delta tables and registered model
    versions (relative paths, a few of each). Empty for a new lakehouse."""
    found = [f"tables/{p.parent.name}" for p in sorted((home / "tables").glob("*/_delta_log"))]
    found += [f"models/{p.parent.name}/{p.name}"
              for p in sorted((home / "models").glob("*/*")) if p.name.isdigit()]
    return found


def connect(path: str | os.PathLike | None = None, create: bool = True) -> Lakehouse:
    """Open the lakehouse at ``path``.

    Without ``path``: ``$LAKEBOOK_HOME``, else the home named by the nearest ``lakebook.toml``
    (searched upward from the working directory), else ``./.lakebook``. With
    ``create=False`` a missing lakehouse is an error instead of being created.
    """
    home, project_file = resolve_home(path)
    catalog_file = home / CATALOG_FILE
    config = load_config(home, project_file)
    team = config.catalog_url is not None  # the catalog is a server's, not a file here
    lost = not catalog_file.exists() or catalog_file.stat().st_size == 0
    if lost and home.is_dir() and not team:
        data = data_without_catalog(home)
        if data:
            from .catalog.db import recover_hint
            from .shared.errors import CatalogError
            state = "is missing" if not catalog_file.exists() else "is empty (0 bytes)"
            raise CatalogError(
                f"The lakehouse at {home} holds data ({', '.join(data[:3])}"
                f"{' …' if len(data) > 3 else ''}) but its catalog {catalog_file} {state}, so "
                "it was not opened: a new catalog would not know that data.",
                recover_hint(catalog_file))
    if not catalog_file.exists() and not team:
        if not create:
            raise NotFound(f"No lakehouse at {home}.",
                           "Check the path (or LAKEBOOK_HOME), or create one with "
                           "kernel_magics.connect() or `lakebook demo`.")
        if home.exists() and not home.is_dir():
            from .shared.errors import InvalidInput
            raise InvalidInput(f"The lakehouse home {home} is a file, not a folder.",
                               "Pick another path for LAKEBOOK_HOME.")
        home.mkdir(parents=True, exist_ok=True)
    if team:
        home.mkdir(parents=True, exist_ok=True)
    lh = Lakehouse(home, config)
    lh.catalog.version  # open and migrate now, so a bad catalog fails here, not later
    return lh
