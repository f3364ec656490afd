/* doctor.h - `wva-optimizer doctor` (SPEC section 10): the troubleshooting
 * checks for every VA in scope, its namespace and the global settings, each
 * failing check with its finding and the exact command that fixes it.
 *
 * The VA checks are not re-implemented here: they are the skip reasons of
 * filter_select() and engine_plan(), so doctor and the optimizer can never
 * disagree.  Each of the six VA checks gets its own row: checks 2-5 are
 * evaluated even when an earlier one fails (by asking the filter again as if
 * the earlier check passed), MetricsUnavailable only when the engine got
 * that far.  Live-only checks (PrometheusReachable, Permissions, LastRun)
 * are skipped (ok, "skipped: needs a live cluster") on a snapshot.
 */
#ifndef WVA_DOCTOR_H
#define WVA_DOCTOR_H

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

/* Run the checks on a snapshot with resolved settings s (offline: the
 * live-only checks are skipped).  Rows are restricted by s->doctor_namespace
 * and s->doctor_va (global rows always present).  out must be zeroed; free
 * with doctor_report_free() whatever the result.  Returns -1 with err only
 * when the engine fails (the solver). */
int doctor_check_snapshot(const struct wva_snapshot *snap, const struct wva_settings *s,
                          struct doctor_report *out, struct wva_error *err);

/* Everything `doctor` does before printing: with s->from_file, load the
 * snapshot and resolve the settings as a replay does; otherwise read the
 * cluster like a live run (kubeconfig, main ConfigMap, settings from the
 * environment, the snapshot, Prometheus) and add the live-only checks.
 * s is parsed (settings_parse_args), not yet resolved.  out must be zeroed.
 * Returns 0, or the exit code with err: 2 for a usage or configuration
 * error, 1 when the cluster cannot be read. */
int doctor_collect(struct wva_settings *s, struct doctor_report *out, struct wva_error *err);

/* The number of failing rows. */
size_t doctor_failed_count(const struct doctor_report *report);

/* {"kind":"WVADoctorReport","version":1,"checks":[...]} (json-c, pretty).
 * Caller frees. */
char *doctor_render_json(const struct doctor_report *report);

/* Columns SCOPE NAMESPACE NAME CHECK OK FINDING; a row with a fix is
 * followed by an indented "fix: ..." line; a summary line ends it.  Caller
 * frees. */
char *doctor_render_table(const struct doctor_report *report);

/* Free the rows and zero the report.  NULL is a no-op. */
void doctor_report_free(struct doctor_report *report);

/* The doctor command: collect, print the report on stdout (s->output),
 * log errors on stderr.  Returns the exit code: 0 all checks pass, 4 a
 * check fails, 2 usage or configuration error, 1 the cluster cannot be
 * read. */
int doctor_main(struct wva_settings *s);

#endif
