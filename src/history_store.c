/* history_store.c - the history store in SQLite (see
 * include/wva/history_store.h).
 *
 * Stores what it is given and answers questions about it.  It must not
 * know how a plan is made (engine), how it is applied (actuate), how it is
 * shown to people (history.c) or what a cluster is; SQLite specifics
 * stay in this file.
 *
 * Durability choices: WAL journal (readers never block the writer, a crash
 * leaves only uncommitted frames, which recovery drops), synchronous=NORMAL
 * (in WAL mode a power cut may lose the newest runs but never corrupts the
 * file), BEGIN IMMEDIATE for every write (a writer takes the lock before it
 * reads, so concurrent writers queue on the busy timeout instead of
 * deadlocking on a lock upgrade).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "wva/filter.h"
#include "wva/history_store.h"
#include "wva/log.h"
#include "wva/strbuf.h"
#include "wva/values.h"

#define DSN_MAX 4096

struct history {
    sqlite3 *db;
    char *path;                     /* for messages */
    bool read_only;
    double hook_before;             /* history_engine_hook()'s bound */
    sqlite3_stmt *last_up;          /* prepared on first use */
};

/* sql/schema.sql, byte for byte (test_history compares the two). */
static const char schema_sql[] =
    "-- sql/schema.sql - the wva-optimizer history store (SQLite), schema version 1.\n"
    "--\n"
    "-- Every run (live, dry-run or replay) writes one row in runs and its\n"
    "-- models, variants, warnings, snapshot and scale-up recommendations, all in\n"
    "-- one transaction: a run is either recorded whole or not at all.\n"
    "--\n"
    "-- Times are seconds since the epoch (REAL, UTC); captured_at keeps the\n"
    "-- snapshot's RFC 3339 text as recorded.  Secrets never appear here: the\n"
    "-- snapshot is stored without tokens, and no DSN or setting other than the\n"
    "-- snapshot's non-secret \"settings\" object is kept.\n"
    "--\n"
    "-- The version is PRAGMA user_version.  src/history_store.c embeds this file\n"
    "-- byte for byte (a unit test compares them) and applies it to an empty\n"
    "-- database; upgrades from an older version are applied in order from the\n"
    "-- migrations list in src/history_store.c (none yet: version 1 is the first).\n"
    "-- `sqlite3 FILE < sql/schema.sql` creates a valid, empty store.\n"
    "\n"
    "-- One run.  AUTOINCREMENT so that an id is never reused, even after old\n"
    "-- runs are deleted: \"run 12\" always means the same run.\n"
    "CREATE TABLE runs (\n"
    "    id                INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "    started_at        REAL    NOT NULL,\n"
    "    finished_at       REAL    NOT NULL,\n"
    "    mode              TEXT    NOT NULL CHECK (mode IN ('live', 'dry-run', 'replay')),\n"
    "    captured_at       TEXT,\n"
    "    captured_at_epoch REAL    NOT NULL,   -- the engine's \"now\" for this run\n"
    "    exit_code         INTEGER NOT NULL,\n"
    "    solver_status     TEXT    NOT NULL,\n"
    "    solver_objective  REAL    NOT NULL,\n"
    "    solver_lp_bound   REAL    NOT NULL,\n"
    "    solver_variables  INTEGER NOT NULL,\n"
    "    solver_seconds    REAL    NOT NULL,\n"
    "    -- Counts of the plan's variants by action, for `history runs`.\n"
    "    variants          INTEGER NOT NULL,\n"
    "    scaled_up         INTEGER NOT NULL,\n"
    "    scaled_down       INTEGER NOT NULL,\n"
    "    unchanged         INTEGER NOT NULL,\n"
    "    skipped           INTEGER NOT NULL,\n"
    "    -- Actuation summary; all NULL when the run wrote nothing (dry run,\n"
    "    -- replay, or a live run that stopped before applying).\n"
    "    scale_applied     INTEGER,\n"
    "    scale_failed      INTEGER,\n"
    "    scale_held        INTEGER,\n"
    "    status_written    INTEGER,\n"
    "    status_failed     INTEGER,\n"
    "    events_created    INTEGER\n"
    ");\n"
    "\n"
    "-- Per-model analysis (SPEC section 6) and the thresholds it used.\n"
    "CREATE TABLE run_models (\n"
    "    run_id                   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,\n"
    "    seq                      INTEGER NOT NULL,   -- position in the plan\n"
    "    namespace                TEXT    NOT NULL,\n"
    "    model_id                 TEXT    NOT NULL,\n"
    "    analyzed                 INTEGER NOT NULL,\n"
    "    should_scale_up          INTEGER NOT NULL,\n"
    "    scale_down_safe          INTEGER NOT NULL,\n"
    "    non_saturated            INTEGER NOT NULL,\n"
    "    avg_spare_kv             REAL    NOT NULL,\n"
    "    avg_spare_queue          REAL    NOT NULL,\n"
    "    demand                   REAL    NOT NULL,\n"
    "    capacity                 REAL    NOT NULL,\n"
    "    kv_cache_threshold       REAL    NOT NULL,\n"
    "    queue_length_threshold   REAL    NOT NULL,\n"
    "    kv_spare_trigger         REAL    NOT NULL,\n"
    "    queue_spare_trigger      REAL    NOT NULL,\n"
    "    scale_down_stabilization REAL    NOT NULL,   -- seconds\n"
    "    max_scale_up_per_run     INTEGER NOT NULL,\n"
    "    PRIMARY KEY (run_id, seq)\n"
    ");\n"
    "\n"
    "-- Per-variant observation (current/ready), decision (target, action, skip\n"
    "-- reason, reason) and, when the run applied its plan, the actuation result\n"
    "-- (NULL columns otherwise).\n"
    "CREATE TABLE run_variants (\n"
    "    run_id           INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,\n"
    "    seq              INTEGER NOT NULL,   -- position in the plan (namespace, name order)\n"
    "    namespace        TEXT    NOT NULL,\n"
    "    name             TEXT    NOT NULL,\n"
    "    model_id         TEXT,               -- NULL for an invalid VA\n"
    "    accelerator      TEXT,               -- NULL when unknown\n"
    "    current_replicas INTEGER NOT NULL,\n"
    "    ready_replicas   INTEGER NOT NULL,\n"
    "    target_replicas  INTEGER NOT NULL,\n"
    "    action           TEXT    NOT NULL\n"
    "                     CHECK (action IN ('scale-up', 'scale-down', 'no-change', 'skipped')),\n"
    "    skip_reason      TEXT,               -- NULL when optimized\n"
    "    reason           TEXT    NOT NULL,\n"
    "    scale_result     TEXT CHECK (scale_result IN ('none', 'applied', 'failed', 'held')),\n"
    "    applied          INTEGER,\n"
    "    status_written   INTEGER,\n"
    "    status_skipped   INTEGER,\n"
    "    status_failed    INTEGER,\n"
    "    events           INTEGER,\n"
    "    PRIMARY KEY (run_id, seq)\n"
    ");\n"
    "\n"
    "CREATE TABLE run_warnings (\n"
    "    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,\n"
    "    seq     INTEGER NOT NULL,\n"
    "    message TEXT    NOT NULL,\n"
    "    PRIMARY KEY (run_id, seq)\n"
    ");\n"
    "\n"
    "-- The snapshot the run worked on (SPEC section 8), for `history export`.\n"
    "-- Its own table so that listing runs never pages through these documents.\n"
    "CREATE TABLE run_snapshots (\n"
    "    run_id   INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,\n"
    "    snapshot TEXT    NOT NULL\n"
    ");\n"
    "\n"
    "-- One row per model a run recommended scaling up (shouldScaleUp, or a\n"
    "-- variant with action scale-up): the scale-down stabilization window asks\n"
    "-- \"newest scale-up of this model before time T\", answered from the index\n"
    "-- alone.\n"
    "CREATE TABLE scale_ups (\n"
    "    run_id            INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,\n"
    "    namespace         TEXT    NOT NULL,\n"
    "    model_id          TEXT    NOT NULL,\n"
    "    captured_at_epoch REAL    NOT NULL,\n"
    "    PRIMARY KEY (run_id, namespace, model_id)\n"
    ");\n"
    "CREATE INDEX scale_ups_by_model ON scale_ups (namespace, model_id, captured_at_epoch);\n"
    "\n"
    "PRAGMA user_version = 1;\n";

