/* snapshot_write.c - struct wva_snapshot back to a snapshot document (see
 * include/wva/snapshot_write.h).
 *
 * The document is written one item at a time (a json-c object per item,
 * serialised and released at once), so no tree of the whole snapshot is
 * ever built.  Each object is written the way the readers of
 * k8s_objects.c will find it again, with only the fields they read.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wva/k8s_objects.h"
#include "wva/snapshot_model.h"
#include "wva/snapshot_write.h"
#include "wva/strbuf.h"
#include "wva/values.h"


static void put(struct json_object *obj, const char *key, struct json_object *v)
{
    json_object_object_add(obj, key, v);
}

static void put_string(struct json_object *obj, const char *key, const char *value)
{
    if (value)
        put(obj, key, json_object_new_string(value));
}

static void put_map(struct json_object *obj, const char *key, const struct wva_kvlist *list)
{
    struct json_object *map;

    if (!list->count)
        return;
    map = json_object_new_object();
    for (size_t i = 0; i < list->count; i++)
        put_string(map, list->items[i].key, list->items[i].value);
    put(obj, key, map);
}

/* A child object of obj, created on first use. */
static struct json_object *child(struct json_object *obj, const char *key)
{
    struct json_object *c;

    if (json_object_object_get_ex(obj, key, &c) && c)
        return c;
    c = json_object_new_object();
    put(obj, key, c);
    return c;
}

/* A JSON number that reads back as the same double. */
static struct json_object *double_json(double d)
{
    return values_json_number(d, 0);
}

/* Whole counts as Kubernetes writes them ("2"); fractions as numbers. */
static struct json_object *quantity_json(double q)
{
    char buf[64];

    if (q == floor(q) && q < 1e15) {
        snprintf(buf, sizeof(buf), "%.0f", q);
        return json_object_new_string(buf);
    }
    return double_json(q);
}

/* A gpu request as one container, the way the readers will find it again. */
static void put_gpu_containers(struct json_object *pod_spec, double gpus, const char *product)
{
    struct json_object *containers = json_object_new_array();
    struct json_object *c = json_object_new_object();

    put_string(c, "name", "main");
    if (gpus > 0)
        put(child(child(c, "resources"), "requests"),
            k8s_gpu_resource_keys[k8s_product_vendor(product)], quantity_json(gpus));
    json_object_array_add(containers, c);
    put(pod_spec, "containers", containers);
}

static struct json_object *metadata_json(struct json_object *item, const char *ns,
                                         const char *name, const char *rv, bool deleting,
                                         const char *captured_at)
{
    struct json_object *md = child(item, "metadata");

    put_string(md, "name", name);
    put_string(md, "namespace", ns);
    put_string(md, "resourceVersion", rv);
    /* the original time is not kept: only "being deleted" matters */
    if (deleting)
        put_string(md, "deletionTimestamp", captured_at);
    return md;
}

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Append obj's text and release it: the document is written one item at a
 * time so that no tree of the whole snapshot is ever built. */
static void emit(struct wva_strbuf *sb, struct json_object *obj)
{
    wva_strbuf_adds(sb, json_object_to_json_string_ext(obj, JSON_FLAGS));
    json_object_put(obj);
}

static void emit_key(struct wva_strbuf *sb, const char *key)
{
    emit(sb, json_object_new_string(key));
    wva_strbuf_adds(sb, ":");
}

/* ,"key":{"apiVersion":..,"kind":..,"items":[  (constant strings) */
static void list_begin(struct wva_strbuf *sb, const char *key, const char *api_version,
                       const char *kind)
{
    wva_strbuf_addf(sb, ",\"%s\":{\"apiVersion\":\"%s\",\"kind\":\"%s\",\"items\":[", key,
                    api_version, kind);
}

static void list_end(struct wva_strbuf *sb)
{
    wva_strbuf_adds(sb, "]}");
}

static void item_sep(struct wva_strbuf *sb, size_t i)
{
    if (i)
        wva_strbuf_adds(sb, ",");
}

/* The shortest plain decimal that reads back as the same double, so it
 * still matches ^\d+(\.\d+)?$ (no exponent, unlike %g). */
