/* history.c - `wva-optimizer history runs | show RUN | export RUN`: what
 * people read from the history store (see include/wva/history.h).
 *
 * Reads through the store's API only (history_store.h): it knows nothing of
 * SQLite, and the store knows nothing of tables or documents for people.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wva/exit_codes.h"
#include "wva/history.h"
#include "wva/history_store.h"
#include "wva/log.h"
#include "wva/plan.h"
#include "wva/strbuf.h"
#include "wva/values.h"

#define JSON_OUT (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | \
                  JSON_C_TO_STRING_NOSLASHESCAPE)

static json_object *json_time(double epoch)
{
    char ts[32];

    values_format_rfc3339(epoch, ts, sizeof(ts));
    return json_object_new_string(ts);
}

/* Numbers as in the plan: 6 significant digits, an unknown one as 0. */
static json_object *json_number(double value)
{
    return values_json_number(value, 6);
}

static json_object *actuation_summary_json(bool actuated, int64_t applied, int64_t failed,
                                           int64_t held, int64_t status_written,
                                           int64_t status_failed, int64_t events)
{
    json_object *o;

    if (!actuated)
        return NULL;
    o = json_object_new_object();
    json_object_object_add(o, "scaleApplied", json_object_new_int64(applied));
    json_object_object_add(o, "scaleFailed", json_object_new_int64(failed));
    json_object_object_add(o, "scaleHeld", json_object_new_int64(held));
    json_object_object_add(o, "statusWritten", json_object_new_int64(status_written));
    json_object_object_add(o, "statusFailed", json_object_new_int64(status_failed));
    json_object_object_add(o, "eventsCreated", json_object_new_int64(events));
    return o;
}

static char *render_runs_json(const struct history_run_row *rows, size_t n, int64_t total)
{
    json_object *root = json_object_new_object();
    json_object *runs = json_object_new_array();
    char *text;

    json_object_object_add(root, "kind", json_object_new_string("WVAHistoryRuns"));
    json_object_object_add(root, "version", json_object_new_int(1));
    json_object_object_add(root, "total", json_object_new_int64(total));
    for (size_t i = 0; i < n; i++) {
        const struct history_run_row *r = &rows[i];
        json_object *o = json_object_new_object();

        json_object_object_add(o, "id", json_object_new_int64(r->id));
        json_object_object_add(o, "startedAt", json_time(r->started_at));
        json_object_object_add(o, "finishedAt", json_time(r->finished_at));
        json_object_object_add(o, "durationSeconds", json_number(r->finished_at - r->started_at));
        json_object_object_add(o, "mode", json_object_new_string(r->mode));
        json_object_object_add(o, "capturedAt", json_object_new_string(r->captured_at));
        json_object_object_add(o, "exitCode", json_object_new_int(r->exit_code));
        json_object_object_add(o, "solverStatus", json_object_new_string(r->solver_status));
        json_object_object_add(o, "variants", json_object_new_int64(r->variants));
        json_object_object_add(o, "scaledUp", json_object_new_int64(r->up));
        json_object_object_add(o, "scaledDown", json_object_new_int64(r->down));
        json_object_object_add(o, "noChange", json_object_new_int64(r->unchanged));
        json_object_object_add(o, "skipped", json_object_new_int64(r->skipped));
        json_object_object_add(o, "warnings", json_object_new_int64(r->warnings));
        json_object_object_add(o, "actuation",
                               actuation_summary_json(r->actuated, r->scale_applied,
                                                      r->scale_failed, r->scale_held,
                                                      r->status_written, r->status_failed,
                                                      r->events));
        json_object_array_add(runs, o);
    }
    json_object_object_add(root, "runs", runs);
    text = wva_xstrdup(json_object_to_json_string_ext(root, JSON_OUT));
    json_object_put(root);
    return text;
}

