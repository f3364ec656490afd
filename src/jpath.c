/* jpath.c - type checks with the JSON path in every message (see
 * include/wva/jpath.h).
 *
 * The path is a fixed buffer on the reader's stack: it is extended and cut
 * back for every field of every item of a 60 MB document, so no
 * allocation and no printf on that path.  A path longer than the buffer
 * only ever appears in a message, where its cut is marked.
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wva/jpath.h"
#include "wva/strbuf.h"
#include "wva/values.h"

/* Bytes of a quoted (non-identifier) member key shown in a path. */
#define QUOTED_KEY_MAX 64

/* Keys that read well after a dot; others ("nvidia.com/gpu") are quoted. */
static bool is_plain_key(const char *key)
{
    if (!(isalpha((unsigned char)*key) || *key == '_'))
        return false;
    for (; *key; key++)
        if (!(isalnum((unsigned char)*key) || *key == '_' || *key == '-'))
            return false;
    return true;
}

void jp_init(struct jpath *p)
{
    p->buf[0] = '\0';
    p->len = 0;
    p->cut = false;
}

static void jp_add(struct jpath *p, const char *s, size_t n)
{
    size_t room = sizeof(p->buf) - 1 - p->len;

    if (n > room) {
        n = room;
        p->cut = true;
    }
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

/* Push a member / an index; return the mark to restore with jp_pop.  These
 * run for every item of every list, hence no printf. */
size_t jp_key(struct jpath *p, const char *key)
{
    size_t mark = p->len;

    if (is_plain_key(key)) {
        if (p->len)
            jp_add(p, ".", 1);
        jp_add(p, key, strlen(key));
    } else {
        size_t n = strlen(key);

        /* a long key is shown by its start, visibly cut */
        jp_add(p, "[\"", 2);
        jp_add(p, key, n > QUOTED_KEY_MAX ? QUOTED_KEY_MAX : n);
        if (n > QUOTED_KEY_MAX)
            jp_add(p, "...", 3);
        jp_add(p, "\"]", 2);
    }
    return mark;
}

size_t jp_index(struct jpath *p, size_t i)
{
    char digits[24];
    size_t n = sizeof(digits);
    size_t mark = p->len;

    digits[--n] = ']';
    do {
        digits[--n] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    digits[--n] = '[';
    jp_add(p, digits + n, sizeof(digits) - n);
    return mark;
}

void jp_pop(struct jpath *p, size_t mark)
{
    if (mark < p->len)
        p->cut = false;     /* what was cut is gone again */
    p->len = mark;
    p->buf[mark] = '\0';
}

/* "path: message"; always returns -1 so callers can `return jp_fail(...)`. */
int jp_fail(const struct jpath *p, struct wva_error *err, const char *fmt, ...)
{
    char msg[WVA_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    wva_error_set(err, "%s%s: %s", p->len ? p->buf : "snapshot", p->cut ? "..." : "", msg);
    return -1;
}

/* The same, for the member key of the current path. */
int jp_fail_at(struct jpath *p, const char *key, struct wva_error *err,
                      const char *fmt, ...)
{
    char msg[WVA_ERROR_MAX];
    size_t mark = jp_key(p, key);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    jp_fail(p, err, "%s", msg);
    jp_pop(p, mark);
    return -1;
}

const char *jp_describe(struct json_object *v, char *buf, size_t size)
{
    const char *text;
    size_t n;

    switch (json_object_get_type(v)) {
    case json_type_null:
        return "null";
    case json_type_object:
        return "object";
    case json_type_array:
        return "array";
    default:
        break;
    }
    text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    n = strlen(text);
    if (n < size)
        return text;
    snprintf(buf, size, "%.*s...", (int)(size - 4), text);
    return buf;
}

static const char *const jkind_names[] = {
    "object", "array", "string", "integer", "number", "boolean", "quantity",
};

static bool jkind_matches(struct json_object *v, enum jkind kind)
{
    enum json_type t = json_object_get_type(v);

    switch (kind) {
    case JK_OBJECT:
        return t == json_type_object;
    case JK_ARRAY:
        return t == json_type_array;
    case JK_STRING:
        return t == json_type_string;
    case JK_INT:
        return t == json_type_int;
    case JK_NUMBER:
        return t == json_type_int || t == json_type_double;
    case JK_BOOL:
        return t == json_type_boolean;
    case JK_QUANTITY:
        return t == json_type_int || t == json_type_double || t == json_type_string;
    }
    return false;
}

/* Check the value at the current path. */
int jp_check(const struct jpath *p, struct json_object *v, enum jkind kind,
                    struct wva_error *err)
{
    char buf[JPATH_DESCRIBE_MAX];

    if (jkind_matches(v, kind))
        return 0;
    return jp_fail(p, err, "expected %s, got %s", jkind_names[kind], jp_describe(v, buf, sizeof(buf)));
}

/* Member key of obj, checked to be of kind.  Returns 1 with *out set, 0
 * when absent or null and not required, -1 with err naming path.key.  The
 * path is only extended when there is something to report: this runs for
 * every field of every item. */
int jp_get(struct jpath *p, struct json_object *obj, const char *key, enum jkind kind,
                  bool required, struct json_object **out, struct wva_error *err)
{
    struct json_object *v = NULL;
    bool present = json_object_object_get_ex(obj, key, &v);
    char buf[JPATH_DESCRIBE_MAX];

    *out = NULL;
    if (!present && required)
        return jp_fail_at(p, key, err, "missing");
    if (!present || (!v && !required))
        return 0;
    if (!jkind_matches(v, kind))
        return jp_fail_at(p, key, err, "expected %s, got %s", jkind_names[kind],
                          jp_describe(v, buf, sizeof(buf)));
    *out = v;
    return 1;
}

int jp_get_string(struct jpath *p, struct json_object *obj, const char *key,
                         bool required, const char **out, struct wva_error *err)
{
    struct json_object *v;
    int rc = jp_get(p, obj, key, JK_STRING, required, &v, err);

    *out = rc > 0 ? json_object_get_string(v) : NULL;
    if (rc > 0 && (size_t)json_object_get_string_len(v) > JPATH_MAX_STRING)
        return jp_fail_at(p, key, err, "string of %d bytes exceeds the limit of %u",
                          json_object_get_string_len(v), JPATH_MAX_STRING);
    return rc;
}

/* An integer in [min, INT_MAX]; *out is left alone when absent. */
int jp_get_int(struct jpath *p, struct json_object *obj, const char *key, int min,
                      bool required, int *out, struct wva_error *err)
{
    struct json_object *v;
    char buf[JPATH_DESCRIBE_MAX];
    int rc = jp_get(p, obj, key, JK_INT, required, &v, err);
    int64_t x;

    if (rc <= 0)
        return rc;
    x = json_object_get_int64(v);
    if (x < min)
        return jp_fail_at(p, key, err, "expected integer >= %d, got %s", min,
                          jp_describe(v, buf, sizeof(buf)));
    if (x > INT_MAX)
        return jp_fail_at(p, key, err, "expected integer <= %d, got %s", INT_MAX,
                          jp_describe(v, buf, sizeof(buf)));
    *out = (int)x;
    return 1;
}

/* A Kubernetes quantity (string or JSON number), finite and >= 0. */
int jp_get_quantity(struct jpath *p, struct json_object *obj, const char *key,
                           double *out, struct wva_error *err)
{
    struct json_object *v;
    char buf[JPATH_DESCRIBE_MAX];
    int rc = jp_get(p, obj, key, JK_QUANTITY, false, &v, err);
    bool ok;

    if (rc <= 0)
        return rc;
    if (json_object_is_type(v, json_type_string)) {
        ok = values_parse_quantity(json_object_get_string(v), out, NULL) == 0 && *out >= 0;
    } else {
        *out = json_object_get_double(v);
        ok = isfinite(*out) && *out >= 0;
    }
    if (!ok)
        return jp_fail_at(p, key, err, "expected quantity, got %s", jp_describe(v, buf, sizeof(buf)));
    return 1;
}

/* Copy an object of strings into list (which must be empty).  With
 * scalars_as_text, numbers and booleans are taken in their JSON text form
 * (the settings object, where "60" and 60 mean the same). */
int jp_get_map(struct jpath *p, struct json_object *obj, const char *key,
                      bool scalars_as_text, struct wva_kvlist *list, struct wva_error *err)
{
    struct json_object *map;
    struct json_object_iterator it, end;
    int rc = jp_get(p, obj, key, JK_OBJECT, false, &map, err);
    size_t n;

    if (rc <= 0)
        return rc;
    n = (size_t)json_object_object_length(map);
    list->items = n ? wva_xcalloc(n, sizeof(list->items[0])) : NULL;
    list->count = 0;
    it = json_object_iter_begin(map);
    end = json_object_iter_end(map);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *name = json_object_iter_peek_name(&it);
        struct json_object *v = json_object_iter_peek_value(&it);
        enum json_type t = json_object_get_type(v);

        if (t != json_type_string &&
            !(scalars_as_text && (t == json_type_int || t == json_type_double ||
                                  t == json_type_boolean))) {
            size_t mark = jp_key(p, key);

            jp_key(p, name);
            jp_check(p, v, JK_STRING, err);
            jp_pop(p, mark);
            return -1;
        }
        list->items[list->count].key = wva_xstrdup(name);
        list->items[list->count].value = wva_xstrdup(json_object_get_string(v));
        list->count++;
    }
    return 1;
}