/* migrations[v] upgrades a store from version v to v + 1, for
 * 1 <= v < HISTORY_SCHEMA_VERSION (keep each one also as
 * sql/migrations/<v>-to-<v+1>.sql).  An empty database (version 0) gets
 * schema_sql directly.  Version 1 is the first, so there are none yet. */
static const char *const migrations[HISTORY_SCHEMA_VERSION] = {
    NULL,   /* 0: empty database, see above */
};

const char *history_schema_sql(void)
{
    return schema_sql;
}

/* ---- errors ---- */

/* Failures of the environment rather than of the program or the data:
 * the run goes on without history. */
static bool is_environmental(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
        return true;
    default:
        return false;
    }
}

/* Fill err with "history store PATH: WHAT: SQLite's message" and return
 * HISTORY_DEGRADED or -1 by the kind of failure. */
static int store_error(const struct history *h, int rc, struct wva_error *err, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
static int store_error(const struct history *h, int rc, struct wva_error *err, const char *fmt,
                       ...)
{
    char what[512];
    const char *msg = h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if ((rc & 0xff) == SQLITE_NOTADB)
        msg = "the file is not a SQLite database";
    wva_error_set(err, "history store %s: %s: %s", h->path, what, msg);
    return is_environmental(rc) ? HISTORY_DEGRADED : -1;
}

static int exec_sql(struct history *h, const char *sql)
{
    return sqlite3_exec(h->db, sql, NULL, NULL, NULL);
}

/* ---- DSN ---- */

static bool has_control_char(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    }
    return false;
}

