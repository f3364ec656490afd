/* analyze.h - saturation analysis of one model (SPEC section 6).
 *
 * Pure arithmetic over the per-replica observations of a model and its
 * resolved thresholds; no I/O, no knowledge of Kubernetes or the LP.
 */
#ifndef WVA_ANALYZE_H
#define WVA_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/configmaps.h"

/* One measured replica (pod): peak KV-cache usage (0..1) and peak waiting
 * queue over the last minute. */
struct wva_replica_load {
    double kv;
    double queue;
};

struct wva_analysis {
    size_t replicas;            /* measured replicas */
    size_t non_saturated;
    double avg_spare_kv;        /* over non-saturated replicas, 0 when none */
    double avg_spare_queue;
    bool should_scale_up;
    bool scale_down_safe;
};

/* Whether one replica is saturated: kv >= kvCacheThreshold or queue >=
 * queueLengthThreshold. */
bool analyze_replica_saturated(const struct wva_replica_load *r, const struct wva_thresholds *t);

/* Analyse count replicas with thresholds t.  With no replicas the result
 * is all zero (the caller treats that model as having no metrics). */
void analyze_model(const struct wva_replica_load *replicas, size_t count,
                   const struct wva_thresholds *t, struct wva_analysis *out);

#endif
