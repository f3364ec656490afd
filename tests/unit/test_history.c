/* test_history.c - the history store: schema, DSNs, record/show/export
 * round trips through the real engine, the stabilization-window lookup,
 * and the failure modes that must never corrupt the store or fail a run
 * (read-only and full disk, a writer killed mid-run, concurrent writers). */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

/* Time bounds allow for valgrind (scripts/test.sh runs every unit test
 * under it), which slows this code down some fifty times. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef UNDER_VALGRIND
#define UNDER_VALGRIND 0
#endif

#include "wva/engine.h"
#include "wva/configmaps.h"
#include "wva/history.h"
#include "wva/plan.h"
#include "wva/settings.h"
#include "wva/snapshot.h"
#include "wva/strbuf.h"

static char tmp_dir[256];

/* ---- helpers ---- */

/* A fresh store path under the test's temporary directory. */
static const char *store_path(const char *name)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    return path;
}

static const char *source_path(const char *rel)
{
    static char path[4096];
    const char *top = getenv("top_srcdir");

    snprintf(path, sizeof(path), "%s/%s", top ? top : ".", rel);
    return path;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A replay the way main does it: settings from the snapshot, then the
 * engine.  *snap and *s are the caller's to free. */
static struct wva_plan *plan_snapshot(struct wva_snapshot *snap, struct wva_settings *s,
                                      const char *mode, const struct engine_history *hist)
{
    struct wva_error err = {0};
    char *argv[] = {"wva-optimizer", "--from-file", "-", NULL};
    struct wva_plan *plan;

    assert_int_equal(settings_parse_args(3, argv, s, &err), 0);
    if (settings_resolve_bootstrap(s, NULL, &snap->settings, &err) != 0)
        fail_msg("bootstrap: %s", err.msg);
    const struct wva_configmap *cm =
        snapshot_find_configmap(snap, s->system_namespace, s->config_map_name);
    if (settings_resolve(s, NULL, &snap->settings, cm ? &cm->data : NULL, &err) != 0)
        fail_msg("settings: %s", err.msg);
    plan = engine_plan(snap, s, mode, hist, NULL, &err);
    if (!plan)
        fail_msg("engine: %s", err.msg);
    return plan;
}

static struct wva_snapshot *load_snapshot(const char *path)
{
    struct wva_snapshot *snap = NULL;
    struct wva_error err = {0};

    if (snapshot_load_file(path, &snap, &err) != 0)
        fail_msg("%s", err.msg);
    return snap;
}

/* Plan a fixture snapshot and record it.  Returns the run id. */
static int64_t record_fixture(struct history *h, const char *path, const char *mode,
                              double shift_seconds, const struct actuate_report *report,
                              int exit_code)
{
    struct wva_snapshot *snap = load_snapshot(path);
    struct wva_settings s;
    struct wva_error err = {0};
    struct wva_plan *plan;
    int64_t id = 0;

    snap->captured_at_epoch += shift_seconds;
    plan = plan_snapshot(snap, &s, mode, NULL);
    if (history_record_run(h, snap, plan, report, 1000, 1001.5, exit_code, &id, &err) != 0)
        fail_msg("record: %s", err.msg);
    plan_free(plan);
    settings_free(&s);
    snapshot_free(snap);
    return id;
}

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);

    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void assert_integrity_ok(const char *path)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static struct history *open_store(const char *path)
{
    struct wva_error err = {0};
    struct history *h = NULL;

    if (history_open_ex(path, 0, &h, &err) != 0)
        fail_msg("open %s: %s", path, err.msg);
    return h;
}

/* A synthetic plan of n variants, 3 per model, for the size tests. */
static struct wva_plan *synthetic_plan(size_t n, const char *mode)
{
    struct wva_plan *plan = wva_xcalloc(1, sizeof(*plan));
    char buf[128];

    plan->mode = wva_xstrdup(mode);
    plan->captured_at = wva_xstrdup("2026-11-27T10:00:00Z");
    snprintf(plan->solver_status, sizeof(plan->solver_status), "optimal");
    plan->variants = wva_xcalloc(n, sizeof(*plan->variants));
    plan->variants_count = n;
    plan->models = wva_xcalloc(n / 3 + 1, sizeof(*plan->models));
    for (size_t i = 0; i < n; i++) {
        struct wva_plan_variant *v = &plan->variants[i];
        snprintf(buf, sizeof(buf), "team-%03zu", i / 300);
        v->namespace_name = wva_xstrdup(buf);
        snprintf(buf, sizeof(buf), "model-%05zu-variant-%zu", i / 3, i % 3);
        v->name = wva_xstrdup(buf);
        snprintf(buf, sizeof(buf), "org/model-%05zu", i / 3);
        v->model_id = wva_xstrdup(buf);
        v->accelerator = wva_xstrdup(i % 2 ? "H100" : "A100");
        v->current_replicas = 2;
        v->ready_replicas = 2;
        v->target_replicas = 3;
        v->action = WVA_ACTION_SCALE_UP;
        v->reason = wva_xstrdup("saturated: avgSpareKv 0.05 < kvSpareTrigger 0.1");
        if (i % 3 == 0) {
            struct wva_plan_model *m = &plan->models[plan->models_count++];
            m->namespace_name = wva_xstrdup(v->namespace_name);
            m->model_id = wva_xstrdup(v->model_id);
            m->analyzed = true;
            m->should_scale_up = true;
            m->avg_spare_kv = 0.05;
            config_default_thresholds(&m->thresholds);
        }
    }
    return plan;
}

static struct wva_snapshot *small_snapshot(void)
{
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));

    snap->captured_at = wva_xstrdup("2026-11-27T10:00:00Z");
    snap->captured_at_epoch = 1795773600;
    return snap;
}

/* ---- schema, DSN, open ---- */

static void test_schema_file_is_embedded(void **state)
{
    size_t len = 0;
    char *text = read_whole_file(source_path("sql/schema.sql"), &len);

    (void)state;
    assert_non_null(text);
    assert_int_equal(len, strlen(history_schema_sql()));
    assert_string_equal(text, history_schema_sql());
    assert_non_null(strstr(text, "PRAGMA user_version = 1;"));
    assert_int_equal(HISTORY_SCHEMA_VERSION, 1);
    free(text);
}