/* The file path a DSN names (a pointer into dsn). */
static int dsn_path(const char *dsn, const char **path, struct wva_error *err)
{
    const char *p;
    size_t scheme_len;

    if (!dsn || !dsn[0]) {
        wva_error_set(err, "history store: empty DSN (use sqlite:PATH or a plain path)");
        return -1;
    }
    if (strlen(dsn) > DSN_MAX || has_control_char(dsn)) {
        wva_error_set(err, "history store: the DSN is longer than %d bytes or holds control "
                      "characters", DSN_MAX);
        return -1;
    }
    if (strncmp(dsn, "sqlite:", 7) == 0) {
        p = dsn + 7;
        if (strncmp(p, "//", 2) == 0)
            p += 2;
        if (!p[0]) {
            wva_error_set(err, "history store \"%s\": no path after the sqlite scheme", dsn);
            return -1;
        }
        *path = p;
        return 0;
    }
    /* A URL of another kind: name its scheme, never the rest (it may hold
     * a password). */
    scheme_len = strspn(dsn, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    if (scheme_len > 0 && strncmp(dsn + scheme_len, "://", 3) == 0) {
        wva_error_set(err, "history store: unsupported DSN scheme \"%.*s\" (supported: "
                      "sqlite:PATH or a plain file path)", (int)(scheme_len > 32 ? 32 : scheme_len),
                      dsn);
        return -1;
    }
    *path = dsn;
    return 0;
}

int history_check_dsn(const char *dsn, struct wva_error *err)
{
    const char *path;

    return dsn_path(dsn, &path, err);
}

/* ---- open, schema, migrations ---- */

/* The integer answer of a one-row query (a PRAGMA or a count). */
static int query_int(struct history *h, const char *sql, int *value)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h->db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *value = sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int user_version(struct history *h, int *version)
{
    return query_int(h, "PRAGMA user_version", version);
}

/* Whether an unversioned database already holds tables (someone else's). */
static int has_tables(struct history *h, bool *any)
{
    int count = 0;
    int rc = query_int(h, "SELECT count(*) FROM sqlite_master", &count);

    *any = count > 0;
    return rc;
}

static int version_error(struct history *h, int version, struct wva_error *err)
{
    if (version > HISTORY_SCHEMA_VERSION)
        wva_error_set(err, "history store %s: schema version %d is newer than this program's "
                      "%d; use a newer wva-optimizer", h->path, version, HISTORY_SCHEMA_VERSION);
    else if (version == 0)
        wva_error_set(err, "history store %s: not a wva-optimizer history store (no schema)",
                      h->path);
    else
        wva_error_set(err, "history store %s: schema version %d is older than this program's "
                      "%d; the next recording run upgrades it", h->path, version,
                      HISTORY_SCHEMA_VERSION);
    return -1;
}

/* Bring the schema to HISTORY_SCHEMA_VERSION.  A store already there is
 * not written to at all. */
static int migrate(struct history *h, struct wva_error *err)
{
    int version = 0, rc;
    bool in_tx = false, any = false;
    char sql[64];

    rc = user_version(h, &version);
    if (rc != SQLITE_OK)
        return store_error(h, rc, err, "cannot read the schema version");
    if (version == HISTORY_SCHEMA_VERSION)
        return 0;
    if (version > HISTORY_SCHEMA_VERSION)
        return version_error(h, version, err);

    /* Two runs creating the same store at once queue here; the second one
     * then sees the first one's schema. */
    rc = exec_sql(h, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK)
        return store_error(h, rc, err, "cannot lock the store to create its schema");
    in_tx = true;
    rc = user_version(h, &version);
    if (rc != SQLITE_OK) {
        rc = store_error(h, rc, err, "cannot read the schema version");
        goto out;
    }
    if (version > HISTORY_SCHEMA_VERSION) {
        rc = version_error(h, version, err);
        goto out;
    }
    if (version == 0) {
        rc = has_tables(h, &any);
        if (rc != SQLITE_OK) {
            rc = store_error(h, rc, err, "cannot read the schema");
            goto out;
        }
        if (any) {
            wva_error_set(err, "history store %s: not a wva-optimizer history store (it has "
                          "tables but no schema version)", h->path);
            rc = -1;
            goto out;
        }
        rc = exec_sql(h, schema_sql);
        if (rc != SQLITE_OK) {
            rc = store_error(h, rc, err, "cannot create the schema");
            goto out;
        }
    } else {
        for (int v = version; v < HISTORY_SCHEMA_VERSION; v++) {
            rc = exec_sql(h, migrations[v]);
            if (rc != SQLITE_OK) {
                rc = store_error(h, rc, err, "cannot upgrade the schema from version %d", v);
                goto out;
            }
        }
    }
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", HISTORY_SCHEMA_VERSION);
    rc = exec_sql(h, sql);
    if (rc == SQLITE_OK)
        rc = exec_sql(h, "COMMIT");
    if (rc != SQLITE_OK) {
        rc = store_error(h, rc, err, "cannot commit the schema");
        goto out;
    }
    in_tx = false;
    rc = 0;
out:
    if (in_tx)
        exec_sql(h, "ROLLBACK");
    return rc;
}

void history_close(struct history *h)
{
    if (!h)
        return;
    sqlite3_finalize(h->last_up);
    sqlite3_close(h->db);
    free(h->path);
    free(h);
}

int history_open_ex(const char *dsn, unsigned flags, struct history **out, struct wva_error *err)
{
    struct history *h = NULL;
    const char *path;
    struct stat st;
    int rc, version = 0;

    *out = NULL;
    if (dsn_path(dsn, &path, err) != 0)
        return -1;
    h = wva_xcalloc(1, sizeof(*h));
    h->path = wva_xstrdup(path);
    h->read_only = (flags & HISTORY_OPEN_READ_ONLY) != 0;
    h->hook_before = INFINITY;

    if (h->read_only && strncmp(path, "file:", 5) != 0 && stat(path, &st) != 0 &&
        errno == ENOENT) {
        wva_error_set(err, "history store %s does not exist", path);
        rc = -1;
        goto out;
    }
    /* Read-only opens still ask for write access: SQLite falls back to
     * read-only by itself, and WAL readers need to write the -shm index. */
    rc = sqlite3_open_v2(path, &h->db,
                         SQLITE_OPEN_READWRITE | (h->read_only ? 0 : SQLITE_OPEN_CREATE), NULL);
    if (rc != SQLITE_OK) {
        rc = store_error(h, rc, err, "cannot open");
        goto out;
    }
    sqlite3_extended_result_codes(h->db, 1);
    sqlite3_busy_timeout(h->db, HISTORY_BUSY_TIMEOUT_MS);
    rc = exec_sql(h, "PRAGMA foreign_keys = ON");
    if (rc != SQLITE_OK) {
        rc = store_error(h, rc, err, "cannot enable foreign keys");
        goto out;
    }
    if (h->read_only) {
        rc = exec_sql(h, "PRAGMA query_only = ON");
        if (rc == SQLITE_OK)
            rc = user_version(h, &version);
        if (rc != SQLITE_OK) {
            rc = store_error(h, rc, err, "cannot read");
            goto out;
        }
        if (version != HISTORY_SCHEMA_VERSION) {
            rc = version_error(h, version, err);
            goto out;
        }
        rc = 0;
        goto out;
    }
    /* journal_mode is persistent: only the first open of a store changes
     * it.  synchronous applies to this connection. */
    rc = exec_sql(h, "PRAGMA journal_mode = WAL");
    if (rc == SQLITE_OK)
        rc = exec_sql(h, "PRAGMA synchronous = NORMAL");
    if (rc != SQLITE_OK) {
        rc = store_error(h, rc, err, "cannot set up the journal");
        goto out;
    }
    rc = migrate(h, err);
out:
    if (rc != 0) {
        history_close(h);
        return rc;
    }
    *out = h;
    return 0;
}

struct history *history_open(const char *dsn, struct wva_error *err)
{
    struct history *h = NULL;

    history_open_ex(dsn, 0, &h, err);
    return h;
}

/* ---- recording ---- */

/* Settings that hold a secret, or say where one is.  settings_export()
 * never writes them, but a replayed file may carry anything. */
static bool secret_setting(const char *key)
{
    static const char *const words[] = {"TOKEN", "SECRET", "PASSWORD", "_KEY", "CREDENTIAL"};

    if (strcmp(key, settings_key(WVA_SET_WVA_HISTORY)) == 0)
        return true;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcasestr(key, words[i]))
            return true;
    }
    return false;
}

/* snapshot_to_json() of snap without secret settings: a shallow copy with
 * a filtered settings list (the strings stay borrowed). */
