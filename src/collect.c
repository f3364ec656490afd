/* collect.c - reading a live snapshot: the cluster part and the run's
 * metrics (see include/wva/collect.h).
 *
 * Decides which objects and series a run needs, in a fixed request order;
 * the Kubernetes and Prometheus clients carry the requests, the snapshot
 * module converts the objects, filter_namespace_tracked() says which
 * namespaces' ConfigMaps count.  Nothing here parses an object's fields or
 * speaks HTTP, and nothing here decides a replica count.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "wva/collect.h"
#include "wva/configmaps.h"
#include "wva/engine.h"
#include "wva/filter.h"
#include "wva/log.h"
#include "wva/strbuf.h"
#include "wva/values.h"

/* ---- the cluster part ------------------------------------------------- */

void collect_options_from_settings(const struct wva_settings *s, struct collect_options *o)
{
    memset(o, 0, sizeof(*o));
    o->watch_namespace = s->watch_namespace;
    o->system_namespace = s->system_namespace;
    o->config_map_name = s->config_map_name;
    o->limited_mode = s->limited_mode;
}

/* An object the snapshot readers refused came from the API server: it sent
 * nonsense (the readers do not classify their errors). */
static void bad_object(struct wva_error *err)
{
    if (err)
        err->kind = WVA_ERR_SERVER;
}

/* Items of one list (or one GET) on their way into the snapshot.  They are
 * converted as they arrive, each by the snapshot module's reader for its
 * kind (the same as for --from-file), straight from the page's tree.  The
 * list's position in the snapshot when it started is kept, so that a list
 * restarted after 410, or one that fails, leaves nothing behind. */
struct fetch_list {
    enum snapshot_list kind;
    const char *what;               /* for messages */
    struct wva_snapshot *snap;
    size_t start;                   /* items of this kind before the list */
};

static void fetch_begin(struct fetch_list *fl, enum snapshot_list kind, const char *what,
                        struct wva_snapshot *snap)
{
    fl->kind = kind;
    fl->what = what;
    fl->snap = snap;
    fl->start = snapshot_list_count(snap, kind);
}

/* Drop what the list had appended. */
static void fetch_abandon(struct fetch_list *fl)
{
    snapshot_truncate_list(fl->snap, fl->kind, fl->start);
}

static int fetch_add(json_object *item, void *ctx, struct wva_error *err)
{
    struct fetch_list *fl = ctx;

    if (!item) {                    /* list restarted: forget everything */
        fetch_abandon(fl);
        return 0;
    }
    if (snapshot_append_item(fl->snap, fl->kind, item, err) < 0) {
        wva_error_prefix(err, "%s: ", fl->what);
        bad_object(err);
        return -1;
    }
    return 0;
}

/* List path into snap. */
static int fetch_list(struct kube_client *kc, const char *path, enum snapshot_list kind,
                      struct wva_snapshot *snap, struct wva_error *err)
{
    struct fetch_list fl;
    char what[512];

    snprintf(what, sizeof(what), "LIST %s", path);
    fetch_begin(&fl, kind, what, snap);
    if (kube_list(kc, path, NULL, fetch_add, &fl, NULL, err) < 0) {
        fetch_abandon(&fl);
        return -1;
    }
    return 0;
}

/* GET one object into snap.  *found says whether it existed; codes listed
 * in `tolerated` (404 always) count as absent rather than as errors. */
static int fetch_one(struct kube_client *kc, const char *path, enum snapshot_list kind,
                     long tolerated, struct wva_snapshot *snap, bool *found,
                     struct wva_error *err)
{
    struct kube_status st;
    struct fetch_list fl;
    json_object *obj = NULL;
    int rc;

    *found = false;
    if (kube_get(kc, path, &obj, &st, err) < 0) {
        if (st.code == 404 || (tolerated && st.code == tolerated)) {
            wva_error_clear(err);
            return 0;
        }
        return -1;
    }
    fetch_begin(&fl, kind, path, snap);
    rc = fetch_add(obj, &fl, err);
    *found = rc == 0;
    json_object_put(obj);
    return rc;
}

