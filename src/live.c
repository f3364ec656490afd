/* live.c - one live run: settings, gate, lock, cycles, exit code.
 *
 * A scheduled run (no --once) first reads GLOBAL_OPT_ENABLE and
 * GLOBAL_OPT_INTERVAL (flag > environment > main ConfigMap > default) and
 * returns quietly when optimization is disabled.  Every writing run takes
 * the Lease so that two runs never act at once; a scheduled run also skips
 * itself when the last completed run is younger than the interval.  Each
 * cycle reads a fresh snapshot (cluster, then Prometheus), plans, and
 * applies.  Nothing here parses JSON or builds a request.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "wva/exit_codes.h"
#include "wva/actuate.h"
#include "wva/engine.h"
#include "wva/history.h"
#include "wva/http.h"
#include "wva/kube_client.h"
#include "wva/kubeconfig.h"
#include "wva/lease.h"
#include "wva/live.h"
#include "wva/log.h"
#include "wva/plan.h"
#include "wva/prom_client.h"
#include "wva/pushgw.h"
#include "wva/snapshot.h"
#include "wva/strbuf.h"
#include "wva/values.h"


struct live {
    struct wva_settings *s;
    bool main_configmap_found;  /* main_configmap was read (not a 404) */
    struct history *history;    /* NULL without a (usable) store */
    double deadline;            /* epoch seconds: no new work starts after it */
    struct kube_config kube_cfg;
    struct kube_client *kube;
    struct prom_client *prom;
    struct wva_kvlist main_configmap;
    bool scheduled;
};

/* The main ConfigMap decides settings (and so what to read), so it is read
 * on its own before the snapshot.  Absent is fine; unreadable is not. */
static int read_main_configmap(struct live *l, struct wva_error *err)
{
    struct kube_status status = {0};

    if (kube_get_configmap_data(l->kube, l->s->system_namespace, l->s->config_map_name,
                                &l->main_configmap, &status, err) != 0)
        return status.code == 404 ? 0 : -1;
    l->main_configmap_found = true;
    return 0;
}

static int write_snapshot(const struct wva_snapshot *snap, const char *path,
                          struct wva_error *err)
{
    char *text = snapshot_to_json(snap);
    struct wva_strbuf tmp = WVA_STRBUF_INIT;
    FILE *f;
    int rc = -1;

    wva_strbuf_addf(&tmp, "%s.tmp", path);
    f = fopen(wva_strbuf_str(&tmp), "w");
    if (!f) {
        wva_error_set(err, "--snapshot-out %s: cannot write: %m", path);
        goto out;
    }
    if (fputs(text, f) < 0 || fclose(f) != 0) {
        wva_error_set(err, "--snapshot-out %s: write failed: %m", path);
        goto out;
    }
    if (rename(wva_strbuf_str(&tmp), path) != 0) {
        wva_error_set(err, "--snapshot-out %s: cannot rename: %m", path);
        goto out;
    }
    rc = 0;
out:
    free(text);
    wva_strbuf_release(&tmp);
    return rc;
}

static void print_plan(const struct wva_plan *plan, const struct wva_settings *s)
{
    char *text = s->output == WVA_OUTPUT_JSON ? plan_render_json(plan) : plan_render_table(plan);

    fputs(text, stdout);
    fflush(stdout);
    free(text);
}

/* The cycle's metrics to the Pushgateway (SPEC section 7), whatever its
 * outcome; plan is NULL when the cycle failed before planning.  Never in a
 * dry run: under --actuation metrics the pushed wva_desired_replicas is what
 * an HPA acts on.  Like every write, not after the run deadline.  A failed
 * push is a warning, except under --actuation metrics where the push is the
 * actuation: then nothing was applied. */
