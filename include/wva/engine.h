/* engine.h - one optimization cycle over a snapshot:
 * filter -> ConfigMaps -> observe -> analyze -> solve -> plan.
 *
 * The same function serves replays (--from-file), dry runs and live runs;
 * it reads only the snapshot and the settings and writes nothing anywhere.
 * Applying the plan to a cluster is the caller's business.
 */
#ifndef WVA_ENGINE_H
#define WVA_ENGINE_H

#include "wva/error.h"
#include "wva/plan.h"
#include "wva/settings.h"
#include "wva/snapshot.h"

struct engine_timings {
    double filter;      /* seconds */
    double analyze;     /* ConfigMaps, metrics join and saturation analysis */
    double solve;       /* LP build, solve, rounding */
    double plan;        /* assembling the plan */
};

/* Optional facts from the history store that the snapshot cannot carry. */
struct engine_history {
    /* Epoch seconds of the newest scale-up recommendation for a model, or
     * -1 when unknown; NULL = no history store. */
    double (*last_scale_up)(const char *ns, const char *model_id, void *ctx);
    void *ctx;
};

/* Compute the plan.  mode is "replay", "live" or "dry-run".  history may be
 * NULL.  Returns NULL with err only when the solver fails; bad VAs,
 * ConfigMaps or metrics are skips and warnings inside the plan.  Caller
 * frees with plan_free(). */
struct wva_plan *engine_plan(const struct wva_snapshot *snap, const struct wva_settings *settings,
                             const char *mode, const struct engine_history *history,
                             struct engine_timings *timings, struct wva_error *err);

/* What the Prometheus queries of a live run must cover, from the cluster
 * part of a snapshot (before metrics are read). */
struct engine_metric_needs {
    double retention_seconds;   /* largest scale-to-zero retention, 0 = none enabled */
    char **custom_metrics;      /* distinct spec.metrics names of optimized VAs */
    size_t custom_metrics_count;
};
void engine_metric_needs(const struct wva_snapshot *snap, const struct wva_settings *settings,
                         struct engine_metric_needs *out);
void engine_metric_needs_free(struct engine_metric_needs *needs);

/* Seconds from the monotonic clock, for stage timings: the same clock as
 * values_monotonic_seconds(), which new code calls directly. */
double engine_now(void);

#endif