static bool str_in(const char *s, char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Namespace names worth a path segment: DNS-1123 labels only, so that a
 * name from the cluster can never alter the path. */
static bool path_safe_name(const char *s)
{
    if (!s[0] || strlen(s) > 253)
        return false;
    for (const char *p = s; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-' &&
            *p != '.')
            return false;
    return true;
}

/* The main ConfigMap the caller read already, as the object the GET would
 * have returned, converted like any other. */
static int add_known_configmap(const char *ns, const char *name,
                               const struct wva_kvlist *data, struct wva_snapshot *snap,
                               struct wva_error *err)
{
    json_object *cm = json_object_new_object(), *meta = json_object_new_object();
    json_object *values = json_object_new_object();
    char path[1024];
    int rc;

    json_object_object_add(meta, "name", json_object_new_string(name));
    json_object_object_add(meta, "namespace", json_object_new_string(ns));
    json_object_object_add(cm, "metadata", meta);
    for (size_t i = 0; i < data->count; i++)
        if (data->items[i].key && data->items[i].value)
            json_object_object_add(values, data->items[i].key,
                                   json_object_new_string(data->items[i].value));
    json_object_object_add(cm, "data", values);
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps/%s", ns, name);
    rc = snapshot_append_item(snap, SNAPSHOT_CONFIGMAPS, cm, err);
    if (rc < 0) {
        wva_error_prefix(err, "%s: ", path);
        bad_object(err);
    }
    json_object_put(cm);
    return rc;
}

/* global: the system namespace, where the main ConfigMap lives too; opts
 * may hand that one over already read. */
static int fetch_configmaps(struct kube_client *kc, const char *ns, bool global,
                            const char *main_name, const struct collect_options *opts,
                            struct wva_snapshot *snap, struct wva_error *err)
{
    /* SPEC section 5: the first of each pair is the name, the second the
     * upstream alias; both are read, the configmaps module picks. */
    static const char *const local_names[] = {
        WVA_SATURATION_CONFIG, WVA_SATURATION_CONFIG_ALIAS,
        WVA_SCALE_TO_ZERO_CONFIG, WVA_SCALE_TO_ZERO_CONFIG_ALIAS,
    };
    char path[1024];
    bool found;

    if (global && opts && opts->main_configmap_data) {
        if (opts->main_configmap_found &&
            add_known_configmap(ns, main_name, opts->main_configmap_data, snap, err) < 0)
            return -1;
    } else if (global) {
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps/%s", ns, main_name);
        if (fetch_one(kc, path, SNAPSHOT_CONFIGMAPS, 0, snap, &found, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof(local_names) / sizeof(local_names[0]); i++) {
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps/%s", ns,
                 local_names[i]);
        if (fetch_one(kc, path, SNAPSHOT_CONFIGMAPS, 0, snap, &found, err) < 0)
            return -1;
    }
    return 0;
}

int collect_cluster(struct kube_client *kc, const struct collect_options *o,
                    struct wva_snapshot *snap, struct wva_error *err)
{
    const char *watch = o->watch_namespace && o->watch_namespace[0] ? o->watch_namespace : NULL;
    const char *scope = o->every_namespace ? NULL : watch;
    const char *system_ns = o->system_namespace ? o->system_namespace : "";
    const char *main_cm = o->config_map_name ? o->config_map_name : "";
    struct wva_filter_params fp = { .watch_namespace = watch };
    char **va_ns = NULL, **tracked = NULL;
    size_t va_ns_count = 0, tracked_count = 0, vas_before = snap->vas_count;
    char path[1024];
    bool found;
    int rc = -1;

    if ((watch && !path_safe_name(watch)) || !path_safe_name(system_ns) ||
        !path_safe_name(main_cm)) {
        wva_error_setk(err, WVA_ERR_INTERNAL,
                       "invalid namespace or ConfigMap name (watch namespace \"%s\", "
                       "system namespace \"%s\", ConfigMap \"%s\")",
                       watch ? watch : "", system_ns, main_cm);
        return -1;
    }

    /* Namespaces: with a watch namespace only that one, and a namespaced
     * role may not allow reading it: tolerated (it is never excluded). */
    if (scope) {
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s", scope);
        if (fetch_one(kc, path, SNAPSHOT_NAMESPACES, 403, snap, &found, err) < 0)
            goto out;
        if (!found)
            log_event(WVA_LOG_WARN, "watch namespace could not be read", "namespace", scope,
                      NULL);
    } else if (fetch_list(kc, "/api/v1/namespaces", SNAPSHOT_NAMESPACES, snap, err) < 0) {
        goto out;
    }

    if (scope)
        snprintf(path, sizeof(path), "/apis/llmd.ai/v1alpha1/namespaces/%s/variantautoscalings",
                 scope);
    else
        snprintf(path, sizeof(path), "/apis/llmd.ai/v1alpha1/variantautoscalings");
    if (fetch_list(kc, path, SNAPSHOT_VAS, snap, err) < 0)
        goto out;

    /* Namespaces that have VAs, sorted (deterministic request order). */
    for (size_t i = vas_before; i < snap->vas_count; i++) {
        const char *ns = snap->vas[i].namespace_name;
        if (ns && path_safe_name(ns) && !str_in(ns, va_ns, va_ns_count)) {
            va_ns = wva_xrealloc(va_ns, (va_ns_count + 1) * sizeof(char *));
            va_ns[va_ns_count++] = wva_xstrdup(ns);
        }
    }
    if (va_ns_count)
        qsort(va_ns, va_ns_count, sizeof(char *), cmp_str);

    for (size_t i = 0; i < va_ns_count; i++) {
        snprintf(path, sizeof(path), "/apis/apps/v1/namespaces/%s/deployments", va_ns[i]);
        if (fetch_list(kc, path, SNAPSHOT_DEPLOYMENTS, snap, err) < 0)
            goto out;
        if (!o->limited_mode) {
            snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", va_ns[i]);
            if (fetch_list(kc, path, SNAPSHOT_PODS, snap, err) < 0)
                goto out;
        }
    }
    /* GPU accounting needs the pods WVA does not manage as well. */
    if (o->limited_mode && fetch_list(kc, "/api/v1/pods", SNAPSHOT_PODS, snap, err) < 0)
        goto out;

    /* Tracked namespaces (SPEC section 5): those with VAs, then those with
     * only the label, by the one rule the engine applies too.  The rule
     * looks namespaces up by name: index them first, so that a cluster of
     * many namespaces is not read quadratically (appending drops the index;
     * the end rebuilds it). */
    snapshot_finish(snap);
    for (size_t i = 0; i < va_ns_count; i++) {
        if (filter_namespace_tracked(snap, &fp, va_ns[i], true)) {
            tracked = wva_xrealloc(tracked, (tracked_count + 1) * sizeof(char *));
            tracked[tracked_count++] = wva_xstrdup(va_ns[i]);
        }
    }
    for (size_t i = 0; i < snap->namespaces_count; i++) {
        const char *name = snap->namespaces[i].name;
        if (!name || !path_safe_name(name) || str_in(name, va_ns, va_ns_count) ||
            str_in(name, tracked, tracked_count) ||
            !filter_namespace_tracked(snap, &fp, name, false))
            continue;
        tracked = wva_xrealloc(tracked, (tracked_count + 1) * sizeof(char *));
        tracked[tracked_count++] = wva_xstrdup(name);
    }
    if (tracked_count)
        qsort(tracked, tracked_count, sizeof(char *), cmp_str);

    if (fetch_configmaps(kc, system_ns, true, main_cm, o, snap, err) < 0)
        goto out;
    for (size_t i = 0; i < tracked_count; i++) {
        if (strcmp(tracked[i], system_ns) == 0)
            continue;               /* already read as the global ones */
        if (fetch_configmaps(kc, tracked[i], false, main_cm, o, snap, err) < 0)
            goto out;
    }

    if (o->limited_mode) {
        if (fetch_list(kc, "/api/v1/nodes", SNAPSHOT_NODES, snap, err) < 0)
            goto out;
        snap->has_nodes = true;
    }

    if (!snap->captured_at) {
        char ts[32];
        snap->captured_at_epoch = (double)time(NULL);
        values_format_rfc3339(snap->captured_at_epoch, ts, sizeof(ts));
        snap->captured_at = wva_xstrdup(ts);
    }
    snapshot_finish(snap);
    rc = 0;
out:
    for (size_t i = 0; i < va_ns_count; i++)
        free(va_ns[i]);
    free(va_ns);
    for (size_t i = 0; i < tracked_count; i++)
        free(tracked[i]);
    free(tracked);
    return rc;
}

/* ---- the metrics ---------------------------------------------------- */

/* HEAD METRIC{NSMATCH}TAIL: every query of a run has this shape. */
static char *scoped_query(const char *head, const char *metric, const char *tail,
                          const char *watch_ns)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    char *ns = prom_namespace_matcher(watch_ns);

    wva_strbuf_addf(&sb, "%s%s{%s}%s", head, metric, ns, tail);
    free(ns);
    return wva_strbuf_detach(&sb);
}

/* Peak of a per-pod gauge over the last minute. */
static char *peak_over_minute(const char *metric, const char *watch_ns)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    char *ns = prom_namespace_matcher(watch_ns);

    /* "and on (...) METRIC" keeps only series that are still fresh: a pod
     * that stopped reporting (Prometheus marks its series stale) must be
     * unknown, not counted with its last minute's peak. */
    wva_strbuf_addf(&sb,
                    "max by (namespace, pod, model_name) (max_over_time(%s{%s}[1m]) "
                    "and on (namespace, pod, model_name) %s{%s})",
                    metric, ns, metric, ns);
    free(ns);
    return wva_strbuf_detach(&sb);
}