static void test_dsn_forms(void **state)
{
    struct wva_error err = {0};
    struct history *h;

    (void)state;
    assert_int_equal(history_check_dsn("sqlite:/var/lib/wva/history.db", &err), 0);
    assert_int_equal(history_check_dsn("sqlite:///var/lib/wva/history.db", &err), 0);
    assert_int_equal(history_check_dsn("/var/lib/wva/history.db", &err), 0);
    assert_int_equal(history_check_dsn("history.db", &err), 0);

    assert_int_equal(history_check_dsn("postgres://wva:hunter2@db:5432/wva", &err), -1);
    assert_non_null(strstr(err.msg, "unsupported DSN scheme \"postgres\""));
    assert_null(strstr(err.msg, "hunter2"));
    assert_int_equal(history_check_dsn("", &err), -1);
    assert_non_null(strstr(err.msg, "empty DSN"));
    assert_int_equal(history_check_dsn("sqlite:", &err), -1);
    assert_non_null(strstr(err.msg, "no path"));
    assert_int_equal(history_check_dsn("a\nb.db", &err), -1);
    assert_non_null(strstr(err.msg, "control"));

    h = history_open("mysql://root@localhost/wva", &err);
    assert_null(h);
    assert_non_null(strstr(err.msg, "\"mysql\""));

    /* Every spelling of the sqlite scheme opens the same file. */
    char dsn[600];
    snprintf(dsn, sizeof(dsn), "sqlite://%s", store_path("dsn.db"));
    h = open_store(dsn);
    history_close(h);
    snprintf(dsn, sizeof(dsn), "sqlite:%s", store_path("dsn.db"));
    h = open_store(dsn);
    history_close(h);
    assert_int_equal(raw_int(store_path("dsn.db"), "PRAGMA user_version"), 1);
    history_close(NULL);
}

static void test_open_creates_wal_store_and_reopens(void **state)
{
    const char *path = store_path("create.db");
    struct history *h;
    struct stat st;
    int64_t id;

    (void)state;
    assert_int_not_equal(stat(path, &st), 0);
    h = open_store(path);
    assert_int_equal(stat(path, &st), 0);
    id = record_fixture(h, source_path("examples/demo-snapshot.json"), "replay", 0, NULL, 0);
    assert_int_equal(id, 1);
    history_close(h);
    assert_int_equal(raw_int(path, "PRAGMA user_version"), HISTORY_SCHEMA_VERSION);

    /* Re-opening a current store is a no-op: same version, data kept, and
     * the journal stays WAL. */
    h = open_store(path);
    history_close(h);
    assert_int_equal(raw_int(path, "PRAGMA user_version"), HISTORY_SCHEMA_VERSION);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM runs"), 1);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM run_variants"), 6);
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void test_open_refuses_newer_schema(void **state)
{
    const char *path = store_path("future.db");
    struct wva_error err = {0};
    struct history *h = open_store(path);

    (void)state;
    history_close(h);
    raw_exec(path, "PRAGMA user_version = 99");
    assert_int_equal(history_open_ex(path, 0, &h, &err), -1);
    assert_null(h);
    assert_non_null(strstr(err.msg, "schema version 99 is newer than this program's 1"));
    assert_int_equal(history_open_ex(path, HISTORY_OPEN_READ_ONLY, &h, &err), -1);
    assert_non_null(strstr(err.msg, "schema version 99"));
    /* Refusing wrote nothing. */
    assert_int_equal(raw_int(path, "PRAGMA user_version"), 99);
}

static void test_open_refuses_foreign_files(void **state)
{
    const char *path = store_path("foreign.db");
    struct wva_error err = {0};
    struct history *h = NULL;
    FILE *f;

    (void)state;
    raw_exec(path, "CREATE TABLE accounts (id INTEGER)");
    assert_int_equal(history_open_ex(path, 0, &h, &err), -1);
    assert_non_null(strstr(err.msg, "not a wva-optimizer history store"));
    assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master"), 1);

    path = store_path("text.db");
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("this is a text file, not a database, long enough to have a header......\n"
          "more text more text more text more text more text more text more text\n", f);
    fclose(f);
    assert_int_equal(history_open_ex(path, 0, &h, &err), -1);
    assert_non_null(strstr(err.msg, "not a SQLite database"));
    assert_non_null(strstr(err.msg, path));
}

static void test_open_missing_and_unopenable(void **state)
{
    struct wva_error err = {0};
    struct history *h = NULL;

    (void)state;
    /* The history command never creates a store. */
    assert_int_equal(history_open_ex(store_path("absent.db"), HISTORY_OPEN_READ_ONLY, &h, &err),
                     -1);
    assert_non_null(strstr(err.msg, "does not exist"));
    assert_int_not_equal(access(store_path("absent.db"), F_OK), 0);

    /* A recording run whose store cannot be created degrades. */
    assert_int_equal(history_open_ex("/nonexistent-wva-dir/sub/history.db", 0, &h, &err),
                     HISTORY_DEGRADED);
    assert_null(h);
    assert_non_null(strstr(err.msg, "/nonexistent-wva-dir/sub/history.db: cannot open"));
}

/* ---- record, show, export ---- */

static void fill_report(struct actuate_report *r, const struct wva_plan *plan)
{
    memset(r, 0, sizeof(*r));
    r->variants = wva_xcalloc(plan->variants_count, sizeof(*r->variants));
    r->variants_count = plan->variants_count;
    for (size_t i = 0; i < plan->variants_count; i++) {
        const struct wva_plan_variant *v = &plan->variants[i];
        if (v->action == WVA_ACTION_SCALE_UP) {
            r->variants[i].scale = ACTUATE_SCALE_APPLIED;
            r->variants[i].applied = true;
            r->variants[i].events = 1;
            r->scale_applied++;
            r->events_created++;
        } else if (v->action == WVA_ACTION_SCALE_DOWN) {
            r->variants[i].scale = ACTUATE_SCALE_FAILED;
            r->scale_failed++;
        }
        if (v->skip == WVA_SKIP_NONE || !filter_skip_is_foreign(v->skip)) {
            r->variants[i].written_to = true;
            r->variants[i].status_written = true;
            r->status_written++;
        }
    }
}

