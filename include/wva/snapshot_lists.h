/* snapshot_lists.h - a snapshot's Kubernetes lists grown one object at a
 * time: what the document reader and live runs both use, so that every
 * object goes through the same reader (k8s_objects.h).
 */
#ifndef WVA_SNAPSHOT_LISTS_H
#define WVA_SNAPSHOT_LISTS_H

#include <stddef.h>

#include "wva/error.h"
#include "wva/snapshot_model.h"

struct json_object;

/* Convert one Kubernetes object (an item of a List, or a GET's answer) and
 * append it to the given list of snap: exactly what snapshot_parse() does
 * for each item of that list (the same readers, k8s_objects.h: strict
 * metadata, a VA's lenient spec and status, the same bounds).  item is
 * only read (the caller keeps ownership); nothing of it is kept.  A bad
 * item fails with err naming it as the equivalent document would, by its
 * position in the list ("pods.items[7].metadata.name: missing", 7 being
 * the count of pods already in snap), and leaves snap as it was.  More
 * than SNAPSHOT_MAX_ITEMS items in one list are refused.  The array grows
 * geometrically (amortised O(1) per item), keeping its capacity field.
 * captured_at, settings, has_nodes and metrics are the caller's to set.
 * Lookup indexes are dropped (lookups fall back to a linear scan): call
 * snapshot_finish() once the lists are complete.  Returns 0 or -1. */
int snapshot_append_item(struct wva_snapshot *snap, enum snapshot_list list,
                         struct json_object *item, struct wva_error *err);

/* Make room for n more items in the list (nothing for an unknown list or
 * n beyond SNAPSHOT_MAX_ITEMS), so that appending them does not move it. */
void snapshot_reserve_list(struct wva_snapshot *snap, enum snapshot_list list, size_t n);

/* Free the items of the given list from position count on and shorten the
 * list to count items (nothing when it has no more): how a reader drops
 * what it appended from a List that restarted.  Drops the lookup indexes
 * like snapshot_append_item(). */
void snapshot_truncate_list(struct wva_snapshot *snap, enum snapshot_list list, size_t count);

#endif
