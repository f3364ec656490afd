/* snapshot_lists.c - growing and shrinking a snapshot's Kubernetes lists
 * one object at a time (see include/wva/snapshot_lists.h).
 *
 * Why: a live run gets its objects as json-c trees, a List page at a
 * time, and the document reader gets them one element at a time; both
 * append here, so an object is read the same way (k8s_objects.c) and a bad
 * one is reported the same way wherever it came from.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wva/jpath.h"
#include "wva/k8s_objects.h"
#include "wva/snapshot_lists.h"
#include "wva/snapshot_model.h"
#include "wva/strbuf.h"

/* Grow the array of a list to hold at least want items.  A capacity below
 * the count means the array is exactly count items (see snapshot_model.h). */
static void grow_list(const struct snapshot_list_ref *l, size_t want)
{
    size_t cap = *l->cap < *l->count ? *l->count : *l->cap;

    if (want <= cap)
        return;
    *l->items = wva_xrealloc(*l->items, want * l->item_size);
    *l->cap = want;
}

void snapshot_reserve_list(struct wva_snapshot *snap, enum snapshot_list list, size_t n)
{
    struct snapshot_list_ref l;

    if (n > SNAPSHOT_MAX_ITEMS || !snapshot_list_ref(snap, list, &l))
        return;
    grow_list(&l, *l.count + n);
}

int snapshot_append_item(struct wva_snapshot *snap, enum snapshot_list list,
                         struct json_object *item, struct wva_error *err)
{
    struct snapshot_list_ref l;
    struct jpath path;
    size_t n;
    char *slot;

    if (!snapshot_list_ref(snap, list, &l)) {
        wva_error_set(err, "snapshot: unknown list %d", (int)list);
        return -1;
    }
    n = *l.count;
    jp_init(&path);
    jp_key(&path, snapshot_list_key(list));
    if (n >= SNAPSHOT_MAX_ITEMS)
        return jp_fail_at(&path, "items", err, "%zu items exceed the limit of %u", n + 1,
                          SNAPSHOT_MAX_ITEMS);
    jp_key(&path, "items");
    jp_index(&path, n);
    if (jp_check(&path, item, JK_OBJECT, err) < 0)
        return -1;
    /* the indexes name items by position and point at their strings */
    snapshot_drop_index(snap);
    if (*l.cap <= n)        /* geometric growth: amortised O(1) per item */
        grow_list(&l, n < 16 ? 16 : 2 * n);
    slot = *l.items + n * l.item_size;
    memset(slot, 0, l.item_size);
    if (k8s_read_item(list, &path, item, slot, err) < 0) {
        snapshot_release_item(list, slot);
        return -1;
    }
    *l.count = n + 1;
    return 0;
}

void snapshot_truncate_list(struct wva_snapshot *snap, enum snapshot_list list, size_t count)
{
    struct snapshot_list_ref l;

    if (!snapshot_list_ref(snap, list, &l) || count >= *l.count)
        return;
    snapshot_drop_index(snap);
    for (size_t i = count; i < *l.count; i++)
        snapshot_release_item(list, *l.items + i * l.item_size);
    *l.count = count;
}
