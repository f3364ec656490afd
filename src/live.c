/* live.c - one live run: start-up, gate, lock, cycles, outcome.
 *
 * A scheduled run (no --once) first reads GLOBAL_OPT_ENABLE and
 * GLOBAL_OPT_INTERVAL (flag > environment > main ConfigMap > default, read
 * by session.c) and returns quietly when optimization is disabled.  Every
 * writing run takes the Lease so that two runs never act at once; a
 * scheduled run also skips itself when the last completed run is younger
 * than the interval.  Each cycle reads a fresh snapshot (collect.c: the
 * cluster, then Prometheus), plans, and applies.  Failures are logged where
 * they happen, with what was (not) applied, and returned as an error kind:
 * the exit code is main's choice.  Nothing here parses JSON or builds a
 * request.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wva/actuate.h"
#include "wva/collect.h"
#include "wva/engine.h"
#include "wva/exit_codes.h"
#include "wva/history.h"
#include "wva/lease.h"
#include "wva/live.h"
#include "wva/log.h"
#include "wva/plan.h"
#include "wva/prom_client.h"
#include "wva/pushgw.h"
#include "wva/session.h"
#include "wva/snapshot.h"
#include "wva/strbuf.h"
#include "wva/values.h"

struct live {
    struct wva_settings *s;
    struct wva_session session; /* the Kubernetes client, the main ConfigMap */
    struct history *history;    /* NULL without a (usable) store */
    double deadline;            /* epoch seconds: no new work starts after it */
    struct prom_client *prom;
    bool scheduled;
};

/* Record a failure that was logged already: its kind decides the exit
 * code.  Returns -1 for `return failed(...)`. */
static int failed(struct wva_error *err, enum wva_error_kind kind, const char *what)
{
    wva_error_setk(err, kind, "%s", what);
    return -1;
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
        wva_error_setk(err, WVA_ERR_CONFIG, "--snapshot-out %s: cannot write: %m", path);
        goto out;
    }
    if (fputs(text, f) < 0 || fclose(f) != 0) {
        wva_error_setk(err, WVA_ERR_CONFIG, "--snapshot-out %s: write failed: %m", path);
        goto out;
    }
    if (rename(wva_strbuf_str(&tmp), path) != 0) {
        wva_error_setk(err, WVA_ERR_CONFIG, "--snapshot-out %s: cannot rename: %m", path);
        goto out;
    }
    rc = 0;
out:
    free(text);
    wva_strbuf_release(&tmp);
    return rc;
}

/* Each cycle's plan goes out at once: a sub-minute run prints several. */
static void print_plan(const struct wva_plan *plan, const struct wva_settings *s)
{
    char *text = plan_render(plan, s->output == WVA_OUTPUT_JSON);

    fputs(text, stdout);
    fflush(stdout);
    free(text);
}

/* The cycle's metrics to the Pushgateway (SPEC section 7), whatever its
 * outcome (rc, err); plan is NULL when the cycle failed before planning.
 * Never in a dry run: under --actuation metrics the pushed
 * wva_desired_replicas is what an HPA acts on.  Like every write, not after
 * the run deadline.  A failed push is a warning, except under --actuation
 * metrics where the push is the actuation: then nothing was applied, and
 * that is the cycle's outcome. */
static int push_metrics(struct live *l, const struct wva_plan *plan, int rc, double seconds,
                        struct wva_error *err)
{
    bool metrics_actuation = l->s->actuation == WVA_ACTUATION_METRICS;
    struct wva_error perr = {0};

    if (l->s->dry_run || !l->s->pushgateway || !l->s->pushgateway[0])
        return rc;
    if (values_epoch_now() >= l->deadline) {
        log_event(WVA_LOG_WARN, "run deadline (WVA_RUN_DEADLINE) passed; metrics not pushed",
                  NULL);
        return metrics_actuation ? failed(err, WVA_ERR_UNREACHABLE, "run deadline passed") : rc;
    }
    if (pushgw_push(l->s->pushgateway, l->s, plan, rc == 0, seconds, &perr) == 0)
        return rc;
    if (metrics_actuation) {
        log_event(WVA_LOG_ERROR, "cannot publish the desired replicas; nothing applied",
                  "error", perr.msg, NULL);
        wva_error_setk(err, perr.kind, "%s", perr.msg);
        return -1;
    }
    log_event(WVA_LOG_WARN, "cannot push metrics to the Pushgateway", "error", perr.msg, NULL);
    return rc;
}

/* One cycle: snapshot, metrics, plan, apply.  Returns 0, or -1 with err:
 * WVA_ERR_PARTIAL when some writes failed and the others were applied,
 * another kind when nothing (or not everything that should have been) was
 * applied. */
