"""Versioned schema of the catalog: one list of steps for SQLite and PostgreSQL alike.

Each entry ``(version, description, step)`` upgrades a catalog by one version. A step is a
function of an Alembic :class:`~alembic.operations.Operations` (``op.create_table``,
``op.add_column``, ``op.batch_alter_table``…), which renders the DDL of either database, or a
string of portable SQL statements. The runner (:mod:`.migrator`) keeps the version a catalog
is at in the ``lakebook_schema_version`` table. Never edit a migration that has shipped: add
the next one.
"""
from __future__ import annotations

from typing import Any, Callable, Union

import sqlalchemy as sa

#: an id column: INTEGER on SQLite (the rowid alias), BIGINT (identity) on PostgreSQL
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TEXT, INT, REAL = sa.Text, sa.BigInteger, sa.Float

Step = Union[str, Callable[[Any], None]]


def _id() -> sa.Column:
    return sa.Column("id", ID, primary_key=True, autoincrement=True)


def _col(name: str, type_: Any, default: Any = None, nullable: bool = True, **kw: Any
         ) -> sa.Column:
    """A column; ``default`` is the server-side default (a string is quoted as text)."""
    server_default = None
    if default is not None:
        server_default = sa.text(str(default)) if isinstance(default, (int, float)) else default
    return sa.Column(name, type_, nullable=nullable, server_default=server_default, **kw)


def _req(name: str, type_: Any, default: Any = None, **kw: Any) -> sa.Column:
    return _col(name, type_, default, nullable=False, **kw)


