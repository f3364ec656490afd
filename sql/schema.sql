-- sql/schema.sql - the wva-optimizer history store (SQLite), schema version 1.
--
-- Every run (live, dry-run or replay) writes one row in runs and its
-- models, variants, warnings, snapshot and scale-up recommendations, all in
-- one transaction: a run is either recorded whole or not at all.
--
-- Times are seconds since the epoch (REAL, UTC); captured_at keeps the
-- snapshot's RFC 3339 text as recorded.  Secrets never appear here: the
-- snapshot is stored without tokens, and no DSN or setting other than the
-- snapshot's non-secret "settings" object is kept.
--
-- The version is PRAGMA user_version.  src/history_store.c embeds this file
-- byte for byte (a unit test compares them) and applies it to an empty
-- database; upgrades from an older version are applied in order from the
-- migrations list in src/history_store.c (none yet: version 1 is the first).
-- `sqlite3 FILE < sql/schema.sql` creates a valid, empty store.

-- One run.  AUTOINCREMENT so that an id is never reused, even after old
-- runs are deleted: "run 12" always means the same run.
CREATE TABLE runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at        REAL    NOT NULL,
    finished_at       REAL    NOT NULL,
    mode              TEXT    NOT NULL CHECK (mode IN ('live', 'dry-run', 'replay')),
    captured_at       TEXT,
    captured_at_epoch REAL    NOT NULL,   -- the engine's "now" for this run
    exit_code         INTEGER NOT NULL,
    solver_status     TEXT    NOT NULL,
    solver_objective  REAL    NOT NULL,
    solver_lp_bound   REAL    NOT NULL,
    solver_variables  INTEGER NOT NULL,
    solver_seconds    REAL    NOT NULL,
    -- Counts of the plan's variants by action, for `history runs`.
    variants          INTEGER NOT NULL,
    scaled_up         INTEGER NOT NULL,
    scaled_down       INTEGER NOT NULL,
    unchanged         INTEGER NOT NULL,
    skipped           INTEGER NOT NULL,
    -- Actuation summary; all NULL when the run wrote nothing (dry run,
    -- replay, or a live run that stopped before applying).
    scale_applied     INTEGER,
    scale_failed      INTEGER,
    scale_held        INTEGER,
    status_written    INTEGER,
    status_failed     INTEGER,
    events_created    INTEGER
);

-- Per-model analysis (SPEC section 6) and the thresholds it used.
CREATE TABLE run_models (
    run_id                   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq                      INTEGER NOT NULL,   -- position in the plan
    namespace                TEXT    NOT NULL,
    model_id                 TEXT    NOT NULL,
    analyzed                 INTEGER NOT NULL,
    should_scale_up          INTEGER NOT NULL,
    scale_down_safe          INTEGER NOT NULL,
    non_saturated            INTEGER NOT NULL,
    avg_spare_kv             REAL    NOT NULL,
    avg_spare_queue          REAL    NOT NULL,
    demand                   REAL    NOT NULL,
    capacity                 REAL    NOT NULL,
    kv_cache_threshold       REAL    NOT NULL,
    queue_length_threshold   REAL    NOT NULL,
    kv_spare_trigger         REAL    NOT NULL,
    queue_spare_trigger      REAL    NOT NULL,
    scale_down_stabilization REAL    NOT NULL,   -- seconds
    max_scale_up_per_run     INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- Per-variant observation (current/ready), decision (target, action, skip
-- reason, reason) and, when the run applied its plan, the actuation result
-- (NULL columns otherwise).
CREATE TABLE run_variants (
    run_id           INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,   -- position in the plan (namespace, name order)
    namespace        TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    model_id         TEXT,               -- NULL for an invalid VA
    accelerator      TEXT,               -- NULL when unknown
    current_replicas INTEGER NOT NULL,
    ready_replicas   INTEGER NOT NULL,
    target_replicas  INTEGER NOT NULL,
    action           TEXT    NOT NULL
                     CHECK (action IN ('scale-up', 'scale-down', 'no-change', 'skipped')),
    skip_reason      TEXT,               -- NULL when optimized
    reason           TEXT    NOT NULL,
    scale_result     TEXT CHECK (scale_result IN ('none', 'applied', 'failed', 'held')),
    applied          INTEGER,
    status_written   INTEGER,
    status_skipped   INTEGER,
    status_failed    INTEGER,
    events           INTEGER,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE run_warnings (
    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    message TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- The snapshot the run worked on (SPEC section 8), for `history export`.
-- Its own table so that listing runs never pages through these documents.
CREATE TABLE run_snapshots (
    run_id   INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    snapshot TEXT    NOT NULL
);

-- One row per model a run recommended scaling up (shouldScaleUp, or a
-- variant with action scale-up): the scale-down stabilization window asks
-- "newest scale-up of this model before time T", answered from the index
-- alone.
CREATE TABLE scale_ups (
    run_id            INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    namespace         TEXT    NOT NULL,
    model_id          TEXT    NOT NULL,
    captured_at_epoch REAL    NOT NULL,
    PRIMARY KEY (run_id, namespace, model_id)
);
CREATE INDEX scale_ups_by_model ON scale_ups (namespace, model_id, captured_at_epoch);

PRAGMA user_version = 1;