static int run_cycle(struct live *l, struct wva_error *err)
{
    struct wva_settings *s = l->s;
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    struct collect_options fetch;
    struct actuate_options act = {0};
    struct actuate_report report = {0};
    struct wva_plan *plan = NULL;
    struct wva_error perr = {0}, werr = {0};
    struct engine_history hook;
    bool prometheus_failed = false, actuated = false;
    double started = engine_now(), started_wall = values_epoch_now();
    int rc = 0;
    char ts[32];

    collect_options_from_settings(s, &fetch);
    /* The copy the settings were resolved from: read once per run. */
    fetch.main_configmap_data = &l->session.main_configmap;
    fetch.main_configmap_found = l->session.main_configmap_found;
    if (collect_cluster(l->session.kube, &fetch, snap, err) != 0) {
        log_event(WVA_LOG_ERROR, "cannot read the cluster; nothing applied", "error", err->msg,
                  NULL);
        rc = -1;
        goto out;
    }
    if (collect_metrics(l->prom, snap, s, &perr) != 0) {
        log_event(WVA_LOG_ERROR, "cannot read metrics from Prometheus; holding replicas",
                  "error", perr.msg, NULL);
        prometheus_failed = true;
    }
    settings_export(s, &snap->settings);
    values_format_rfc3339(values_epoch_now(), ts, sizeof(ts));
    if (!snap->captured_at) {
        snap->captured_at = wva_xstrdup(ts);
        snap->captured_at_epoch = floor(values_epoch_now());
    }

    history_engine_hook(l->history, snap->captured_at_epoch, &hook);
    plan = engine_plan(snap, s, s->dry_run ? "dry-run" : "live", &hook, NULL, err);
    if (!plan) {
        log_event(WVA_LOG_ERROR, "optimization failed; nothing applied", "error", err->msg,
                  NULL);
        rc = -1;
        goto out;
    }
    if (s->snapshot_out && write_snapshot(snap, s->snapshot_out, &werr) != 0)
        log_event(WVA_LOG_WARN, "snapshot not recorded", "error", werr.msg, NULL);
    print_plan(plan, s);
    for (size_t i = 0; i < plan->warnings.count; i++)
        log_event(WVA_LOG_WARN, "plan warning", "warning", plan->warnings.items[i], NULL);

    if (!s->dry_run && values_epoch_now() >= l->deadline) {
        log_event(WVA_LOG_ERROR, "run deadline (WVA_RUN_DEADLINE) passed before applying; "
                  "nothing applied", NULL);
        rc = failed(err, WVA_ERR_UNREACHABLE, "run deadline passed before applying");
        goto out;
    }
    act.deadline = l->deadline;
    act.dry_run = s->dry_run;
    act.actuation = s->actuation;
    act.interval_seconds = s->global_opt_interval;
    act.now = values_epoch_now();
    if (actuate_plan(l->session.kube, snap, plan, &act, &report, err) != 0) {
        log_event(WVA_LOG_ERROR, "cannot apply the plan", "error", err->msg, NULL);
        rc = -1;
        goto out;
    }
    actuated = true;
    /* Partial: some writes failed, others went through.  When every write
     * failed nothing was applied: a runtime failure (SPEC section 2). */
    if (actuate_report_failures(&report) > 0)
        rc = report.scale_applied + report.status_written + report.events_created > 0
                 ? failed(err, WVA_ERR_PARTIAL, "some writes failed; the others were applied")
                 : failed(err, WVA_ERR_SERVER, "every write failed; nothing applied");
    /* Replicas were held for want of metrics: not a success either. */
    if (prometheus_failed) {
        wva_error_setk(err, perr.kind, "%s", perr.msg);
        rc = -1;
    }
out:
    rc = push_metrics(l, plan, rc, engine_now() - started, err);
    /* The record holds the exit code this outcome gets (main's mapping). */
    history_record_or_log(l->history, snap, plan, actuated && !s->dry_run ? &report : NULL,
                          started_wall, values_epoch_now(),
                          (int)wva_exit_code_of(rc, err));
    actuate_report_free(&report);
    plan_free(plan);
    snapshot_free(snap);
    return rc;
}

static int open_prometheus(struct live *l, struct wva_error *err)
{
    struct prom_options opts;

    if (!l->s->prometheus_url || !l->s->prometheus_url[0]) {
        wva_error_setk(err, WVA_ERR_CONFIG, "PROMETHEUS_BASE_URL is not set (flag "
                       "--prometheus-url, environment or main ConfigMap)");
        return -1;
    }
    collect_prom_options(l->s, &opts);
    l->prom = prom_client_new(&opts, err);
    return l->prom ? 0 : -1;
}

