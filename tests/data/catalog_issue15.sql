-- a catalog written by Lakebook before issue 16 (PRAGMA user_version = 2)
BEGIN TRANSACTION;
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor TEXT NOT NULL,
    result_id INTEGER,
    kind TEXT NOT NULL,                       
    message TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',       
    action TEXT,                              
    acknowledged INTEGER NOT NULL DEFAULT 0,
    acknowledged_at TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE deployment_stats (
    name TEXT PRIMARY KEY,
    requests INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    latency_p50_ms REAL,
    latency_p99_ms REAL,
    last_request_at TEXT,
    model_version INTEGER                     
, dead_letter_rows INTEGER NOT NULL DEFAULT 0, last_dead_letter_at TEXT, last_dead_letter_error TEXT);
CREATE TABLE deployments (
    name TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    alias TEXT,
    version INTEGER,
    view TEXT,
    view_version INTEGER,
    kind TEXT NOT NULL DEFAULT 'online',      
    spec TEXT NOT NULL DEFAULT '{}',
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    pid INTEGER,
    created_at TEXT NOT NULL
);
INSERT INTO "events" VALUES(1,'feature_group.created','tx_v1','{"event_time": "ts", "keys": ["cc"], "online": false}',3480,'2026-12-01T12:41:41.409815+00:00');
INSERT INTO "events" VALUES(2,'model.registered','clf/1','{"metrics": {}, "view": null}',3480,'2026-12-01T12:41:44.348127+00:00');
INSERT INTO "events" VALUES(3,'test','kept','{"n": 1}',3480,'2026-12-01T12:41:44.349415+00:00');
CREATE TABLE feature_group_commits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL REFERENCES feature_groups(id) ON DELETE CASCADE,
    delta_version INTEGER NOT NULL,
    commit_seq INTEGER,               
    mode TEXT NOT NULL,               
    rows INTEGER NOT NULL,
    recovered INTEGER NOT NULL DEFAULT 0, 
    statistics TEXT NOT NULL DEFAULT '{}',
    lineage TEXT NOT NULL DEFAULT '{}',
    checks_passed TEXT NOT NULL DEFAULT '[]',
    duration_s REAL,
    created_at TEXT NOT NULL,
    UNIQUE (group_id, delta_version)
);
INSERT INTO "feature_group_commits" VALUES(1,1,0,1,'append',2,0,'{"columns": {"amount": {"count": 2, "distinct": 2, "histogram": {"counts": [1, 0, 0, 0, 0, 0, 0, 0, 0, 1], "edges": [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7000000000000002, 1.8, 1.9, 2.0]}, "max": 2.0, "mean": 1.5, "min": 1.0, "nulls": 0, "stddev": 0.7071067811865476, "type": "double"}, "cc": {"count": 2, "distinct": 2, "histogram": {"counts": [1, 0, 0, 0, 0, 0, 0, 0, 0, 1], "edges": [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7000000000000002, 1.8, 1.9, 2.0]}, "max": 2, "mean": 1.5, "min": 1, "nulls": 0, "stddev": 0.7071067811865476, "type": "int64"}, "ts": {"count": 2, "distinct": 2, "max": "2024-01-02T00:00:00+00:00", "min": "2024-01-01T00:00:00+00:00", "nulls": 0, "type": "timestamp[us, tz=UTC]"}}, "rows": 2}','{"cell_id": null, "host": "vm", "notebook": null, "run_id": null, "user": "root"}','["cc IS NOT NULL", "ts IS NOT NULL"]',0.102470447000087,'2026-12-01T12:41:41.419056+00:00');
CREATE TABLE feature_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    keys TEXT NOT NULL,               
    event_time TEXT NOT NULL,
    online INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    checks TEXT NOT NULL DEFAULT '[]', 
    schema TEXT,                      
    table_path TEXT NOT NULL,         
    commit_seq INTEGER NOT NULL DEFAULT 0, 
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (name, version)
);
INSERT INTO "feature_groups" VALUES(1,'tx',1,'["cc"]','ts',0,'old group','[]','[{"name": "cc", "nullable": false, "type": "int64"}, {"name": "amount", "nullable": true, "type": "double"}, {"name": "ts", "nullable": false, "type": "timestamp[us, tz=UTC]"}]','tables/tx_v1',1,'2026-12-01T12:41:41.409390+00:00','2026-12-01T12:41:41.515529+00:00');
CREATE TABLE feature_views (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,               
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO "meta" VALUES('migrated_at','2026-12-01T12:41:41.070826+00:00');
CREATE TABLE model_alias_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    from_version INTEGER,
    to_version INTEGER,
    who TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
INSERT INTO "model_alias_history" VALUES(1,'clf','production',NULL,1,'olduser','first','2026-12-01T12:41:44.348648+00:00');
CREATE TABLE model_aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name, alias)
);
INSERT INTO "model_aliases" VALUES('clf','production',1,'2026-12-01T12:41:44.348648+00:00');
CREATE TABLE model_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL REFERENCES models(name),
    version INTEGER NOT NULL,
    flavour TEXT NOT NULL,
    artifact_path TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    params TEXT NOT NULL DEFAULT '{}',
    signature TEXT NOT NULL DEFAULT '{}',     
    input_example TEXT,
    task TEXT,                                
    lineage TEXT NOT NULL DEFAULT '{}',       
    libraries TEXT NOT NULL DEFAULT '{}',
    trusted_types TEXT NOT NULL DEFAULT '[]', 
    evaluation TEXT NOT NULL DEFAULT '{}',    
    description TEXT NOT NULL DEFAULT '',
    created_by TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    deleted_at TEXT,
    created_at TEXT NOT NULL, artifact_sha256 TEXT,
    UNIQUE (name, version)
);
INSERT INTO "model_versions" VALUES(1,'clf',1,'sklearn','/tmp/tmptb7ehzhj/lh/models/clf/1','{}','{"C": 1.0, "class_weight": null, "dual": false, "fit_intercept": true, "intercept_scaling": 1, "l1_ratio": 0.0, "max_iter": 100, "n_jobs": null, "penalty": "deprecated", "random_state": null, "solver": "lbfgs", "tol": 0.0001, "verbose": 0, "warm_start": false}','{"classes": [0, 1], "input_kind": "dataframe", "inputs": [], "outputs": [{"name": "probabilities", "shape": [-1, 2], "type": "float64"}]}',NULL,NULL,'{"cell_id": null, "notebook": null, "user": "root"}','{"lakebook": "0.1.0", "numpy": "2.4.6", "pandas": "2.3.3", "python": "3.11.7", "scikit-learn": "1.9.1", "scipy": "1.17.1", "skops": "0.16.0"}','[]','{}','','root',0,NULL,'2026-12-01T12:41:44.346887+00:00','80a991b0feca78f2dfceec77d2cfe0c1caee7f67083dc58a46cac648f9e3c0ae');
CREATE TABLE models (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
, trusted_types TEXT NOT NULL DEFAULT '[]');
INSERT INTO "models" VALUES('clf','','2026-12-01T12:41:44.346887+00:00','[]');
CREATE TABLE monitor_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor TEXT NOT NULL,
    run_id TEXT,
    status TEXT NOT NULL,                     
    reason TEXT,
    drift_share REAL,
    dataset_drift INTEGER,
    columns TEXT NOT NULL DEFAULT '{}',
    performance TEXT NOT NULL DEFAULT '{}',
    details TEXT NOT NULL DEFAULT '{}',       
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
CREATE TABLE monitors (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE online_pending (
    group_id INTEGER NOT NULL REFERENCES feature_groups(id) ON DELETE CASCADE,
    commit_seq INTEGER NOT NULL,      
    pid INTEGER,                      
    host TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (group_id, commit_seq)
);
CREATE TABLE pipelines (
    name TEXT PRIMARY KEY,
    steps TEXT NOT NULL,                      
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    schedule_id INTEGER REFERENCES schedules(id) ON DELETE SET NULL,
    scheduled_for TEXT,                       
    target TEXT NOT NULL,
    status TEXT NOT NULL,                     
    attempt INTEGER NOT NULL DEFAULT 1,
    max_attempts INTEGER NOT NULL DEFAULT 1,
    retry_of TEXT,                            
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
    error TEXT,                               
    progress TEXT NOT NULL DEFAULT '{}',      
    worker TEXT,
    lease_until TEXT,
    heartbeat_at TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    UNIQUE (schedule_id, scheduled_for, attempt)  
);
CREATE TABLE schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    target TEXT NOT NULL,                     
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    catchup TEXT NOT NULL DEFAULT 'latest',   
    params TEXT NOT NULL DEFAULT '{}',
    timeout_s REAL,
    retries INTEGER NOT NULL DEFAULT 0,
    backoff_s REAL NOT NULL DEFAULT 30,       
    kernel TEXT,                              
    paused INTEGER NOT NULL DEFAULT 0,
    next_run_at TEXT,
    last_scheduled_for TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX events_kind ON events(kind, subject);
CREATE INDEX model_alias_history_name ON model_alias_history(name, alias, id);
CREATE INDEX schedules_due ON schedules(paused, next_run_at);
CREATE INDEX runs_status ON runs(status, queued_at);
CREATE INDEX runs_retry_of ON runs(retry_of);
CREATE INDEX monitor_results_monitor ON monitor_results(monitor, id);
CREATE INDEX alerts_open ON alerts(acknowledged, id);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('feature_groups',1);
INSERT INTO "sqlite_sequence" VALUES('events',3);
INSERT INTO "sqlite_sequence" VALUES('feature_group_commits',1);
INSERT INTO "sqlite_sequence" VALUES('model_versions',1);
INSERT INTO "sqlite_sequence" VALUES('model_alias_history',1);
COMMIT;
PRAGMA user_version = 2;
