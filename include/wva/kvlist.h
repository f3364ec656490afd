/* kvlist.h - an ordered list of string pairs: labels, annotations,
 * ConfigMap data, settings.
 *
 * A base module: it knows nothing of Kubernetes or snapshots.  The lists
 * are short (a handful of labels), so lookups are linear and keep the
 * order items were added in, which is the order they are written back.
 *
 * Ownership: the list owns every key and value and its array (malloc'd);
 * wva_kvlist_free() releases them.  A zero-initialised list is empty.
 */
#ifndef WVA_KVLIST_H
#define WVA_KVLIST_H

#include <stddef.h>

struct wva_kv {
    char *key;
    char *value;
};

struct wva_kvlist {
    struct wva_kv *items;   /* exactly count items (malloc'd, or NULL) */
    size_t count;
};

/* Value for key, or NULL (also for a NULL list or key). */
const char *wva_kvlist_get(const struct wva_kvlist *list, const char *key);

/* Set key to a copy of value, replacing an existing entry in place or
 * appending a new one (order is kept).  value NULL removes the key. */
void wva_kvlist_set(struct wva_kvlist *list, const char *key, const char *value);

/* Free keys, values and the array; the list becomes empty.  NULL is a no-op. */
void wva_kvlist_free(struct wva_kvlist *list);

#endif