static void test_record_and_show_round_trip(void **state)
{
    const char *path = store_path("roundtrip.db");
    struct history *h = open_store(path);
    struct wva_snapshot *snap = load_snapshot(source_path("examples/demo-snapshot.json"));
    struct wva_settings s;
    struct wva_error err = {0};
    struct actuate_report report;
    struct wva_plan *plan, *loaded;
    char *want, *got, *text;
    int64_t id = 0;
    json_object *doc, *run, *variants, *o;

    (void)state;
    plan = plan_snapshot(snap, &s, "live", NULL);
    fill_report(&report, plan);
    assert_int_equal(history_record_run(h, snap, plan, &report, 1795773601.25, 1795773603.5, 3,
                                        &id, &err), 0);
    assert_int_equal(id, 1);

    /* The rebuilt plan renders exactly like the original. */
    loaded = history_load_plan(h, id, &err);
    assert_non_null(loaded);
    want = plan_render_json(plan);
    got = plan_render_json(loaded);
    assert_string_equal(got, want);
    free(want);
    free(got);
    want = plan_render_table(plan);
    got = plan_render_table(loaded);
    assert_string_equal(got, want);
    free(got);

    /* show, table: the run line, the plan table, the actuation outcome. */
    text = history_render_run(h, id, WVA_OUTPUT_TABLE, &err);
    assert_non_null(text);
    assert_non_null(strstr(text, "run 1: live, captured 2024-11-27T09:33:20Z, "
                              "started 2026-11-27T10:00:01Z"));
    assert_non_null(strstr(text, "exit code 3"));
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "actuation: scale applied 1, failed 1, held 0"));
    assert_non_null(strstr(text, "scale failed: "));
    free(text);
    free(want);

    /* show, JSON: the plan document plus the run and per-variant actuation. */
    text = history_render_run(h, id, WVA_OUTPUT_JSON, &err);
    assert_non_null(text);
    doc = json_tokener_parse(text);
    assert_non_null(doc);
    assert_true(json_object_object_get_ex(doc, "kind", &o));
    assert_string_equal(json_object_get_string(o), "WVAPlan");
    assert_true(json_object_object_get_ex(doc, "mode", &o));
    assert_string_equal(json_object_get_string(o), "live");
    assert_true(json_object_object_get_ex(doc, "run", &run));
    assert_true(json_object_object_get_ex(run, "id", &o));
    assert_int_equal(json_object_get_int(o), 1);
    assert_true(json_object_object_get_ex(run, "exitCode", &o));
    assert_int_equal(json_object_get_int(o), 3);
    assert_true(json_object_object_get_ex(run, "durationSeconds", &o));
    assert_true(fabs(json_object_get_double(o) - 2.25) < 1e-9);
    assert_true(json_object_object_get_ex(run, "actuation", &o));
    assert_true(json_object_object_get_ex(o, "scaleApplied", &o));
    assert_int_equal(json_object_get_int(o), 1);
    assert_true(json_object_object_get_ex(doc, "variants", &variants));
    assert_int_equal(json_object_array_length(variants), plan->variants_count);
    for (size_t i = 0; i < plan->variants_count; i++) {
        json_object *v = json_object_array_get_idx(variants, i), *act, *scale;
        assert_true(json_object_object_get_ex(v, "actuation", &act));
        assert_true(json_object_object_get_ex(act, "scale", &scale));
        assert_string_equal(json_object_get_string(scale),
                            actuate_scale_name(report.variants[i].scale));
    }
    json_object_put(doc);
    free(text);

    plan_free(loaded);
    assert_null(history_load_plan(h, 42, &err));
    assert_non_null(strstr(err.msg, "no run 42"));
    actuate_report_free(&report);
    plan_free(plan);
    settings_free(&s);
    snapshot_free(snap);
    history_close(h);
}

static void test_warnings_round_trip(void **state)
{
    struct history *h = open_store(store_path("warnings.db"));
    struct wva_snapshot *snap =
        load_snapshot(fixture_path("scenarios/config-invalid-entry.json"));
    struct wva_settings s;
    struct wva_error err = {0};
    struct wva_plan *plan, *loaded;
    int64_t id = 0;

    (void)state;
    plan = plan_snapshot(snap, &s, "replay", NULL);
    assert_true(plan->warnings.count > 0);
    assert_int_equal(history_record_run(h, snap, plan, NULL, 1, 2, 0, &id, &err), 0);
    loaded = history_load_plan(h, id, &err);
    assert_non_null(loaded);
    assert_int_equal(loaded->warnings.count, plan->warnings.count);
    for (size_t i = 0; i < plan->warnings.count; i++)
        assert_string_equal(loaded->warnings.items[i], plan->warnings.items[i]);
    assert_int_equal(loaded->models_count, plan->models_count);
    assert_true(loaded->models[0].thresholds.scale_down_stabilization ==
                plan->models[0].thresholds.scale_down_stabilization);
    plan_free(loaded);
    plan_free(plan);
    settings_free(&s);
    snapshot_free(snap);
    history_close(h);
}

/* Export a recorded run and replay it: the same plan, for every scenario
 * fixture and the demo snapshot. */
static void export_replays(struct history *h, const char *path)
{
    struct wva_snapshot *snap = load_snapshot(path), *again = NULL;
    struct wva_settings s1, s2;
    struct wva_error err = {0};
    struct wva_plan *plan, *replayed;
    char *text, *want, *got;
    int64_t id = 0;

    plan = plan_snapshot(snap, &s1, "replay", NULL);
    if (history_record_run(h, snap, plan, NULL, 1, 2, 0, &id, &err) != 0)
        fail_msg("%s: %s", path, err.msg);
    text = history_load_snapshot(h, id, &err);
    assert_non_null(text);
    if (snapshot_parse(text, strlen(text), &again, &err) != 0)
        fail_msg("%s: exported snapshot does not parse: %s", path, err.msg);
    replayed = plan_snapshot(again, &s2, "replay", NULL);
    plan->solver_seconds = replayed->solver_seconds = 0;
    want = plan_render_json(plan);
    got = plan_render_json(replayed);
    if (strcmp(want, got) != 0)
        fail_msg("%s: the exported snapshot replays to another plan:\n%s\n---\n%s", path, want,
                 got);
    free(want);
    free(got);
    free(text);
    plan_free(plan);
    plan_free(replayed);
    settings_free(&s1);
    settings_free(&s2);
    snapshot_free(snap);
    snapshot_free(again);
}

