/* history_store.h - the history store (SPEC section 2, `--history DSN`): every
 * run's plan, actuation results and snapshot, in SQLite.
 *
 * The store answers two kinds of question: the engine's "when was the
 * newest scale-up of this model?" (the scale-down stabilization window),
 * and the reads behind people's `history runs | show RUN | export RUN`
 * (whose rendering is history.h's).  Implemented in history_store.c.
 *
 * A history store must never fail a scaling run: failures caused by the
 * environment (read-only or full disk, I/O errors, a file that cannot be
 * opened, a writer holding the lock too long) are reported as
 * HISTORY_DEGRADED so that the caller logs a warning and carries on.
 * Everything of one run is written in one transaction (WAL journal), so a
 * crash or a concurrent writer never leaves a partial run behind.
 */
#ifndef WVA_HISTORY_STORE_H
#define WVA_HISTORY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wva/actuate.h"
#include "wva/engine.h"
#include "wva/error.h"
#include "wva/plan.h"
#include "wva/settings.h"
#include "wva/snapshot.h"

/* The schema version this build writes (PRAGMA user_version). */
#define HISTORY_SCHEMA_VERSION 1

/* Return value of history_open_ex() and history_record_run(): the store is
 * unusable for an environmental reason; err says which.  Log a warning,
 * never fail the run for it. */
#define HISTORY_DEGRADED 1

/* How long a writer waits for another one before giving up (degraded). */
#define HISTORY_BUSY_TIMEOUT_MS 5000

/* `history runs` lists at most this many runs, the newest ones. */
#define HISTORY_RUNS_LIMIT 100

struct history;

enum history_open_flags {
    /* Open an existing store for reading (the history command): a missing
     * file is an error, nothing is created, migrated or written. */
    HISTORY_OPEN_READ_ONLY = 1,
};

/* Check the syntax of a DSN: "sqlite:PATH", "sqlite://PATH" or a plain
 * PATH.  Any other scheme ("postgres://...") is refused with a message
 * naming the scheme (never the whole DSN, which may hold a password).
 * Returns 0 or -1 with err. */
int history_check_dsn(const char *dsn, struct wva_error *err);

/* Open the store named by dsn.  Without HISTORY_OPEN_READ_ONLY, creates
 * the file and schema when missing and upgrades an older schema; switches
 * to WAL, waits up to HISTORY_BUSY_TIMEOUT_MS for other writers, enforces
 * foreign keys.  Returns:
 *   0                 *out is the store (close with history_close);
 *   HISTORY_DEGRADED  environmental failure (cannot create or open the
 *                     file, read-only or full disk, I/O error, busy);
 *                     *out is NULL, err says why;
 *   -1                configuration error: bad DSN, not a history store,
 *                     a schema newer than this build, or (read-only) the
 *                     file does not exist; *out is NULL, err says why. */
int history_open_ex(const char *dsn, unsigned flags, struct history **out,
                    struct wva_error *err);

/* history_open_ex(dsn, 0, ...) for callers that only need "store or not":
 * NULL with err on any failure. */
struct history *history_open(const char *dsn, struct wva_error *err);

/* Close the store (the last connection checkpoints the WAL).  NULL is a
 * no-op. */
void history_close(struct history *h);

/* Record one run in one transaction: the runs row (times, mode, capturedAt,
 * solver, exit code, counts), the models' analysis, the variants'
 * observations and decisions, the warnings, the snapshot (snapshot_to_json,
 * with any secret-valued setting removed) and, when report is not NULL,
 * the actuation results (per variant when report->variants_count equals
 * plan->variants_count).  started/finished are epoch seconds.  On success
 * *run_id (may be NULL) is the new run's id.
 * Returns 0; HISTORY_DEGRADED with err (disk full, read-only, I/O error,
 * busy): nothing of the run is stored, log a warning and carry on; -1 with
 * err for other errors (bad arguments, corrupt store). */
int history_record_run(struct history *h, const struct wva_snapshot *snap,
                       const struct wva_plan *plan, const struct actuate_report *report,
                       double started, double finished, int exit_code, int64_t *run_id,
                       struct wva_error *err);

/* For the runs themselves, which a history problem must never fail: open
 * the store named by dsn (NULL or "" = none) and return it, or log why not
 * (a warning when degraded, an error otherwise) and return NULL. */
struct history *history_open_for_run(const char *dsn);

/* history_record_run() for the runs: failures are logged (a warning when
 * degraded), never returned.  h NULL or plan NULL records nothing. */