static int push_metrics(struct live *l, const struct wva_plan *plan, int rc, double seconds)
{
    struct wva_error err = {0};

    if (l->s->dry_run || !l->s->pushgateway || !l->s->pushgateway[0])
        return rc;
    if (values_epoch_now() >= l->deadline) {
        log_event(WVA_LOG_WARN, "run deadline (WVA_RUN_DEADLINE) passed; metrics not pushed",
                  NULL);
        return l->s->actuation == WVA_ACTUATION_METRICS ? EXIT_RUNTIME : rc;
    }
    if (pushgw_push(l->s->pushgateway, l->s, plan, rc == EXIT_OK, seconds, &err) == 0)
        return rc;
    if (l->s->actuation == WVA_ACTUATION_METRICS) {
        log_event(WVA_LOG_ERROR, "cannot publish the desired replicas; nothing applied",
                  "error", err.msg, NULL);
        return EXIT_RUNTIME;
    }
    log_event(WVA_LOG_WARN, "cannot push metrics to the Pushgateway", "error", err.msg, NULL);
    return rc;
}

int live_fetch_metrics(struct prom_client *prom, struct wva_snapshot *snap,
                       const struct wva_settings *s, struct wva_error *err)
{
    struct engine_metric_needs needs = {0};
    struct prom_run_params params = {0};
    int rc;

    engine_metric_needs(snap, s, &needs);
    params.watch_namespace = s->watch_namespace;
    params.retention_seconds = needs.retention_seconds;
    params.custom_metrics = (const char *const *)needs.custom_metrics;
    params.custom_metrics_count = needs.custom_metrics_count;
    rc = prom_fetch_metrics(prom, &params, &snap->metrics, err);
    engine_metric_needs_free(&needs);
    return rc;
}

