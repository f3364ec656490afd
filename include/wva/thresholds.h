/* thresholds.h - the per-model settings of SPEC section 5 as numbers:
 * saturation thresholds and scale-to-zero.
 *
 * Types only, below the modules that use them: configmaps.c resolves
 * them, analyze.c and the engine apply them, the plan and the history
 * store show them.  Defaults are configmaps.c's (config_default_thresholds).
 */
#ifndef WVA_THRESHOLDS_H
#define WVA_THRESHOLDS_H

#include <stdbool.h>

struct wva_thresholds {
    double kv_cache_threshold;          /* 0.80 */
    double queue_length_threshold;      /* 5 */
    double kv_spare_trigger;            /* 0.10 */
    double queue_spare_trigger;         /* 3 */
    double scale_down_stabilization;    /* seconds, 300 */
    int max_scale_up_per_run;           /* 0 = unlimited */
    /* Capacity kept free beyond the measured demand, in replicas of the
     * model's mean per-replica capacity (spareReplicas, an extension of
     * upstream's fields): what absorbs a burst while new replicas load. */
    double spare_replicas;              /* WVA_DEFAULT_SPARE_REPLICAS */
};

#define WVA_DEFAULT_SPARE_REPLICAS 0.5

struct wva_scale_to_zero {
    bool enabled;
    double retention_period;            /* seconds, 600 */
};

#endif
