/* snapshot_model.c - the snapshot's data model: its lists and their memory (see
 * include/wva/snapshot_model.h).
 *
 * Every list is an array with a count and a capacity in struct
 * wva_snapshot; one table below says where each is, how big an item is
 * and how to release one, so freeing is written once for the six kinds
 * (and growing them once, in snapshot_lists.c).
 *
 * This module knows the data only: nothing of JSON, of reading objects
 * (k8s_objects.c), the filter rules, or how a live run talks to the API.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wva/snapshot_model.h"
#include "wva/strbuf.h"

/* ---- the named metric series ---- */

static const struct snapshot_metric metric_table[] = {
    {"kvCacheUsage", offsetof(struct wva_metrics, kv_cache_usage)},
    {"queueLength", offsetof(struct wva_metrics, queue_length)},
    {"cacheConfig", offsetof(struct wva_metrics, cache_config)},
    {"requestCount", offsetof(struct wva_metrics, request_count)},
    {"gatewayQueue", offsetof(struct wva_metrics, gateway_queue)},
    {"runningRequests", offsetof(struct wva_metrics, running_requests)},
    {"requestRate", offsetof(struct wva_metrics, request_rate)},
};

const struct snapshot_metric *snapshot_metrics(size_t *count)
{
    *count = sizeof(metric_table) / sizeof(metric_table[0]);
    return metric_table;
}

struct wva_series *snapshot_metric_series(struct wva_metrics *m, const struct snapshot_metric *f)
{
    return (struct wva_series *)((char *)m + f->offset);
}

const struct wva_series *snapshot_metric_series_const(const struct wva_metrics *m,
                                                      const struct snapshot_metric *f)
{
    return (const struct wva_series *)((const char *)m + f->offset);
}

/* ---- releasing one item (its memory itself is the array's) ---- */


static void va_release_fields(struct wva_va *va)
{
    free(va->namespace_name);
    free(va->name);
    free(va->resource_version);
    wva_kvlist_free(&va->labels);
    free(va->spec_problem);
    free(va->target_kind);
    free(va->target_name);
    free(va->model_id);
    for (size_t i = 0; i < va->metrics_count; i++)
        free(va->metrics[i].name);
    free(va->metrics);
    free(va->raw_spec_json);
    free(va->status_accelerator);
    for (size_t i = 0; i < va->conditions_count; i++) {
        struct wva_condition *c = &va->conditions[i];

        free(c->type);
        free(c->status);
        free(c->reason);
        free(c->message);
        free(c->last_transition_time);
    }
    free(va->conditions);
}

/* One item of each list; the item's memory itself is the array's. */
static void namespace_release(void *item)
{
    struct wva_namespace *ns = item;

    free(ns->name);
    wva_kvlist_free(&ns->labels);
    wva_kvlist_free(&ns->annotations);
}

static void va_release(void *item)
{
    va_release_fields(item);
}

static void deployment_release(void *item)
{
    struct wva_deployment *d = item;

    free(d->namespace_name);
    free(d->name);
    free(d->resource_version);
    wva_kvlist_free(&d->selector);
    free(d->node_selector_accelerator);
}

static void pod_release(void *item)
{
    struct wva_pod *pod = item;

    free(pod->namespace_name);
    free(pod->name);
    free(pod->owner_replicaset);
    free(pod->pod_template_hash);
    free(pod->node_name);
    free(pod->phase);
}

static void configmap_release(void *item)
{
    struct wva_configmap *cm = item;

    free(cm->namespace_name);
    free(cm->name);
    wva_kvlist_free(&cm->data);
}

static void node_release(void *item)
{
    struct wva_node *node = item;

    free(node->name);
    free(node->accelerator);
}

/* ---- the lists ---- */