/* One cycle: snapshot, metrics, plan, apply.  Returns an exit code. */
static int run_cycle(struct live *l)
{
    struct wva_settings *s = l->s;
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    struct kube_fetch_options fetch = {
        .watch_namespace = s->watch_namespace,
        .system_namespace = s->system_namespace,
        .config_map_name = s->config_map_name,
        .limited_mode = s->limited_mode,
        /* The copy the settings were resolved from: read once per run. */
        .main_configmap_data = &l->main_configmap,
        .main_configmap_found = l->main_configmap_found,
    };
    struct actuate_options act = {0};
    struct actuate_report report = {0};
    struct wva_plan *plan = NULL;
    struct wva_error err = {0};
    struct engine_history hook;
    bool prometheus_failed = false, actuated = false;
    double started = engine_now(), started_wall = values_epoch_now();
    int rc = EXIT_OK;
    char ts[32];

    if (kube_fetch_snapshot(l->kube, &fetch, snap, &err) != 0) {
        log_event(WVA_LOG_ERROR, "cannot read the cluster; nothing applied", "error", err.msg,
                  NULL);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (live_fetch_metrics(l->prom, snap, s, &err) != 0) {
        log_event(WVA_LOG_ERROR, "cannot read metrics from Prometheus; holding replicas",
                  "error", err.msg, NULL);
        prometheus_failed = true;
    }
    settings_export(s, &snap->settings);
    values_format_rfc3339(values_epoch_now(), ts, sizeof(ts));
    if (!snap->captured_at) {
        snap->captured_at = wva_xstrdup(ts);
        snap->captured_at_epoch = floor(values_epoch_now());
    }

    history_engine_hook(l->history, snap->captured_at_epoch, &hook);
    plan = engine_plan(snap, s, s->dry_run ? "dry-run" : "live", &hook, NULL, &err);
    if (!plan) {
        log_event(WVA_LOG_ERROR, "optimization failed; nothing applied", "error", err.msg, NULL);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (s->snapshot_out && write_snapshot(snap, s->snapshot_out, &err) != 0)
        log_event(WVA_LOG_WARN, "snapshot not recorded", "error", err.msg, NULL);
    print_plan(plan, s);
    for (size_t i = 0; i < plan->warnings.count; i++)
        log_event(WVA_LOG_WARN, "plan warning", "warning", plan->warnings.items[i], NULL);

    if (!s->dry_run && values_epoch_now() >= l->deadline) {
        log_event(WVA_LOG_ERROR, "run deadline (WVA_RUN_DEADLINE) passed before applying; "
                  "nothing applied", NULL);
        rc = EXIT_RUNTIME;
        goto out;
    }
    act.deadline = l->deadline;
    act.dry_run = s->dry_run;
    act.actuation = s->actuation;
    act.interval_seconds = s->global_opt_interval;
    act.now = values_epoch_now();
    if (actuate_plan(l->kube, snap, plan, &act, &report, &err) != 0) {
        log_event(WVA_LOG_ERROR, "cannot apply the plan", "error", err.msg, NULL);
        rc = EXIT_RUNTIME;
        goto out;
    }
    actuated = true;
    /* Partial: some writes failed, others went through.  When every write
     * failed nothing was applied: a runtime failure (SPEC section 2). */
    if (actuate_report_failures(&report) > 0)
        rc = report.scale_applied + report.status_written + report.events_created > 0
                 ? EXIT_PARTIAL
                 : EXIT_RUNTIME;
    if (prometheus_failed)
        rc = EXIT_RUNTIME;
out:
    rc = push_metrics(l, plan, rc, engine_now() - started);
    history_record_or_log(l->history, snap, plan, actuated && !s->dry_run ? &report : NULL,
                          started_wall, values_epoch_now(), rc);
    actuate_report_free(&report);
    plan_free(plan);
    snapshot_free(snap);
    return rc;
}

static int open_clients(struct live *l, struct wva_error *err)
{
    if (kube_config_load(l->s->kubeconfig, getenv("WVA_SERVICEACCOUNT_DIR"), &l->kube_cfg,
                         err) != 0)
        return EXIT_USAGE;
    l->kube = kube_client_new(&l->kube_cfg, err);
    if (!l->kube)
        return EXIT_USAGE;
    return 0;
}

static int open_prometheus(struct live *l, struct wva_error *err)
{
    struct prom_options opts;

    if (!l->s->prometheus_url || !l->s->prometheus_url[0]) {
        wva_error_set(err, "PROMETHEUS_BASE_URL is not set (flag --prometheus-url, environment "
                      "or main ConfigMap)");
        return -1;
    }
    prom_options_from_settings(l->s, &opts);
    l->prom = prom_client_new(&opts, err);
    return l->prom ? 0 : -1;
}

/* The last line of defence: a run that overstays its deadline by the grace
 * period (a hung connection the timeouts did not catch) ends itself before
 * the CronJob kills it.  Writes are independent patches, so stopping between
 * them leaves nothing half-applied. */
static void on_deadline(int sig)
{
    static const char msg[] = "level=error msg=\"run deadline exceeded; exiting\"\n";

    (void)sig;
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(EXIT_RUNTIME);
}

#define DEADLINE_GRACE_SECONDS 5

int live_run(struct wva_settings *s)
{
    struct live l = {.s = s};
    double started = values_epoch_now();
    struct wva_error err = {0};
    struct lease lease = {0};
    bool have_lease = false;
    int rc;

    l.scheduled = !s->once;
    if (settings_resolve_bootstrap(s, settings_getenv, NULL, &err) != 0) {
        log_event(WVA_LOG_ERROR, "invalid configuration", "error", err.msg, NULL);
        return EXIT_USAGE;
    }
    rc = open_clients(&l, &err);
    if (rc != 0) {
        log_event(WVA_LOG_ERROR, "cannot configure Kubernetes access", "error", err.msg, NULL);
        goto out;
    }
    if (read_main_configmap(&l, &err) != 0) {
        log_event(WVA_LOG_ERROR, "cannot read the main ConfigMap; nothing applied", "error",
                  err.msg, NULL);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (settings_resolve(s, settings_getenv, NULL, &l.main_configmap, &err) != 0) {
        log_event(WVA_LOG_ERROR, "invalid configuration", "error", err.msg, NULL);
        rc = EXIT_USAGE;
        goto out;
    }
    if (s->actuation == WVA_ACTUATION_METRICS && (!s->pushgateway || !s->pushgateway[0])) {
        log_event(WVA_LOG_ERROR, "--actuation metrics publishes the desired replicas through "
                  "the Pushgateway: set --pushgateway or WVA_PUSHGATEWAY_URL", NULL);
        rc = EXIT_USAGE;
        goto out;
    }
    if (s->history && history_check_dsn(s->history, &err) != 0) {
        log_event(WVA_LOG_ERROR, "invalid configuration", "error", err.msg, NULL);
        rc = EXIT_USAGE;
        goto out;
    }
    l.deadline = started + s->run_deadline;
    signal(SIGALRM, on_deadline);
    alarm((unsigned)ceil(s->run_deadline) + DEADLINE_GRACE_SECONDS);
    if (l.scheduled && !s->global_opt_enable) {
        char where[256];
        settings_describe_source(s, WVA_SET_GLOBAL_OPT_ENABLE, where, sizeof(where));
        log_event(WVA_LOG_INFO, "global optimization is disabled; nothing to do",
                  "GLOBAL_OPT_ENABLE", "false", "source", where, NULL);
        rc = EXIT_OK;
        goto out;
    }
    if (open_prometheus(&l, &err) != 0) {
        log_event(WVA_LOG_ERROR, "cannot configure Prometheus access", "error", err.msg, NULL);
        rc = EXIT_USAGE;
        goto out;
    }

    if (!s->dry_run) {
        struct lease_options lo = {
            .system_namespace = s->system_namespace,
            .instance = s->controller_instance,
            .interval_seconds = s->global_opt_interval,
            .honour_interval = l.scheduled,
            /* Long enough for a sub-minute run's cycles (about a minute),
             * short enough that a crashed run does not block for long. */
            .duration_seconds = fmax(180, 2 * s->global_opt_interval),
            .now = values_epoch_now(),
        };
        enum lease_outcome got = lease_acquire(l.kube, &lo, &lease, &err);
        if (got == LEASE_ERROR) {
            log_event(WVA_LOG_ERROR, "cannot take the run lock (Lease)", "error", err.msg, NULL);
            rc = EXIT_RUNTIME;
            goto out;
        }
        if (got == LEASE_HELD_BY_OTHER || got == LEASE_TOO_EARLY) {
            log_event(WVA_LOG_INFO, got == LEASE_TOO_EARLY
                                        ? "last run is more recent than the interval; skipping"
                                        : "another run holds the lock; skipping",
                      NULL);
            rc = EXIT_OK;
            goto out;
        }
        have_lease = true;
    }

    l.history = history_open_for_run(s->history);

    /* Sub-minute intervals: several cycles, that far apart, until the next
     * minute's run is due. */
    int cycles = 1;
    if (l.scheduled && s->global_opt_interval < 60)
        cycles = (int)floor(60.0 / s->global_opt_interval);
    rc = EXIT_OK;
    for (int k = 0; k < cycles; k++) {
        double start = values_epoch_now();
        /* A cycle needs time to finish: do not start one in the last
         * moments before the deadline. */
        if (k > 0 && start >= l.deadline - fmin(s->global_opt_interval, 10)) {
            log_event(WVA_LOG_INFO, "no time left for another cycle before the run deadline",
                      NULL);
            break;
        }
        int cycle_rc = run_cycle(&l);
        if (cycle_rc > rc || cycle_rc == EXIT_RUNTIME)
            rc = cycle_rc;
        if (k + 1 < cycles) {
            double wait = s->global_opt_interval - (values_epoch_now() - start);
            if (wait > 0)
                usleep((useconds_t)(wait * 1e6));
        }
    }

out:
    if (have_lease && lease_release(l.kube, &lease, rc != EXIT_RUNTIME, values_epoch_now(), &err) != 0)
        log_event(WVA_LOG_WARN, "cannot release the run lock (Lease)", "error", err.msg, NULL);
    lease_free(&lease);
    alarm(0);
    history_close(l.history);
    prom_client_free(l.prom);
    kube_client_free(l.kube);
    kube_config_free(&l.kube_cfg);
    wva_kvlist_free(&l.main_configmap);
    return rc;
}
