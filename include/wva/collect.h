/* collect.h - reading a live snapshot: the cluster part through the
 * Kubernetes client, the run's metrics through the Prometheus client (SPEC
 * sections 1, 5 and 6).  Used by live runs and by doctor, so that both see
 * the same objects and the same series.
 *
 * This module decides WHICH objects and series a run needs: the namespaces,
 * VAs, their Deployments and pods, the WVA ConfigMaps of the system
 * namespace and of the tracked namespaces (the rule is
 * filter_namespace_tracked(), nowhere else), GPU nodes, and the fixed batch
 * of PromQL queries.  The clients only speak HTTP; turning an object into
 * the engine's structs is the snapshot module's job.
 */
#ifndef WVA_COLLECT_H
#define WVA_COLLECT_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/error.h"
#include "wva/kube_client.h"
#include "wva/prom_client.h"
#include "wva/settings.h"
#include "wva/snapshot.h"

/* ---- the cluster part -------------------------------------------------- */

/* What collect_cluster reads. */
struct collect_options {
    /* The watch namespace setting ("" or NULL = all namespaces): what is
     * read, and the namespace the tracked rule never excludes. */
    const char *watch_namespace;
    /* Read every namespace even when a watch namespace is set (doctor, to
     * say why VAs elsewhere are skipped); the tracked rule still uses
     * watch_namespace. */
    bool every_namespace;
    const char *system_namespace;   /* required: where the global ConfigMaps are */
    const char *config_map_name;    /* required: the main ConfigMap */
    bool limited_mode;              /* also GPU nodes, and pods cluster-wide */
    /* The main ConfigMap as the caller already read it (its data), so that
     * it is not fetched a second time.  NULL: collect_cluster GETs it.
     * Otherwise main_configmap_found says whether it exists: when true it
     * goes into the snapshot (system namespace, config_map_name, a copy of
     * the data, where the GET would have put it); when false the snapshot
     * has none, as after a 404.  Only read during the call. */
    const struct wva_kvlist *main_configmap_data;
    bool main_configmap_found;
};

/* Options for a run with resolved settings s (pointers into s): watch
 * namespace, system namespace, main ConfigMap name, limited mode; the
 * other fields zero. */
void collect_options_from_settings(const struct wva_settings *s, struct collect_options *o);

/* Read the cluster part of a live snapshot into snap, a zeroed struct the
 * caller allocated (wva_xcalloc) and frees with snapshot_free() whatever
 * the outcome (after a failure it may hold part of the objects):
 *   - namespaces: all (a list), or only the watch namespace (a GET; absent
 *     or forbidden is tolerated);
 *   - VariantAutoscalings: cluster-wide, or in the watch namespace;
 *   - Deployments and Pods: one list per namespace that has VAs (with
 *     limited_mode, Pods are listed cluster-wide for GPU accounting);
 *   - ConfigMaps with the well-known names (the main one, wva-saturation-
 *     config, wva-saturation-scaling-config, wva-scale-to-zero-config,
 *     wva-model-scale-to-zero-config): GETs in the system namespace and in
 *     each tracked namespace (filter_namespace_tracked()); 404 = absent;
 *     the main one comes from o->main_configmap_data when that is set;
 *   - Nodes when limited_mode (snap->has_nodes set).
 * Requests go in a fixed order (namespaces sorted by name).  Objects are
 * converted by the snapshot module's readers (the same as for --from-file)
 * item by item; a list restarted after 410, or one that fails, drops what
 * it had converted.  A bad object fails the read with err naming the
 * request and the object's place in the snapshot document ("LIST
 * /api/v1/pods: pods.items[7].metadata.name: missing").  Sets captured_at
 * to now when unset and calls snapshot_finish().  Metrics are not read
 * here.  Returns 0, or -1 with err: the kind of the failed request
 * (WVA_ERR_UNREACHABLE, WVA_ERR_FORBIDDEN, WVA_ERR_SERVER, ...),
 * WVA_ERR_SERVER for a bad object (the API server sent nonsense), or
 * WVA_ERR_INTERNAL for a namespace or ConfigMap name that cannot be a path
 * segment (settings validate them before they get here). */