def _initial(op: Any) -> None:
    """Issue 1-15: the catalog as the laptop lakehouse shipped it (version 1)."""
    auto = {"sqlite_autoincrement": True}
    op.create_table("meta", sa.Column("key", TEXT, primary_key=True), _req("value", TEXT))
    # an append-only audit log of what happened, by whom and from where
    op.create_table("events", _id(), _req("kind", TEXT), _req("subject", TEXT),
                    _req("payload", TEXT, "{}"), _col("pid", INT), _req("created_at", TEXT), **auto)
    op.create_index("events_kind", "events", ["kind", "subject"])
    # feature store
    op.create_table(
        "feature_groups", _id(), _req("name", TEXT), _req("version", INT),
        _req("keys", TEXT),                 # JSON list of key columns
        _req("event_time", TEXT), _req("online", INT, 0), _req("description", TEXT, ""),
        _req("checks", TEXT, "[]"),         # JSON list of SQL predicates
        _col("schema", TEXT),               # JSON list of {name, type, nullable}
        _req("table_path", TEXT),           # relative to the storage root: tables/<name>_v<n>
        _req("commit_seq", INT, 0),         # last sequence number given to an insert
        _req("created_at", TEXT), _req("updated_at", TEXT),
        sa.UniqueConstraint("name", "version"), **auto)
    op.create_table(
        "feature_group_commits", _id(),
        _req("group_id", INT, None, ), _req("delta_version", INT),
        _col("commit_seq", INT),            # the _lb_commit value of its rows
        _req("mode", TEXT), _req("rows", INT), _req("recovered", INT, 0),
        _req("statistics", TEXT, "{}"), _req("lineage", TEXT, "{}"),
        _req("checks_passed", TEXT, "[]"), _col("duration_s", REAL), _req("created_at", TEXT),
        sa.ForeignKeyConstraint(["group_id"], ["feature_groups.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("group_id", "delta_version"), **auto)
    op.create_table(
        "feature_views", _id(), _req("name", TEXT), _req("version", INT), _req("spec", TEXT),
        _req("description", TEXT, ""), _req("created_at", TEXT),
        sa.UniqueConstraint("name", "version"), **auto)
    # model registry
    op.create_table("models", sa.Column("name", TEXT, primary_key=True),
                    _req("description", TEXT, ""), _req("created_at", TEXT))
    op.create_table(
        "model_versions", _id(), _req("name", TEXT), _req("version", INT), _req("flavour", TEXT),
        _req("artifact_path", TEXT), _req("metrics", TEXT, "{}"), _req("params", TEXT, "{}"),
        _req("signature", TEXT, "{}"), _col("input_example", TEXT), _col("task", TEXT),
        _req("lineage", TEXT, "{}"), _req("libraries", TEXT, "{}"),
        _req("trusted_types", TEXT, "[]"), _req("evaluation", TEXT, "{}"),
        _req("description", TEXT, ""), _col("created_by", TEXT), _req("deleted", INT, 0),
        _col("deleted_at", TEXT), _req("created_at", TEXT),
        sa.ForeignKeyConstraint(["name"], ["models.name"]),
        sa.UniqueConstraint("name", "version"), **auto)
    op.create_table("model_aliases", sa.Column("name", TEXT, primary_key=True),
                    sa.Column("alias", TEXT, primary_key=True), _req("version", INT),
                    _req("updated_at", TEXT))
    op.create_table(
        "model_alias_history", _id(), _req("name", TEXT), _req("alias", TEXT),
        _col("from_version", INT), _col("to_version", INT), _req("who", TEXT),
        _req("reason", TEXT, ""), _req("at", TEXT), **auto)
    op.create_index("model_alias_history_name", "model_alias_history", ["name", "alias", "id"])
    # deployments
    op.create_table(
        "deployments", sa.Column("name", TEXT, primary_key=True), _req("model", TEXT),
        _col("alias", TEXT), _col("version", INT), _col("view", TEXT), _col("view_version", INT),
        _req("kind", TEXT, "online"), _req("spec", TEXT, "{}"), _req("deleted", INT, 0),
        _req("created_at", TEXT), _req("updated_at", TEXT))
    op.create_table(
        "deployment_stats", sa.Column("name", TEXT, primary_key=True),
        _req("requests", INT, 0), _req("errors", INT, 0), _col("latency_p50_ms", REAL),
        _col("latency_p99_ms", REAL), _col("last_request_at", TEXT), _col("model_version", INT))
    # pipelines, schedules and runs
    op.create_table("pipelines", sa.Column("name", TEXT, primary_key=True), _req("steps", TEXT),
                    _req("created_at", TEXT), _req("updated_at", TEXT))
    op.create_table(
        "schedules", _id(), _req("name", TEXT, unique=True), _req("target", TEXT),
        _req("cron", TEXT), _req("timezone", TEXT, "UTC"), _req("catchup", TEXT, "latest"),
        _req("params", TEXT, "{}"), _col("timeout_s", REAL), _req("retries", INT, 0),
        _req("backoff_s", REAL, 30), _col("kernel", TEXT), _req("paused", INT, 0),
        _col("next_run_at", TEXT), _col("last_scheduled_for", TEXT),
        _req("created_at", TEXT), _req("updated_at", TEXT), **auto)
    op.create_index("schedules_due", "schedules", ["paused", "next_run_at"])
    op.create_table(
        "runs", sa.Column("id", TEXT, primary_key=True), _col("schedule_id", INT),
        _col("scheduled_for", TEXT), _req("target", TEXT), _req("status", TEXT),
        _req("attempt", INT, 1), _req("max_attempts", INT, 1), _col("retry_of", TEXT),
        _req("backoff_s", REAL, 30), _col("kernel", TEXT), _req("params", TEXT, "{}"),
        _col("window_start", TEXT), _col("window_end", TEXT), _col("timeout_s", REAL),
        _req("queued_at", TEXT), _col("started_at", TEXT), _col("finished_at", TEXT),
        _col("not_before", TEXT), _col("output_path", TEXT), _col("error", TEXT),
        _req("progress", TEXT, "{}"), _col("worker", TEXT), _col("lease_until", TEXT),
        _col("heartbeat_at", TEXT), _req("cancel_requested", INT, 0),
        sa.ForeignKeyConstraint(["schedule_id"], ["schedules.id"], ondelete="SET NULL"),
        # a scheduled window is claimed once
        sa.UniqueConstraint("schedule_id", "scheduled_for", "attempt"))
    op.create_index("runs_status", "runs", ["status", "queued_at"])
    op.create_index("runs_retry_of", "runs", ["retry_of"])
    # monitoring
    op.create_table("monitors", sa.Column("name", TEXT, primary_key=True), _req("spec", TEXT),
                    _req("deleted", INT, 0), _req("created_at", TEXT), _req("updated_at", TEXT))
    op.create_table(
        "monitor_results", _id(), _req("monitor", TEXT), _col("run_id", TEXT),
        _req("status", TEXT), _col("reason", TEXT), _col("drift_share", REAL),
        _col("dataset_drift", INT), _req("columns", TEXT, "{}"), _req("performance", TEXT, "{}"),
        _req("details", TEXT, "{}"), _col("reference_rows", INT), _col("current_rows", INT),
        _col("report_json", TEXT), _col("report_html", TEXT), _col("window_start", TEXT),
        _col("window_end", TEXT), _col("duration_s", REAL), _req("created_at", TEXT),
        _col("finished_at", TEXT), **auto)
    op.create_index("monitor_results_monitor", "monitor_results", ["monitor", "id"])
    op.create_table(
        "alerts", _id(), _req("monitor", TEXT), _col("result_id", INT), _req("kind", TEXT),
        _req("message", TEXT), _req("details", TEXT, "{}"), _col("action", TEXT),
        _req("acknowledged", INT, 0), _col("acknowledged_at", TEXT), _req("created_at", TEXT),
        **auto)
    op.create_index("alerts_open", "alerts", ["acknowledged", "id"])


def _hardening(op: Any) -> None:
    """Issue 24: pending online updates, per-model trusted types, artifact digests,
    inference-log dead letters (version 2)."""
    # an online update recorded before its Delta commit; removed once the online store has the
    # rows. A row still here means the writer died in between: the next open, insert or lookup
    # of the group finishes it.
    op.create_table(
        "online_pending", sa.Column("group_id", INT, primary_key=True),
        sa.Column("commit_seq", INT, primary_key=True), _col("pid", INT), _col("host", TEXT),
        _req("created_at", TEXT),
        sa.ForeignKeyConstraint(["group_id"], ["feature_groups.id"], ondelete="CASCADE"))
    # type names a user trusted for every version of one model (beyond Lakebook's allowlist)
    op.add_column("models", _req("trusted_types", TEXT, "[]"))
    # sha256 of the artifact file as registered: a changed file is refused at load
    op.add_column("model_versions", _col("artifact_sha256", TEXT))
    # inference-log rows that could not be written (kept in <home>/dead_letters/)
    op.add_column("deployment_stats", _req("dead_letter_rows", INT, 0))
    op.add_column("deployment_stats", _col("last_dead_letter_at", TEXT))
    op.add_column("deployment_stats", _col("last_dead_letter_error", TEXT))


#: (table, column) pairs that record who made a write (issue 16)
IDENTITY_COLUMNS = (
    ("events", "who"), ("feature_groups", "created_by"), ("feature_group_commits", "who"),
    ("feature_views", "created_by"), ("models", "created_by"), ("model_aliases", "updated_by"),
    ("deployments", "created_by"), ("deployments", "updated_by"),
    ("pipelines", "created_by"), ("pipelines", "updated_by"),
    ("schedules", "created_by"), ("schedules", "updated_by"), ("runs", "created_by"),
    ("monitors", "created_by"), ("monitors", "updated_by"), ("alerts", "acknowledged_by"),
)


def _identity(op: Any) -> None:
    """Issue 16: who made each write (the Jupyter user, LAKEBOOK_USER or the OS user)."""
    for table, column in IDENTITY_COLUMNS:
        op.add_column(table, _col(column, TEXT))


def _lineage(op: Any) -> None:
    """Issue 17: lineage events, step fingerprints, environments, incremental runs."""
    auto = {"sqlite_autoincrement": True}
    # every read and write through the API, against the run, notebook, cell and step doing it
    op.create_table(
        "lineage_events", _id(),
        _req("op", TEXT),                   # read | write
        _req("kind", TEXT),                 # feature_group | feature_view | model_version | ...
        _req("name", TEXT), _col("version", TEXT),
        _req("detail", TEXT, "{}"),         # delta_version, rows, window, ...
        _req("inputs", TEXT, "[]"),         # [[kind, name, version], ...] it was made from
        _col("run_id", TEXT), _col("notebook", TEXT), _col("cell_id", TEXT), _col("step", TEXT),
        _col("code_hash", TEXT), _col("who", TEXT), _col("host", TEXT), _req("created_at", TEXT),
        **auto)
    op.create_index("lineage_events_run", "lineage_events", ["run_id", "step"])
    op.create_index("lineage_events_object", "lineage_events", ["kind", "name", "version"])
    # the Python environments runs and model versions were made in (shared by hash)
    op.create_table(
        "lineage_environments", sa.Column("hash", TEXT, primary_key=True),
        _req("python", TEXT), _req("platform", TEXT),
        _req("packages", TEXT),             # JSON {distribution: version}, every installed one
        _req("created_at", TEXT))
    # which environment (and which imported distributions) a run's step or a model version had
    op.create_table(
        "lineage_environment_uses", _id(),
        _req("kind", TEXT),                 # run | model_version
        _req("name", TEXT),                 # run id | model name
        _col("version", TEXT),              # step (for a run) | model version
        _req("environment", TEXT),          # lineage_environments.hash
        _req("imported", TEXT, "{}"),       # JSON {distribution: version} the kernel imported
        _req("created_at", TEXT), **auto)
    op.create_index("lineage_environment_uses_of", "lineage_environment_uses",
                    ["kind", "name", "version"])
    # one row per step of a run: its fingerprint and what went into it (why, skipping, resume)
    op.create_table(
        "step_runs", _id(), _req("run_id", TEXT), _req("notebook", TEXT),
        _req("step", TEXT),                 # kind:name
        _req("status", TEXT),               # succeeded | failed | up_to_date
        _col("fingerprint", TEXT),
        _req("parts", TEXT, "{}"),          # code, params, window, inputs, models, packages
        _req("created_at", TEXT),
        sa.UniqueConstraint("run_id", "notebook", "step"), **auto)
    op.create_index("step_runs_step", "step_runs", ["notebook", "step", "id"])
    op.add_column("runs", _req("force", INT, 0))
    op.add_column("runs", _col("resume_of", TEXT))
    op.add_column("runs", _req("steps_status", TEXT, "{}"))
    op.add_column("schedules", _req("skip_up_to_date", INT, 1))


MIGRATIONS: list[tuple[int, str, Step]] = [
    (1, "initial catalog", _initial),
    (2, "hardening (issue 24): pending online updates, per-model trusted types, artifact "
        "digests, inference-log dead letters", _hardening),
    (3, "issue 16: identity (who made each write)", _identity),
    (4, "issue 17: lineage events, step fingerprints, environments, incremental runs",
     _lineage),
    (5, "issue 18: business KPIs (outcomes themselves live in Delta tables)", """
-- a KPI of a deployment: SQL over its joined predictions, outcomes and features
CREATE TABLE IF NOT EXISTS business_kpis (
    deployment TEXT NOT NULL,
    name TEXT NOT NULL,
    sql TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'total',      -- total (scales with traffic) | rate
    better TEXT NOT NULL DEFAULT 'higher',   -- higher | lower
    below REAL,                              -- alert when a window's value falls below
    above REAL,                              -- alert when a window's value rises above
    on_alert TEXT,                           -- NULL | retrain
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (deployment, name)
);
"""),
    (6, "issue 19: embedding columns of feature groups", """
-- JSON object of embedding column -> {"dim": N, "metric": "cosine" | "l2" | "dot"}
ALTER TABLE feature_groups ADD COLUMN embeddings TEXT NOT NULL DEFAULT '{}';
"""),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]