void history_record_or_log(struct history *h, const struct wva_snapshot *snap,
                           const struct wva_plan *plan, const struct actuate_report *report,
                           double started, double finished, int exit_code);

/* Retention: delete the runs captured before `before` (epoch seconds),
 * with everything recorded for them, but never the newest `keep_newest`
 * runs.  Freed pages are reused by later runs, so a store pruned on a
 * schedule stops growing.  *deleted (may be NULL) is the number of runs
 * deleted.  Returns 0, HISTORY_DEGRADED or -1 with err as
 * history_record_run().  Nothing calls it by default: how long to keep
 * history is an operator's choice (see the README). */
int history_prune(struct history *h, double before, int64_t keep_newest, int64_t *deleted,
                  struct wva_error *err);

/* Epoch seconds (capturedAt) of the newest *live* run captured strictly
 * before `before` that recommended a scale-up for the model (its
 * shouldScaleUp, or a variant of it with action scale-up); -1 when there is
 * none or the store cannot be read.  Dry runs and replays are recorded but
 * never count: they changed nothing in the cluster.  Pass INFINITY for no
 * bound. */
double history_last_scale_up(struct history *h, const char *ns, const char *model_id,
                             double before);

/* Fill *out for engine_plan(): last_scale_up answers with
 * history_last_scale_up(h, ns, model, before), where before is the
 * snapshot's captured_at_epoch, so that replaying a recorded snapshot
 * against the same store sees exactly what the recorded run saw.  h NULL
 * gives an empty hook (no history).  h must outlive the engine_plan call. */
void history_engine_hook(struct history *h, double before, struct engine_history *out);

/* The run id named by text: a positive decimal id, or "last" (the newest
 * run).  Returns 0; -1 with err when the text is not a run id or no such
 * run is recorded ("no run 42 in the history store"); HISTORY_DEGRADED
 * when the store cannot be read. */
int history_find_run(struct history *h, const char *text, int64_t *run_id,
                     struct wva_error *err);

/* Rebuild the plan recorded for a run (plan_render_json() of it equals the
 * rendering of the original plan).  Caller frees with plan_free().  NULL
 * with err when absent or unreadable. */
struct wva_plan *history_load_plan(struct history *h, int64_t run_id, struct wva_error *err);

/* What a run's row says beyond its plan. */
struct history_run_info {
    int64_t id;
    double started_at;
    double finished_at;
    int exit_code;
    bool actuated;              /* false: the run applied nothing (counts below 0) */
    int64_t scale_applied, scale_failed, scale_held, status_written, status_failed, events;
};

/* One variant's actuation as recorded; scale NULL when none. */
struct history_actuation {
    char *scale;                /* "applied", "failed", "held", ... */
    bool applied, status_written, status_skipped, status_failed;
    int events;
};

/* history_load_plan(), and the run's row into *info (may be NULL) and,
 * when acts is not NULL, one actuation per plan variant into *acts
 * (caller frees with history_actuations_free(*acts, plan->variants_count)).
 * All read in one read transaction. */
struct wva_plan *history_load_run(struct history *h, int64_t run_id,
                                  struct history_run_info *info,
                                  struct history_actuation **acts, struct wva_error *err);
void history_actuations_free(struct history_actuation *acts, size_t count);

/* The snapshot recorded for a run, as a JSON document `--from-file`
 * replays.  Caller frees.  NULL with err when absent or unreadable. */
char *history_load_snapshot(struct history *h, int64_t run_id, struct wva_error *err);

/* One run as `history runs` lists it.  Strings owned by the row ("" when
 * not recorded). */
struct history_run_row {
    int64_t id;
    double started_at, finished_at;
    char *mode;
    char *captured_at;
    int exit_code;
    int64_t variants, up, down, unchanged, skipped, warnings;
    char *solver_status;
    bool actuated;
    int64_t scale_applied, scale_failed, scale_held, status_written, status_failed, events;
};

/* The newest `limit` runs, oldest first, into *rows (*count of them; free
 * with history_run_rows_free()) and the number of runs recorded into
 * *total.  Returns 0, HISTORY_DEGRADED or -1 with err. */
int history_list_runs(struct history *h, size_t limit, struct history_run_row **rows,
                      size_t *count, int64_t *total, struct wva_error *err);
void history_run_rows_free(struct history_run_row *rows, size_t count);

/* The embedded schema: sql/schema.sql, byte for byte. */
const char *history_schema_sql(void);

#endif
