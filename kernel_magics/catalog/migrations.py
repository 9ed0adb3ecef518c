"""Versioned schema of the catalog.

Each entry upgrades the catalog by one version; ``PRAGMA user_version`` holds the version a
catalog is at. Never edit a migration that has shipped: add the next one.
"""
from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial catalog", """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- an append-only audit log of what happened, by whom and from where
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    pid INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_kind ON events(kind, subject);

-- feature store
CREATE TABLE IF NOT EXISTS feature_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    keys TEXT NOT NULL,               -- JSON list of key columns
    event_time TEXT NOT NULL,
    online INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    checks TEXT NOT NULL DEFAULT '[]', -- JSON list of SQL predicates
    schema TEXT,                      -- JSON list of {name, type, nullable}; fixed by first insert
    table_path TEXT NOT NULL,         -- relative to the home: tables/<name>_v<version>
    commit_seq INTEGER NOT NULL DEFAULT 0, -- last sequence number given to an insert (_lb_commit)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE TABLE IF NOT EXISTS feature_group_commits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL REFERENCES feature_groups(id) ON DELETE CASCADE,
    delta_version INTEGER NOT NULL,
    commit_seq INTEGER,               -- the _lb_commit value of its rows (NULL: not Lakebook's)
    mode TEXT NOT NULL,               -- append | upsert | an external Delta operation
    rows INTEGER NOT NULL,
    recovered INTEGER NOT NULL DEFAULT 0, -- recorded from the Delta log after a crash
    statistics TEXT NOT NULL DEFAULT '{}',
    lineage TEXT NOT NULL DEFAULT '{}',
    checks_passed TEXT NOT NULL DEFAULT '[]',
    duration_s REAL,
    created_at TEXT NOT NULL,
    UNIQUE (group_id, delta_version)
);
CREATE TABLE IF NOT EXISTS feature_views (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,               -- JSON: spine, joins, labels, features
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (name, version)
);

-- model registry
CREATE TABLE IF NOT EXISTS models (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS model_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL REFERENCES models(name),
    version INTEGER NOT NULL,
    flavour TEXT NOT NULL,
    artifact_path TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    params TEXT NOT NULL DEFAULT '{}',
    signature TEXT NOT NULL DEFAULT '{}',     -- input and output schema
    input_example TEXT,
    task TEXT,                                -- classification | regression
    lineage TEXT NOT NULL DEFAULT '{}',       -- view, training-set versions, notebook, cell, run
    libraries TEXT NOT NULL DEFAULT '{}',
    trusted_types TEXT NOT NULL DEFAULT '[]', -- type names the user trusted explicitly
    evaluation TEXT NOT NULL DEFAULT '{}',    -- confusion matrix, labels, test size, skipped
    description TEXT NOT NULL DEFAULT '',
    created_by TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    deleted_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE TABLE IF NOT EXISTS model_aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name, alias)
);
CREATE TABLE IF NOT EXISTS model_alias_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    from_version INTEGER,
    to_version INTEGER,
    who TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS model_alias_history_name ON model_alias_history(name, alias, id);