static void test_export_replays_to_the_same_plan(void **state)
{
    struct history *h = open_store(store_path("export.db"));
    char dir_path[4096];
    DIR *dir;
    struct dirent *de;
    int n = 0;

    (void)state;
    export_replays(h, source_path("examples/demo-snapshot.json"));
    snprintf(dir_path, sizeof(dir_path), "%s", fixture_path("scenarios"));
    dir = opendir(dir_path);
    assert_non_null(dir);
    while ((de = readdir(dir)) != NULL) {
        char path[4600];
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir_path, de->d_name);
        export_replays(h, path);
        n++;
    }
    closedir(dir);
    assert_true(n >= 10);
    history_close(h);
}

/* ---- runs, find ---- */

static void test_runs_listing(void **state)
{
    struct history *h = open_store(store_path("runs.db"));
    struct wva_snapshot *snap = load_snapshot(source_path("examples/demo-snapshot.json"));
    struct wva_settings s;
    struct wva_error err = {0};
    struct actuate_report report;
    struct wva_plan *plan;
    char *text;
    json_object *doc, *runs, *r, *o;

    (void)state;
    text = history_render_runs(h, WVA_OUTPUT_TABLE, &err);
    assert_string_equal(text, "no runs recorded\n");
    free(text);

    plan = plan_snapshot(snap, &s, "live", NULL);
    fill_report(&report, plan);
    assert_int_equal(history_record_run(h, snap, plan, &report, 1795773600, 1795773602, 0, NULL,
                                        &err), 0);
    free(plan->mode);
    plan->mode = wva_xstrdup("dry-run");
    assert_int_equal(history_record_run(h, snap, plan, NULL, 1795773660, 1795773661, 1, NULL,
                                        &err), 0);

    text = history_render_runs(h, WVA_OUTPUT_JSON, &err);
    assert_non_null(text);
    doc = json_tokener_parse(text);
    assert_non_null(doc);
    assert_true(json_object_object_get_ex(doc, "kind", &o));
    assert_string_equal(json_object_get_string(o), "WVAHistoryRuns");
    assert_true(json_object_object_get_ex(doc, "total", &o));
    assert_int_equal(json_object_get_int(o), 2);
    assert_true(json_object_object_get_ex(doc, "runs", &runs));
    assert_int_equal(json_object_array_length(runs), 2);
    r = json_object_array_get_idx(runs, 0);     /* oldest first */
    assert_true(json_object_object_get_ex(r, "id", &o));
    assert_int_equal(json_object_get_int(o), 1);
    assert_true(json_object_object_get_ex(r, "mode", &o));
    assert_string_equal(json_object_get_string(o), "live");
    assert_true(json_object_object_get_ex(r, "startedAt", &o));
    assert_string_equal(json_object_get_string(o), "2026-11-27T10:00:00Z");
    assert_true(json_object_object_get_ex(r, "variants", &o));
    assert_int_equal(json_object_get_int(o), 6);
    assert_true(json_object_object_get_ex(r, "scaledUp", &o));
    assert_int_equal(json_object_get_int(o), 1);
    assert_true(json_object_object_get_ex(r, "scaledDown", &o));
    assert_int_equal(json_object_get_int(o), 1);
    assert_true(json_object_object_get_ex(r, "skipped", &o));
    assert_int_equal(json_object_get_int(o), 2);
    assert_true(json_object_object_get_ex(r, "actuation", &o));
    assert_non_null(o);
    r = json_object_array_get_idx(runs, 1);
    assert_true(json_object_object_get_ex(r, "mode", &o));
    assert_string_equal(json_object_get_string(o), "dry-run");
    assert_true(json_object_object_get_ex(r, "exitCode", &o));
    assert_int_equal(json_object_get_int(o), 1);
    assert_true(json_object_object_get_ex(r, "actuation", &o));
    assert_null(o);
    json_object_put(doc);
    free(text);

    text = history_render_runs(h, WVA_OUTPUT_TABLE, &err);
    assert_non_null(text);
    assert_non_null(strstr(text, "RUN     STARTED"));
    assert_non_null(strstr(text, "\n1       2026-11-27T10:00:00Z  live        0         6"));
    assert_non_null(strstr(text, "\n2       2026-11-27T10:01:00Z  dry-run     1"));
    free(text);

    actuate_report_free(&report);
    plan_free(plan);
    settings_free(&s);
    snapshot_free(snap);
    history_close(h);
}

/* No output of the history command is invalid JSON, and no recorded text
 * is cut: a run whose times are infinite (a duration of NaN) shows a
 * duration of 0, as the plan shows a non-finite number, and a capturedAt
 * longer than any fixed buffer comes back whole. */
