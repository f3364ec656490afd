/* strmap.h - a string-keyed hash map to indexes (open addressing), and the
 * project's one string hash.
 *
 * Used wherever the engine joins by name (pods to metrics, deployments to
 * variants, variants to models) so that a run stays linear in the size of
 * the cluster.  Keys are copied whole, whatever their length: two keys are
 * the same entry only when every byte is the same.  Values are size_t
 * (usually an index into an array).
 */
#ifndef WVA_STRMAP_H
#define WVA_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wva_strmap;

/* A map sized for about `expected` keys (it grows past that).  Free with
 * strmap_free(); NULL is a no-op there. */
struct wva_strmap *strmap_new(size_t expected);
void strmap_free(struct wva_strmap *map);

/* Insert or keep: returns true when inserted, false when the key existed
 * (the existing value is left as it was). */
bool strmap_put(struct wva_strmap *map, const char *key, size_t value);
/* Lookup: true and *value (when value is not NULL) when present. */
bool strmap_get(const struct wva_strmap *map, const char *key, size_t *value);

/* The same for a key of two parts, such as (namespace, name) or
 * (namespace, model ID), without building a string first.  NULL parts
 * count as "".  The parts stay apart: ("a/b", "c") and ("a", "b/c") are
 * different keys, and neither equals a one-part key. */
bool strmap_put2(struct wva_strmap *map, const char *a, const char *b, size_t value);
bool strmap_get2(const struct wva_strmap *map, const char *a, const char *b, size_t *value);

/* FNV-1a, 32 bits, of the bytes of s (NULL hashes as "").  Stable across
 * platforms and releases: Lease and Event names are built from it, so it
 * must never change. */
uint32_t strmap_hash(const char *s);

#endif
