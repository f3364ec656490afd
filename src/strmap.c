/* strmap.c - open-addressing string hash map (FNV-1a, linear probing). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wva/strbuf.h"
#include "wva/strmap.h"

struct slot {
    char *key;
    size_t value;
};

struct wva_strmap {
    struct slot *slots;
    size_t cap;     /* power of two */
    size_t count;
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

struct wva_strmap *strmap_new(size_t expected)
{
    struct wva_strmap *map = wva_xcalloc(1, sizeof(*map));
    size_t cap = 16;

    while (cap < expected * 2)
        cap *= 2;
    map->cap = cap;
    map->slots = wva_xcalloc(cap, sizeof(struct slot));
    return map;
}

void strmap_free(struct wva_strmap *map)
{
    if (!map)
        return;
    for (size_t i = 0; i < map->cap; i++)
        free(map->slots[i].key);
    free(map->slots);
    free(map);
}

static struct slot *find_slot(struct slot *slots, size_t cap, const char *key)
{
    size_t i = (size_t)hash_key(key) & (cap - 1);

    while (slots[i].key && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static void grow(struct wva_strmap *map)
{
    size_t cap = map->cap * 2;
    struct slot *slots = wva_xcalloc(cap, sizeof(struct slot));

    for (size_t i = 0; i < map->cap; i++) {
        if (map->slots[i].key)
            *find_slot(slots, cap, map->slots[i].key) = map->slots[i];
    }
    free(map->slots);
    map->slots = slots;
    map->cap = cap;
}

bool strmap_put(struct wva_strmap *map, const char *key, size_t value)
{
    struct slot *slot;

    if ((map->count + 1) * 2 > map->cap)
        grow(map);
    slot = find_slot(map->slots, map->cap, key);
    if (slot->key)
        return false;
    slot->key = wva_xstrdup(key);
    slot->value = value;
    map->count++;
    return true;
}

bool strmap_get(const struct wva_strmap *map, const char *key, size_t *value)
{
    const struct slot *slot = find_slot(map->slots, map->cap, key);

    if (!slot->key)
        return false;
    if (value)
        *value = slot->value;
    return true;
}

const char *strmap_key2(char *buf, size_t size, const char *a, const char *b)
{
    snprintf(buf, size, "%s/%s", a ? a : "", b ? b : "");
    return buf;
}