/* The last line of defence: a run that overstays its deadline by the grace
 * period (a hung connection the timeouts did not catch) ends itself before
 * the CronJob kills it.  Writes are independent patches, so stopping between
 * them leaves nothing half-applied.  The exit code is the one main would
 * give a run that could not reach the cluster, worked out before the alarm
 * is set (nothing but async-signal-safe calls in the handler). */
static volatile sig_atomic_t deadline_exit_code = 1;

static void on_deadline(int sig)
{
    static const char msg[] = "level=error msg=\"run deadline exceeded; exiting\"\n";

    (void)sig;
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(deadline_exit_code);
}

#define DEADLINE_GRACE_SECONDS 5

int live_run(struct wva_settings *s, struct wva_error *err)
{
    struct live l = {.s = s};
    double started = values_epoch_now();
    struct wva_error lerr = {0};
    struct lease lease = {0};
    bool have_lease = false;
    int rc = -1;

    l.scheduled = !s->once;
    if (session_open_live(&l.session, s, SESSION_RECORDS, err) != 0) {
        log_event(WVA_LOG_ERROR, "cannot start the run; nothing applied", "error", err->msg,
                  NULL);
        goto out;
    }
    if (s->actuation == WVA_ACTUATION_METRICS && (!s->pushgateway || !s->pushgateway[0])) {
        log_event(WVA_LOG_ERROR, "--actuation metrics publishes the desired replicas through "
                  "the Pushgateway: set --pushgateway or WVA_PUSHGATEWAY_URL", NULL);
        rc = failed(err, WVA_ERR_CONFIG, "--actuation metrics needs a Pushgateway");
        goto out;
    }
    l.deadline = started + s->run_deadline;
    deadline_exit_code = (sig_atomic_t)wva_exit_code_for(WVA_ERR_UNREACHABLE);
    signal(SIGALRM, on_deadline);
    alarm((unsigned)ceil(s->run_deadline) + DEADLINE_GRACE_SECONDS);
    if (l.scheduled && !s->global_opt_enable) {
        char where[256];
        settings_describe_source(s, WVA_SET_GLOBAL_OPT_ENABLE, where, sizeof(where));
        log_event(WVA_LOG_INFO, "global optimization is disabled; nothing to do",
                  "GLOBAL_OPT_ENABLE", "false", "source", where, NULL);
        rc = 0;
        goto out;
    }
    if (open_prometheus(&l, err) != 0) {
        log_event(WVA_LOG_ERROR, "cannot configure Prometheus access", "error", err->msg, NULL);
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
        enum lease_outcome got = lease_acquire(l.session.kube, &lo, &lease, err);
        if (got == LEASE_ERROR) {
            log_event(WVA_LOG_ERROR, "cannot take the run lock (Lease)", "error", err->msg, NULL);
            goto out;
        }
        if (got == LEASE_HELD_BY_OTHER || got == LEASE_TOO_EARLY) {
            log_event(WVA_LOG_INFO, got == LEASE_TOO_EARLY
                                        ? "last run is more recent than the interval; skipping"
                                        : "another run holds the lock; skipping",
                      NULL);
            rc = 0;
            goto out;
        }
        have_lease = true;
    }

    l.history = history_open_for_run(s->history);

    /* Sub-minute intervals: several cycles, that far apart, until the next
     * minute's run is due.  The run's outcome is the last failed cycle's. */
    int cycles = 1;
    if (l.scheduled && s->global_opt_interval < 60)
        cycles = (int)floor(60.0 / s->global_opt_interval);
    rc = 0;
    for (int k = 0; k < cycles; k++) {
        double start = values_epoch_now();
        struct wva_error cerr = {0};
        /* A cycle needs time to finish: do not start one in the last
         * moments before the deadline. */
        if (k > 0 && start >= l.deadline - fmin(s->global_opt_interval, 10)) {
            log_event(WVA_LOG_INFO, "no time left for another cycle before the run deadline",
                      NULL);
            break;
        }
        if (run_cycle(&l, &cerr) != 0) {
            *err = cerr;
            rc = -1;
        }
        if (k + 1 < cycles) {
            double wait = s->global_opt_interval - (values_epoch_now() - start);
            if (wait > 0)
                usleep((useconds_t)(wait * 1e6));
        }
    }

out:
    /* A run completed when it applied its plan, even partly: the next
     * scheduled run counts its interval from this one. */
    if (have_lease && lease_release(l.session.kube, &lease,
                                    rc == 0 || err->kind == WVA_ERR_PARTIAL,
                                    values_epoch_now(), &lerr) != 0)
        log_event(WVA_LOG_WARN, "cannot release the run lock (Lease)", "error", lerr.msg, NULL);
    lease_free(&lease);
    alarm(0);
    history_close(l.history);
    prom_client_free(l.prom);
    session_close(&l.session);
    return rc;
}
