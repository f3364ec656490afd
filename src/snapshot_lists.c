/* snapshot_lists.c - growing and shrinking a snapshot's Kubernetes lists
 * one object at a time (see include/wva/snapshot_lists.h).
 *
 * Why: a live run gets its objects as json-c trees, a List page at a
 * time, and the document reader gets them one element at a time; both
 * append here, so an object is read the same way (k8s_objects.c) and a bad
 * one is reported the same way wherever it came from.  The memory is the
 * data model's (snapshot_model.c).
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wva/jpath.h"
#include "wva/k8s_objects.h"
#include "wva/snapshot_lists.h"
#include "wva/snapshot_model.h"

void snapshot_reserve_list(struct wva_snapshot *snap, enum snapshot_list list, size_t n)
{
    if (n > SNAPSHOT_MAX_ITEMS || !snapshot_list_key(list))
        return;
    snapshot_list_grow(snap, list, snapshot_list_count(snap, list) + n);
}

int snapshot_append_item(struct wva_snapshot *snap, enum snapshot_list list,
                         struct json_object *item, struct wva_error *err)
{
    const char *key = snapshot_list_key(list);
    size_t n, size = snapshot_list_item_size(list);
    struct jpath path;
    char *slot;

    if (!key) {
        wva_error_set(err, "snapshot: unknown list %d", (int)list);
        return -1;
    }
    n = snapshot_list_count(snap, list);
    jp_init(&path);
    jp_key(&path, key);
    if (n >= SNAPSHOT_MAX_ITEMS)
        return jp_fail_at(&path, "items", err, "%zu items exceed the limit of %u", n + 1,
                          SNAPSHOT_MAX_ITEMS);
    jp_key(&path, "items");
    jp_index(&path, n);
    if (jp_check(&path, item, JK_OBJECT, err) < 0)
        return -1;
    /* the indexes name items by position and point at their strings */
    snapshot_drop_index(snap);
    if (snapshot_list_cap(snap, list) <= n)     /* geometric: amortised O(1) per item */
        snapshot_list_grow(snap, list, n < 16 ? 16 : 2 * n);
    slot = (char *)snapshot_list_items(snap, list) + n * size;
    memset(slot, 0, size);
    if (k8s_read_item(list, &path, item, slot, err) < 0) {
        snapshot_release_item(list, slot);
        return -1;
    }
    snapshot_list_set_count(snap, list, n + 1);
    return 0;
}

void snapshot_truncate_list(struct wva_snapshot *snap, enum snapshot_list list, size_t count)
{
    if (count >= snapshot_list_count(snap, list))
        return;
    snapshot_drop_index(snap);
    snapshot_list_set_count(snap, list, count);
}
