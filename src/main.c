/* main.c - the wva-optimizer command: parse settings, run the command,
 * choose the exit code (SPEC section 2).
 *
 * Every command returns 0 or an error value whose kind says how it
 * failed; the exit code is chosen here, from that kind, with
 * wva_exit_code_of() (exit_codes.h), the one mapping.  Modules below
 * return errors as values; the commands log what happened as it happens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "config.h"
#include "wva/doctor.h"
#include "wva/engine.h"
#include "wva/exit_codes.h"
#include "wva/history.h"
#include "wva/live.h"
#include "wva/log.h"
#include "wva/plan.h"
#include "wva/session.h"
#include "wva/settings.h"
#include "wva/snapshot.h"
#include "wva/values.h"

/* Replay a snapshot (--from-file): the plan on stdout, the run recorded
 * with --history.  0, or -1 with err (logged). */
static int run_replay(struct wva_settings *s, struct wva_error *err)
{
    struct wva_session ss = {0};
    struct wva_plan *plan = NULL;
    struct engine_timings t = {0};
    struct engine_history hook;
    struct history *history = NULL;
    double start = engine_now(), parsed, started = values_epoch_now();
    char *text;
    int rc = -1;

    if (session_open_replay(&ss, s, SESSION_RECORDS, err) != 0) {
        log_event(WVA_LOG_ERROR, "cannot replay the snapshot", "file", s->from_file, "error",
                  err->msg, NULL);
        goto out;
    }
    parsed = engine_now();
    history = history_open_for_run(s->history);
    history_engine_hook(history, ss.snap->captured_at_epoch, &hook);
    plan = engine_plan(ss.snap, s, s->dry_run ? "dry-run" : "replay", &hook, &t, err);
    if (!plan) {
        log_event(WVA_LOG_ERROR, "optimization failed", "error", err->msg, NULL);
        goto out;
    }
    double before_print = engine_now();
    text = plan_render(plan, s->output == WVA_OUTPUT_JSON);
    fputs(text, stdout);
    free(text);
    if (s->timings) {
        double objective = plan->solver_objective, bound = plan->solver_lp_bound;
        size_t analyzed = 0;
        for (size_t i = 0; i < plan->variants_count; i++)
            analyzed += plan->variants[i].skip == WVA_SKIP_NONE;
        fprintf(stderr,
                "timings: parse=%.4f filter=%.4f analyze=%.4f solve=%.4f plan=%.4f total=%.4f "
                "lp_objective=%.6f int_cost=%.6f models=%zu variants=%zu\n",
                parsed - start, t.filter, t.analyze, t.solve,
                t.plan + (engine_now() - before_print), engine_now() - start, bound, objective,
                plan->models_count, analyzed);
    }
    rc = 0;
    history_record_or_log(history, ss.snap, plan, NULL, started, values_epoch_now(), EXIT_OK);
out:
    history_close(history);
    plan_free(plan);
    session_close(&ss);
    return rc;
}

int main(int argc, char **argv)
{
    struct wva_settings s;
    struct wva_error err = {0};
    int rc = -1;

#ifdef __linux__
    /* Tokens and private keys live in this process's memory: a crash must
     * not write them into a core dump. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
    if (settings_parse_args(argc, argv, &s, &err) != 0) {
        fprintf(stderr, "wva-optimizer: %s\nTry 'wva-optimizer --help'.\n", err.msg);
        settings_free(&s);
        return wva_exit_code_for(WVA_ERR_USAGE);
    }
    log_configure(s.log_format == WVA_LOG_JSON, s.verbosity);
    switch (s.command) {
    case WVA_CMD_HELP:
        fputs(settings_usage(), stdout);
        rc = 0;
        break;
    case WVA_CMD_VERSION:
        printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        rc = 0;
        break;
    case WVA_CMD_RUN:
        rc = s.from_file ? run_replay(&s, &err) : live_run(&s, &err);
        break;
    case WVA_CMD_HISTORY:
        if (session_resolve_environment(&s, &err) != 0) {
            log_event(WVA_LOG_ERROR, "invalid configuration", "error", err.msg, NULL);
            rc = -1;
            break;
        }
        /* history_command() still returns its exit code itself. */
        rc = history_command(&s);
        settings_free(&s);
        return rc;
    case WVA_CMD_DOCTOR:
        rc = doctor_command(&s, &err);
        break;
    }
    settings_free(&s);
    return wva_exit_code_of(rc, &err);
}
