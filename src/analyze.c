/* analyze.c - saturation analysis of one model (SPEC section 6).
 *
 * A replica is saturated when either signal reaches its threshold.  Only
 * non-saturated replicas say how much room is left: their spare KV and
 * queue are averaged and compared with the spare triggers (strictly) to
 * decide whether the model needs more replicas.  Scale-down is safe only
 * when at least two non-saturated replicas exist and their combined load,
 * spread over one replica fewer, still leaves the spare triggers free.
 */
#include "wva/analyze.h"

bool analyze_replica_saturated(const struct wva_replica_load *r, const struct wva_thresholds *t)
{
    return r->kv >= t->kv_cache_threshold || r->queue >= t->queue_length_threshold;
}

void analyze_model(const struct wva_replica_load *replicas, size_t count,
                   const struct wva_thresholds *t, struct wva_analysis *out)
{
    double spare_kv = 0, spare_queue = 0, load_kv = 0, load_queue = 0;
    size_t n = 0;

    *out = (struct wva_analysis){0};
    out->replicas = count;
    if (count == 0)
        return;
    for (size_t i = 0; i < count; i++) {
        if (analyze_replica_saturated(&replicas[i], t))
            continue;
        n++;
        spare_kv += t->kv_cache_threshold - replicas[i].kv;
        spare_queue += t->queue_length_threshold - replicas[i].queue;
        load_kv += replicas[i].kv;
        load_queue += replicas[i].queue;
    }
    out->non_saturated = n;
    if (n > 0) {
        out->avg_spare_kv = spare_kv / (double)n;
        out->avg_spare_queue = spare_queue / (double)n;
    }
    out->should_scale_up = out->avg_spare_kv < t->kv_spare_trigger ||
                           out->avg_spare_queue < t->queue_spare_trigger;
    if (n >= 2) {
        double kv_after = load_kv / (double)(n - 1);
        double queue_after = load_queue / (double)(n - 1);
        out->scale_down_safe = t->kv_cache_threshold - kv_after >= t->kv_spare_trigger &&
                               t->queue_length_threshold - queue_after >= t->queue_spare_trigger;
    }
}
