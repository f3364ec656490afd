/* doctor_checks.h - the checks of `wva-optimizer doctor` (SPEC section
 * 10): pure functions from a snapshot, the resolved settings and, live,
 * the facts only a cluster can tell (probe results gathered by doctor.c)
 * to the rows of the report.
 *
 * The VA checks are not re-implemented here: they are the skip reasons of
 * filter_select() and engine_plan(), so doctor and the optimizer can never
 * disagree.  Each of the six VA checks gets its own row: checks 2-5 are
 * evaluated even when an earlier one fails (by asking the filter again as if
 * the earlier check passed), MetricsUnavailable only when the engine got
 * that far.  Whether a namespace is tracked is filter_namespace_tracked().
 * Live-only checks (PrometheusReachable, Permissions, LastRun) are skipped
 * (ok, "skipped: needs a live cluster") on a snapshot.
 *
 * Nothing here reads a file or the network, logs, or writes anything.
 */
#ifndef WVA_DOCTOR_CHECKS_H
#define WVA_DOCTOR_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/error.h"
#include "wva/settings.h"
#include "wva/snapshot.h"

/* The CronJob of the cronjob/ manifests, named in fixes. */
#define DOCTOR_CRONJOB_NAME "wva-optimizer"
/* The finding of a live-only check on a snapshot. */
#define DOCTOR_SKIPPED_OFFLINE "skipped: needs a live cluster"

enum doctor_scope { DOCTOR_SCOPE_GLOBAL, DOCTOR_SCOPE_NAMESPACE, DOCTOR_SCOPE_VA };

/* "global", "namespace", "va". */
const char *doctor_scope_name(enum doctor_scope scope);

/* One row of the report.  Strings are owned by the report and never NULL
 * ("" when there is nothing: no namespace, no name, no fix). */
struct doctor_check {
    enum doctor_scope scope;
    char *namespace_name;
    char *name;
    const char *check;          /* static: "InvalidSpec", "Permissions", ... */
    bool ok;
    char *finding;              /* what was found, with values */
    char *fix;                  /* the command or edit; "" for most ok rows */
};

struct doctor_report {
    struct doctor_check *checks;
    size_t count;
};

/* The number of failing rows. */
size_t doctor_failed_count(const struct doctor_report *report);

/* Free the rows and zero the report.  NULL is a no-op. */
void doctor_report_free(struct doctor_report *report);

/* ---- what only a live cluster can tell ---------------------------------- */

/* Where a permission applies. */
enum doctor_permission_where {
    DOCTOR_PERM_CLUSTER,        /* cluster-wide */
    DOCTOR_PERM_WORKLOAD,       /* the watch namespace, else all namespaces */
    DOCTOR_PERM_SYSTEM,         /* the system namespace */
};

/* One permission the program needs (SPEC sections 1, 3 and 7). */
struct doctor_permission {
    const char *verb;
    const char *group;
    const char *resource;
    const char *subresource;    /* NULL = none */
    enum doctor_permission_where where;
    bool limited_only;          /* only needed with WVA_LIMITED_MODE */
};

/* Every permission the program needs, in report order; *count is set. */
const struct doctor_permission *doctor_permissions(size_t *count);

/* The answer of one access review. */
struct doctor_permission_result {
    const struct doctor_permission *perm;
    char *namespace_name;       /* NULL = cluster-wide / all namespaces */
    bool allowed;
    char *reason;               /* the API server's, or NULL */
};

struct doctor_cm_name {
    char *namespace_name;
    char *name;
};

/* The probe results of a live doctor (owned strings; free with
 * doctor_facts_free()). */
struct doctor_facts {
    double now;                     /* epoch seconds the facts were read */
    char *prometheus_error;         /* NULL = reachable */
    bool prometheus_unset;          /* PROMETHEUS_BASE_URL not set */
    struct doctor_permission_result *perms;
    size_t perms_count;
    char *permissions_error;        /* the reviews could not be made */
    char *main_configmap_refused;   /* the main ConfigMap's 403, or NULL */
    char lease_name[64];
    bool lease_found;
    double last_completed_run;      /* -1 = annotation absent */
    char *lease_error;
    bool cms_listed;                /* cms holds every ConfigMap name in scope */
    struct doctor_cm_name *cms;     /* any order */
    size_t cms_count;
    char *cms_note;                 /* why the list is missing */
    char *scope_note;               /* VAs were read in the watch namespace only */
};

/* Free the contents and zero f.  NULL is a no-op. */
void doctor_facts_free(struct doctor_facts *f);

/* ---- evaluation ------------------------------------------------------- */

/* The rows for snap with resolved settings s; facts NULL offline (the
 * live-only checks are then skipped).  Rows are restricted by
 * s->doctor_namespace and s->doctor_va (global rows always present).  out
 * must be zeroed; free with doctor_report_free() whatever the result.
 * Returns -1 with err only when the engine fails (the solver). */
int doctor_evaluate(const struct wva_snapshot *snap, const struct wva_settings *s,
                    const struct doctor_facts *facts, struct doctor_report *out,
                    struct wva_error *err);

#endif
