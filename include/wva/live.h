/* live.h - a run against a real cluster: read the cluster and Prometheus
 * into a snapshot, plan with the engine, apply the plan (SPEC sections 2,
 * 3 and 7).  Owns the order of operations and the exit code; the reading,
 * planning and writing themselves live in kube_client.c, prom_client.c,
 * engine.c, actuate.c and lease.c.
 */
#ifndef WVA_LIVE_H
#define WVA_LIVE_H

#include "wva/error.h"
#include "wva/prom_client.h"
#include "wva/settings.h"
#include "wva/snapshot.h"

/* Run the scheduled, --once or --dry-run mode described by s (parsed, not
 * yet resolved).  Returns the process exit code (SPEC section 2). */
int live_run(struct wva_settings *s);

/* Read the run's metrics into snap->metrics: the fixed batch of queries,
 * covering what the snapshot's optimized VAs need (scale-to-zero retention,
 * spec.metrics names).  Shared with doctor, so both see the same metrics.
 * Returns 0, or -1 with err (snap->metrics.prometheus_error is then set). */
int live_fetch_metrics(struct prom_client *prom, struct wva_snapshot *snap,
                       const struct wva_settings *s, struct wva_error *err);

#endif
