/* strmap.c - open-addressing string hash map (FNV-1a, linear probing).
 *
 * A key is stored as its bytes and their length; a two-part key as
 * "a" NUL "b", so no part is ever cut and the parts cannot run into each
 * other (a C string holds no NUL, so a one-part key never equals a
 * two-part one). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wva/strbuf.h"
#include "wva/strmap.h"

#define FNV32_OFFSET 2166136261u
#define FNV32_PRIME 16777619u

struct slot {
    char *key;          /* len bytes, NUL-terminated; NULL = empty slot */
    size_t len;
    size_t value;
    uint32_t hash;      /* kept: growing needs no rehash, probing compares it first */
};

struct wva_strmap {
    struct slot *slots;
    size_t cap;     /* power of two */
    size_t count;
};

/* A key being looked up: one or two parts, not yet copied. */
struct lookup {
    const char *a, *b;  /* b NULL: one part */
    size_t alen, blen;
    size_t len;         /* stored length: alen, or alen + 1 + blen */
    uint32_t hash;
};

static uint32_t fnv1a(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV32_PRIME;
    }
    return h;
}

uint32_t strmap_hash(const char *s)
{
    return s ? fnv1a(FNV32_OFFSET, s, strlen(s)) : FNV32_OFFSET;
}

static struct lookup lookup1(const char *key)
{
    struct lookup k = {key, NULL, strlen(key), 0, 0, 0};

    k.len = k.alen;
    k.hash = fnv1a(FNV32_OFFSET, key, k.alen);
    return k;
}

static struct lookup lookup2(const char *a, const char *b)
{
    struct lookup k;

    k.a = a ? a : "";
    k.b = b ? b : "";
    k.alen = strlen(k.a);
    k.blen = strlen(k.b);
    k.len = k.alen + 1 + k.blen;
    k.hash = fnv1a(fnv1a(FNV32_OFFSET, k.a, k.alen + 1), k.b, k.blen);  /* with the NUL */
    return k;
}

static bool slot_is(const struct slot *s, const struct lookup *k)
{
    if (s->hash != k->hash || s->len != k->len || memcmp(s->key, k->a, k->alen) != 0)
        return false;
    return !k->b || (s->key[k->alen] == '\0' && memcmp(s->key + k->alen + 1, k->b, k->blen) == 0);
}

static char *key_copy(const struct lookup *k)
{
    char *key = wva_xmalloc(k->len + 1);

    memcpy(key, k->a, k->alen);
    if (k->b) {
        key[k->alen] = '\0';
        memcpy(key + k->alen + 1, k->b, k->blen);
    }
    key[k->len] = '\0';
    return key;
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

static struct slot *find_slot(struct slot *slots, size_t cap, const struct lookup *k)
{
    size_t i = (size_t)k->hash & (cap - 1);

    while (slots[i].key && !slot_is(&slots[i], k))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static void grow(struct wva_strmap *map)
{
    size_t cap = map->cap * 2;
    struct slot *slots = wva_xcalloc(cap, sizeof(struct slot));

    /* the keys are distinct: each goes to the first free slot of its probe */
    for (size_t i = 0; i < map->cap; i++) {
        size_t j;

        if (!map->slots[i].key)
            continue;
        for (j = (size_t)map->slots[i].hash & (cap - 1); slots[j].key; j = (j + 1) & (cap - 1))
            ;
        slots[j] = map->slots[i];
    }
    free(map->slots);
    map->slots = slots;
    map->cap = cap;
}

static bool put(struct wva_strmap *map, const struct lookup *k, size_t value)
{
    struct slot *slot;

    if ((map->count + 1) * 2 > map->cap)
        grow(map);
    slot = find_slot(map->slots, map->cap, k);
    if (slot->key)
        return false;
    slot->key = key_copy(k);
    slot->len = k->len;
    slot->hash = k->hash;
    slot->value = value;
    map->count++;
    return true;
}

static bool get(const struct wva_strmap *map, const struct lookup *k, size_t *value)
{
    const struct slot *slot = find_slot(map->slots, map->cap, k);

    if (!slot->key)
        return false;
    if (value)
        *value = slot->value;
    return true;
}

bool strmap_put(struct wva_strmap *map, const char *key, size_t value)
{
    struct lookup k = lookup1(key);

    return put(map, &k, value);
}

bool strmap_get(const struct wva_strmap *map, const char *key, size_t *value)
{
    struct lookup k = lookup1(key);

    return get(map, &k, value);
}

bool strmap_put2(struct wva_strmap *map, const char *a, const char *b, size_t value)
{
    struct lookup k = lookup2(a, b);

    return put(map, &k, value);
}

bool strmap_get2(const struct wva_strmap *map, const char *a, const char *b, size_t *value)
{
    struct lookup k = lookup2(a, b);

    return get(map, &k, value);
}
