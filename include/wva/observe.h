/* observe.h - joins Prometheus samples to variants (SPEC section 6).
 *
 * Series carry namespace/pod labels; a pod belongs to a variant through
 * its ReplicaSet owner, whose name is the Deployment's name plus the
 * pod-template-hash.  Everything is joined from the pod list (no GET per
 * pod) with hash maps, so the join is linear in pods plus samples.  A series
 * that is missing is unknown, never zero.  Knows nothing of thresholds or
 * the LP.
 */
#ifndef WVA_OBSERVE_H
#define WVA_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/analyze.h"
#include "wva/filter.h"
#include "wva/snapshot.h"

struct wva_variant_metrics {
    struct wva_replica_load *loads; /* pods with both KV and queue samples */
    size_t loads_count;
    size_t pods_count;              /* live (non-terminating) pods joined */
    double capacity_tokens;         /* num_gpu_blocks * block_size, 0 = unknown */
    /* Over the pods in loads: requests in service (runningRequests) and
     * completions per second (requestRate), summed; NaN when any of those
     * pods lacks the series (unknown, never a partial sum), 0 when loads
     * is empty. */
    double running;
    double completion_rate;
};

struct wva_observer;

/* Join the snapshot's metrics to the variants that passed selection
 * (skip == WVA_SKIP_NONE).  variants must outlive the observer. */
struct wva_observer *observe_new(const struct wva_snapshot *snap,
                                 const struct wva_variant *variants, size_t count);
void observe_free(struct wva_observer *obs);

/* Metrics of variant i (same index as the variants array). */
const struct wva_variant_metrics *observe_variant(const struct wva_observer *obs, size_t i);

/* Variant index of pod p (index into snap->pods) when the pod belongs to a
 * selected variant. */
bool observe_pod_variant(const struct wva_observer *obs, size_t p, size_t *variant);

/* Sum of a spec.metrics series over variant i's pods; false when no pod of
 * the variant has a sample (unknown). */
bool observe_custom_total(const struct wva_observer *obs, size_t i, const char *metric,
                          double *total);

/* Successful requests of a model over the retention period (requestCount,
 * labels namespace + model_name); false when unknown. */
bool observe_request_count(const struct wva_observer *obs, const char *ns, const char *model_id,
                           double *count);

/* Gateway queue of a model (gatewayQueue, label target_model_name, and
 * namespace when the series has one); false when unknown. */
bool observe_gateway_queue(const struct wva_observer *obs, const char *ns, const char *model_id,
                           double *queue);

#endif