char *collect_query_kv_cache_usage(const char *watch_ns)
{
    return peak_over_minute("vllm:kv_cache_usage_perc", watch_ns);
}

char *collect_query_gpu_cache_usage(const char *watch_ns)
{
    return peak_over_minute("vllm:gpu_cache_usage_perc", watch_ns);
}

char *collect_query_queue_length(const char *watch_ns)
{
    return peak_over_minute("vllm:num_requests_waiting", watch_ns);
}

char *collect_query_cache_config(const char *watch_ns)
{
    return scoped_query("max by (namespace, pod, model_name, num_gpu_blocks, block_size) (",
                        "vllm:cache_config_info", ")", watch_ns);
}

char *collect_query_request_count(const char *watch_ns, double retention_seconds)
{
    char range[32], tail[48];

    prom_format_range(retention_seconds, range, sizeof(range));
    snprintf(tail, sizeof(tail), "[%s]))", range);
    return scoped_query("sum by (namespace, model_name) (increase(",
                        "vllm:request_success_total", tail, watch_ns);
}

char *collect_query_gateway_queue(const char *watch_ns)
{
    return scoped_query("sum by (namespace, target_model_name) (",
                        "inference_extension_flow_control_queue_size", ")", watch_ns);
}

char *collect_query_running_requests(const char *watch_ns)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    char *ns = prom_namespace_matcher(watch_ns);

    /* The mean, not the peak: it is divided into the KV tokens in use to
     * get the tokens one request holds (SPEC section 6).  Fresh series
     * only, as for the peaks. */
    wva_strbuf_addf(&sb,
                    "max by (namespace, pod, model_name) "
                    "(avg_over_time(vllm:num_requests_running{%s}[1m]) "
                    "and on (namespace, pod, model_name) vllm:num_requests_running{%s})",
                    ns, ns);
    free(ns);
    return wva_strbuf_detach(&sb);
}