static void test_runs_listing_numbers_and_long_text(void **state)
{
    struct history *h = open_store(store_path("runs-nan.db"));
    struct wva_snapshot *snap = load_snapshot(source_path("examples/demo-snapshot.json"));
    struct wva_settings s;
    struct wva_error err = {0};
    struct wva_plan *plan;
    char long_text[200];
    char *text;
    json_object *doc, *runs, *r, *o;
    int64_t id = 0;

    (void)state;
    memset(long_text, 'c', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    plan = plan_snapshot(snap, &s, "replay", NULL);
    free(plan->captured_at);
    plan->captured_at = wva_xstrdup(long_text);
    assert_int_equal(history_record_run(h, snap, plan, NULL, INFINITY, INFINITY, 0, &id, &err),
                     0);

    text = history_render_runs(h, WVA_OUTPUT_JSON, &err);
    assert_non_null(text);
    doc = json_tokener_parse(text);
    if (!doc)
        fail_msg("not JSON: %s", text);
    assert_true(json_object_object_get_ex(doc, "runs", &runs));
    r = json_object_array_get_idx(runs, 0);
    assert_true(json_object_object_get_ex(r, "durationSeconds", &o));
    assert_true(json_object_get_double(o) == 0);
    assert_true(json_object_object_get_ex(r, "capturedAt", &o));
    assert_string_equal(json_object_get_string(o), long_text);
    json_object_put(doc);
    free(text);

    text = history_render_run(h, id, WVA_OUTPUT_JSON, &err);
    assert_non_null(text);
    doc = json_tokener_parse(text);
    if (!doc)
        fail_msg("not JSON: %s", text);
    assert_true(json_object_object_get_ex(doc, "run", &r));
    assert_true(json_object_object_get_ex(r, "durationSeconds", &o));
    assert_true(json_object_get_double(o) == 0);
    assert_true(json_object_object_get_ex(doc, "capturedAt", &o));
    assert_string_equal(json_object_get_string(o), long_text);
    json_object_put(doc);
    free(text);

    plan_free(plan);
    settings_free(&s);
    snapshot_free(snap);
    history_close(h);
}

static void test_runs_listing_is_bounded(void **state)
{
    struct history *h = open_store(store_path("many.db"));
    struct wva_snapshot *snap = small_snapshot();
    struct wva_plan *plan = synthetic_plan(3, "replay");
    struct wva_error err = {0};
    char *text;

    (void)state;
    for (int i = 0; i < HISTORY_RUNS_LIMIT + 5; i++)
        assert_int_equal(history_record_run(h, snap, plan, NULL, i, i, 0, NULL, &err), 0);
    text = history_render_runs(h, WVA_OUTPUT_TABLE, &err);
    assert_non_null(strstr(text, "(the newest 100 of 105 runs)"));
    assert_null(strstr(text, "\n5       "));
    assert_non_null(strstr(text, "\n6       "));
    assert_non_null(strstr(text, "\n105     "));
    free(text);
    plan_free(plan);
    snapshot_free(snap);
    history_close(h);
}

static void test_find_run(void **state)
{
    struct history *h = open_store(store_path("find.db"));
    struct wva_snapshot *snap = small_snapshot();
    struct wva_plan *plan = synthetic_plan(3, "replay");
    struct wva_error err = {0};
    int64_t id = 0;

    (void)state;
    assert_int_equal(history_find_run(h, "last", &id, &err), -1);
    assert_non_null(strstr(err.msg, "no run recorded yet"));
    for (int i = 0; i < 3; i++)
        assert_int_equal(history_record_run(h, snap, plan, NULL, i, i, 0, NULL, &err), 0);
    assert_int_equal(history_find_run(h, "last", &id, &err), 0);
    assert_int_equal(id, 3);
    assert_int_equal(history_find_run(h, "2", &id, &err), 0);
    assert_int_equal(id, 2);
    assert_int_equal(history_find_run(h, "99", &id, &err), -1);
    assert_non_null(strstr(err.msg, "no run 99"));
    const char *bad[] = {"abc", "0", "-1", "+2", "2x", " 2", "99999999999999999999999", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.msg[0] = '\0';
        assert_int_equal(history_find_run(h, bad[i], &id, &err), -1);
        assert_true(strstr(err.msg, "not a run id") || strstr(err.msg, "missing run id"));
    }
    plan_free(plan);
    snapshot_free(snap);
    history_close(h);
}

static void test_prune_old_runs(void **state)
{
    const char *path = store_path("prune.db");
    struct history *h = open_store(path);
    struct wva_snapshot *snap = small_snapshot();
    struct wva_plan *plan = synthetic_plan(6, "live");
    struct wva_error err = {0};
    double t0 = snap->captured_at_epoch;
    int64_t deleted = -1;

    (void)state;
    for (int i = 0; i < 5; i++) {
        snap->captured_at_epoch = t0 + 3600.0 * i;
        assert_int_equal(history_record_run(h, snap, plan, NULL, i, i, 0, NULL, &err), 0);
    }
    /* Runs 1-3 are older than t0 + 2.5h; run 3 stays as one of the newest 3. */
    assert_int_equal(history_prune(h, t0 + 9000, 3, &deleted, &err), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(raw_int(path, "SELECT min(id) FROM runs"), 3);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM run_variants"), 3 * 6);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM run_snapshots"), 3);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM scale_ups WHERE run_id < 3"), 0);
    assert_true(history_last_scale_up(h, "team-000", "org/model-00000", t0 + 7200) < 0);
    assert_int_equal(history_prune(h, INFINITY, 0, &deleted, &err), 0);
    assert_int_equal(deleted, 3);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM run_models"), 0);
    assert_int_equal(history_prune(h, INFINITY, -1, &deleted, &err), -1);
    /* Ids are never reused. */
    int64_t id = 0;
    assert_int_equal(history_record_run(h, snap, plan, NULL, 9, 9, 0, &id, &err), 0);
    assert_int_equal(id, 6);
    history_close(h);
    assert_integrity_ok(path);
    plan_free(plan);
    snapshot_free(snap);
}

/* ---- stabilization window ---- */

static void test_last_scale_up(void **state)
{
    struct history *h = open_store(store_path("scaleup.db"));
    const char *up = fixture_path("scenarios/analysis-scale-up.json");
    double t;
    struct wva_snapshot *snap = load_snapshot(up);

    (void)state;
    t = snap->captured_at_epoch;
    snapshot_free(snap);
    assert_true(history_last_scale_up(h, "team-a", "m", INFINITY) < 0);

    record_fixture(h, up, "live", -600, NULL, 0);
    record_fixture(h, up, "live", -120, NULL, 0);
    /* Dry runs and replays recommend nothing to the cluster. */
    record_fixture(h, up, "dry-run", -60, NULL, 0);
    record_fixture(h, up, "replay", -30, NULL, 0);
    /* A run that did not recommend a scale-up. */
    record_fixture(h, fixture_path("scenarios/analysis-scale-down.json"), "live", -10, NULL, 0);

    assert_true(history_last_scale_up(h, "team-a", "m", t) == t - 120);
    assert_true(history_last_scale_up(h, "team-a", "m", INFINITY) == t - 120);
    /* Strictly before the bound: what a run captured at t - 120 saw. */
    assert_true(history_last_scale_up(h, "team-a", "m", t - 120) == t - 600);
    assert_true(history_last_scale_up(h, "team-a", "m", t - 600) < 0);
    assert_true(history_last_scale_up(h, "team-b", "m", t) < 0);
    assert_true(history_last_scale_up(h, "team-a", "other", t) < 0);
    assert_true(history_last_scale_up(NULL, "team-a", "m", t) < 0);

    /* The engine hook answers the same question with the snapshot's time. */
    struct engine_history hook;
    history_engine_hook(h, t, &hook);
    assert_non_null(hook.last_scale_up);
    assert_true(hook.last_scale_up("team-a", "m", hook.ctx) == t - 120);
    history_engine_hook(NULL, t, &hook);
    assert_null(hook.last_scale_up);
    assert_null(hook.ctx);
    history_close(h);
}

