/* actuate.h - the write side of a live run (SPEC section 7): scale
 * patches, VariantAutoscaling status and Events, from a plan.
 *
 * The engine decides; this module only applies a struct wva_plan to the
 * cluster through the Kubernetes client, comparing with the snapshot the
 * plan was computed from (resourceVersions for optimistic concurrency, the
 * previous status for "write only on change").  It never re-decides a
 * target: on a conflict it either re-applies the same decision (nobody else
 * changed the replicas) or holds.
 *
 * Order of a run: scale patches (scale-ups first, so that a run cut short
 * under a GPU shortage never leaves less capacity than before), then per
 * variant its status write and its Events.  Each write is independent: one
 * failure never stops the others.
 */
#ifndef WVA_ACTUATE_H
#define WVA_ACTUATE_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/error.h"
#include "wva/kube_client.h"
#include "wva/plan.h"
#include "wva/settings.h"
#include "wva/snapshot.h"

#define ACTUATE_DEFAULT_COMPONENT "wva-optimizer"
/* A status whose only change would be lastRunTime is rewritten once its
 * lastRunTime is this many intervals old (SPEC section 7). */
#define ACTUATE_STATUS_REFRESH_INTERVALS 5
/* At most this many statuses are rewritten per run only to refresh
 * lastRunTime; the rest wait for the next runs. */
#define ACTUATE_MAX_REFRESHES_PER_RUN 500

struct actuate_options {
    bool dry_run;                   /* no write request of any kind */
    enum wva_actuation actuation;   /* metrics: no scale patch, status/Events still */
    double interval_seconds;        /* GLOBAL_OPT_INTERVAL, > 0 */
    double now;                     /* epoch seconds; <= 0 = the clock */
    const char *component;          /* Event source; NULL = ACTUATE_DEFAULT_COMPONENT */
    double deadline;                /* epoch seconds after which no new write starts
                                     * (scale patches not sent count as failed);
                                     * <= 0 = none */
};

/* What happened to one variant's scale patch. */
enum actuate_scale {
    ACTUATE_SCALE_NONE,             /* no patch needed or wanted (also dry run, metrics) */
    ACTUATE_SCALE_APPLIED,
    ACTUATE_SCALE_FAILED,           /* error after the HTTP layer's retries */
    ACTUATE_SCALE_HELD,             /* 409 and someone else changed the replicas */
    ACTUATE_SCALE_GONE,             /* 404: the Deployment was deleted since the
                                     * snapshot; the VA is recorded as
                                     * TargetNotFound (not a failure) */
};

/* "none", "applied", "failed", "held", "gone". */
const char *actuate_scale_name(enum actuate_scale s);

/* One entry per plan variant, same index. */
struct actuate_variant_result {
    bool written_to;                /* false for foreign skips and dry runs */
    enum actuate_scale scale;
    /* The Deployment runs the desired number of replicas after this run
     * (status actuation.applied). */
    bool applied;
    bool status_written;
    bool status_skipped;            /* unchanged and recent: no write */
    bool status_failed;
    int events;                     /* Events created */
};

struct actuate_report {
    size_t scale_attempted;         /* variants a scale patch was sent for */
    size_t scale_applied;
    size_t scale_failed;
    size_t scale_held;              /* conflict with someone else's change */
    size_t scale_gone;              /* target deleted since the snapshot */
    size_t status_written;
    size_t status_skipped;
    size_t status_failed;
    size_t events_created;
    size_t events_failed;
    struct actuate_variant_result *variants;    /* plan->variants_count entries */
    size_t variants_count;
};

/* Apply plan (computed from snap) to the cluster.  report is initialised
 * here (free with actuate_report_free, also after -1).  Failed writes are
 * logged and counted in report, not returned: the result is 0 even when
 * some writes failed (see actuate_report_failures).  -1 with err only for
 * invalid arguments (NULL pointers, interval <= 0). */
int actuate_plan(struct kube_client *kc, const struct wva_snapshot *snap,
                 const struct wva_plan *plan, const struct actuate_options *opts,
                 struct actuate_report *report, struct wva_error *err);

/* Writes that failed and make the run a partial failure (exit code 3):
 * scale patches and status writes.  Held scale patches and failed Events
 * are not failures (the next run decides again; Events are best effort). */
size_t actuate_report_failures(const struct actuate_report *report);

/* Free the per-variant array and zero the report.  NULL is a no-op. */
void actuate_report_free(struct actuate_report *report);

#endif