-- deployments
CREATE TABLE IF NOT EXISTS deployments (
    name TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    alias TEXT,
    version INTEGER,
    view TEXT,
    view_version INTEGER,
    kind TEXT NOT NULL DEFAULT 'online',      -- online | batch
    spec TEXT NOT NULL DEFAULT '{}',
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deployment_stats (
    name TEXT PRIMARY KEY,
    requests INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    latency_p50_ms REAL,
    latency_p99_ms REAL,
    last_request_at TEXT,
    model_version INTEGER                     -- the version the last answers came from
);

-- pipelines, schedules and runs
CREATE TABLE IF NOT EXISTS pipelines (
    name TEXT PRIMARY KEY,
    steps TEXT NOT NULL,                      -- JSON list of step references
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    target TEXT NOT NULL,                     -- JSON: {notebook, step} or {pipeline} or {monitor}
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    catchup TEXT NOT NULL DEFAULT 'latest',   -- latest | all | skip
    params TEXT NOT NULL DEFAULT '{}',
    timeout_s REAL,
    retries INTEGER NOT NULL DEFAULT 0,
    backoff_s REAL NOT NULL DEFAULT 30,       -- first retry delay; doubles per attempt
    kernel TEXT,                              -- kernel name (default: the notebook's own)
    paused INTEGER NOT NULL DEFAULT 0,
    next_run_at TEXT,
    last_scheduled_for TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS schedules_due ON schedules(paused, next_run_at);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    schedule_id INTEGER REFERENCES schedules(id) ON DELETE SET NULL,
    scheduled_for TEXT,                       -- the window end a scheduled run is for
    target TEXT NOT NULL,
    status TEXT NOT NULL,                     -- queued|running|succeeded|failed|timed_out|cancelled|skipped
    attempt INTEGER NOT NULL DEFAULT 1,
    max_attempts INTEGER NOT NULL DEFAULT 1,
    retry_of TEXT,                            -- the first attempt's run id (retries only)
    backoff_s REAL NOT NULL DEFAULT 30,
    kernel TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    window_start TEXT,
    window_end TEXT,
    timeout_s REAL,
    queued_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    not_before TEXT,
    output_path TEXT,
    error TEXT,                               -- JSON: {cell_index, ename, evalue, traceback}
    progress TEXT NOT NULL DEFAULT '{}',      -- JSON: {cell, cells}
    worker TEXT,
    lease_until TEXT,
    heartbeat_at TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    UNIQUE (schedule_id, scheduled_for, attempt)  -- a scheduled window is claimed once
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status, queued_at);
CREATE INDEX IF NOT EXISTS runs_retry_of ON runs(retry_of);

-- monitoring
CREATE TABLE IF NOT EXISTS monitors (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS monitor_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor TEXT NOT NULL,
    run_id TEXT,
    status TEXT NOT NULL,                     -- running | ok | drift | skipped | failed
    reason TEXT,
    drift_share REAL,
    dataset_drift INTEGER,
    columns TEXT NOT NULL DEFAULT '{}',
    performance TEXT NOT NULL DEFAULT '{}',
    details TEXT NOT NULL DEFAULT '{}',       -- skipped columns, sampling, model version
    reference_rows INTEGER,
    current_rows INTEGER,
    report_json TEXT,
    report_html TEXT,
    window_start TEXT,
    window_end TEXT,
    duration_s REAL,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS monitor_results_monitor ON monitor_results(monitor, id);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor TEXT NOT NULL,
    result_id INTEGER,
    kind TEXT NOT NULL,                       -- drift | performance
    message TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',       -- drifted columns, metric values
    action TEXT,                              -- e.g. the retrain run id
    acknowledged INTEGER NOT NULL DEFAULT 0,
    acknowledged_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts(acknowledged, id);
"""),
    (2, "hardening (issue 24): pending online updates, per-model trusted types, artifact "
        "digests, inference-log dead letters", """
-- an online update recorded before its Delta commit; removed once the online store has the
-- rows. A row still here means the writer died in between: the next open, insert or lookup of
-- the group finishes it.
CREATE TABLE IF NOT EXISTS online_pending (
    group_id INTEGER NOT NULL REFERENCES feature_groups(id) ON DELETE CASCADE,
    commit_seq INTEGER NOT NULL,      -- the insert's _lb_commit value
    pid INTEGER,                      -- the writing process (a live writer finishes it itself)
    host TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (group_id, commit_seq)
);

-- type names a user trusted for every version of one model (beyond Lakebook's allowlist)
ALTER TABLE models ADD COLUMN trusted_types TEXT NOT NULL DEFAULT '[]';
-- sha256 of the artifact file as registered: a changed file is refused at load
ALTER TABLE model_versions ADD COLUMN artifact_sha256 TEXT;

-- inference-log rows that could not be written (kept in <home>/dead_letters/)
ALTER TABLE deployment_stats ADD COLUMN dead_letter_rows INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployment_stats ADD COLUMN last_dead_letter_at TEXT;
ALTER TABLE deployment_stats ADD COLUMN last_dead_letter_error TEXT;
"""),
    (3, "issue 19: embedding columns of feature groups", """
-- JSON object of embedding column -> {"dim": N, "metric": "cosine" | "l2" | "dot"}
ALTER TABLE feature_groups ADD COLUMN embeddings TEXT NOT NULL DEFAULT '{}';
"""),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]
