/* live.h - a run against a real cluster: read the cluster and Prometheus
 * into a snapshot, plan with the engine, apply the plan (SPEC sections 2,
 * 3 and 7).  Owns the order of operations; start-up is session.c's, the
 * reading collect.c's, the planning and writing engine.c's, actuate.c's
 * and lease.c's.
 */
#ifndef WVA_LIVE_H
#define WVA_LIVE_H

#include "wva/error.h"
#include "wva/settings.h"

/* Run the scheduled, --once or --dry-run mode described by s (parsed, not
 * yet resolved).  Everything that happens is logged on stderr, each plan
 * printed on stdout.  Returns 0 when the run succeeded or had nothing to
 * do (disabled, too early, another run holds the lock), or -1 with err
 * (logged already): its kind says how the run failed (WVA_ERR_CONFIG for
 * settings, WVA_ERR_PARTIAL when some writes failed and the others were
 * applied, the failed request's kind when nothing was applied); with
 * several cycles, the last failed cycle's. */
int live_run(struct wva_settings *s, struct wva_error *err);

#endif
