/* lease.h - the interval gate and mutual exclusion of scheduled runs (SPEC
 * section 3), on a coordination.k8s.io/v1 Lease in the system namespace.
 *
 * Name: "wva-optimizer", or "wva-optimizer-<instance>" (instance lowercased;
 * when that is not a DNS label, an 8-hex-digit hash of the instance).
 *
 * A run acquires the Lease before acting and releases it at the end:
 *   - spec.holderIdentity names the run holding it ("<hostname>_<pid>"; in a
 *     pod the hostname is the pod name); a held Lease whose renewTime +
 *     leaseDurationSeconds has passed is expired and may be taken over;
 *   - annotation wva.llmd.ai/last-completed-run (RFC 3339) is the START time
 *     of the last run that completed: scheduled runs starting less than one
 *     interval later (minus a small tolerance for CronJob start jitter) are
 *     too early.
 * Creation (POST when absent) and takeover (PUT with the resourceVersion
 * read) are optimistic: a 409 means another run won the race.
 *
 * This module knows Leases and time; it knows nothing of what a run does.
 */
#ifndef WVA_LEASE_H
#define WVA_LEASE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "wva/error.h"
#include "wva/kube_client.h"

#define LEASE_BASE_NAME "wva-optimizer"
#define LEASE_ANNOTATION_LAST_RUN "wva.llmd.ai/last-completed-run"
/* leaseDurationSeconds is never below this (a run must not lose its lock
 * to a clock skew of a few seconds). */
#define LEASE_MIN_DURATION_SECONDS 60
/* A scheduled run is too early when it starts less than
 * interval - min(interval / 4, LEASE_MAX_TOLERANCE_SECONDS) after the last
 * completed run started: a CronJob firing every minute starts a few seconds
 * late or early, and with an interval of 60s it must still run every
 * minute. */
#define LEASE_MAX_TOLERANCE_SECONDS 15

enum lease_outcome {
    LEASE_ERROR = -1,
    LEASE_ACQUIRED = 0,
    LEASE_HELD_BY_OTHER,    /* another run holds an unexpired lease, or won the race */
    LEASE_TOO_EARLY,        /* the last completed run is more recent than the interval */
};

/* "error", "acquired", "held-by-other", "too-early". */
const char *lease_outcome_name(int outcome);

struct lease_options {
    const char *system_namespace;   /* POD_NAMESPACE (required) */
    const char *instance;           /* CONTROLLER_INSTANCE; NULL or "" = none */
    const char *identity;           /* holder identity; NULL = "<hostname>_<pid>" */
    double duration_seconds;        /* leaseDurationSeconds, e.g. the CronJob's
                                     * activeDeadlineSeconds; <= 0 = 2 x interval;
                                     * at least LEASE_MIN_DURATION_SECONDS */
    double interval_seconds;        /* GLOBAL_OPT_INTERVAL */
    bool honour_interval;           /* scheduled runs: true; --once: false */
    double now;                     /* epoch seconds; <= 0 = the clock */
};

struct lease {
    char *namespace_name;
    char *name;
    char *identity;
    bool held;                      /* acquired and not yet released */
    double acquired_at;             /* epoch seconds of this run's acquisition */
    double duration_seconds;        /* leaseDurationSeconds written */
    /* The annotation as read, epoch seconds, -1 when absent or unreadable. */
    double last_completed_run;
    /* LEASE_HELD_BY_OTHER: who holds it ("" when another run won a race) and
     * until when (epoch seconds, -1 when unknown). */
    char *other_holder;
    double other_expires_at;
    /* Private to lease.c: the Lease object as last written. */
    json_object *object;
};

/* The Lease name for an instance into buf (>= 64 bytes); NULL or "" = no
 * instance. */
void lease_name(const char *instance, char *buf, size_t size);

/* Try to take the Lease.  out is initialised here (free with lease_free()
 * whatever the result).  Returns LEASE_ACQUIRED, LEASE_HELD_BY_OTHER,
 * LEASE_TOO_EARLY (nothing written in these two cases) or LEASE_ERROR with
 * err naming the request (and -1 for invalid options). */
int lease_acquire(struct kube_client *kc, const struct lease_options *opts, struct lease *out,
                  struct wva_error *err);

/* Give the Lease up: PUT clearing holderIdentity and, when completed,
 * recording this run's start in the last-completed-run annotation.  A 409
 * is retried once if the Lease is still ours; when someone else took it
 * over (ours had expired) nothing is written and -1 is returned.  now <= 0
 * = the clock.  Returns 0 or -1 with err; l->held is false afterwards. */
int lease_release(struct kube_client *kc, struct lease *l, bool completed, double now,
                  struct wva_error *err);

/* Free the contents and zero l.  NULL is a no-op. */
void lease_free(struct lease *l);

#endif