static char *render_runs_table(const struct history_run_row *rows, size_t n, int64_t total)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    if (n == 0) {
        wva_strbuf_adds(&sb, "no runs recorded\n");
        return wva_strbuf_detach(&sb);
    }
    wva_strbuf_addf(&sb, "%-6s  %-20s  %-7s  %4s  %8s  %8s  %9s  %7s  %8s  %s\n", "RUN", "STARTED",
                    "MODE", "EXIT", "VARIANTS", "SCALEDUP", "SCALEDOWN", "SKIPPED", "WARNINGS",
                    "SOLVER");
    for (size_t i = 0; i < n; i++) {
        const struct history_run_row *r = &rows[i];
        char ts[32];

        values_format_rfc3339(r->started_at, ts, sizeof(ts));
        wva_strbuf_addf(&sb, "%-6" PRId64 "  %-20s  %-7s  %4d  %8" PRId64 "  %8" PRId64
                        "  %9" PRId64 "  %7" PRId64 "  %8" PRId64 "  %s\n", r->id, ts, r->mode,
                        r->exit_code, r->variants, r->up, r->down, r->skipped, r->warnings,
                        r->solver_status);
    }
    if ((int64_t)n < total)
        wva_strbuf_addf(&sb, "(the newest %zu of %" PRId64 " runs)\n", n, total);
    return wva_strbuf_detach(&sb);
}

char *history_render_runs(struct history *h, enum wva_output output, struct wva_error *err)
{
    struct history_run_row *rows;
    size_t n;
    int64_t total;
    char *text;

    if (history_list_runs(h, HISTORY_RUNS_LIMIT, &rows, &n, &total, err) != 0)
        return NULL;
    text = output == WVA_OUTPUT_JSON ? render_runs_json(rows, n, total)
                                     : render_runs_table(rows, n, total);
    history_run_rows_free(rows, n);
    return text;
}

static json_object *variant_actuation_json(const struct history_actuation *a)
{
    json_object *o;

    if (!a->scale)
        return NULL;
    o = json_object_new_object();
    json_object_object_add(o, "scale", json_object_new_string(a->scale));
    json_object_object_add(o, "applied", json_object_new_boolean(a->applied));
    json_object_object_add(o, "statusWritten", json_object_new_boolean(a->status_written));
    json_object_object_add(o, "statusSkipped", json_object_new_boolean(a->status_skipped));
    json_object_object_add(o, "statusFailed", json_object_new_boolean(a->status_failed));
    json_object_object_add(o, "events", json_object_new_int(a->events));
    return o;
}

/* The plan document of SPEC section 9 plus "run" (the run's row) and, per
 * variant, "actuation" (null when the run applied nothing). */
static char *render_run_json(const struct wva_plan *plan, const struct history_run_info *info,
                             const struct history_actuation *acts)
{
    json_object *root = plan_to_json(plan);
    json_object *run = json_object_new_object();
    json_object *variants = NULL;
    char *text;

    json_object_object_add(run, "id", json_object_new_int64(info->id));
    json_object_object_add(run, "startedAt", json_time(info->started_at));
    json_object_object_add(run, "finishedAt", json_time(info->finished_at));
    json_object_object_add(run, "durationSeconds",
                           json_number(info->finished_at - info->started_at));
    json_object_object_add(run, "exitCode", json_object_new_int(info->exit_code));
    json_object_object_add(run, "actuation",
                           actuation_summary_json(info->actuated, info->scale_applied,
                                                  info->scale_failed, info->scale_held,
                                                  info->status_written, info->status_failed,
                                                  info->events));
    json_object_object_add(root, "run", run);
    if (json_object_object_get_ex(root, "variants", &variants)) {
        for (size_t i = 0; i < plan->variants_count; i++)
            json_object_object_add(json_object_array_get_idx(variants, i), "actuation",
                                   variant_actuation_json(&acts[i]));
    }
    text = wva_xstrdup(json_object_to_json_string_ext(root, JSON_OUT));
    json_object_put(root);
    return text;
}