int collect_cluster(struct kube_client *kc, const struct collect_options *o,
                    struct wva_snapshot *snap, struct wva_error *err);

/* ---- the metrics --------------------------------------------------------
 *
 * Queries per run: 7 + the number of distinct spec.metrics names, whatever
 * the number of VAs; +1 when vllm:kv_cache_usage_perc has no usable sample
 * and vllm:gpu_cache_usage_perc is asked instead; -1 when no model has
 * scale-to-zero enabled (the request-count query is skipped).  Each query
 * is scoped by a namespace matcher when a watch namespace is set.
 */

/* The PromQL of one run.  Each returns a malloc'd string; watch_ns may be
 * NULL or "" (all namespaces). */
char *collect_query_kv_cache_usage(const char *watch_ns);
/* The fallback for older vLLM versions: same shape, vllm:gpu_cache_usage_perc. */
char *collect_query_gpu_cache_usage(const char *watch_ns);
char *collect_query_queue_length(const char *watch_ns);
char *collect_query_cache_config(const char *watch_ns);
/* Successful requests over the retention period (seconds, > 0). */
char *collect_query_request_count(const char *watch_ns, double retention_seconds);
char *collect_query_gateway_queue(const char *watch_ns);
/* Per pod: requests in service (mean over 1m) and completions per second
 * (rate over 1m), for arrival-rate and backlog sizing. */
char *collect_query_running_requests(const char *watch_ns);
char *collect_query_request_rate(const char *watch_ns);
/* A spec.metrics series: NULL + err (WVA_ERR_INTERNAL: the filter refuses
 * such VAs first) when metric is not a valid metric name. */
char *collect_query_custom(const char *watch_ns, const char *metric, struct wva_error *err);

/* What one run asks Prometheus for. */
struct collect_metric_params {
    const char *watch_namespace;    /* NULL or "" = all namespaces */
    /* Largest retention period (seconds) among models with scale-to-zero
     * enabled; <= 0 when none is enabled: request_count is not queried. */
    double retention_seconds;
    /* spec.metrics names of the optimized VAs; duplicates allowed (one
     * query per distinct name, results sorted by name). */
    const char *const *custom_metrics;
    size_t custom_metrics_count;
    double eval_time;               /* <= 0 = now */
};

/* Run the fixed batch of queries and fill *metrics (which must be zeroed).
 * Returns 0 when every query succeeded.  On the first failure stops (the
 * engine holds replicas anyway, so further queries would only add
 * latency), sets metrics->prometheus_error to the message, keeps the
 * series already read, and returns -1 with err set to the same message
 * (and the failed query's kind).  Custom metric names are all validated
 * before anything is sent. */
int collect_prom_metrics(struct prom_client *prom, const struct collect_metric_params *params,
                         struct wva_metrics *metrics, struct wva_error *err);

/* Read the run's metrics into snap->metrics: the batch above, covering
 * what the snapshot's optimized VAs need (scale-to-zero retention,
 * spec.metrics names; engine_metric_needs()), scoped to s's watch
 * namespace.  Returns 0, or -1 with err (snap->metrics.prometheus_error is
 * then set). */
int collect_metrics(struct prom_client *prom, struct wva_snapshot *snap,
                    const struct wva_settings *s, struct wva_error *err);

/* Release everything a struct wva_metrics owns and zero it (the struct
 * itself is the caller's).  NULL is a no-op. */
void collect_metrics_free(struct wva_metrics *metrics);

/* Prometheus client options from resolved settings s (pointers into s,
 * which must outlive opts): URL, token, TLS; the rest zero (the defaults). */
void collect_prom_options(const struct wva_settings *s, struct prom_options *opts);

#endif