static void test_history_holds_scale_down_in_window(void **state)
{
    struct history *h = open_store(store_path("window.db"));
    const char *down = fixture_path("scenarios/analysis-scale-down.json");
    struct wva_snapshot *snap = load_snapshot(down);
    struct wva_settings s;
    struct engine_history hook;
    struct wva_plan *plan;

    (void)state;
    /* Without history the model shrinks. */
    plan = plan_snapshot(snap, &s, "replay", NULL);
    assert_int_equal(plan->variants[0].action, WVA_ACTION_SCALE_DOWN);
    plan_free(plan);
    settings_free(&s);

    /* A live scale-up 2 minutes earlier holds it (default window 5m). */
    record_fixture(h, fixture_path("scenarios/analysis-scale-up.json"), "live", -120, NULL, 0);
    history_engine_hook(h, snap->captured_at_epoch, &hook);
    plan = plan_snapshot(snap, &s, "live", &hook);
    assert_int_equal(plan->variants[0].action, WVA_ACTION_NO_CHANGE);
    assert_non_null(strstr(plan->variants[0].reason, "stabilization window"));
    assert_non_null(strstr(plan->variants[0].reason, "120s ago"));
    plan_free(plan);
    settings_free(&s);

    /* Ten minutes later the window has passed. */
    snap->captured_at_epoch += 600;
    history_engine_hook(h, snap->captured_at_epoch, &hook);
    plan = plan_snapshot(snap, &s, "live", &hook);
    assert_int_equal(plan->variants[0].action, WVA_ACTION_SCALE_DOWN);
    plan_free(plan);
    settings_free(&s);
    snapshot_free(snap);
    history_close(h);
}

/* ---- the command ---- */

/* Run history_command with stdout captured into a file; returns the exit
 * code and the output in *out (caller frees). */
static int run_command(const char *dsn, const char *sub, const char *run, enum wva_output output,
                       char **out)
{
    struct wva_settings s;
    char capture[600];
    int saved, fd, rc;

    memset(&s, 0, sizeof(s));
    s.command = WVA_CMD_HISTORY;
    s.history = (char *)dsn;
    s.history_subcommand = (char *)sub;
    s.history_run = (char *)run;
    s.output = output;
    snprintf(capture, sizeof(capture), "%s/stdout.txt", tmp_dir);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    fd = open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    rc = history_command(&s);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    *out = read_whole_file(capture, NULL);
    return rc;
}

static void test_history_command(void **state)
{
    const char *path = store_path("command.db");
    struct history *h = open_store(path);
    char *out = NULL, *stored;
    struct wva_error err = {0};
    char dsn[600];

    (void)state;
    record_fixture(h, source_path("examples/demo-snapshot.json"), "live", 0, NULL, 0);
    record_fixture(h, fixture_path("scenarios/analysis-scale-up.json"), "replay", 0, NULL, 0);
    stored = history_load_snapshot(h, 2, &err);
    assert_non_null(stored);
    history_close(h);
    snprintf(dsn, sizeof(dsn), "sqlite:%s", path);

    assert_int_equal(run_command(dsn, "runs", NULL, WVA_OUTPUT_TABLE, &out), 0);
    assert_non_null(strstr(out, "RUN "));
    assert_non_null(strstr(out, "\n2 "));
    free(out);
    assert_int_equal(run_command(dsn, "show", "1", WVA_OUTPUT_TABLE, &out), 0);
    assert_non_null(strstr(out, "run 1: live"));
    free(out);
    assert_int_equal(run_command(dsn, "show", "last", WVA_OUTPUT_JSON, &out), 0);
    assert_non_null(strstr(out, "\"kind\": \"WVAPlan\""));
    assert_non_null(strstr(out, "\"mode\": \"replay\""));
    free(out);
    /* export prints the stored snapshot as it is. */
    assert_int_equal(run_command(dsn, "export", "2", WVA_OUTPUT_TABLE, &out), 0);
    assert_int_equal(strncmp(out, stored, strlen(stored)), 0);
    free(out);

    /* Usage and configuration errors: exit 2, nothing on stdout. */
    assert_int_equal(run_command(dsn, "show", "7", WVA_OUTPUT_TABLE, &out), 2);
    assert_string_equal(out, "");
    free(out);
    assert_int_equal(run_command(dsn, "export", "abc", WVA_OUTPUT_TABLE, &out), 2);
    free(out);
    assert_int_equal(run_command(store_path("nothing-here.db"), "runs", NULL, WVA_OUTPUT_TABLE,
                                 &out), 2);
    free(out);
    assert_int_equal(access(store_path("nothing-here.db"), F_OK), -1);
    assert_int_equal(run_command("postgres://u:p@h/db", "runs", NULL, WVA_OUTPUT_TABLE, &out), 2);
    free(out);
    assert_int_equal(run_command(NULL, "runs", NULL, WVA_OUTPUT_TABLE, &out), 2);
    free(out);
    assert_int_equal(run_command(dsn, "frobnicate", NULL, WVA_OUTPUT_TABLE, &out), 2);
    free(out);
    free(stored);
}

/* ---- secrets ---- */

static bool file_contains(const char *path, const char *needle)
{
    size_t len = 0;
    char *data = read_whole_file(path, &len);
    bool found;

    if (!data)
        return false;
    found = memmem(data, len, needle, strlen(needle)) != NULL;
    free(data);
    return found;
}

