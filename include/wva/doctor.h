/* doctor.h - `wva-optimizer doctor` (SPEC section 10): the troubleshooting
 * checks for every VA in scope, its namespace and the global settings, each
 * failing check with its finding and the exact command that fixes it.
 *
 * This is the command: collecting the facts (a snapshot, or the cluster
 * and Prometheus read as a live run reads them, plus the probes only a live
 * cluster answers), printing the report.  The checks themselves are pure
 * functions in doctor_checks.h.
 */
#ifndef WVA_DOCTOR_H
#define WVA_DOCTOR_H

#include "wva/doctor_checks.h"
#include "wva/error.h"
#include "wva/settings.h"
#include "wva/snapshot.h"

/* Everything `doctor` does before printing: with s->from_file, load the
 * snapshot and resolve the settings as a replay does; otherwise start up
 * like a live run (session.c; a main ConfigMap the credentials may not
 * read becomes a failing Permissions row), read the cluster and Prometheus
 * as a live run does (collect.c) and add the live-only checks.  s is
 * parsed (settings_parse_args), not yet resolved.  out must be zeroed.
 * Returns 0, or -1 with err: a usage, configuration or input kind for bad
 * settings or snapshot, another kind when the cluster cannot be read. */
int doctor_collect(struct wva_settings *s, struct doctor_report *out, struct wva_error *err);

/* {"kind":"WVADoctorReport","version":1,"checks":[...]} (json-c, pretty).
 * Caller frees. */
char *doctor_render_json(const struct doctor_report *report);

/* Columns SCOPE NAMESPACE NAME CHECK OK FINDING; a row with a fix is
 * followed by an indented "fix: ..." line; a summary line ends it.  Caller
 * frees. */
char *doctor_render_table(const struct doctor_report *report);

/* The doctor command: collect, print the report on stdout (s->output),
 * log a collection failure on stderr.  Returns 0 when every check passes,
 * or -1 with err: WVA_ERR_CHECK_FAILED when a check fails, the collection
 * error's kind when there is no report. */
int doctor_command(struct wva_settings *s, struct wva_error *err);

#endif
