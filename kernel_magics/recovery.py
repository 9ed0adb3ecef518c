"""``lakebook recover``: rebuild a lost or damaged catalog from what the lakehouse describes.

Nothing in a home is deleted because the catalog forgot it: a home with tables but no
(readable) catalog refuses to open, and this rebuilds the catalog from

- every feature group's Delta table, which carries the group's definition (name, version,
  keys, event time, online flag, checks, description) in its description, and its commits
  (with their statistics, lineage and schema) in its log;
- the descriptor files of feature views, model versions (with their aliases) and
  deployments (``catalog.descriptors``).

Not rebuilt — they exist only in the catalog: schedules, runs, pipelines, monitors with their
results and alerts, serving statistics, the audit log, and types trusted per model
(``lh.registry.trust``: grant them again). The online store is resynchronised from the
offline tables, since updates pending at the loss are not known.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .catalog import to_json

from .storage import descriptors
from .catalog.db import Catalog
from .config import load_config, resolve_home
from .shared.errors import CatalogError, InvalidInput, NotFound

#: what only the catalog held (said in the report)
NOT_REBUILT = ["schedules", "runs", "pipelines", "monitors and their results and alerts",
               "serving statistics", "the audit log", "types trusted per model"]


@dataclass
class RecoveryReport:
    """What :func:`recover` rebuilt, and what it left alone (with why)."""

    home: str
    moved_aside: list[str] = field(default_factory=list)
    feature_groups: list[str] = field(default_factory=list)
    feature_views: list[str] = field(default_factory=list)
    model_versions: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    deployments: list[str] = field(default_factory=list)
    online_synced: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    not_rebuilt: list[str] = field(default_factory=lambda: list(NOT_REBUILT))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _catalog_state(path: Path) -> str:
    """``missing``, ``empty``, ``damaged`` or ``ok``."""
    if not path.exists():
        return "missing"
    if path.stat().st_size == 0:
        return "empty"
    catalog = Catalog(path)
    try:
        if not catalog.readable():
            return "damaged"
    except CatalogError as exc:
        if "newer Lakebook" in exc.message:  # not damaged: this Lakebook is too old
            raise
        return "damaged"
    finally:
        catalog.close()
    return "ok"


def recover(path: str | os.PathLike | None = None, force: bool = False) -> RecoveryReport:
    """Rebuild the catalog of the lakehouse at ``path`` (default: as :func:`connect` finds
    it) from its tables and descriptor files; returns what was rebuilt.

    A missing, empty or damaged ``catalog.db`` is moved aside (``catalog.db.lost-<time>``,
    never deleted) and a new one is built. A readable catalog is left alone unless
    ``force=True`` (then it is moved aside too and rebuilt from the files).
    """
    from .lakehouse import CATALOG_FILE, Lakehouse
    home, project_file = resolve_home(path)
    if not home.is_dir():
        raise NotFound(f"There is no lakehouse folder at {home}.", "Check --home.")
    config = load_config(home, project_file)
    if config.catalog_url or config.storage_url:
        # a team lakehouse keeps its files in the storage and its catalog in a database
        # server: rebuilding a catalog.db from this folder would know none of it
        raise InvalidInput(f"lakebook recover rebuilds a laptop lakehouse's catalog.db from "
                           f"its home folder; the lakehouse at {home} uses a catalog server "
                           "or object storage (lakebook.toml).",
                           "Restore the PostgreSQL catalog from its backups instead.")
    catalog_file = home / CATALOG_FILE
    state = _catalog_state(catalog_file)
    if state == "ok" and not force:
        raise CatalogError(f"The catalog {catalog_file} is readable, so there is nothing to "
                           "recover.", "Pass --force to rebuild it from the tables anyway "
                                       "(the current file is kept aside).")
    report = RecoveryReport(str(home))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    for suffix in ("", "-wal", "-shm"):
        old = home / f"{CATALOG_FILE}{suffix}"
        if old.exists():
            aside = home / f"{CATALOG_FILE}.lost-{stamp}{suffix}"
            os.replace(old, aside)
            report.moved_aside.append(aside.name)
    lh = Lakehouse(home, load_config(home, project_file))
    lh.catalog.version  # a fresh catalog, migrated
    _groups(lh, report)
    _views(lh, report)
    _models(lh, report)
    _deployments(lh, report)
    lh.catalog.record_event("catalog.recovered", str(home), report.to_dict())
    return report


# -- feature groups ---------------------------------------------------------------------------
def _groups(lh: Any, report: RecoveryReport) -> None:
    from .features import records as features_records, tables
    from .features.groups import FeatureGroup
    for log_dir in sorted((lh.home / "tables").glob("*/_delta_log")):
        folder = log_dir.parent
        rel = f"tables/{folder.name}"
        try:
            definition = tables.read_definition(folder)
        except Exception as exc:  # a damaged table: say so, go on with the others
            report.skipped[rel] = f"the Delta table cannot be read ({exc})"
            continue
        if definition is None:
            if folder.name.startswith(("inference_log_", "predictions_")):
                report.skipped[rel] = "a deployment's table: kept as it is, read by name"
            else:
                report.skipped[rel] = ("carries no feature-group definition (not written by "
                                       "Lakebook, or before Lakebook described its tables)")
            continue
        expected = f"{definition['name']}_v{definition['version']}"
        if folder.name != expected:
            report.skipped[rel] = f"describes group {expected}, not this folder"
            continue
        fg = FeatureGroup(lh, features_records.restore_group(lh.catalog, definition, rel))
        fg._reconcile()  # every commit of the log, with its statistics, lineage and schema
        _finish_group(lh, fg)
        report.feature_groups.append(expected)
        if fg.online:
            report.online_synced[expected] = fg.sync_online()


def _finish_group(lh: Any, fg: Any) -> None:
    """What the log may no longer hold (cleaned up after checkpoints): the schema from the
    table itself, the last sequence number from the rows."""
    import pyarrow.compute as pc
    from .features import records as features_records
    from .features.columns import COMMIT_COLUMN, HIDDEN_COLUMNS
    from .features.schema import schema_of
    row = features_records.group_row(lh.catalog, fg.id)
    from .storage.delta import dataset as open_dataset
    dataset = open_dataset(fg.table_path)
    schema = seq = None
    if row["schema"] is None:
        visible = [f for f in dataset.schema if f.name not in HIDDEN_COLUMNS]
        import pyarrow as pa
        schema = schema_of(pa.schema(visible).empty_table(), fg.keys, fg.event_time)
    if COMMIT_COLUMN in dataset.schema.names:
        top = pc.max(dataset.to_table(columns=[COMMIT_COLUMN]).column(COMMIT_COLUMN)).as_py()
        if top is not None and top > (row["commit_seq"] or 0):
            seq = int(top)
    features_records.set_recovered_fields(lh.catalog, fg.id, schema, seq)


# -- views, models, deployments ---------------------------------------------------------------
def _views(lh: Any, report: RecoveryReport) -> None:
    from .features import records as features_records
    for path in sorted((lh.home / "views").glob("*/*.json")):
        item = descriptors.read(path)
        rel = str(path.relative_to(lh.home))
        if not item or "spec" not in item:
            report.skipped[rel] = "not a feature view description"
            continue
        spec = item["spec"]
        missing = [f"{t['group']} v{t['version']}" for t in [spec["spine"], *spec["joins"]]
                   if not features_records.group_exists(lh.catalog, t["group"], t["version"])]
        if missing:
            report.skipped[rel] = f"its groups are not there: {', '.join(missing)}"
            continue
        features_records.restore_view(lh.catalog, item["name"], int(item["version"]), spec,
                                      item.get("description") or "", item.get("created_at"))
        report.feature_views.append(f"{item['name']} v{item['version']}")


def _models(lh: Any, report: RecoveryReport) -> None:
    from .registry import records as registry_records
    for path in sorted((lh.home / "models").glob(f"*/*/{descriptors.MODEL_FILE}")):
        item = descriptors.read(path)
        rel = str(path.parent.relative_to(lh.home))
        if not item or not path.parent.name.isdigit() or item.get("version") != int(
                path.parent.name):
            report.skipped[rel] = "no readable version description"
            continue
        row = {c: item.get(c) for c in registry_records.VERSION_COLUMNS}
        row["artifact_path"] = rel
        for c in registry_records.JSON_COLUMNS:
            row[c] = to_json(item.get(c) if item.get(c) is not None else
                             ([] if c == "trusted_types" else {}))
        registry_records.restore_version(lh.catalog, row)
        report.model_versions.append(f"{row['name']} v{row['version']}")
    for path in sorted((lh.home / "models").glob(f"*/{descriptors.ALIASES_FILE}")):
        name = path.parent.name
        for alias, version in (descriptors.read(path) or {}).items():
            if not registry_records.version_exists(lh.catalog, name, version):
                report.skipped[f"models/{name} alias {alias}"] = f"version {version} is gone"
                continue
            registry_records.restore_alias(lh.catalog, name, alias, int(version))
            report.aliases.append(f"{name}@{alias} -> v{version}")


def _deployments(lh: Any, report: RecoveryReport) -> None:
    from .deployments import records as deployments_records
    from .registry import records as registry_records
    for path in sorted((lh.home / "deployments").glob("*.json")):
        item = descriptors.read(path)
        rel = str(path.relative_to(lh.home))
        if not item or not item.get("model"):
            report.skipped[rel] = "not a deployment description"
            continue
        if not registry_records.version_exists(lh.catalog, item["model"]):
            report.skipped[rel] = f"its model {item['model']!r} is not there"
            continue
        deployments_records.restore_deployment(lh.catalog, item)
        report.deployments.append(item["name"])


def describe_report(report: RecoveryReport) -> str:
    """The report in a few lines, for the command line."""
    lines = [f"Rebuilt the catalog of {report.home}:"]
    if report.moved_aside:
        lines.append(f"  kept the old catalog aside as {', '.join(report.moved_aside)}")
    for label, items in (("feature groups", report.feature_groups),
                         ("feature views", report.feature_views),
                         ("model versions", report.model_versions),
                         ("aliases", report.aliases), ("deployments", report.deployments)):
        lines.append(f"  {len(items)} {label}" + (f": {', '.join(items)}" if items else ""))
    if report.online_synced:
        lines.append("  online store resynchronised: " + ", ".join(
            f"{g} ({n} keys)" for g, n in report.online_synced.items()))
    for what, why in report.skipped.items():
        lines.append(f"  left alone {what}: {why}")
    lines.append("  not rebuilt (only the catalog held them): " + ", ".join(report.not_rebuilt))
    return "\n".join(lines)


__all__ = ["recover", "RecoveryReport", "describe_report"]
