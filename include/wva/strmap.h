/* strmap.h - a string-keyed hash map to indexes (open addressing).
 *
 * Used wherever the engine joins by name (pods to metrics, deployments to
 * variants) so that a run stays linear in the size of the cluster.  Keys
 * are copied; values are size_t (usually an index into an array).
 */
#ifndef WVA_STRMAP_H
#define WVA_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct wva_strmap;

struct wva_strmap *strmap_new(size_t expected);
void strmap_free(struct wva_strmap *map);
/* Insert or keep: returns true when inserted, false when the key existed
 * (the existing value is left as it was). */
bool strmap_put(struct wva_strmap *map, const char *key, size_t value);
/* Lookup: true and *value when present. */
bool strmap_get(const struct wva_strmap *map, const char *key, size_t *value);
/* Key of two parts ("ns" + '/' + "name") without building a string first.
 * buf must hold at least 512 bytes; longer keys are truncated, which is
 * safe because Kubernetes names are at most 253 bytes. */
const char *strmap_key2(char *buf, size_t size, const char *a, const char *b);

#endif
