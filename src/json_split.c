/* json_split.c - the element scanner (see include/wva/json_split.h).
 *
 * A plain byte scanner: strings (found with memchr, which is vectorised:
 * strings are most of the bytes) and balanced brackets.  Positions only,
 * no values.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wva/json_split.h"

#define SCAN_FAIL SIZE_MAX
#define SCAN_MAX_KEYS 256       /* more members where we split: fall back */
#define SCAN_PATH_MAX 256       /* longer member paths: fall back */

void json_split_release(struct json_split *d)
{
    for (size_t i = 0; i < d->count; i++) {
        free(d->arrays[i].id);
        free(d->arrays[i].items);
    }
    free(d->arrays);
    d->arrays = NULL;
    d->count = d->cap = 0;
}

static bool is_json_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static size_t scan_ws(const struct json_split *d, size_t pos)
{
    while (pos < d->len && is_json_ws(d->text[pos]))
        pos++;
    return pos;
}

/* pos is at '"': returns the position after the closing quote. */
static size_t scan_string(const struct json_split *d, size_t pos, bool *escaped)
{
    size_t q = 0;

    /* memchr is vectorised, and strings are most of the bytes; the next
     * quote is remembered so a string full of escapes stays linear */
    for (pos++; pos < d->len;) {
        const char *bs;

        if (q < pos) {
            const char *quote = memchr(d->text + pos, '"', d->len - pos);

            if (!quote)
                return SCAN_FAIL;
            q = (size_t)(quote - d->text);
        }
        bs = memchr(d->text + pos, '\\', q - pos);
        if (!bs)
            return q + 1;
        *escaped = true;
        pos = (size_t)(bs - d->text) + 2;   /* skip the escaped character */
    }
    return SCAN_FAIL;
}

/* The end of the value starting at pos (brackets and strings balanced). */
static size_t scan_value(const struct json_split *d, size_t pos)
{
    size_t depth = 0;
    bool escaped;

    while (pos < d->len) {
        char c = d->text[pos];

        if (c == '"') {
            if ((pos = scan_string(d, pos, &escaped)) == SCAN_FAIL || depth == 0)
                return pos;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return pos;         /* a scalar ended by its container */
            if (--depth == 0)
                return pos + 1;
        } else if (depth == 0 && (c == ',' || is_json_ws(c))) {
            return pos;
        }
        pos++;
    }
    return depth == 0 ? pos : SCAN_FAIL;
}

static size_t scan_array(struct json_split *d, size_t pos, const char *path, int depth)
{
    struct json_split_array *a;

    if (d->count == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->arrays = wva_xrealloc(d->arrays, d->cap * sizeof(d->arrays[0]));
    }
    a = &d->arrays[d->count++];
    memset(a, 0, sizeof(*a));
    a->id = wva_xstrdup(path);
    a->open = pos;
    a->depth = depth;
    pos = scan_ws(d, pos + 1);
    if (pos < d->len && d->text[pos] == ']') {
        a->close = pos;
        return pos + 1;
    }
    while (pos < d->len) {
        size_t end = scan_value(d, pos);

        if (end == SCAN_FAIL || end == pos)
            return SCAN_FAIL;
        if (a->count == a->cap) {
            a->cap = a->cap ? a->cap * 2 : 64;
            a->items = wva_xrealloc(a->items, a->cap * sizeof(a->items[0]));
        }
        a->items[a->count].start = pos;
        a->items[a->count].end = end;
        a->count++;
        pos = scan_ws(d, end);
        if (pos >= d->len)
            return SCAN_FAIL;
        if (d->text[pos] == ']') {
            a->close = pos;
            return pos + 1;
        }
        if (d->text[pos] != ',')
            return SCAN_FAIL;
        pos = scan_ws(d, pos + 1);
    }
    return SCAN_FAIL;
}