static char *render_run_table(const struct wva_plan *plan, const struct history_run_info *info,
                              const struct history_actuation *acts)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    char started[32], finished[32];
    char *table = plan_render_table(plan);

    values_format_rfc3339(info->started_at, started, sizeof(started));
    values_format_rfc3339(info->finished_at, finished, sizeof(finished));
    wva_strbuf_addf(&sb, "run %" PRId64 ": %s, captured %s, started %s, finished %s (%.3f s), "
                    "exit code %d\n\n", info->id, plan->mode,
                    plan->captured_at ? plan->captured_at : "-", started, finished,
                    info->finished_at - info->started_at, info->exit_code);
    wva_strbuf_adds(&sb, table);
    free(table);
    if (!info->actuated) {
        wva_strbuf_adds(&sb, "actuation: none recorded\n");
        return wva_strbuf_detach(&sb);
    }
    wva_strbuf_addf(&sb, "actuation: scale applied %" PRId64 ", failed %" PRId64 ", held %"
                    PRId64 "; status written %" PRId64 ", failed %" PRId64 "; events %" PRId64
                    "\n", info->scale_applied, info->scale_failed, info->scale_held,
                    info->status_written, info->status_failed, info->events);
    for (size_t i = 0; i < plan->variants_count; i++) {
        const struct history_actuation *a = &acts[i];
        if (a->scale && (strcmp(a->scale, "failed") == 0 || strcmp(a->scale, "held") == 0))
            wva_strbuf_addf(&sb, "scale %s: %s/%s\n", a->scale, plan->variants[i].namespace_name,
                            plan->variants[i].name);
        if (a->status_failed)
            wva_strbuf_addf(&sb, "status write failed: %s/%s\n",
                            plan->variants[i].namespace_name, plan->variants[i].name);
    }
    return wva_strbuf_detach(&sb);
}

char *history_render_run(struct history *h, int64_t run_id, enum wva_output output,
                         struct wva_error *err)
{
    struct history_actuation *acts = NULL;
    struct history_run_info info = {0};
    struct wva_plan *plan;
    char *text;

    plan = history_load_run(h, run_id, &info, &acts, err);
    if (!plan)
        return NULL;
    text = output == WVA_OUTPUT_JSON ? render_run_json(plan, &info, acts)
                                     : render_run_table(plan, &info, acts);
    history_actuations_free(acts, plan->variants_count);
    plan_free(plan);
    return text;
}

/* ---- the command ---- */

static int exit_code_of(int rc)
{
    return rc == HISTORY_DEGRADED ? EXIT_RUNTIME : EXIT_USAGE;
}

int history_command(const struct wva_settings *s)
{
    struct history *h = NULL;
    struct wva_error err = {0};
    const char *sub = s->history_subcommand ? s->history_subcommand : "";
    char *text = NULL;
    int64_t id = 0;
    int rc;

    if (!s->history || !s->history[0]) {
        log_event(WVA_LOG_ERROR, "no history store configured (pass --history DSN or set "
                  "WVA_HISTORY)", NULL);
        return EXIT_USAGE;
    }
    rc = history_open_ex(s->history, HISTORY_OPEN_READ_ONLY, &h, &err);
    if (rc != 0) {
        log_event(WVA_LOG_ERROR, "cannot open the history store", "error", err.msg, NULL);
        return exit_code_of(rc);
    }
    if (strcmp(sub, "runs") == 0) {
        text = history_render_runs(h, s->output, &err);
        rc = text ? 0 : EXIT_RUNTIME;
    } else if (strcmp(sub, "show") == 0 || strcmp(sub, "export") == 0) {
        rc = history_find_run(h, s->history_run, &id, &err);
        if (rc != 0) {
            rc = exit_code_of(rc);
        } else {
            text = strcmp(sub, "show") == 0 ? history_render_run(h, id, s->output, &err)
                                            : history_load_snapshot(h, id, &err);
            rc = text ? 0 : EXIT_RUNTIME;
        }
    } else {
        wva_error_set(&err, "history: unknown subcommand \"%.32s\" (runs, show RUN or "
                      "export RUN)", sub);
        rc = EXIT_USAGE;
    }
    if (rc != 0) {
        log_event(WVA_LOG_ERROR, "history command failed", "error", err.msg, NULL);
    } else {
        fputs(text, stdout);
        if (text[0] && text[strlen(text) - 1] != '\n')
            fputc('\n', stdout);
        fflush(stdout);
    }
    free(text);
    history_close(h);
    return rc;
}