static void test_secrets_never_stored(void **state)
{
    const char *path = store_path("secrets.db");
    const char *token = "eyJhbGciOiJSUzI1NiJ9.super-secret-bearer-token";
    struct history *h = open_store(path);
    struct wva_snapshot *snap = load_snapshot(source_path("examples/demo-snapshot.json"));
    struct wva_settings s;
    struct wva_error err = {0};
    struct wva_plan *plan;
    char wal[600], *exported;

    (void)state;
    plan = plan_snapshot(snap, &s, "live", NULL);
    /* A live run with a token in its settings, exported the way live.c
     * does, plus a replayed file that carries secrets in "settings". */
    s.prometheus_bearer_token = wva_xstrdup(token);
    settings_export(&s, &snap->settings);
    wva_kvlist_set(&snap->settings, "PROMETHEUS_BEARER_TOKEN", token);
    wva_kvlist_set(&snap->settings, "WVA_HISTORY", "postgres://wva:db-password-xyz@db/wva");
    wva_kvlist_set(&snap->settings, "PROMETHEUS_CLIENT_KEY_PATH", "/secret/key-path-xyz.pem");
    assert_int_equal(history_record_run(h, snap, plan, NULL, 1, 2, 0, NULL, &err), 0);
    exported = history_load_snapshot(h, 1, &err);
    assert_non_null(exported);
    assert_null(strstr(exported, token));
    assert_null(strstr(exported, "PROMETHEUS_BEARER_TOKEN"));
    assert_null(strstr(exported, "db-password-xyz"));
    assert_null(strstr(exported, "key-path-xyz"));
    /* The non-secret settings are kept (the replay needs them). */
    assert_non_null(strstr(exported, "GLOBAL_OPT_INTERVAL"));
    free(exported);
    history_close(h);

    /* Not anywhere in the files either (the search would find them: the
     * store is not compressed, as the non-secret setting shows). */
    snprintf(wal, sizeof(wal), "%s-wal", path);
    assert_true(file_contains(path, "GLOBAL_OPT_INTERVAL") ||
                file_contains(wal, "GLOBAL_OPT_INTERVAL"));
    assert_false(file_contains(path, token));
    assert_false(file_contains(wal, token));
    assert_false(file_contains(path, "db-password-xyz"));
    assert_false(file_contains(path, "key-path-xyz"));
    plan_free(plan);
    settings_free(&s);
    snapshot_free(snap);
}

/* ---- degraded stores ---- */

/* Tests run as root, where file modes do not stop writes; a store opened
 * read-only gets exactly the SQLITE_READONLY a read-only mount gives. */
static void test_read_only_store_degrades(void **state)
{
    const char *path = store_path("readonly.db");
    struct history *h = open_store(path);
    struct wva_snapshot *snap = small_snapshot();
    struct wva_plan *plan = synthetic_plan(6, "live");
    struct wva_error err = {0};
    int64_t id = 0;

    (void)state;
    assert_int_equal(history_record_run(h, snap, plan, NULL, 1, 2, 0, &id, &err), 0);
    history_close(h);
    assert_int_equal(history_open_ex(path, HISTORY_OPEN_READ_ONLY, &h, &err), 0);
    assert_int_equal(history_record_run(h, snap, plan, NULL, 3, 4, 0, &id, &err),
                     HISTORY_DEGRADED);
    assert_non_null(strstr(err.msg, "cannot record the run"));
    assert_non_null(strstr(err.msg, "readonly"));
    /* Reading still works. */
    assert_true(history_last_scale_up(h, "team-000", "org/model-00000", INFINITY) ==
                snap->captured_at_epoch);
    history_close(h);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM runs"), 1);
    assert_integrity_ok(path);
    plan_free(plan);
    snapshot_free(snap);
}

/* A full disk, for real: a file size limit makes the writes of a large run
 * fail in a child process (EFBIG, as ENOSPC would). */
static void test_full_disk_degrades(void **state)
{
    const char *path = store_path("full.db");
    struct history *h = open_store(path);
    struct wva_snapshot *snap = small_snapshot();
    struct wva_plan *small = synthetic_plan(3, "live");
    struct wva_plan *big = synthetic_plan(4000, "live");
    struct wva_error err = {0};
    int pipefd[2], status;
    char msg[WVA_ERROR_MAX] = "";
    pid_t pid;

    (void)state;
    assert_int_equal(history_record_run(h, snap, small, NULL, 1, 2, 0, NULL, &err), 0);
    history_close(h);
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit lim = {256 * 1024, 256 * 1024};
        struct history *ch = NULL;
        int rc;
        close(pipefd[0]);
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &lim);
        rc = history_open_ex(path, 0, &ch, &err);
        if (rc == 0)
            rc = history_record_run(ch, snap, big, NULL, 3, 4, 0, NULL, &err);
        if (write(pipefd[1], err.msg, strlen(err.msg)) < 0)
            rc = 20;
        history_close(ch);
        /* Free what the child inherited: valgrind checks its leaks too. */
        plan_free(small);
        plan_free(big);
        snapshot_free(snap);
        _exit(rc == HISTORY_DEGRADED ? 0 : 10 + rc);
    }
    close(pipefd[1]);
    ssize_t n = read(pipefd[0], msg, sizeof(msg) - 1);
    close(pipefd[0]);
    msg[n > 0 ? n : 0] = '\0';
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child: status %d, message: %s", status, msg);
    assert_non_null(strstr(msg, "cannot record the run"));
    assert_true(strstr(msg, "full") || strstr(msg, "I/O"));

    /* The store is intact and the failed run absent; it works again once
     * there is room. */
    h = open_store(path);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM runs"), 1);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM run_variants"), 3);
    assert_integrity_ok(path);
    int64_t id = 0;
    assert_int_equal(history_record_run(h, snap, small, NULL, 5, 6, 0, &id, &err), 0);
    assert_int_equal(id, 2);
    history_close(h);
    plan_free(small);
    plan_free(big);
    snapshot_free(snap);
}

/* ---- crash and concurrency ---- */

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* A writer killed in the middle of recording a run: its uncommitted pages
 * have reached the WAL file, yet the store opens clean without them. */
