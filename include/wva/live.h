/* live.h - a run against a real cluster: read the cluster and Prometheus
 * into a snapshot, plan with the engine, apply the plan (SPEC sections 2,
 * 3 and 7).  Owns the order of operations and the exit code; the reading,
 * planning and writing themselves live in kube_client.c, prom_client.c,
 * engine.c, actuate.c and lease.c.
 */
#ifndef WVA_LIVE_H
#define WVA_LIVE_H

#include "wva/settings.h"

/* Run the scheduled, --once or --dry-run mode described by s (parsed, not
 * yet resolved).  Returns the process exit code (SPEC section 2). */
int live_run(struct wva_settings *s);

#endif