static void format_decimal(double d, char *buf, size_t size)
{
    for (int prec = 0; prec <= 17; prec++) {
        snprintf(buf, size, "%.*f", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

static struct json_object *va_spec_json(const struct wva_va *va)
{
    struct json_object *spec = json_object_new_object();
    struct json_object *ref = child(spec, "scaleTargetRef");
    char buf[400];

    put_string(ref, "apiVersion", "apps/v1");
    put_string(ref, "kind", va->target_kind);
    put_string(ref, "name", va->target_name);
    put_string(spec, "modelID", va->model_id);
    format_decimal(va->variant_cost, buf, sizeof(buf));
    put_string(spec, "variantCost", buf);
    put(spec, "minReplicas", json_object_new_int(va->min_replicas));
    if (va->max_replicas >= 0)
        put(spec, "maxReplicas", json_object_new_int(va->max_replicas));
    put(spec, "priority", json_object_new_int(va->priority));
    if (va->metrics_count) {
        struct json_object *arr = json_object_new_array();

        for (size_t i = 0; i < va->metrics_count; i++) {
            struct json_object *m = json_object_new_object();

            put_string(m, "name", va->metrics[i].name);
            put(m, "target", double_json(va->metrics[i].target));
            json_object_array_add(arr, m);
        }
        put(spec, "metrics", arr);
    }
    return spec;
}

static struct json_object *va_json(const struct wva_va *va)
{
    struct json_object *item = json_object_new_object();
    struct json_object *md = metadata_json(item, va->namespace_name, va->name,
                                           va->resource_version, false, NULL);
    struct json_object *status = json_object_new_object();
    char buf[32];

    put_map(md, "labels", &va->labels);
    if (!va->spec_problem) {
        put(item, "spec", va_spec_json(va));
    } else if (va->raw_spec_json) {
        /* It came from json_object_to_json_string, so it parses; a NULL
         * result is the JSON null, which also reproduces the problem. */
        put(item, "spec", json_tokener_parse(va->raw_spec_json));
    }
    if (va->status_desired_replicas >= 0 || va->status_accelerator ||
        va->status_last_run_time >= 0) {
        struct json_object *alloc = child(status, "desiredOptimizedAlloc");

        if (va->status_desired_replicas >= 0)
            put(alloc, "numReplicas", json_object_new_int(va->status_desired_replicas));
        put_string(alloc, "accelerator", va->status_accelerator);
        if (va->status_last_run_time >= 0) {
            values_format_rfc3339(va->status_last_run_time, buf, sizeof(buf));
            put_string(alloc, "lastRunTime", buf);
        }
    }
    if (va->conditions_count) {
        struct json_object *conds = json_object_new_array();

        for (size_t i = 0; i < va->conditions_count; i++) {
            const struct wva_condition *c = &va->conditions[i];
            struct json_object *o = json_object_new_object();

            put_string(o, "type", c->type);
            put_string(o, "status", c->status);
            put_string(o, "reason", c->reason);
            put_string(o, "message", c->message);
            put_string(o, "lastTransitionTime", c->last_transition_time);
            json_object_array_add(conds, o);
        }
        put(status, "conditions", conds);
    }
    put(item, "status", status);
    return item;
}

static struct json_object *deployment_json(const struct wva_deployment *d,
                            const char *captured_at)
{
    struct json_object *item = json_object_new_object();
    struct json_object *spec = child(item, "spec");
    struct json_object *pod_spec;
    const char *product = d->node_selector_accelerator;

    metadata_json(item, d->namespace_name, d->name, d->resource_version, d->deleting,
                  captured_at);
    put(spec, "replicas", json_object_new_int(d->replicas));
    put_map(child(spec, "selector"), "matchLabels", &d->selector);
    pod_spec = child(child(spec, "template"), "spec");
    if (product)
        put_string(child(pod_spec, "nodeSelector"), k8s_gpu_product_keys[k8s_product_vendor(product)],
                   product);
    put_gpu_containers(pod_spec, d->gpu_request, product);
    put(child(item, "status"), "readyReplicas", json_object_new_int(d->ready_replicas));
    return item;
}

static struct json_object *pod_json(const struct wva_pod *pod,
                     const char *captured_at)
{
    struct json_object *item = json_object_new_object();
    struct json_object *md = metadata_json(item, pod->namespace_name, pod->name, NULL,
                                           pod->terminating, captured_at);
    struct json_object *spec = child(item, "spec");

    if (pod->pod_template_hash)
        put_string(child(md, "labels"), "pod-template-hash", pod->pod_template_hash);
    if (pod->owner_replicaset) {
        struct json_object *refs = json_object_new_array();
        struct json_object *ref = json_object_new_object();

        put_string(ref, "apiVersion", "apps/v1");
        put_string(ref, "kind", "ReplicaSet");
        put_string(ref, "name", pod->owner_replicaset);
        json_object_array_add(refs, ref);
        put(md, "ownerReferences", refs);
    }
    put_string(spec, "nodeName", pod->node_name);
    put_gpu_containers(spec, pod->gpu_request, NULL);
    if (pod->phase)
        put_string(child(item, "status"), "phase", pod->phase);
    return item;
}

static struct json_object *node_json(const struct wva_node *node)
{
    struct json_object *item = json_object_new_object();
    struct json_object *md = metadata_json(item, NULL, node->name, NULL, false, NULL);
    size_t vendor = k8s_product_vendor(node->accelerator);

    if (node->accelerator)
        put_string(child(md, "labels"), k8s_gpu_product_keys[vendor], node->accelerator);
    if (node->unschedulable)
        put(child(item, "spec"), "unschedulable", json_object_new_boolean(1));
    put(child(child(item, "status"), "allocatable"), k8s_gpu_resource_keys[vendor],
        quantity_json(node->allocatable_gpus));
    return item;
}

static void emit_series(struct wva_strbuf *sb, const struct wva_series *series, double ts)
{
    char buf[40];

    wva_strbuf_adds(sb, "[");
    for (size_t i = 0; i < series->count; i++) {
        const struct wva_sample *s = &series->items[i];
        struct json_object *o = json_object_new_object();
        struct json_object *metric = json_object_new_object();
        struct json_object *pair = json_object_new_array();

        for (size_t k = 0; k < s->labels.count; k++)
            put_string(metric, s->labels.items[k].key, s->labels.items[k].value);
        put(o, "metric", metric);
        json_object_array_add(pair, double_json(ts));
        values_format_double(s->value, buf, sizeof(buf));
        json_object_array_add(pair, json_object_new_string(buf));
        put(o, "value", pair);
        item_sep(sb, i);
        emit(sb, o);
    }
    wva_strbuf_adds(sb, "]");
}

char *snapshot_to_json(const struct wva_snapshot *snap)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    const char *captured_at = snap->captured_at;
    const struct snapshot_metric *fields;
    size_t nfields;
    char stamp[32];

    if (!captured_at) {
        values_format_rfc3339(snap->captured_at_epoch, stamp, sizeof(stamp));
        captured_at = stamp;
    }
    wva_strbuf_addf(&sb, "{\"kind\":\"WVASnapshot\",\"version\":%d,", SNAPSHOT_DOCUMENT_VERSION);
    emit_key(&sb, "capturedAt");
    emit(&sb, json_object_new_string(captured_at));
    if (snap->settings.count) {
        struct json_object *settings = json_object_new_object();

        wva_strbuf_adds(&sb, ",");
        emit_key(&sb, "settings");
        for (size_t i = 0; i < snap->settings.count; i++)
            put_string(settings, snap->settings.items[i].key, snap->settings.items[i].value);
        emit(&sb, settings);
    }

    list_begin(&sb, "namespaces", "v1", "NamespaceList");
    for (size_t i = 0; i < snap->namespaces_count; i++) {
        const struct wva_namespace *ns = &snap->namespaces[i];
        struct json_object *item = json_object_new_object();
        struct json_object *md = metadata_json(item, NULL, ns->name, NULL, ns->deleting,
                                               captured_at);

        put_map(md, "labels", &ns->labels);
        put_map(md, "annotations", &ns->annotations);
        item_sep(&sb, i);
        emit(&sb, item);
    }
    list_end(&sb);
    list_begin(&sb, "variantAutoscalings", "llmd.ai/v1alpha1", "VariantAutoscalingList");
    for (size_t i = 0; i < snap->vas_count; i++) {
        item_sep(&sb, i);
        emit(&sb, va_json(&snap->vas[i]));
    }
    list_end(&sb);
    list_begin(&sb, "deployments", "apps/v1", "DeploymentList");
    for (size_t i = 0; i < snap->deployments_count; i++) {
        item_sep(&sb, i);
        emit(&sb, deployment_json(&snap->deployments[i], captured_at));
    }
    list_end(&sb);
    list_begin(&sb, "pods", "v1", "PodList");
    for (size_t i = 0; i < snap->pods_count; i++) {
        item_sep(&sb, i);
        emit(&sb, pod_json(&snap->pods[i], captured_at));
    }
    list_end(&sb);
    list_begin(&sb, "configMaps", "v1", "ConfigMapList");
    for (size_t i = 0; i < snap->configmaps_count; i++) {
        const struct wva_configmap *cm = &snap->configmaps[i];
        struct json_object *item = json_object_new_object();

        metadata_json(item, cm->namespace_name, cm->name, NULL, false, NULL);
        put_map(item, "data", &cm->data);
        item_sep(&sb, i);
        emit(&sb, item);
    }
    list_end(&sb);
    if (snap->has_nodes) {
        list_begin(&sb, "nodes", "v1", "NodeList");
        for (size_t i = 0; i < snap->nodes_count; i++) {
            item_sep(&sb, i);
            emit(&sb, node_json(&snap->nodes[i]));
        }
        list_end(&sb);
    }

    wva_strbuf_adds(&sb, ",\"metrics\":{");
    fields = snapshot_metrics(&nfields);
    for (size_t f = 0; f < nfields; f++) {
        item_sep(&sb, f);
        emit_key(&sb, fields[f].key);
        emit_series(&sb, snapshot_metric_series_const(&snap->metrics, &fields[f]),
                    snap->captured_at_epoch);
    }
    if (snap->metrics.custom_count) {
        wva_strbuf_adds(&sb, ",\"custom\":{");
        for (size_t i = 0; i < snap->metrics.custom_count; i++) {
            item_sep(&sb, i);
            emit_key(&sb, snap->metrics.custom[i].metric);
            emit_series(&sb, &snap->metrics.custom[i].series, snap->captured_at_epoch);
        }
        wva_strbuf_adds(&sb, "}");
    }
    if (snap->metrics.prometheus_error) {
        wva_strbuf_adds(&sb, ",");
        emit_key(&sb, "prometheusError");
        emit(&sb, json_object_new_string(snap->metrics.prometheus_error));
    }
    wva_strbuf_adds(&sb, "}}\n");
    return wva_strbuf_detach(&sb);
}