static char *snapshot_json_without_secrets(const struct wva_snapshot *snap)
{
    struct wva_snapshot copy = *snap;
    struct wva_kv *kept = wva_xcalloc(snap->settings.count + 1, sizeof(*kept));
    size_t n = 0;
    char *json;

    for (size_t i = 0; i < snap->settings.count; i++) {
        if (!secret_setting(snap->settings.items[i].key))
            kept[n++] = snap->settings.items[i];
    }
    copy.settings.items = kept;
    copy.settings.count = n;
    json = snapshot_to_json(&copy);
    free(kept);
    return json;
}

/* SQLite stores NaN as NULL, which would read back as 0 anyway; store the
 * 0 the plan's JSON shows for it (values_json_number).  Infinities are
 * stored as they are: SQLite keeps them, and the plan's table shows them. */
static double finite_or_zero(double v)
{
    return isnan(v) ? 0 : v;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Run a writing statement once; SQLITE_OK when it completed. */
static int step_insert(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

enum {
    ST_RUN, ST_MODEL, ST_VARIANT, ST_WARNING, ST_SNAPSHOT, ST_SCALE_UP, ST_COUNT
};

static const char *const insert_sql[ST_COUNT] = {
    [ST_RUN] = "INSERT INTO runs (started_at, finished_at, mode, captured_at, captured_at_epoch, "
               "exit_code, solver_status, solver_objective, solver_lp_bound, solver_variables, "
               "solver_seconds, variants, scaled_up, scaled_down, unchanged, skipped, "
               "scale_applied, scale_failed, scale_held, status_written, status_failed, "
               "events_created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
               "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
    [ST_MODEL] = "INSERT INTO run_models VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                 "?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    [ST_VARIANT] = "INSERT INTO run_variants VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                   "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    [ST_WARNING] = "INSERT INTO run_warnings VALUES (?1, ?2, ?3)",
    [ST_SNAPSHOT] = "INSERT INTO run_snapshots VALUES (?1, ?2)",
    [ST_SCALE_UP] = "INSERT OR IGNORE INTO scale_ups VALUES (?1, ?2, ?3, ?4)",
};

static int insert_run(sqlite3_stmt *st, const struct wva_plan *plan, const struct wva_snapshot *snap,
                      const struct actuate_report *report, double started, double finished,
                      int exit_code)
{
    int64_t counts[4] = {0};

    for (size_t i = 0; i < plan->variants_count; i++) {
        if ((unsigned)plan->variants[i].action < 4)
            counts[plan->variants[i].action]++;
    }
    sqlite3_bind_double(st, 1, finite_or_zero(started));
    sqlite3_bind_double(st, 2, finite_or_zero(finished));
    bind_text(st, 3, plan->mode);
    bind_text(st, 4, plan->captured_at ? plan->captured_at : snap->captured_at);
    sqlite3_bind_double(st, 5, finite_or_zero(snap->captured_at_epoch));
    sqlite3_bind_int(st, 6, exit_code);
    bind_text(st, 7, plan->solver_status);
    sqlite3_bind_double(st, 8, finite_or_zero(plan->solver_objective));
    sqlite3_bind_double(st, 9, finite_or_zero(plan->solver_lp_bound));
    sqlite3_bind_int64(st, 10, (int64_t)plan->solver_variables);
    sqlite3_bind_double(st, 11, finite_or_zero(plan->solver_seconds));
    sqlite3_bind_int64(st, 12, (int64_t)plan->variants_count);
    sqlite3_bind_int64(st, 13, counts[WVA_ACTION_SCALE_UP]);
    sqlite3_bind_int64(st, 14, counts[WVA_ACTION_SCALE_DOWN]);
    sqlite3_bind_int64(st, 15, counts[WVA_ACTION_NO_CHANGE]);
    sqlite3_bind_int64(st, 16, counts[WVA_ACTION_SKIPPED]);
    if (report) {
        sqlite3_bind_int64(st, 17, (int64_t)report->scale_applied);
        sqlite3_bind_int64(st, 18, (int64_t)report->scale_failed);
        sqlite3_bind_int64(st, 19, (int64_t)report->scale_held);
        sqlite3_bind_int64(st, 20, (int64_t)report->status_written);
        sqlite3_bind_int64(st, 21, (int64_t)report->status_failed);
        sqlite3_bind_int64(st, 22, (int64_t)report->events_created);
    }
    return step_insert(st);
}

static int insert_model(sqlite3_stmt *st, int64_t run_id, size_t seq,
                        const struct wva_plan_model *m)
{
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    bind_text(st, 3, m->namespace_name);
    bind_text(st, 4, m->model_id);
    sqlite3_bind_int(st, 5, m->analyzed);
    sqlite3_bind_int(st, 6, m->should_scale_up);
    sqlite3_bind_int(st, 7, m->scale_down_safe);
    sqlite3_bind_int64(st, 8, (int64_t)m->non_saturated);
    sqlite3_bind_double(st, 9, finite_or_zero(m->avg_spare_kv));
    sqlite3_bind_double(st, 10, finite_or_zero(m->avg_spare_queue));
    sqlite3_bind_double(st, 11, finite_or_zero(m->demand));
    sqlite3_bind_double(st, 12, finite_or_zero(m->capacity));
    sqlite3_bind_double(st, 13, finite_or_zero(m->thresholds.kv_cache_threshold));
    sqlite3_bind_double(st, 14, finite_or_zero(m->thresholds.queue_length_threshold));
    sqlite3_bind_double(st, 15, finite_or_zero(m->thresholds.kv_spare_trigger));
    sqlite3_bind_double(st, 16, finite_or_zero(m->thresholds.queue_spare_trigger));
    sqlite3_bind_double(st, 17, finite_or_zero(m->thresholds.scale_down_stabilization));
    sqlite3_bind_int(st, 18, m->thresholds.max_scale_up_per_run);
    return step_insert(st);
}

static int insert_variant(sqlite3_stmt *st, int64_t run_id, size_t seq,
                          const struct wva_plan_variant *v,
                          const struct actuate_variant_result *r)
{
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    bind_text(st, 3, v->namespace_name);
    bind_text(st, 4, v->name);
    bind_text(st, 5, v->model_id);
    bind_text(st, 6, v->accelerator);
    sqlite3_bind_int(st, 7, v->current_replicas);
    sqlite3_bind_int(st, 8, v->ready_replicas);
    sqlite3_bind_int(st, 9, v->target_replicas);
    bind_text(st, 10, plan_action_name(v->action));
    bind_text(st, 11, filter_skip_name(v->skip));
    bind_text(st, 12, v->reason ? v->reason : "");
    if (r) {
        bind_text(st, 13, actuate_scale_name(r->scale));
        sqlite3_bind_int(st, 14, r->applied);
        sqlite3_bind_int(st, 15, r->status_written);
        sqlite3_bind_int(st, 16, r->status_skipped);
        sqlite3_bind_int(st, 17, r->status_failed);
        sqlite3_bind_int(st, 18, r->events);
    } else {
        for (int i = 13; i <= 18; i++)
            sqlite3_bind_null(st, i);
    }
    return step_insert(st);
}

static int insert_scale_up(sqlite3_stmt *st, int64_t run_id, const char *ns,
                           const char *model_id, double captured)
{
    sqlite3_bind_int64(st, 1, run_id);
    bind_text(st, 2, ns);
    bind_text(st, 3, model_id);
    sqlite3_bind_double(st, 4, captured);
    return step_insert(st);
}

int history_record_run(struct history *h, const struct wva_snapshot *snap,
                       const struct wva_plan *plan, const struct actuate_report *report,
                       double started, double finished, int exit_code, int64_t *run_id,
                       struct wva_error *err)
{
    sqlite3_stmt *st[ST_COUNT] = {NULL};
    char *snapshot_json = NULL;
    const struct actuate_variant_result *results = NULL;
    double captured;
    int64_t id = 0;
    bool in_tx = false;
    int rc;

    if (!h || !snap || !plan || !plan->mode) {
        wva_error_set(err, "history: cannot record a run without a store, snapshot or plan");
        return -1;
    }
    if (report && report->variants && report->variants_count == plan->variants_count)
        results = report->variants;
    captured = finite_or_zero(snap->captured_at_epoch);
    /* Serialise before taking the lock: other writers wait less. */
    snapshot_json = snapshot_json_without_secrets(snap);

    rc = exec_sql(h, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK) {
        rc = store_error(h, rc, err, "cannot record the run");
        goto out;
    }
    in_tx = true;
    for (int i = 0; i < ST_COUNT; i++) {
        rc = sqlite3_prepare_v2(h->db, insert_sql[i], -1, &st[i], NULL);
        if (rc != SQLITE_OK) {
            rc = store_error(h, rc, err, "cannot record the run");
            goto out;
        }
    }
    rc = insert_run(st[ST_RUN], plan, snap, report, started, finished, exit_code);
    if (rc != SQLITE_OK) {
        rc = store_error(h, rc, err, "cannot record the run");
        goto out;
    }
    id = sqlite3_last_insert_rowid(h->db);
    for (size_t i = 0; i < plan->models_count && rc == SQLITE_OK; i++) {
        const struct wva_plan_model *m = &plan->models[i];
        rc = insert_model(st[ST_MODEL], id, i, m);
        if (rc == SQLITE_OK && m->should_scale_up)
            rc = insert_scale_up(st[ST_SCALE_UP], id, m->namespace_name, m->model_id, captured);
    }
    for (size_t i = 0; i < plan->variants_count && rc == SQLITE_OK; i++) {
        const struct wva_plan_variant *v = &plan->variants[i];
        rc = insert_variant(st[ST_VARIANT], id, i, v, results ? &results[i] : NULL);
        if (rc == SQLITE_OK && v->action == WVA_ACTION_SCALE_UP && v->model_id)
            rc = insert_scale_up(st[ST_SCALE_UP], id, v->namespace_name, v->model_id, captured);
    }
    for (size_t i = 0; i < plan->warnings.count && rc == SQLITE_OK; i++) {
        sqlite3_bind_int64(st[ST_WARNING], 1, id);
        sqlite3_bind_int64(st[ST_WARNING], 2, (int64_t)i);
        bind_text(st[ST_WARNING], 3, plan->warnings.items[i]);
        rc = step_insert(st[ST_WARNING]);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st[ST_SNAPSHOT], 1, id);
        bind_text(st[ST_SNAPSHOT], 2, snapshot_json);
        rc = step_insert(st[ST_SNAPSHOT]);
    }
    if (rc == SQLITE_OK)
        rc = exec_sql(h, "COMMIT");
    if (rc != SQLITE_OK) {
        rc = store_error(h, rc, err, "cannot record the run");
        goto out;
    }
    in_tx = false;
    if (run_id)
        *run_id = id;
    rc = 0;
out:
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(st[i]);
    if (in_tx)
        exec_sql(h, "ROLLBACK");
    free(snapshot_json);
    return rc;
}

int history_prune(struct history *h, double before, int64_t keep_newest, int64_t *deleted,
                  struct wva_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (!h || keep_newest < 0) {
        wva_error_set(err, "history: cannot prune without a store or with a negative count");
        return -1;
    }
    rc = sqlite3_prepare_v2(h->db,
                            "DELETE FROM runs WHERE captured_at_epoch < ?1 AND id NOT IN "
                            "(SELECT id FROM runs ORDER BY id DESC LIMIT ?2)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_double(st, 1, before);
        sqlite3_bind_int64(st, 2, keep_newest);
        /* One statement is one transaction: the cascade is all or nothing. */
        rc = step_insert(st);
    }
    if (rc != SQLITE_OK) {
        rc = store_error(h, rc, err, "cannot delete old runs");
        sqlite3_finalize(st);
        return rc;
    }
    if (deleted)
        *deleted = sqlite3_changes64(h->db);
    sqlite3_finalize(st);
    return 0;
}

/* ---- the stabilization window ---- */

double history_last_scale_up(struct history *h, const char *ns, const char *model_id,
                             double before)
{
    double newest = -1;
    int rc;

    if (!h || !ns || !model_id)
        return -1;
    if (!h->last_up) {
        rc = sqlite3_prepare_v2(h->db,
                                "SELECT s.captured_at_epoch FROM scale_ups s "
                                "JOIN runs r ON r.id = s.run_id "
                                "WHERE s.namespace = ?1 AND s.model_id = ?2 "
                                "AND s.captured_at_epoch < ?3 AND r.mode = 'live' "
                                "ORDER BY s.captured_at_epoch DESC LIMIT 1",
                                -1, &h->last_up, NULL);
        if (rc != SQLITE_OK)
            return -1;
    }
    bind_text(h->last_up, 1, ns);
    bind_text(h->last_up, 2, model_id);
    sqlite3_bind_double(h->last_up, 3, isnan(before) ? INFINITY : before);
    if (sqlite3_step(h->last_up) == SQLITE_ROW)
        newest = sqlite3_column_double(h->last_up, 0);
    sqlite3_reset(h->last_up);
    return newest;
}

static double hook_last_scale_up(const char *ns, const char *model_id, void *ctx)
{
    struct history *h = ctx;

    return history_last_scale_up(h, ns, model_id, h->hook_before);
}

void history_engine_hook(struct history *h, double before, struct engine_history *out)
{
    out->last_scale_up = NULL;
    out->ctx = NULL;
    if (!h)
        return;
    h->hook_before = before;
    out->last_scale_up = hook_last_scale_up;
    out->ctx = h;
}

/* ---- reading ---- */

/* One query's single integer result (NULL reads as -1). */
static int query_int64(struct history *h, const char *sql, int64_t param, bool bind,
                       int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h->db, sql, -1, &st, NULL);

    *out = -1;
    if (rc == SQLITE_OK) {
        if (bind)
            sqlite3_bind_int64(st, 1, param);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            if (sqlite3_column_type(st, 0) != SQLITE_NULL)
                *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int history_find_run(struct history *h, const char *text, int64_t *run_id,
                     struct wva_error *err)
{
    int64_t found;
    char *end;
    long long n;
    int rc;

    if (!text || !text[0]) {
        wva_error_set(err, "history: missing run id (a number or \"last\")");
        return -1;
    }
    if (strcmp(text, "last") == 0) {
        rc = query_int64(h, "SELECT max(id) FROM runs", 0, false, &found);
        if (rc != SQLITE_OK)
            return store_error(h, rc, err, "cannot read the runs");
        if (found < 0) {
            wva_error_set(err, "history store %s: no run recorded yet", h->path);
            return -1;
        }
        *run_id = found;
        return 0;
    }
    errno = 0;
    n = strtoll(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno == ERANGE || n <= 0) {
        wva_error_set(err, "history: \"%.64s\" is not a run id (a positive number or \"last\")",
                      text);
        return -1;
    }
    rc = query_int64(h, "SELECT id FROM runs WHERE id = ?1", n, true, &found);
    if (rc != SQLITE_OK)
        return store_error(h, rc, err, "cannot read run %lld", n);
    if (found < 0) {
        wva_error_set(err, "history store %s: no run %lld", h->path, n);
        return -1;
    }
    *run_id = found;
    return 0;
}

static char *column_strdup(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);

    return s ? wva_xstrdup((const char *)s) : NULL;
}

static char *column_strdup_or_empty(sqlite3_stmt *st, int i)
{
    char *s = column_strdup(st, i);

    return s ? s : wva_xstrdup("");
}

static bool parse_action(const char *text, enum wva_action *out)
{
    static const enum wva_action all[] = {WVA_ACTION_NO_CHANGE, WVA_ACTION_SCALE_UP,
                                          WVA_ACTION_SCALE_DOWN, WVA_ACTION_SKIPPED};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (text && strcmp(text, plan_action_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

static bool parse_skip(const char *text, enum wva_skip *out)
{
    *out = WVA_SKIP_NONE;
    if (!text)
        return true;
    for (int s = WVA_SKIP_NONE + 1; s <= WVA_SKIP_METRICS_UNAVAILABLE; s++) {
        if (strcmp(text, filter_skip_name((enum wva_skip)s)) == 0) {
            *out = (enum wva_skip)s;
            return true;
        }
    }
    return false;
}

/* Room for one more element in a growing array. */
static void *grow_array(void *items, size_t count, size_t *cap, size_t size)
{
    if (count < *cap)
        return items;
    *cap = *cap ? *cap * 2 : 16;
    return wva_xrealloc(items, *cap * size);
}

static int load_run_row(struct history *h, int64_t id, struct wva_plan *plan,
                        struct history_run_info *info, struct wva_error *err)
{
    const char *status;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        h->db,
        "SELECT mode, captured_at, solver_status, solver_objective, solver_lp_bound, "
        "solver_variables, solver_seconds, started_at, finished_at, exit_code, scale_applied, "
        "scale_failed, scale_held, status_written, status_failed, events_created "
        "FROM runs WHERE id = ?1", -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_DONE) {
        wva_error_set(err, "history store %s: no run %" PRId64, h->path, id);
        rc = -1;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        rc = store_error(h, rc, err, "cannot read run %" PRId64, id);
        goto out;
    }
    plan->mode = column_strdup(st, 0);
    plan->captured_at = column_strdup(st, 1);
    status = (const char *)sqlite3_column_text(st, 2);
    /* this build writes short status words; a longer one is not cut short */
    if (status && strlen(status) >= sizeof(plan->solver_status)) {
        wva_error_set(err, "history store %s: run %" PRId64 " has an unknown solver status "
                      "of %zu bytes", h->path, id, strlen(status));
        rc = -1;
        goto out;
    }
    snprintf(plan->solver_status, sizeof(plan->solver_status), "%s", status ? status : "");
    plan->solver_objective = sqlite3_column_double(st, 3);
    plan->solver_lp_bound = sqlite3_column_double(st, 4);
    plan->solver_variables = (size_t)sqlite3_column_int64(st, 5);
    plan->solver_seconds = sqlite3_column_double(st, 6);
    info->id = id;
    info->started_at = sqlite3_column_double(st, 7);
    info->finished_at = sqlite3_column_double(st, 8);
    info->exit_code = sqlite3_column_int(st, 9);
    info->actuated = sqlite3_column_type(st, 10) != SQLITE_NULL;
    info->scale_applied = sqlite3_column_int64(st, 10);
    info->scale_failed = sqlite3_column_int64(st, 11);
    info->scale_held = sqlite3_column_int64(st, 12);
    info->status_written = sqlite3_column_int64(st, 13);
    info->status_failed = sqlite3_column_int64(st, 14);
    info->events = sqlite3_column_int64(st, 15);
    if (!plan->mode) {
        wva_error_set(err, "history store %s: run %" PRId64 " has no mode", h->path, id);
        rc = -1;
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

static int load_models(struct history *h, int64_t id, struct wva_plan *plan,
                       struct wva_error *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = sqlite3_prepare_v2(
        h->db,
        "SELECT namespace, model_id, analyzed, should_scale_up, scale_down_safe, non_saturated, "
        "avg_spare_kv, avg_spare_queue, demand, capacity, kv_cache_threshold, "
        "queue_length_threshold, kv_spare_trigger, queue_spare_trigger, "
        "scale_down_stabilization, max_scale_up_per_run "
        "FROM run_models WHERE run_id = ?1 ORDER BY seq", -1, &st, NULL);

    if (rc == SQLITE_OK)
        sqlite3_bind_int64(st, 1, id);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct wva_plan_model *m;

        plan->models = grow_array(plan->models, plan->models_count, &cap, sizeof(*m));
        m = &plan->models[plan->models_count++];
        memset(m, 0, sizeof(*m));
        m->namespace_name = column_strdup(st, 0);
        m->model_id = column_strdup(st, 1);
        m->analyzed = sqlite3_column_int(st, 2) != 0;
        m->should_scale_up = sqlite3_column_int(st, 3) != 0;
        m->scale_down_safe = sqlite3_column_int(st, 4) != 0;
        m->non_saturated = (size_t)sqlite3_column_int64(st, 5);
        m->avg_spare_kv = sqlite3_column_double(st, 6);
        m->avg_spare_queue = sqlite3_column_double(st, 7);
        m->demand = sqlite3_column_double(st, 8);
        m->capacity = sqlite3_column_double(st, 9);
        m->thresholds.kv_cache_threshold = sqlite3_column_double(st, 10);
        m->thresholds.queue_length_threshold = sqlite3_column_double(st, 11);
        m->thresholds.kv_spare_trigger = sqlite3_column_double(st, 12);
        m->thresholds.queue_spare_trigger = sqlite3_column_double(st, 13);
        m->thresholds.scale_down_stabilization = sqlite3_column_double(st, 14);
        m->thresholds.max_scale_up_per_run = sqlite3_column_int(st, 15);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_error(h, rc, err, "cannot read the models of run %" PRId64, id);
    return 0;
}

static int load_variants(struct history *h, int64_t id, struct wva_plan *plan,
                         struct history_actuation **acts, struct wva_error *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0, acap = 0;
    int rc = sqlite3_prepare_v2(
        h->db,
        "SELECT namespace, name, model_id, accelerator, current_replicas, ready_replicas, "
        "target_replicas, action, skip_reason, reason, scale_result, applied, status_written, "
        "status_skipped, status_failed, events "
        "FROM run_variants WHERE run_id = ?1 ORDER BY seq", -1, &st, NULL);

    if (rc == SQLITE_OK)
        sqlite3_bind_int64(st, 1, id);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct wva_plan_variant *v;
        struct history_actuation *a;
        const char *action = (const char *)sqlite3_column_text(st, 7);
        const char *skip = (const char *)sqlite3_column_text(st, 8);

        plan->variants = grow_array(plan->variants, plan->variants_count, &cap, sizeof(*v));
        *acts = grow_array(*acts, plan->variants_count, &acap, sizeof(**acts));
        a = &(*acts)[plan->variants_count];
        v = &plan->variants[plan->variants_count++];
        memset(v, 0, sizeof(*v));
        memset(a, 0, sizeof(*a));
        v->namespace_name = column_strdup(st, 0);
        v->name = column_strdup(st, 1);
        v->model_id = column_strdup(st, 2);
        v->accelerator = column_strdup(st, 3);
        v->current_replicas = sqlite3_column_int(st, 4);
        v->ready_replicas = sqlite3_column_int(st, 5);
        v->target_replicas = sqlite3_column_int(st, 6);
        v->reason = column_strdup(st, 9);
        if (!parse_action(action, &v->action) || !parse_skip(skip, &v->skip)) {
            wva_error_set(err, "history store %s: run %" PRId64 " variant %s/%s: unknown "
                          "action \"%s\" or skip reason \"%s\"", h->path, id,
                          v->namespace_name ? v->namespace_name : "",
                          v->name ? v->name : "", action ? action : "",
                          skip ? skip : "");
            sqlite3_finalize(st);
            return -1;
        }
        a->scale = column_strdup(st, 10);
        a->applied = sqlite3_column_int(st, 11) != 0;
        a->status_written = sqlite3_column_int(st, 12) != 0;
        a->status_skipped = sqlite3_column_int(st, 13) != 0;
        a->status_failed = sqlite3_column_int(st, 14) != 0;
        a->events = sqlite3_column_int(st, 15);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_error(h, rc, err, "cannot read the variants of run %" PRId64, id);
    return 0;
}

static int load_warnings(struct history *h, int64_t id, struct wva_plan *plan,
                         struct wva_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h->db, "SELECT message FROM run_warnings WHERE run_id = ?1 "
                                "ORDER BY seq", -1, &st, NULL);

    if (rc == SQLITE_OK)
        sqlite3_bind_int64(st, 1, id);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *msg = sqlite3_column_text(st, 0);
        wva_warnings_add(&plan->warnings, "%s", msg ? (const char *)msg : "");
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_error(h, rc, err, "cannot read the warnings of run %" PRId64, id);
    return 0;
}

void history_actuations_free(struct history_actuation *acts, size_t count)
{
    for (size_t i = 0; acts && i < count; i++)
        free(acts[i].scale);
    free(acts);
}

/* The reads share one read transaction so that they see the same state of
 * the store. */
struct wva_plan *history_load_run(struct history *h, int64_t id, struct history_run_info *info,
                                  struct history_actuation **acts, struct wva_error *err)
{
    struct wva_plan *plan;
    struct history_run_info ignored;

    if (!h) {
        wva_error_set(err, "history: no store");
        return NULL;
    }
    if (!info)
        info = &ignored;
    if (acts)
        *acts = NULL;
    plan = wva_xcalloc(1, sizeof(*plan));
    struct history_actuation *a = NULL;
    int rc = exec_sql(h, "BEGIN");

    if (rc != SQLITE_OK) {
        store_error(h, rc, err, "cannot read run %" PRId64, id);
        plan_free(plan);
        return NULL;
    }
    rc = load_run_row(h, id, plan, info, err);
    if (rc == 0)
        rc = load_models(h, id, plan, err);
    if (rc == 0)
        rc = load_variants(h, id, plan, &a, err);
    if (rc == 0)
        rc = load_warnings(h, id, plan, err);
    exec_sql(h, "COMMIT");
    if (rc != 0) {
        history_actuations_free(a, plan->variants_count);
        plan_free(plan);
        return NULL;
    }
    if (acts)
        *acts = a;
    else
        history_actuations_free(a, plan->variants_count);
    return plan;
}

struct wva_plan *history_load_plan(struct history *h, int64_t run_id, struct wva_error *err)
{
    return history_load_run(h, run_id, NULL, NULL, err);
}

char *history_load_snapshot(struct history *h, int64_t run_id, struct wva_error *err)
{
    sqlite3_stmt *st = NULL;
    char *text = NULL;
    int rc;

    if (!h) {
        wva_error_set(err, "history: no store");
        return NULL;
    }
    rc = sqlite3_prepare_v2(h->db, "SELECT snapshot FROM run_snapshots WHERE run_id = ?1", -1,
                            &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW)
        text = column_strdup(st, 0);
    else if (rc == SQLITE_DONE)
        wva_error_set(err, "history store %s: no snapshot for run %" PRId64, h->path, run_id);
    else
        store_error(h, rc, err, "cannot read the snapshot of run %" PRId64, run_id);
    sqlite3_finalize(st);
    return text;
}

/* ---- the runs, for listing ---- */

int history_list_runs(struct history *h, size_t limit, struct history_run_row **out, size_t *count,
                      int64_t *total, struct wva_error *err)
{
    sqlite3_stmt *st = NULL;
    struct history_run_row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc;

    *out = NULL;
    *count = 0;
    *total = 0;
    if (!h) {
        wva_error_set(err, "history: no store");
        return -1;
    }
    rc = exec_sql(h, "BEGIN");
    if (rc == SQLITE_OK)
        rc = query_int64(h, "SELECT count(*) FROM runs", 0, false, total);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(
            h->db,
            "SELECT id, started_at, finished_at, mode, captured_at, exit_code, variants, "
            "scaled_up, scaled_down, unchanged, skipped, solver_status, "
            "(SELECT count(*) FROM run_warnings w WHERE w.run_id = r.id), scale_applied, "
            "scale_failed, scale_held, status_written, status_failed, events_created "
            "FROM runs r ORDER BY id DESC LIMIT ?1", -1, &st, NULL);
    if (rc == SQLITE_OK)
        sqlite3_bind_int64(st, 1, (int64_t)(limit > INT64_MAX ? INT64_MAX : limit));
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct history_run_row *r;

        rows = grow_array(rows, n, &cap, sizeof(*rows));
        r = &rows[n++];
        r->id = sqlite3_column_int64(st, 0);
        r->started_at = sqlite3_column_double(st, 1);
        r->finished_at = sqlite3_column_double(st, 2);
        r->mode = column_strdup_or_empty(st, 3);
        r->captured_at = column_strdup_or_empty(st, 4);
        r->exit_code = sqlite3_column_int(st, 5);
        r->variants = sqlite3_column_int64(st, 6);
        r->up = sqlite3_column_int64(st, 7);
        r->down = sqlite3_column_int64(st, 8);
        r->unchanged = sqlite3_column_int64(st, 9);
        r->skipped = sqlite3_column_int64(st, 10);
        r->solver_status = column_strdup_or_empty(st, 11);
        r->warnings = sqlite3_column_int64(st, 12);
        r->actuated = sqlite3_column_type(st, 13) != SQLITE_NULL;
        r->scale_applied = sqlite3_column_int64(st, 13);
        r->scale_failed = sqlite3_column_int64(st, 14);
        r->scale_held = sqlite3_column_int64(st, 15);
        r->status_written = sqlite3_column_int64(st, 16);
        r->status_failed = sqlite3_column_int64(st, 17);
        r->events = sqlite3_column_int64(st, 18);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    exec_sql(h, "COMMIT");
    if (rc != SQLITE_DONE) {
        history_run_rows_free(rows, n);
        return store_error(h, rc, err, "cannot list the runs");
    }
    /* Newest first from the query; people read history oldest first. */
    for (size_t i = 0; i < n / 2; i++) {
        struct history_run_row tmp = rows[i];

        rows[i] = rows[n - 1 - i];
        rows[n - 1 - i] = tmp;
    }
    *out = rows;
    *count = n;
    return 0;
}

void history_run_rows_free(struct history_run_row *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++) {
        free(rows[i].mode);
        free(rows[i].captured_at);
        free(rows[i].solver_status);
    }
    free(rows);
}

/* ---- for the runs themselves ---- */

struct history *history_open_for_run(const char *dsn)
{
    struct history *h = NULL;
    struct wva_error err = {0};
    int rc;

    if (!dsn || !dsn[0])
        return NULL;
    rc = history_open_ex(dsn, 0, &h, &err);
    if (rc != 0)
        log_event(rc == HISTORY_DEGRADED ? WVA_LOG_WARN : WVA_LOG_ERROR,
                  "history store unavailable; this run is not recorded", "error", err.msg, NULL);
    return h;
}

void history_record_or_log(struct history *h, const struct wva_snapshot *snap,
                           const struct wva_plan *plan, const struct actuate_report *report,
                           double started, double finished, int exit_code)
{
    struct wva_error err = {0};
    int rc;

    if (!h || !plan)
        return;
    rc = history_record_run(h, snap, plan, report, started, finished, exit_code, NULL, &err);
    if (rc != 0)
        log_event(rc == HISTORY_DEGRADED ? WVA_LOG_WARN : WVA_LOG_ERROR,
                  "run not recorded in the history store", "error", err.msg, NULL);
}
