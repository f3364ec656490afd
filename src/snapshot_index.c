/* snapshot_index.c - lookups by namespace and name (see
 * include/wva/snapshot_index.h).
 *
 * One sorted array of (namespace, name, position) per looked-up kind and a
 * binary search: a run looks up every VA's Deployment and every
 * namespace's ConfigMaps, so a linear scan would make it quadratic.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wva/snapshot_index.h"
#include "wva/snapshot_model.h"
#include "wva/strbuf.h"

struct index_entry {
    const char *ns;         /* "" for cluster-scoped kinds */
    const char *name;
    size_t pos;             /* position in the snapshot's array */
};

/* One allocation: the header and then the three arrays, so that the data
 * model drops a stale index with free() and needs nothing of this module. */
struct wva_snapshot_index {
    struct index_entry *namespaces;
    struct index_entry *deployments;
    struct index_entry *configmaps;
    size_t namespaces_count, deployments_count, configmaps_count;
    struct index_entry entries[];
};

static int index_cmp(const void *a, const void *b)
{
    const struct index_entry *x = a, *y = b;
    int c = strcmp(x->ns, y->ns);

    if (!c)
        c = strcmp(x->name, y->name);
    if (!c)
        c = (x->pos > y->pos) - (x->pos < y->pos);
    return c;
}

/* Sorted (ns, name, pos) into idx (room for count) for the items of one
 * array; ns_off is SIZE_MAX for cluster-scoped kinds.  Items without a
 * name are left out. */
static void index_build(struct index_entry *idx, const void *items, size_t count, size_t stride,
                        size_t ns_off, size_t name_off, size_t *len)
{
    size_t n = 0;

    for (size_t i = 0; i < count; i++) {
        const char *item = (const char *)items + i * stride;
        const char *ns = ns_off == SIZE_MAX ? "" : *(char *const *)(item + ns_off);
        const char *name = *(char *const *)(item + name_off);

        if (!name)
            continue;
        idx[n].ns = ns ? ns : "";
        idx[n].name = name;
        idx[n].pos = i;
        n++;
    }
    qsort(idx, n, sizeof(*idx), index_cmp);
    *len = n;
}

/* Position of the first (ns, name) entry, or SIZE_MAX. */
static size_t index_find(const struct index_entry *idx, size_t len, const char *ns,
                         const char *name)
{
    size_t lo = 0, hi = len;
    struct index_entry key = {ns ? ns : "", name, 0};

    /* lower bound: with duplicates, the first in array order (pos 0 in key) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (index_cmp(&idx[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < len && strcmp(idx[lo].ns, key.ns) == 0 && strcmp(idx[lo].name, name) == 0)
        return idx[lo].pos;
    return SIZE_MAX;
}

void snapshot_finish(struct wva_snapshot *snap)
{
    struct wva_snapshot_index *ix;
    size_t total;

    if (!snap)
        return;
    total = snap->namespaces_count + snap->deployments_count + snap->configmaps_count;
    free(snap->index);
    ix = wva_xcalloc(1, sizeof(*ix) + total * sizeof(ix->entries[0]));
    ix->namespaces = ix->entries;
    ix->deployments = ix->namespaces + snap->namespaces_count;
    ix->configmaps = ix->deployments + snap->deployments_count;
    index_build(ix->namespaces, snap->namespaces, snap->namespaces_count,
                sizeof(snap->namespaces[0]), SIZE_MAX, offsetof(struct wva_namespace, name),
                &ix->namespaces_count);
    index_build(ix->deployments, snap->deployments, snap->deployments_count,
                sizeof(snap->deployments[0]), offsetof(struct wva_deployment, namespace_name),
                offsetof(struct wva_deployment, name), &ix->deployments_count);
    index_build(ix->configmaps, snap->configmaps, snap->configmaps_count,
                sizeof(snap->configmaps[0]), offsetof(struct wva_configmap, namespace_name),
                offsetof(struct wva_configmap, name), &ix->configmaps_count);
    snap->index = ix;
}

const struct wva_namespace *snapshot_find_namespace(const struct wva_snapshot *snap,
                                                    const char *name)
{
    size_t pos;

    if (!snap || !name)
        return NULL;
    if (snap->index) {
        pos = index_find(snap->index->namespaces, snap->index->namespaces_count, "", name);
        return pos == SIZE_MAX ? NULL : &snap->namespaces[pos];
    }
    for (pos = 0; pos < snap->namespaces_count; pos++)
        if (snap->namespaces[pos].name && strcmp(snap->namespaces[pos].name, name) == 0)
            return &snap->namespaces[pos];
    return NULL;
}

/* Linear fallback for snapshots built without snapshot_finish. */
static bool same_ns_name(const char *ns_a, const char *name_a, const char *ns_b,
                         const char *name_b)
{
    return name_a && strcmp(name_a, name_b) == 0 && strcmp(ns_a ? ns_a : "", ns_b) == 0;
}

const struct wva_deployment *snapshot_find_deployment(const struct wva_snapshot *snap,
                                                      const char *ns, const char *name)
{
    size_t pos;

    if (!snap || !name)
        return NULL;
    if (snap->index) {
        pos = index_find(snap->index->deployments, snap->index->deployments_count, ns, name);
        return pos == SIZE_MAX ? NULL : &snap->deployments[pos];
    }
    for (pos = 0; pos < snap->deployments_count; pos++)
        if (same_ns_name(snap->deployments[pos].namespace_name, snap->deployments[pos].name,
                         ns ? ns : "", name))
            return &snap->deployments[pos];
    return NULL;
}

const struct wva_configmap *snapshot_find_configmap(const struct wva_snapshot *snap,
                                                    const char *ns, const char *name)
{
    size_t pos;

    if (!snap || !name)
        return NULL;
    if (snap->index) {
        pos = index_find(snap->index->configmaps, snap->index->configmaps_count, ns, name);
        return pos == SIZE_MAX ? NULL : &snap->configmaps[pos];
    }
    for (pos = 0; pos < snap->configmaps_count; pos++)
        if (same_ns_name(snap->configmaps[pos].namespace_name, snap->configmaps[pos].name,
                         ns ? ns : "", name))
            return &snap->configmaps[pos];
    return NULL;
}
