/* fuzz_kube_list.c - libFuzzer target: Kubernetes list pages and objects
 * as the API server returns them, converted the way collect_cluster()
 * converts them.
 *
 * collect.c hands every item of every page to snapshot_append_item().
 * This target does exactly that with the fuzzed items, under each of the
 * six lists in turn, so every item reader (namespace, VA, Deployment, Pod,
 * ConfigMap, Node) sees every input.  The input is a List ({"items":
 * [...]}, as a LIST page), a bare array of items, or one object (as a GET
 * returns it).
 *
 * Properties checked: an accepted item adds exactly one struct with the
 * name its metadata holds; a refused item adds nothing and its error
 * message names the list.
 */
#include <json-c/json.h>

#include "wva/snapshot.h"
#include "wva/strbuf.h"

#include "fuzz.h"

static const char *const kube_list_keys[] = {
    "namespaces", "variantAutoscalings", "deployments", "pods", "configMaps", "nodes",
};
#define KUBE_LIST_KINDS (sizeof(kube_list_keys) / sizeof(kube_list_keys[0]))

/* The items of the fuzzed page (a new reference), or NULL. */
static json_object *kube_list_items(json_object *page)
{
    json_object *items;

    if (json_object_is_type(page, json_type_array))
        return json_object_get(page);
    if (!json_object_is_type(page, json_type_object))
        return NULL;
    if (json_object_object_get_ex(page, "items", &items) &&
        json_object_is_type(items, json_type_array))
        return json_object_get(items);
    items = json_object_new_array();
    json_object_array_add(items, json_object_get(page));
    return items;
}

/* Number of items converted into snap for list kind k, and the name of
 * item i. */
static size_t kube_list_count(const struct wva_snapshot *snap, size_t k)
{
    switch (k) {
    case 0: return snap->namespaces_count;
    case 1: return snap->vas_count;
    case 2: return snap->deployments_count;
    case 3: return snap->pods_count;
    case 4: return snap->configmaps_count;
    default: return snap->nodes_count;
    }
}

static const char *kube_item_name(const struct wva_snapshot *snap, size_t k, size_t i)
{
    switch (k) {
    case 0: return snap->namespaces[i].name;
    case 1: return snap->vas[i].name;
    case 2: return snap->deployments[i].name;
    case 3: return snap->pods[i].name;
    case 4: return snap->configmaps[i].name;
    default: return snap->nodes[i].name;
    }
}

/* metadata.name of a JSON item (the converter requires it). */
static const char *kube_json_name(json_object *item)
{
    json_object *meta, *name;

    if (!json_object_object_get_ex(item, "metadata", &meta) ||
        !json_object_object_get_ex(meta, "name", &name))
        return NULL;
    return json_object_get_string(name);
}

static const enum snapshot_list kube_lists[] = {
    SNAPSHOT_NAMESPACES, SNAPSHOT_VAS, SNAPSHOT_DEPLOYMENTS,
    SNAPSHOT_PODS, SNAPSHOT_CONFIGMAPS, SNAPSHOT_NODES,
};

static void kube_convert(json_object *items, size_t k)
{
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    size_t n = json_object_array_length(items);

    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        struct wva_error err = {0};
        size_t before = kube_list_count(snap, k);

        if (snapshot_append_item(snap, kube_lists[k], item, &err) == 0) {
            const char *want = kube_json_name(item);

            FUZZ_CHECK(kube_list_count(snap, k) == before + 1);
            FUZZ_CHECK(want && strcmp(kube_item_name(snap, k, before), want) == 0);
        } else {
            FUZZ_CHECK(kube_list_count(snap, k) == before);
            FUZZ_CHECK(strstr(err.msg, kube_list_keys[k]) != NULL);
        }
    }
    snapshot_finish(snap);
    snapshot_free(snap);
}

int fuzz_kube_list_one(const uint8_t *data, size_t size)
{
    struct json_tokener *tok;
    json_object *page, *items;

    if (size > (1u << 20))
        return 0;
    /* The API client's own parse: depth-limited, no UTF-8 validation. */
    tok = json_tokener_new_ex(64);
    page = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    if (json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != size) {
        json_object_put(page);
        page = NULL;
    }
    json_tokener_free(tok);
    items = kube_list_items(page);
    if (items)
        for (size_t k = 0; k < KUBE_LIST_KINDS; k++)
            kube_convert(items, k);
    json_object_put(items);
    json_object_put(page);
    return 0;
}

FUZZ_TARGET(fuzz_kube_list_one)