static const struct list_kind {
    const char *key;            /* the document's member, for messages */
    size_t item_size;
    size_t count, cap;          /* offsets in struct wva_snapshot */
    void (*release)(void *item);
} list_kinds[SNAPSHOT_LISTS] = {
#define LIST(kind, key, type, field, release)                                          \
    [kind] = {key, sizeof(type), offsetof(struct wva_snapshot, field##_count),         \
              offsetof(struct wva_snapshot, field##_cap), release}
    LIST(SNAPSHOT_NAMESPACES, "namespaces", struct wva_namespace, namespaces, namespace_release),
    LIST(SNAPSHOT_VAS, "variantAutoscalings", struct wva_va, vas, va_release),
    LIST(SNAPSHOT_DEPLOYMENTS, "deployments", struct wva_deployment, deployments,
         deployment_release),
    LIST(SNAPSHOT_PODS, "pods", struct wva_pod, pods, pod_release),
    LIST(SNAPSHOT_CONFIGMAPS, "configMaps", struct wva_configmap, configmaps, configmap_release),
    LIST(SNAPSHOT_NODES, "nodes", struct wva_node, nodes, node_release),
#undef LIST
};

static const struct list_kind *kind_of(enum snapshot_list list)
{
    return (unsigned)list < SNAPSHOT_LISTS ? &list_kinds[list] : NULL;
}

/* The count and capacity fields of one list of snap (size_t fields, found
 * by offset); the arrays themselves are typed, hence the switches below. */
static size_t *count_of(struct wva_snapshot *snap, const struct list_kind *k)
{
    return (size_t *)((char *)snap + k->count);
}

static size_t count_value(const struct wva_snapshot *snap, const struct list_kind *k)
{
    return *(const size_t *)((const char *)snap + k->count);
}

static size_t *cap_of(struct wva_snapshot *snap, const struct list_kind *k)
{
    return (size_t *)((char *)snap + k->cap);
}

void *snapshot_list_items(const struct wva_snapshot *snap, enum snapshot_list list)
{
    if (!snap)
        return NULL;
    switch (list) {
    case SNAPSHOT_NAMESPACES: return snap->namespaces;
    case SNAPSHOT_VAS: return snap->vas;
    case SNAPSHOT_DEPLOYMENTS: return snap->deployments;
    case SNAPSHOT_PODS: return snap->pods;
    case SNAPSHOT_CONFIGMAPS: return snap->configmaps;
    case SNAPSHOT_NODES: return snap->nodes;
    }
    return NULL;
}

static void set_items(struct wva_snapshot *snap, enum snapshot_list list, void *items)
{
    switch (list) {
    case SNAPSHOT_NAMESPACES: snap->namespaces = items; break;
    case SNAPSHOT_VAS: snap->vas = items; break;
    case SNAPSHOT_DEPLOYMENTS: snap->deployments = items; break;
    case SNAPSHOT_PODS: snap->pods = items; break;
    case SNAPSHOT_CONFIGMAPS: snap->configmaps = items; break;
    case SNAPSHOT_NODES: snap->nodes = items; break;
    }
}

const char *snapshot_list_key(enum snapshot_list list)
{
    const struct list_kind *k = kind_of(list);

    return k ? k->key : NULL;
}

size_t snapshot_list_item_size(enum snapshot_list list)
{
    const struct list_kind *k = kind_of(list);

    return k ? k->item_size : 0;
}

size_t snapshot_list_count(const struct wva_snapshot *snap, enum snapshot_list list)
{
    const struct list_kind *k = kind_of(list);

    return snap && k ? count_value(snap, k) : 0;
}

size_t snapshot_list_cap(const struct wva_snapshot *snap, enum snapshot_list list)
{
    const struct list_kind *k = kind_of(list);
    size_t n, cap;

    if (!snap || !k)
        return 0;
    n = count_value(snap, k);
    cap = *(const size_t *)((const char *)snap + k->cap);
    return cap < n ? n : cap;
}

void snapshot_list_grow(struct wva_snapshot *snap, enum snapshot_list list, size_t want)
{
    const struct list_kind *k = kind_of(list);

    if (!snap || !k || want <= snapshot_list_cap(snap, list))
        return;
    set_items(snap, list, wva_xrealloc(snapshot_list_items(snap, list), want * k->item_size));
    *cap_of(snap, k) = want;
}

void snapshot_list_set_count(struct wva_snapshot *snap, enum snapshot_list list, size_t count)
{
    const struct list_kind *k = kind_of(list);

    if (!snap || !k)
        return;
    assert(count <= snapshot_list_cap(snap, list));
    for (size_t i = count; i < *count_of(snap, k); i++)
        k->release((char *)snapshot_list_items(snap, list) + i * k->item_size);
    *count_of(snap, k) = count;
}

void snapshot_release_item(enum snapshot_list list, void *item)
{
    const struct list_kind *k = kind_of(list);

    if (k && item)
        k->release(item);
}

void snapshot_drop_index(struct wva_snapshot *snap)
{
    if (!snap)
        return;
    free(snap->index);
    snap->index = NULL;
}

/* ---- freeing ---- */

static void series_free(struct wva_series *s)
{
    for (size_t i = 0; i < s->count; i++)
        wva_kvlist_free(&s->items[i].labels);
    free(s->items);
}

void snapshot_free(struct wva_snapshot *snap)
{
    const struct snapshot_metric *fields;
    size_t nfields;

    if (!snap)
        return;
    free(snap->captured_at);
    wva_kvlist_free(&snap->settings);
    for (size_t l = 0; l < SNAPSHOT_LISTS; l++) {
        snapshot_list_set_count(snap, (enum snapshot_list)l, 0);
        free(snapshot_list_items(snap, (enum snapshot_list)l));
    }
    fields = snapshot_metrics(&nfields);
    for (size_t f = 0; f < nfields; f++)
        series_free(snapshot_metric_series(&snap->metrics, &fields[f]));
    for (size_t i = 0; i < snap->metrics.custom_count; i++) {
        free(snap->metrics.custom[i].metric);
        series_free(&snap->metrics.custom[i].series);
    }
    free(snap->metrics.custom);
    free(snap->metrics.prometheus_error);
    snapshot_drop_index(snap);
    free(snap);
}