char *collect_query_request_rate(const char *watch_ns)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    char *ns = prom_namespace_matcher(watch_ns);

    /* rate() over 1m needs two scrapes inside the minute: a scrape
     * interval of 30 s or less (README, Prometheus prerequisites). */
    wva_strbuf_addf(&sb,
                    "sum by (namespace, pod, model_name) "
                    "(rate(vllm:request_success_total{%s}[1m]) "
                    "and on (namespace, pod, model_name) vllm:request_success_total{%s})",
                    ns, ns);
    free(ns);
    return wva_strbuf_detach(&sb);
}

char *collect_query_custom(const char *watch_ns, const char *metric, struct wva_error *err)
{
    /* The filter validated spec.metrics already; a name that reaches here
     * unchecked would be PromQL injection, so check again. */
    if (!prom_is_metric_name(metric)) {
        wva_error_setk(err, WVA_ERR_INTERNAL,
                       "spec.metrics name \"%.*s\" is not a valid Prometheus metric name",
                       PROM_METRIC_NAME_MAX, metric ? metric : "");
        return NULL;
    }
    return peak_over_minute(metric, watch_ns);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct custom metric names, sorted (deterministic snapshots), all
 * validated.  *names is malloc'd, its strings are the caller's. */
static int distinct_custom_names(const struct collect_metric_params *p, const char ***names,
                                 size_t *count, struct wva_error *err)
{
    const char **v = wva_xcalloc(p->custom_metrics_count, sizeof(*v));
    size_t n = 0;

    for (size_t i = 0; i < p->custom_metrics_count; i++) {
        if (!prom_is_metric_name(p->custom_metrics[i])) {
            wva_error_setk(err, WVA_ERR_INTERNAL,
                           "Prometheus query custom: spec.metrics name \"%.*s\" is not a "
                           "valid Prometheus metric name", PROM_METRIC_NAME_MAX,
                           p->custom_metrics[i] ? p->custom_metrics[i] : "");
            free(v);
            return -1;
        }
        v[n++] = p->custom_metrics[i];
    }
    if (n)
        qsort(v, n, sizeof(*v), compare_names);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (kept == 0 || strcmp(v[kept - 1], v[i]) != 0)
            v[kept++] = v[i];
    *names = v;
    *count = kept;
    return 0;
}

/* Build with one of the query builders, send, and free the PromQL. */
static int run_query(struct prom_client *prom, const char *name, char *promql,
                     double eval_time, struct wva_series *out, struct wva_error *err)
{
    int rc = prom_query(prom, name, promql, eval_time, out, err);

    free(promql);
    return rc;
}

int collect_prom_metrics(struct prom_client *prom, const struct collect_metric_params *params,
                         struct wva_metrics *metrics, struct wva_error *err)
{
    const char *ns = params->watch_namespace;
    const double t = params->eval_time;
    const char **names = NULL;
    size_t names_count = 0;
    struct wva_error e;
    int rc = -1;

    wva_error_clear(&e);
    if (distinct_custom_names(params, &names, &names_count, &e) < 0)
        goto out;

    if (run_query(prom, "kv_cache_usage", collect_query_kv_cache_usage(ns), t,
                  &metrics->kv_cache_usage, &e) < 0)
        goto out;
    if (metrics->kv_cache_usage.count == 0) {
        /* vLLM before v0.10 exports the older name only; ask for it once,
         * for all pods, rather than per pod. */
        prom_series_free(&metrics->kv_cache_usage);
        if (run_query(prom, "gpu_cache_usage", collect_query_gpu_cache_usage(ns), t,
                      &metrics->kv_cache_usage, &e) < 0)
            goto out;
    }
    if (run_query(prom, "queue_length", collect_query_queue_length(ns), t,
                  &metrics->queue_length, &e) < 0)
        goto out;
    if (run_query(prom, "cache_config", collect_query_cache_config(ns), t,
                  &metrics->cache_config, &e) < 0)
        goto out;
    if (params->retention_seconds > 0 &&
        run_query(prom, "request_count",
                  collect_query_request_count(ns, params->retention_seconds), t,
                  &metrics->request_count, &e) < 0)
        goto out;
    if (run_query(prom, "gateway_queue", collect_query_gateway_queue(ns), t,
                  &metrics->gateway_queue, &e) < 0)
        goto out;
    if (run_query(prom, "running_requests", collect_query_running_requests(ns), t,
                  &metrics->running_requests, &e) < 0)
        goto out;
    if (run_query(prom, "request_rate", collect_query_request_rate(ns), t,
                  &metrics->request_rate, &e) < 0)
        goto out;

    if (names_count)
        metrics->custom = wva_xcalloc(names_count, sizeof(*metrics->custom));
    for (size_t i = 0; i < names_count; i++) {
        struct wva_series series = {NULL, 0};
        char label[PROM_METRIC_NAME_MAX + 16];

        snprintf(label, sizeof(label), "custom(%s)", names[i]);
        if (run_query(prom, label, collect_query_custom(ns, names[i], &e), t, &series, &e) < 0)
            goto out;
        metrics->custom[metrics->custom_count].metric = wva_xstrdup(names[i]);
        metrics->custom[metrics->custom_count].series = series;
        metrics->custom_count++;
    }
    rc = 0;
out:
    if (rc < 0) {
        free(metrics->prometheus_error);
        metrics->prometheus_error = wva_xstrdup(e.msg);
        wva_error_setk(err, e.kind, "%s", e.msg);
    }
    free(names);
    return rc;
}

int collect_metrics(struct prom_client *prom, struct wva_snapshot *snap,
                    const struct wva_settings *s, struct wva_error *err)
{
    struct engine_metric_needs needs = {0};
    struct collect_metric_params params = {0};
    int rc;

    engine_metric_needs(snap, s, &needs);
    params.watch_namespace = s->watch_namespace;
    params.retention_seconds = needs.retention_seconds;
    params.custom_metrics = (const char *const *)needs.custom_metrics;
    params.custom_metrics_count = needs.custom_metrics_count;
    rc = collect_prom_metrics(prom, &params, &snap->metrics, err);
    engine_metric_needs_free(&needs);
    return rc;
}

void collect_metrics_free(struct wva_metrics *metrics)
{
    const struct snapshot_metric *fields;
    size_t nfields;

    if (!metrics)
        return;
    /* Every named series, from the snapshot's own table, so that a series
     * added there cannot be forgotten here. */
    fields = snapshot_metrics(&nfields);
    for (size_t f = 0; f < nfields; f++)
        prom_series_free(snapshot_metric_series(metrics, &fields[f]));
    for (size_t i = 0; i < metrics->custom_count; i++) {
        free(metrics->custom[i].metric);
        prom_series_free(&metrics->custom[i].series);
    }
    free(metrics->custom);
    free(metrics->prometheus_error);
    memset(metrics, 0, sizeof(*metrics));
}

void collect_prom_options(const struct wva_settings *s, struct prom_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->base_url = s->prometheus_url;
    opts->bearer_token = s->prometheus_bearer_token;
    opts->token_path = s->prometheus_token_path;
    opts->ca_cert_path = s->prometheus_ca_cert_path;
    opts->client_cert_path = s->prometheus_client_cert_path;
    opts->client_key_path = s->prometheus_client_key_path;
    opts->server_name = s->prometheus_server_name;
    opts->insecure_skip_verify = s->prometheus_tls_insecure_skip_verify;
}
