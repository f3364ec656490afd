/* snapshot_model.h - the cluster and metrics state one run works on: the
 * data model and its memory.
 *
 * A snapshot is read either from a file (SPEC section 8, --from-file) or,
 * in live runs, from the Kubernetes API and Prometheus.  Either way the
 * engine sees only these compact structures, never raw JSON: the readers
 * keep exactly the fields the engine reads.
 *
 * The modules around it (the object readers, the lists, the index, the
 * writer, the document reader) build on this header; callers include
 * snapshot.h, which brings them all.
 *
 * Ownership: struct wva_snapshot owns every string and array below it;
 * snapshot_free() releases all of it.  Implemented in snapshot_model.c.
 */
#ifndef WVA_SNAPSHOT_MODEL_H
#define WVA_SNAPSHOT_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/error.h"
#include "wva/kvlist.h"

/* The longest metadata.name / namespace a snapshot accepts (a DNS
 * subdomain; the readers refuse longer ones). */
#define SNAPSHOT_MAX_NAME 253u

/* The "version" of the snapshot documents this build reads and writes. */
#define SNAPSHOT_DOCUMENT_VERSION 1

struct wva_namespace {
    char *name;
    struct wva_kvlist labels;
    struct wva_kvlist annotations;
    bool deleting;                  /* metadata.deletionTimestamp set */
};

/* One entry of spec.metrics: an extra per-replica target. */
struct wva_metric_target {
    char *name;                     /* Prometheus metric name */
    double target;                  /* per-replica target value, > 0 */
};

struct wva_va {
    char *namespace_name;
    char *name;
    char *resource_version;
    struct wva_kvlist labels;

    /* spec, as far as it could be read.  A VA whose spec is wrong is not a
     * malformed snapshot: spec_problem says what is wrong (naming the field
     * and value) and the filter turns it into an InvalidSpec skip. */
    char *spec_problem;             /* NULL when the spec is valid */
    char *target_kind;
    char *target_name;
    char *model_id;
    double variant_cost;            /* default 10.0 */
    int min_replicas;               /* default 0 */
    int max_replicas;               /* -1 = unlimited */
    int priority;                   /* default 0 */
    struct wva_metric_target *metrics;
    size_t metrics_count;
    /* When spec_problem is set, the spec exactly as read (compact JSON,
     * NULL when the spec was absent), so that snapshot_to_json re-emits it
     * and a reload reports the same problem.  Set by the VA reader. */
    char *raw_spec_json;

    /* status, as last written (used for "no write when nothing changed",
     * the stabilization window without history, and transition times). */
    int status_desired_replicas;    /* -1 when absent */
    char *status_accelerator;
    double status_last_run_time;    /* epoch seconds, -1 when absent */
    struct wva_condition *conditions;
    size_t conditions_count;
};

struct wva_condition {
    char *type;
    char *status;                   /* "True" / "False" / "Unknown" */
    char *reason;
    char *message;
    char *last_transition_time;     /* as written, RFC 3339 */
};

struct wva_deployment {
    char *namespace_name;
    char *name;
    char *resource_version;
    bool deleting;
    int replicas;                   /* spec.replicas (default 1) */
    int ready_replicas;             /* status.readyReplicas (default 0) */
    struct wva_kvlist selector;     /* spec.selector.matchLabels */
    /* Accelerator from the pod template's nodeSelector
     * (nvidia.com/gpu.product, amd.com/gpu.product, intel.com/gpu.product),
     * raw product name, NULL when absent. */
    char *node_selector_accelerator;
    /* GPUs per replica from the first container that requests
     * nvidia.com/gpu, amd.com/gpu or intel.com/gpu (requests, else limits);
     * 0 when none is requested (the filter then assumes 1). */
    double gpu_request;
};

struct wva_pod {
    char *namespace_name;
    char *name;
    char *owner_replicaset;         /* ownerReferences kind ReplicaSet, or NULL */
    char *pod_template_hash;        /* label pod-template-hash, or NULL */
    char *node_name;                /* spec.nodeName, or NULL */
    char *phase;                    /* status.phase, or NULL */
    bool terminating;               /* metadata.deletionTimestamp set */
    double gpu_request;             /* total GPUs requested by its containers */
};

struct wva_node {
    char *name;
    char *accelerator;              /* raw <vendor>/gpu.product label, or NULL */
    double allocatable_gpus;        /* status.allocatable <vendor>/gpu */
    bool unschedulable;
};

struct wva_configmap {
    char *namespace_name;
    char *name;
    struct wva_kvlist data;
};

/* One Prometheus instant-vector sample (an item of data.result). */
struct wva_sample {
    struct wva_kvlist labels;
    double value;                   /* NaN/Inf samples are dropped at load */
};
struct wva_series {
    struct wva_sample *items;
    size_t count;
};

struct wva_custom_series {
    char *metric;
    struct wva_series series;
};

/* The named series each have a row in the table snapshot_metrics() gives;
 * adding one is a field here and a row there. */