static void test_crash_mid_run_leaves_no_trace(void **state)
{
    const char *path = store_path("crash.db");
    struct history *h = open_store(path);
    struct wva_snapshot *snap = small_snapshot();
    struct wva_plan *small = synthetic_plan(3, "live");
    struct wva_plan *huge = synthetic_plan(40000, "live");
    struct wva_error err = {0};
    char wal[600];
    off_t wal_at_kill = 0;
    int status;
    pid_t pid;

    (void)state;
    assert_int_equal(history_record_run(h, snap, small, NULL, 1, 2, 0, NULL, &err), 0);
    history_close(h);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct history *ch = open_store(path);
        history_record_run(ch, snap, huge, NULL, 3, 4, 0, NULL, &err);
        history_close(ch);
        plan_free(small);
        plan_free(huge);
        snapshot_free(snap);
        _exit(3);   /* finished: the kill came too late */
    }
    double give_up = now_seconds() + (UNDER_VALGRIND ? 300 : 30);
    while (now_seconds() < give_up) {
        wal_at_kill = file_size(wal);
        if (wal_at_kill > 1024 * 1024)
            break;
        usleep(500);
    }
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_true(wal_at_kill > 1024 * 1024);

    h = open_store(path);
    assert_integrity_ok(path);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM runs"), 1);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM run_variants"), 3);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM scale_ups"), 1);
    int64_t id = 0;
    assert_int_equal(history_record_run(h, snap, small, NULL, 5, 6, 0, &id, &err), 0);
    assert_int_equal(id, 2);
    history_close(h);
    plan_free(small);
    plan_free(huge);
    snapshot_free(snap);
}

static void test_concurrent_writers(void **state)
{
    enum { WRITERS = 4, RUNS = 20 };
    const char *path = store_path("concurrent.db");
    struct history *h = open_store(path);
    struct wva_snapshot *snap = load_snapshot(source_path("examples/demo-snapshot.json"));
    struct wva_settings s;
    struct wva_plan *plan;
    pid_t pids[WRITERS];

    (void)state;
    history_close(h);
    plan = plan_snapshot(snap, &s, "live", NULL);
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            struct wva_error err = {0};
            struct history *ch = NULL;
            int failures = 0;
            if (history_open_ex(path, 0, &ch, &err) != 0)
                failures = RUNS;
            for (int r = 0; ch && r < RUNS; r++) {
                if (history_record_run(ch, snap, plan, NULL, w, r, w, NULL, &err) != 0) {
                    fprintf(stderr, "writer %d: %s\n", w, err.msg);
                    failures++;
                }
            }
            history_close(ch);
            plan_free(plan);
            settings_free(&s);
            snapshot_free(snap);
            _exit(failures);
        }
    }
    for (int w = 0; w < WRITERS; w++) {
        int status;
        assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(raw_int(path, "SELECT count(*) FROM runs"), WRITERS * RUNS);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM run_snapshots"), WRITERS * RUNS);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM run_variants"),
                     (int64_t)(WRITERS * RUNS * plan->variants_count));
    for (int w = 0; w < WRITERS; w++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM runs WHERE exit_code = %d", w);
        assert_int_equal(raw_int(path, sql), RUNS);
    }
    assert_integrity_ok(path);
    plan_free(plan);
    settings_free(&s);
    snapshot_free(snap);
}

/* ---- size ---- */

static void test_record_10000_variants_quickly(void **state)
{
    const char *path = store_path("big.db");
    struct history *h = open_store(path);
    struct wva_snapshot *snap = small_snapshot();
    /* Valgrind checks the same code on a smaller run. */
    size_t n = UNDER_VALGRIND ? 1000 : 10000;
    struct wva_plan *plan = synthetic_plan(n, "live");
    struct wva_error err = {0};
    double t0, t1, t2;
    int64_t id = 0;

    (void)state;
    t0 = now_seconds();
    assert_int_equal(history_record_run(h, snap, plan, NULL, 1, 2, 0, &id, &err), 0);
    t1 = now_seconds();
    /* Every model's lookup, as the engine would do them. */
    for (size_t i = 0; i < plan->models_count; i++)
        assert_true(history_last_scale_up(h, plan->models[i].namespace_name,
                                          plan->models[i].model_id, INFINITY) ==
                    snap->captured_at_epoch);
    t2 = now_seconds();
    print_message("recorded %zu variants in %.3f s; %zu last_scale_up lookups in %.3f s\n", n,
                  t1 - t0, plan->models_count, t2 - t1);
    /* About 0.3 s at -O2 on a loaded 2-CPU machine; generous for the
     * sanitizers (several times slower) and valgrind. */
    assert_true(t1 - t0 < (UNDER_VALGRIND ? 120.0 : 5.0));
    history_close(h);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM run_variants"), (int64_t)n);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM run_models"), (int64_t)plan->models_count);
    plan_free(plan);
    snapshot_free(snap);
}

/* ---- setup ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/wva-history-test-XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_file_is_embedded),
        cmocka_unit_test(test_dsn_forms),
        cmocka_unit_test(test_open_creates_wal_store_and_reopens),
        cmocka_unit_test(test_open_refuses_newer_schema),
        cmocka_unit_test(test_open_refuses_foreign_files),
        cmocka_unit_test(test_open_missing_and_unopenable),
        cmocka_unit_test(test_record_and_show_round_trip),
        cmocka_unit_test(test_warnings_round_trip),
        cmocka_unit_test(test_export_replays_to_the_same_plan),
        cmocka_unit_test(test_runs_listing),
        cmocka_unit_test(test_runs_listing_numbers_and_long_text),
        cmocka_unit_test(test_runs_listing_is_bounded),
        cmocka_unit_test(test_find_run),
        cmocka_unit_test(test_prune_old_runs),
        cmocka_unit_test(test_last_scale_up),
        cmocka_unit_test(test_history_holds_scale_down_in_window),
        cmocka_unit_test(test_history_command),
        cmocka_unit_test(test_secrets_never_stored),
        cmocka_unit_test(test_read_only_store_degrades),
        cmocka_unit_test(test_full_disk_degrades),
        cmocka_unit_test(test_crash_mid_run_leaves_no_trace),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_record_10000_variants_quickly),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