/* pos is at '{' of the object at path ("" for the document). */
static size_t scan_object(struct json_split *d, json_split_role_fn role, size_t pos,
                          const char *path, int depth)
{
    struct json_span keys[SCAN_MAX_KEYS];
    size_t nkeys = 0;

    pos = scan_ws(d, pos + 1);
    if (pos < d->len && d->text[pos] == '}')
        return pos + 1;
    while (pos < d->len && d->text[pos] == '"') {
        char child[SCAN_PATH_MAX];
        bool escaped = false;
        size_t key = pos + 1, key_end, klen;
        enum json_split_role r;

        pos = scan_string(d, pos, &escaped);
        if (pos == SCAN_FAIL || escaped || nkeys == SCAN_MAX_KEYS)
            return SCAN_FAIL;
        key_end = pos - 1;
        klen = key_end - key;
        /* json-c keeps the last of duplicate keys; rather than mirror that,
         * let it handle such documents whole */
        for (size_t k = 0; k < nkeys; k++)
            if (keys[k].end - keys[k].start == klen &&
                memcmp(d->text + keys[k].start, d->text + key, klen) == 0)
                return SCAN_FAIL;
        keys[nkeys].start = key;
        keys[nkeys].end = key_end;
        nkeys++;
        if (snprintf(child, sizeof(child), "%s%s%.*s", path, path[0] ? "/" : "", (int)klen,
                     d->text + key) >= (int)sizeof(child) ||
            memchr(d->text + key, '\0', klen))
            return SCAN_FAIL;
        pos = scan_ws(d, pos);
        if (pos >= d->len || d->text[pos] != ':')
            return SCAN_FAIL;
        pos = scan_ws(d, pos + 1);
        if (pos >= d->len)
            return SCAN_FAIL;
        r = role(child);
        if (r == JSON_SPLIT_ARRAY && d->text[pos] == '[')
            pos = scan_array(d, pos, child, depth + 1);
        else if (r == JSON_SPLIT_DESCEND && d->text[pos] == '{')
            pos = scan_object(d, role, pos, child, depth + 1);
        else
            pos = scan_value(d, pos);
        if (pos == SCAN_FAIL)
            return SCAN_FAIL;
        pos = scan_ws(d, pos);
        if (pos < d->len && d->text[pos] == '}')
            return pos + 1;
        if (pos >= d->len || d->text[pos] != ',')
            return SCAN_FAIL;
        pos = scan_ws(d, pos + 1);
    }
    return SCAN_FAIL;
}

bool json_split_document(struct json_split *d, json_split_role_fn role,
                         struct wva_strbuf *skeleton)
{
    size_t pos = scan_ws(d, 0), from = 0;

    if (pos >= d->len || d->text[pos] != '{' || scan_object(d, role, pos, "", 1) == SCAN_FAIL) {
        json_split_release(d);
        return false;
    }
    /* arrays were recorded in document order */
    for (size_t i = 0; i < d->count; i++) {
        wva_strbuf_add(skeleton, d->text + from, d->arrays[i].open + 1 - from);
        from = d->arrays[i].close;
    }
    wva_strbuf_add(skeleton, d->text + from, d->len - from);
    return true;
}

static const struct json_split_array *split_find(const struct json_split *d, const char *id)
{
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->arrays[i].id, id) == 0)
            return &d->arrays[i];
    return NULL;
}

size_t json_elements_open(struct json_elements *e, const struct json_split *d,
                          struct json_object *arr, const char *id)
{
    memset(e, 0, sizeof(*e));
    e->arr = arr;
    e->split = arr ? split_find(d, id) : NULL;
    if (!e->split)
        return arr ? json_object_array_length(arr) : 0;
    e->text = d->text;
    e->tok = json_tokener_new_ex(d->max_depth - e->split->depth);
    if (!e->tok) {
        /* the project's policy on allocation failure (see strbuf.h) */
        fputs("wva-optimizer: out of memory creating a JSON parser\n", stderr);
        abort();
    }
    json_tokener_set_flags(e->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    return e->split->count;
}

int json_elements_get(struct json_elements *e, size_t i, struct json_object **item)
{
    const struct json_span *s;

    if (!e->split) {
        *item = json_object_array_get_idx(e->arr, i);
        return 0;
    }
    json_object_put(e->cur);
    json_tokener_reset(e->tok);
    s = &e->split->items[i];
    e->cur = json_tokener_parse_ex(e->tok, e->text + s->start, (int)(s->end - s->start));
    if (json_tokener_get_error(e->tok) == json_tokener_continue)
        e->cur = json_tokener_parse_ex(e->tok, "", 1);
    *item = e->cur;
    return json_tokener_get_error(e->tok) == json_tokener_success ? 0 : -2;
}

void json_elements_close(struct json_elements *e)
{
    json_object_put(e->cur);
    if (e->tok)
        json_tokener_free(e->tok);
}