struct wva_metrics {
    struct wva_series kv_cache_usage;   /* by (namespace, pod, model_name) */
    struct wva_series queue_length;     /* by (namespace, pod, model_name) */
    struct wva_series cache_config;     /* labels num_gpu_blocks, block_size */
    struct wva_series request_count;    /* by (namespace, model_name) */
    struct wva_series gateway_queue;    /* by (namespace?, target_model_name) */
    struct wva_series running_requests; /* vllm:num_requests_running, mean over
                                         * 1m, by (namespace, pod, model_name) */
    struct wva_series request_rate;     /* rate(vllm:request_success_total[1m]),
                                         * by (namespace, pod, model_name) */
    struct wva_custom_series *custom;
    size_t custom_count;
    /* Live runs: Prometheus could not be queried (error text, else NULL).
     * Kept in snapshot files as metrics.prometheusError so that a replay
     * holds replicas exactly as the recorded run did. */
    char *prometheus_error;
    /* NaN/+Inf/-Inf samples dropped at load (for a plan warning). */
    size_t nonfinite_dropped;
};

/* The named series of struct wva_metrics: the member of a snapshot
 * document's "metrics" object, and where the series is in the struct.
 * The reader, the splitter, the writer and snapshot_free all go by this
 * table, in its order. */
struct snapshot_metric {
    const char *key;                    /* "kvCacheUsage" */
    size_t offset;                      /* offsetof(struct wva_metrics, ...) */
};
/* The table; *count is set to its length. */
const struct snapshot_metric *snapshot_metrics(size_t *count);
/* The series of m a row names. */
struct wva_series *snapshot_metric_series(struct wva_metrics *m, const struct snapshot_metric *f);
const struct wva_series *snapshot_metric_series_const(const struct wva_metrics *m,
                                                      const struct snapshot_metric *f);

struct wva_snapshot_index;

/* Each Kubernetes list is an array, its count, and its capacity: the
 * number of items allocated when it is at least count.  Only
 * snapshot_append_item() and snapshot_reserve_list() (snapshot_lists.h)
 * grow an array past its count; code that allocates or replaces an array
 * itself sets its capacity to what it allocated (0 means "exactly
 * count"). */
struct wva_snapshot {
    char *captured_at;                  /* RFC 3339 as recorded */
    double captured_at_epoch;
    struct wva_kvlist settings;         /* optional "settings" object */
    bool has_nodes;                     /* "nodes" present */

    struct wva_namespace *namespaces;   size_t namespaces_count, namespaces_cap;
    struct wva_va *vas;                 size_t vas_count, vas_cap;
    struct wva_deployment *deployments; size_t deployments_count, deployments_cap;
    struct wva_pod *pods;               size_t pods_count, pods_cap;
    struct wva_configmap *configmaps;   size_t configmaps_count, configmaps_cap;
    struct wva_node *nodes;             size_t nodes_count, nodes_cap;
    struct wva_metrics metrics;

    /* Lookup indexes built by snapshot_finish() (snapshot_index.h): one
     * allocation, which any change to the lists frees (lookups then scan). */
    struct wva_snapshot_index *index;
};

/* The Kubernetes lists of a snapshot. */
enum snapshot_list {
    SNAPSHOT_NAMESPACES,            /* "namespaces" */
    SNAPSHOT_VAS,                   /* "variantAutoscalings" */
    SNAPSHOT_DEPLOYMENTS,           /* "deployments" */
    SNAPSHOT_PODS,                  /* "pods" */
    SNAPSHOT_CONFIGMAPS,            /* "configMaps" */
    SNAPSHOT_NODES,                 /* "nodes" */
};
#define SNAPSHOT_LISTS 6

/* More items than this in one list are refused: far above any real
 * cluster (a 10,000-VA cluster has about 30,000 pods), low enough that a
 * hostile or broken input cannot make the run allocate without end. */
#define SNAPSHOT_MAX_ITEMS 1000000u

/* The document member of a list ("variantAutoscalings"); NULL for an
 * unknown list. */
const char *snapshot_list_key(enum snapshot_list list);

/* Number of items in the given list of snap (0 for an unknown list). */
size_t snapshot_list_count(const struct wva_snapshot *snap, enum snapshot_list list);

/* The array of a list (void * to its first item; NULL when empty or for
 * an unknown list), the size of its items, and its capacity (at least
 * its count): for the code that grows and shrinks the lists
 * (snapshot_lists.c). */
void *snapshot_list_items(const struct wva_snapshot *snap, enum snapshot_list list);
size_t snapshot_list_item_size(enum snapshot_list list);
size_t snapshot_list_cap(const struct wva_snapshot *snap, enum snapshot_list list);

/* Reallocate the array of a list to hold want items when it holds fewer
 * (the items keep their place; the array may move).  Sets the capacity. */
void snapshot_list_grow(struct wva_snapshot *snap, enum snapshot_list list, size_t want);

/* Set the count of a list: items from count on are released (what they
 * own is freed); a larger count takes in items the caller has filled in
 * within the capacity. */
void snapshot_list_set_count(struct wva_snapshot *snap, enum snapshot_list list, size_t count);

/* Free what one item of the list owns (not the item's own memory, which
 * is the array's).  Unknown list or NULL item: nothing. */
void snapshot_release_item(enum snapshot_list list, void *item);

/* Free the lookup indexes (lookups then scan the arrays): what any change
 * to the lists must do first.  NULL snap is a no-op. */
void snapshot_drop_index(struct wva_snapshot *snap);

/* Free the snapshot and everything it owns.  NULL is a no-op. */
void snapshot_free(struct wva_snapshot *snap);

#endif
