/* snapshot.h - the cluster and metrics state one run works on.
 *
 * A snapshot is read either from a file (SPEC section 8, --from-file) or,
 * in live runs, from the Kubernetes API and Prometheus.  Either way the
 * engine sees only these compact structures, never raw JSON: the loader
 * keeps exactly the fields the engine reads.
 *
 * Ownership: struct wva_snapshot owns every string and array below it;
 * snapshot_free() releases all of it.
 */
#ifndef WVA_SNAPSHOT_H
#define WVA_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/error.h"

/* An ordered string map (labels, annotations, ConfigMap data, settings). */
struct wva_kv {
    char *key;
    char *value;
};
struct wva_kvlist {
    struct wva_kv *items;
    size_t count;
};
/* Value for key, or NULL.  Linear: these lists are short (labels). */
const char *wva_kvlist_get(const struct wva_kvlist *list, const char *key);
/* Set key to a copy of value, replacing an existing entry in place or
 * appending a new one (order is kept).  value NULL removes the key.
 * items must have been allocated with malloc (it is realloc'd). */
void wva_kvlist_set(struct wva_kvlist *list, const char *key, const char *value);
/* Free keys, values and the array; the list becomes empty.  NULL is a no-op. */
void wva_kvlist_free(struct wva_kvlist *list);

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
    /* Private to snapshot.c: when spec_problem is set, the spec exactly as
     * read (compact JSON, NULL when the spec was absent), so that
     * snapshot_to_json re-emits it and a reload reports the same problem.
     * Builders of live snapshots should set it the same way. */
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

struct wva_snapshot_index;
struct wva_snapshot_room;

struct wva_snapshot {
    char *captured_at;                  /* RFC 3339 as recorded */
    double captured_at_epoch;
    struct wva_kvlist settings;         /* optional "settings" object */
    bool has_nodes;                     /* "nodes" present */

    struct wva_namespace *namespaces;   size_t namespaces_count;
    struct wva_va *vas;                 size_t vas_count;
    struct wva_deployment *deployments; size_t deployments_count;
    struct wva_pod *pods;               size_t pods_count;
    struct wva_configmap *configmaps;   size_t configmaps_count;
    struct wva_node *nodes;             size_t nodes_count;
    struct wva_metrics metrics;

    /* Private to snapshot.c: lookup indexes built by snapshot_finish(). */
    struct wva_snapshot_index *index;
    /* Private to snapshot.c: spare room of the arrays that
     * snapshot_append_item() grew. */
    struct wva_snapshot_room *room;
};

/* Parse a snapshot document held in memory (len bytes, need not be
 * NUL-terminated).  On a malformed document returns -1 with err naming the
 * JSON path ("deployments.items[3].spec.replicas: expected integer, got
 * \"abc\"").  On success *out is a new snapshot the caller frees. */
int snapshot_parse(const char *text, size_t len, struct wva_snapshot **out,
                   struct wva_error *err);

/* Read and parse a file ("-" = stdin).  Files over 512 MiB are refused.
 * Error messages are prefixed with "snapshot PATH: ". */
int snapshot_load_file(const char *path, struct wva_snapshot **out,
                       struct wva_error *err);

/* Serialise the fields the engine reads back into a valid snapshot
 * document (SPEC section 8): snapshot_parse() of the result gives an equal
 * snapshot (timestamps of deletion are not kept: captured_at stands in; a
 * VA's status.lastRunTime is written to the whole second, as Kubernetes
 * does).  Numbers are written in the shortest form that reads back as the
 * same double (a sample value 0.65 as "0.65").  Returns a malloc'd
 * NUL-terminated string. */
char *snapshot_to_json(const struct wva_snapshot *snap);

/* The Kubernetes lists of a snapshot, for the item-at-a-time API below. */
enum snapshot_list {
    SNAPSHOT_NAMESPACES,            /* "namespaces" */
    SNAPSHOT_VAS,                   /* "variantAutoscalings" */
    SNAPSHOT_DEPLOYMENTS,           /* "deployments" */
    SNAPSHOT_PODS,                  /* "pods" */
    SNAPSHOT_CONFIGMAPS,            /* "configMaps" */
    SNAPSHOT_NODES,                 /* "nodes" */
};

struct json_object;

/* Convert one Kubernetes object (an item of a List, or a GET's answer) and
 * append it to the given list of snap: exactly what snapshot_parse() does
 * for each item of that list (the same readers: strict metadata, a VA's
 * lenient spec and status, the same bounds).  item is only read (the
 * caller keeps ownership); nothing of it is kept.  A bad item fails with
 * err naming it as the equivalent document would, by its position in the
 * list ("pods.items[7].metadata.name: missing", 7 being the count of pods
 * already in snap), and leaves snap as it was.  More than 1,000,000 items
 * in one list are refused.  Arrays grow geometrically (amortised O(1) per
 * item): other code must not realloc them afterwards.  captured_at,
 * settings, has_nodes and metrics are the caller's to set.  Lookup indexes
 * are dropped (lookups fall back to a linear scan): call snapshot_finish()
 * once the lists are complete.  Returns 0 or -1. */
int snapshot_append_item(struct wva_snapshot *snap, enum snapshot_list list,
                         struct json_object *item, struct wva_error *err);

/* Number of items in the given list of snap (0 for an unknown list). */
size_t snapshot_list_count(const struct wva_snapshot *snap, enum snapshot_list list);

/* Free the items of the given list from position count on and shorten the
 * list to count items (nothing when it has no more): how a reader drops
 * what it appended from a List that restarted.  Drops the lookup indexes
 * like snapshot_append_item(). */
void snapshot_truncate_list(struct wva_snapshot *snap, enum snapshot_list list, size_t count);

/* (Re)build the lookup indexes after the arrays above were filled or
 * changed (snapshot_parse calls it; a live loader calls it once its lists
 * are complete).  The indexes point into the arrays: call it again after
 * any change to them.  Without it, lookups fall back to a linear scan. */
void snapshot_finish(struct wva_snapshot *snap);

/* Lookups by namespace/name: O(log n) after snapshot_finish, NULL when
 * absent.  With duplicates (not possible in a real cluster) the first in
 * array order is returned. */
const struct wva_namespace *snapshot_find_namespace(const struct wva_snapshot *snap,
                                                    const char *name);
const struct wva_deployment *snapshot_find_deployment(const struct wva_snapshot *snap,
                                                      const char *ns, const char *name);
const struct wva_configmap *snapshot_find_configmap(const struct wva_snapshot *snap,
                                                    const char *ns, const char *name);

/* Free the snapshot and everything it owns.  NULL is a no-op. */
void snapshot_free(struct wva_snapshot *snap);

#endif
