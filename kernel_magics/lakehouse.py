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
        self.home = home
        self.config = config
        self.catalog = Catalog(home / CATALOG_FILE)

    # -- layout ----------------------------------------------------------------------------
    @property
    def tables_dir(self) -> Path:
        """Delta tables: ``<home>/tables/<name>_v<version>`` for feature groups."""
        return self.home / "tables"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    # -- feature store ---------------------------------------------------------------------
    @cached_property
    def features(self):
        """The feature store (groups and views) of this lakehouse."""
        from .features.api import FeatureStore
        return FeatureStore(self)

    def create_feature_group(self, name: str, key: list[str] | str, event_time: str,
                             **kwargs: Any) -> "FeatureGroup":
        """Create a feature group; see :meth:`FeatureStore.create_feature_group`."""
        return self.features.create_feature_group(name, key=key, event_time=event_time, **kwargs)

    def feature_group(self, name: str, version: int | None = None) -> "FeatureGroup":
        """An existing feature group (the latest version unless ``version`` is given)."""
        return self.features.feature_group(name, version)

    def feature_groups(self) -> list["FeatureGroup"]:
        return self.features.feature_groups()

    def create_feature_view(self, name: str, spine: Any, join: list | None = None,
                            label: list[str] | str | None = None, **kwargs: Any) -> "FeatureView":
        """Create (or version) a feature view; see :meth:`FeatureStore.create_feature_view`."""
        return self.features.create_feature_view(name, spine=spine, join=join, label=label,
                                                 **kwargs)

    def feature_view(self, name: str, version: int | None = None) -> "FeatureView":
        return self.features.feature_view(name, version)

    def feature_views(self) -> list["FeatureView"]:
        return self.features.feature_views()

    @cached_property
    def online_store(self):
        """The online store backend chosen in ``lakebook.toml`` (SQLite by default)."""
        from .features.online import open_online_store
        return open_online_store(self)

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
        """Create or update a deployment of ``model`` (by alias or version)."""
        return self.deployments.deploy(name, model=model, **kwargs)

    def deployment(self, name: str) -> "Deployment":
        return self.deployments.get(name)

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

    def monitor(self, name: str) -> "Monitor":
        """An existing monitor (NotFound if there is none): the same verb as
        :meth:`feature_group`, :meth:`feature_view` and :meth:`deployment`."""
        return self.monitoring.get(name)

    def monitors(self) -> list["Monitor"]:
        return self.monitoring.list()

    # -- status ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """A JSON-ready summary: home, versions and what each area holds (its ``count()``,
        read from its own catalog tables without loading the area: ``lakebook status``
        stays light)."""
        from .deployments import records as deployments
        from .features import records as features
        from .monitoring import records as monitoring
        from .pipelines import records as pipelines
        from .registry import records as registry
        counts: dict[str, int] = {}
        for area in (features, registry, deployments, pipelines, monitoring):
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
    lost = not catalog_file.exists() or catalog_file.stat().st_size == 0
    if lost and home.is_dir():
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
    if not catalog_file.exists():
        if not create:
            raise NotFound(f"No lakehouse at {home}.",
                           "Check the path (or LAKEBOOK_HOME), or create one with "
                           "kernel_magics.connect() or `lakebook demo`.")
        if home.exists() and not home.is_dir():
            from .shared.errors import InvalidInput
            raise InvalidInput(f"The lakehouse home {home} is a file, not a folder.",
                               "Pick another path for LAKEBOOK_HOME.")
        home.mkdir(parents=True, exist_ok=True)
    lh = Lakehouse(home, load_config(home, project_file))
    lh.catalog.version  # open and migrate now, so a bad catalog fails here, not later
    return lh
