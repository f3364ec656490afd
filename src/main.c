/* main.c - the wva-optimizer command: parse settings, run the pipeline,
 * print the plan, choose the exit code (SPEC section 2).
 *
 * The only place that prints errors and decides exit codes; every module
 * below returns errors as values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "config.h"
#include "wva/exit_codes.h"
#include "wva/doctor.h"
#include "wva/engine.h"
#include "wva/history.h"
#include "wva/live.h"
#include "wva/log.h"
#include "wva/plan.h"
#include "wva/settings.h"
#include "wva/snapshot.h"
#include "wva/values.h"


/* The main ConfigMap inside a snapshot, once the bootstrap settings say
 * where it lives. */
static const struct wva_kvlist *main_configmap(const struct wva_snapshot *snap,
                                               const struct wva_settings *s)
{
    const struct wva_configmap *cm =
        snapshot_find_configmap(snap, s->system_namespace, s->config_map_name);

    return cm ? &cm->data : NULL;
}

static void print_plan(const struct wva_plan *plan, const struct wva_settings *s)
{
    char *text = s->output == WVA_OUTPUT_JSON ? plan_render_json(plan) : plan_render_table(plan);

    fputs(text, stdout);
    if (text[0] && text[strlen(text) - 1] != '\n')
        fputc('\n', stdout);
    free(text);
}

static int run_replay(struct wva_settings *s)
{
    struct wva_snapshot *snap = NULL;
    struct wva_plan *plan = NULL;
    struct wva_error err = {0};
    struct engine_timings t = {0};
    struct engine_history hook;
    struct history *history = NULL;
    double start = engine_now(), parsed, started = values_epoch_now();
    int rc = EXIT_USAGE;

    if (snapshot_load_file(s->from_file, &snap, &err) != 0) {
        log_event(WVA_LOG_ERROR, "cannot load snapshot", "file", s->from_file, "error", err.msg,
                  NULL);
        goto out;
    }
    parsed = engine_now();
    if (settings_resolve_bootstrap(s, NULL, &snap->settings, &err) != 0 ||
        settings_resolve(s, NULL, &snap->settings, main_configmap(snap, s), &err) != 0) {
        log_event(WVA_LOG_ERROR, "invalid configuration", "error", err.msg, NULL);
        goto out;
    }
    if (s->history && history_check_dsn(s->history, &err) != 0) {
        log_event(WVA_LOG_ERROR, "invalid configuration", "error", err.msg, NULL);
        goto out;
    }
    history = history_open_for_run(s->history);
    history_engine_hook(history, snap->captured_at_epoch, &hook);
    plan = engine_plan(snap, s, s->dry_run ? "dry-run" : "replay", &hook, &t, &err);
    if (!plan) {
        log_event(WVA_LOG_ERROR, "optimization failed", "error", err.msg, NULL);
        rc = EXIT_RUNTIME;
        goto out;
    }
    double before_print = engine_now();
    print_plan(plan, s);
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
    rc = EXIT_OK;
    history_record_or_log(history, snap, plan, NULL, started, values_epoch_now(), rc);
out:
    history_close(history);
    plan_free(plan);
    snapshot_free(snap);
    return rc;
}

int main(int argc, char **argv)
{
    struct wva_settings s;
    struct wva_error err = {0};
    int rc = EXIT_USAGE;

#ifdef __linux__
    /* Tokens and private keys live in this process's memory: a crash must
     * not write them into a core dump. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
    if (settings_parse_args(argc, argv, &s, &err) != 0) {
        fprintf(stderr, "wva-optimizer: %s\nTry 'wva-optimizer --help'.\n", err.msg);
        settings_free(&s);
        return EXIT_USAGE;
    }
    log_configure(s.log_format == WVA_LOG_JSON, s.verbosity);
    switch (s.command) {
    case WVA_CMD_HELP:
        fputs(settings_usage(), stdout);
        rc = EXIT_OK;
        break;
    case WVA_CMD_VERSION:
        printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        rc = EXIT_OK;
        break;
    case WVA_CMD_RUN:
        if (s.from_file) {
            rc = run_replay(&s);
            break;
        }
        rc = live_run(&s);
        break;
    case WVA_CMD_HISTORY:
        if (settings_resolve_bootstrap(&s, settings_getenv, NULL, &err) != 0 ||
            settings_resolve(&s, settings_getenv, NULL, NULL, &err) != 0) {
            log_event(WVA_LOG_ERROR, "invalid configuration", "error", err.msg, NULL);
            rc = EXIT_USAGE;
            break;
        }
        rc = history_command(&s);
        break;
    case WVA_CMD_DOCTOR:
        rc = doctor_main(&s);
        break;
    }
    settings_free(&s);
    return rc;
}
