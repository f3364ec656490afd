/* snapshot.c - the snapshot document of SPEC section 8: JSON in, compact
 * structs out, and back.
 *
 * json-c parses the document (strict, depth-limited); the readers below walk
 * the tree once, copy the few fields the engine reads into struct
 * wva_snapshot and drop the tree, so nothing downstream ever sees JSON.
 * For speed the big arrays (List items, metric results) are parsed one
 * element at a time (see "Splitting the big arrays"); the result is the
 * same as parsing the whole tree, which is what happens on any doubt.
 * Live runs, which get the objects as trees already, hand them over one at
 * a time (snapshot_append_item) to the same readers.
 * Every type check goes through one path-tracking helper (struct jpath and
 * the jp_* functions) so a malformed document is reported the same way
 * wherever the problem is: "deployments.items[3].spec.replicas: expected
 * integer, got \"abc\"".
 *
 * Three levels of strictness, because the three parts have different
 * owners: the document's shape (everything outside a VA's spec/status) is
 * the recorder's and a problem there fails the load; a VA's spec is the
 * user's, so its first problem is only recorded (spec_problem) and becomes
 * that VA's InvalidSpec skip; a VA's status is ours, so a wrong type there
 * reads as absent.  Fields nobody reads are never checked: kubectl output
 * carries many.  A JSON null is read as an absent optional field, as
 * Kubernetes' own decoder does.
 *
 * This module knows nothing of the filter rules, the analysis, the solver
 * or how a live run talks to the API server.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "wva/snapshot.h"
#include "wva/strbuf.h"
#include "wva/values.h"

#define SNAPSHOT_MAX_BYTES ((size_t)512 * 1024 * 1024)
#define SNAPSHOT_MAX_DEPTH 64
/* Bounds on what one snapshot may hold: far above any real cluster (a
 * 10,000-VA cluster has about 30,000 pods), low enough that a hostile or
 * broken input cannot make the run allocate without end. */
#define SNAPSHOT_MAX_ITEMS 1000000u          /* per Kubernetes list */
#define SNAPSHOT_MAX_SAMPLES 5000000u        /* per metrics series */
#define SNAPSHOT_MAX_STRING (1024u * 1024u)  /* bytes of one string value */
#define SNAPSHOT_MAX_NAME 253u               /* metadata.name / namespace (DNS subdomain) */
#define SNAPSHOT_VERSION 1
#define DESCRIBE_MAX 96     /* bytes of an offending value quoted in a message */

/* GPU vendors in the order the SPEC tries them. */
#define GPU_VENDORS 3
static const char *const gpu_resource_keys[GPU_VENDORS] = {
    "nvidia.com/gpu", "amd.com/gpu", "intel.com/gpu",
};
static const char *const gpu_product_keys[GPU_VENDORS] = {
    "nvidia.com/gpu.product", "amd.com/gpu.product", "intel.com/gpu.product",
};

/* ------------------------------------------------------------------ */
/* String maps                                                          */

const char *wva_kvlist_get(const struct wva_kvlist *list, const char *key)
{
    if (!list || !key)
        return NULL;
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].key, key) == 0)
            return list->items[i].value;
    return NULL;
}

void wva_kvlist_set(struct wva_kvlist *list, const char *key, const char *value)
{
    size_t i;

    for (i = 0; i < list->count; i++)
        if (strcmp(list->items[i].key, key) == 0)
            break;
    if (i < list->count) {
        free(list->items[i].value);
        if (value) {
            list->items[i].value = wva_xstrdup(value);
            return;
        }
        free(list->items[i].key);
        memmove(&list->items[i], &list->items[i + 1],
                (list->count - i - 1) * sizeof(list->items[0]));
        list->count--;
        return;
    }
    if (!value)
        return;
    list->items = wva_xrealloc(list->items, (list->count + 1) * sizeof(list->items[0]));
    list->items[list->count].key = wva_xstrdup(key);
    list->items[list->count].value = wva_xstrdup(value);
    list->count++;
}

void wva_kvlist_free(struct wva_kvlist *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].key);
        free(list->items[i].value);
    }
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

/* ------------------------------------------------------------------ */
/* Value syntaxes (the rest are in values.c)                             */

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
static bool is_metric_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_' || *s == ':'))
        return false;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == ':'))
            return false;
    return true;
}

/* ------------------------------------------------------------------ */
/* JSON path tracking: the one place that checks types and words errors */

struct jpath {
    char buf[512];      /* longer paths are truncated: still readable */
    size_t len;
};

static void jp_append(struct jpath *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void jp_append(struct jpath *p, const char *fmt, ...)
{
    size_t room = sizeof(p->buf) - p->len;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(p->buf + p->len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->len += (size_t)n < room ? (size_t)n : room - 1;
}

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

static void jp_add(struct jpath *p, const char *s, size_t n)
{
    size_t room = sizeof(p->buf) - 1 - p->len;

    if (n > room)
        n = room;
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

/* Push a member / an index; return the mark to restore with jp_pop.  These
 * run for every item of every list, hence no printf. */
static size_t jp_key(struct jpath *p, const char *key)
{
    size_t mark = p->len;

    if (is_plain_key(key)) {
        if (p->len)
            jp_add(p, ".", 1);
        jp_add(p, key, strlen(key));
    } else {
        jp_append(p, "[\"%.64s\"]", key);
    }
    return mark;
}

static size_t jp_index(struct jpath *p, size_t i)
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

static void jp_pop(struct jpath *p, size_t mark)
{
    p->len = mark;
    p->buf[mark] = '\0';
}

/* "path: message"; always returns -1 so callers can `return jp_fail(...)`. */
static int jp_fail(const struct jpath *p, struct wva_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int jp_fail(const struct jpath *p, struct wva_error *err, const char *fmt, ...)
{
    char msg[WVA_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    wva_error_set(err, "%s: %s", p->len ? p->buf : "snapshot", msg);
    return -1;
}

/* The same, for the member key of the current path. */
static int jp_fail_at(struct jpath *p, const char *key, struct wva_error *err,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int jp_fail_at(struct jpath *p, const char *key, struct wva_error *err,
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

/* A value as a message shows it: its kind for containers, else its JSON
 * text (strings quoted), shortened. */
static const char *describe(struct json_object *v, char *buf, size_t size)
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

enum jkind { JK_OBJECT, JK_ARRAY, JK_STRING, JK_INT, JK_NUMBER, JK_BOOL, JK_QUANTITY };
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
static int jp_check(const struct jpath *p, struct json_object *v, enum jkind kind,
                    struct wva_error *err)
{
    char buf[DESCRIBE_MAX];

    if (jkind_matches(v, kind))
        return 0;
    return jp_fail(p, err, "expected %s, got %s", jkind_names[kind], describe(v, buf, sizeof(buf)));
}

/* Member key of obj, checked to be of kind.  Returns 1 with *out set, 0
 * when absent or null and not required, -1 with err naming path.key.  The
 * path is only extended when there is something to report: this runs for
 * every field of every item. */
static int jp_get(struct jpath *p, struct json_object *obj, const char *key, enum jkind kind,
                  bool required, struct json_object **out, struct wva_error *err)
{
    struct json_object *v = NULL;
    bool present = json_object_object_get_ex(obj, key, &v);
    char buf[DESCRIBE_MAX];

    *out = NULL;
    if (!present && required)
        return jp_fail_at(p, key, err, "missing");
    if (!present || (!v && !required))
        return 0;
    if (!jkind_matches(v, kind))
        return jp_fail_at(p, key, err, "expected %s, got %s", jkind_names[kind],
                          describe(v, buf, sizeof(buf)));
    *out = v;
    return 1;
}

static int jp_get_string(struct jpath *p, struct json_object *obj, const char *key,
                         bool required, const char **out, struct wva_error *err)
{
    struct json_object *v;
    int rc = jp_get(p, obj, key, JK_STRING, required, &v, err);

    *out = rc > 0 ? json_object_get_string(v) : NULL;
    if (rc > 0 && (size_t)json_object_get_string_len(v) > SNAPSHOT_MAX_STRING)
        return jp_fail_at(p, key, err, "string of %d bytes exceeds the limit of %u",
                          json_object_get_string_len(v), SNAPSHOT_MAX_STRING);
    return rc;
}

/* An integer in [min, INT_MAX]; *out is left alone when absent. */
static int jp_get_int(struct jpath *p, struct json_object *obj, const char *key, int min,
                      bool required, int *out, struct wva_error *err)
{
    struct json_object *v;
    char buf[DESCRIBE_MAX];
    int rc = jp_get(p, obj, key, JK_INT, required, &v, err);
    int64_t x;

    if (rc <= 0)
        return rc;
    x = json_object_get_int64(v);
    if (x < min)
        return jp_fail_at(p, key, err, "expected integer >= %d, got %s", min,
                          describe(v, buf, sizeof(buf)));
    if (x > INT_MAX)
        return jp_fail_at(p, key, err, "expected integer <= %d, got %s", INT_MAX,
                          describe(v, buf, sizeof(buf)));
    *out = (int)x;
    return 1;
}

/* A Kubernetes quantity (string or JSON number), finite and >= 0. */
static int jp_get_quantity(struct jpath *p, struct json_object *obj, const char *key,
                           double *out, struct wva_error *err)
{
    struct json_object *v;
    char buf[DESCRIBE_MAX];
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
        return jp_fail_at(p, key, err, "expected quantity, got %s", describe(v, buf, sizeof(buf)));
    return 1;
}

/* Copy an object of strings into list (which must be empty).  With
 * scalars_as_text, numbers and booleans are taken in their JSON text form
 * (the settings object, where "60" and 60 mean the same). */
static int jp_get_map(struct jpath *p, struct json_object *obj, const char *key,
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

/* ------------------------------------------------------------------ */
/* Kubernetes objects                                                   */

struct meta {
    const char *name;
    const char *ns;
    const char *resource_version;
    bool deleting;
    struct json_object *obj;        /* for kind-specific fields */
};

/* metadata of a list item: name (and namespace when namespaced) required;
 * labels/annotations copied when a destination is given. */
static int read_metadata(struct jpath *p, struct json_object *item, bool namespaced,
                         struct meta *m, struct wva_kvlist *labels,
                         struct wva_kvlist *annotations, struct wva_error *err)
{
    const char *deletion = NULL;
    size_t mark;

    memset(m, 0, sizeof(*m));
    if (jp_get(p, item, "metadata", JK_OBJECT, true, &m->obj, err) < 0)
        return -1;
    mark = jp_key(p, "metadata");
    if (jp_get_string(p, m->obj, "name", true, &m->name, err) < 0 ||
        (namespaced && jp_get_string(p, m->obj, "namespace", true, &m->ns, err) < 0) ||
        jp_get_string(p, m->obj, "resourceVersion", false, &m->resource_version, err) < 0 ||
        jp_get_string(p, m->obj, "deletionTimestamp", false, &deletion, err) < 0 ||
        (labels && jp_get_map(p, m->obj, "labels", false, labels, err) < 0) ||
        (annotations && jp_get_map(p, m->obj, "annotations", false, annotations, err) < 0))
        return -1;
    if (!m->name[0])
        return jp_fail_at(p, "name", err, "expected non-empty string, got \"\"");
    if (namespaced && !m->ns[0])
        return jp_fail_at(p, "namespace", err, "expected non-empty string, got \"\"");
    if (strlen(m->name) > SNAPSHOT_MAX_NAME)
        return jp_fail_at(p, "name", err, "name of %zu characters exceeds the Kubernetes "
                          "limit of %u", strlen(m->name), SNAPSHOT_MAX_NAME);
    if (namespaced && strlen(m->ns) > SNAPSHOT_MAX_NAME)
        return jp_fail_at(p, "namespace", err, "name of %zu characters exceeds the Kubernetes "
                          "limit of %u", strlen(m->ns), SNAPSHOT_MAX_NAME);
    m->deleting = deletion != NULL;
    jp_pop(p, mark);
    return 0;
}

/* The first present of several labels; *which is its position in keys. */
static int read_label(struct jpath *p, const struct meta *m, const char *const *keys,
                      size_t nkeys, const char **value, size_t *which, struct wva_error *err)
{
    struct json_object *labels;
    size_t mark = jp_key(p, "metadata");
    int rc = jp_get(p, m->obj, "labels", JK_OBJECT, false, &labels, err);

    *value = NULL;
    if (rc > 0) {
        jp_key(p, "labels");
        for (size_t i = 0; i < nkeys && !*value; i++) {
            if (jp_get_string(p, labels, keys[i], false, value, err) < 0)
                return -1;
            *which = i;
        }
    }
    jp_pop(p, mark);
    return rc < 0 ? -1 : 0;
}

/* GPUs one container asks for: resources.requests, else limits; *found is
 * false when neither names a GPU resource. */
static int container_gpus(struct jpath *p, struct json_object *container, double *gpus,
                          bool *found, struct wva_error *err)
{
    static const char *const sections[] = {"requests", "limits"};
    struct json_object *res, *list;
    size_t mark;
    int rc;

    *found = false;
    *gpus = 0;
    rc = jp_get(p, container, "resources", JK_OBJECT, false, &res, err);
    if (rc <= 0)
        return rc;
    mark = jp_key(p, "resources");
    for (size_t s = 0; s < 2 && !*found; s++) {
        size_t mark2;

        if (jp_get(p, res, sections[s], JK_OBJECT, false, &list, err) < 0)
            return -1;
        if (!list)
            continue;
        mark2 = jp_key(p, sections[s]);
        for (size_t v = 0; v < GPU_VENDORS && !*found; v++) {
            rc = jp_get_quantity(p, list, gpu_resource_keys[v], gpus, err);
            if (rc < 0)
                return -1;
            *found = rc > 0;
        }
        jp_pop(p, mark2);
    }
    jp_pop(p, mark);
    return 0;
}

/* GPUs of a pod spec: with first_only, those of the first container that
 * asks for any (a Deployment's per-replica need, as the SPEC defines it);
 * else the sum over containers (what a running pod holds). */
static int pod_spec_gpus(struct jpath *p, struct json_object *pod_spec, bool first_only,
                         double *gpus, struct wva_error *err)
{
    struct json_object *containers;
    size_t mark, n;

    *gpus = 0;
    if (jp_get(p, pod_spec, "containers", JK_ARRAY, false, &containers, err) < 0)
        return -1;
    if (!containers)
        return 0;
    mark = jp_key(p, "containers");
    n = json_object_array_length(containers);
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(containers, i);
        size_t mark2 = jp_index(p, i);
        double g;
        bool found;

        if (jp_check(p, c, JK_OBJECT, err) < 0 || container_gpus(p, c, &g, &found, err) < 0)
            return -1;
        jp_pop(p, mark2);
        *gpus += g;
        if (found && first_only)
            break;
    }
    jp_pop(p, mark);
    return 0;
}

static int read_namespace(struct jpath *p, struct json_object *item, void *dst,
                          struct wva_error *err)
{
    struct wva_namespace *ns = dst;
    struct meta m;

    if (read_metadata(p, item, false, &m, &ns->labels, &ns->annotations, err) < 0)
        return -1;
    ns->name = wva_xstrdup(m.name);
    ns->deleting = m.deleting;
    return 0;
}

static int read_deployment(struct jpath *p, struct json_object *item, void *dst,
                           struct wva_error *err)
{
    struct wva_deployment *d = dst;
    struct json_object *spec, *status, *sel, *tmpl, *pod_spec, *node_sel;
    struct meta m;
    size_t mark;

    if (read_metadata(p, item, true, &m, NULL, NULL, err) < 0)
        return -1;
    d->namespace_name = wva_xstrdup(m.ns);
    d->name = wva_xstrdup(m.name);
    d->resource_version = wva_xstrdup(m.resource_version);
    d->deleting = m.deleting;
    d->replicas = 1;
    d->ready_replicas = 0;

    if (jp_get(p, item, "spec", JK_OBJECT, false, &spec, err) < 0)
        return -1;
    if (spec) {
        mark = jp_key(p, "spec");
        if (jp_get_int(p, spec, "replicas", 0, false, &d->replicas, err) < 0 ||
            jp_get(p, spec, "selector", JK_OBJECT, false, &sel, err) < 0)
            return -1;
        if (sel) {
            size_t mark2 = jp_key(p, "selector");

            if (jp_get_map(p, sel, "matchLabels", false, &d->selector, err) < 0)
                return -1;
            jp_pop(p, mark2);
        }
        if (jp_get(p, spec, "template", JK_OBJECT, false, &tmpl, err) < 0)
            return -1;
        if (tmpl) {
            jp_key(p, "template");
            if (jp_get(p, tmpl, "spec", JK_OBJECT, false, &pod_spec, err) < 0)
                return -1;
            if (pod_spec) {
                jp_key(p, "spec");
                if (jp_get(p, pod_spec, "nodeSelector", JK_OBJECT, false, &node_sel, err) < 0)
                    return -1;
                if (node_sel) {
                    size_t mark2 = jp_key(p, "nodeSelector");
                    const char *product = NULL;

                    for (size_t v = 0; v < GPU_VENDORS && !product; v++)
                        if (jp_get_string(p, node_sel, gpu_product_keys[v], false, &product,
                                          err) < 0)
                            return -1;
                    d->node_selector_accelerator = wva_xstrdup(product);
                    jp_pop(p, mark2);
                }
                if (pod_spec_gpus(p, pod_spec, true, &d->gpu_request, err) < 0)
                    return -1;
            }
        }
        jp_pop(p, mark);
    }

    if (jp_get(p, item, "status", JK_OBJECT, false, &status, err) < 0)
        return -1;
    if (status) {
        mark = jp_key(p, "status");
        if (jp_get_int(p, status, "readyReplicas", 0, false, &d->ready_replicas, err) < 0)
            return -1;
        jp_pop(p, mark);
    }
    return 0;
}

static int read_owner_replicaset(struct jpath *p, const struct meta *m, const char **owner,
                                 struct wva_error *err)
{
    struct json_object *refs;
    size_t mark = jp_key(p, "metadata"), n;

    *owner = NULL;
    if (jp_get(p, m->obj, "ownerReferences", JK_ARRAY, false, &refs, err) < 0)
        return -1;
    if (refs) {
        jp_key(p, "ownerReferences");
        n = json_object_array_length(refs);
        for (size_t i = 0; i < n && !*owner; i++) {
            struct json_object *ref = json_object_array_get_idx(refs, i);
            size_t mark2 = jp_index(p, i);
            const char *kind;

            if (jp_check(p, ref, JK_OBJECT, err) < 0 ||
                jp_get_string(p, ref, "kind", false, &kind, err) < 0)
                return -1;
            if (kind && strcmp(kind, "ReplicaSet") == 0 &&
                jp_get_string(p, ref, "name", true, owner, err) < 0)
                return -1;
            jp_pop(p, mark2);
        }
    }
    jp_pop(p, mark);
    return 0;
}

static int read_pod(struct jpath *p, struct json_object *item, void *dst, struct wva_error *err)
{
    static const char *const hash_key[] = {"pod-template-hash"};
    struct wva_pod *pod = dst;
    struct json_object *spec, *status;
    const char *s;
    size_t which, mark;
    struct meta m;

    if (read_metadata(p, item, true, &m, NULL, NULL, err) < 0)
        return -1;
    pod->namespace_name = wva_xstrdup(m.ns);
    pod->name = wva_xstrdup(m.name);
    pod->terminating = m.deleting;
    if (read_owner_replicaset(p, &m, &s, err) < 0)
        return -1;
    pod->owner_replicaset = wva_xstrdup(s);
    if (read_label(p, &m, hash_key, 1, &s, &which, err) < 0)
        return -1;
    pod->pod_template_hash = wva_xstrdup(s);

    if (jp_get(p, item, "spec", JK_OBJECT, false, &spec, err) < 0)
        return -1;
    if (spec) {
        mark = jp_key(p, "spec");
        if (jp_get_string(p, spec, "nodeName", false, &s, err) < 0)
            return -1;
        pod->node_name = wva_xstrdup(s);
        if (pod_spec_gpus(p, spec, false, &pod->gpu_request, err) < 0)
            return -1;
        jp_pop(p, mark);
    }
    if (jp_get(p, item, "status", JK_OBJECT, false, &status, err) < 0)
        return -1;
    if (status) {
        mark = jp_key(p, "status");
        if (jp_get_string(p, status, "phase", false, &s, err) < 0)
            return -1;
        pod->phase = wva_xstrdup(s);
        jp_pop(p, mark);
    }
    return 0;
}

static int read_node(struct jpath *p, struct json_object *item, void *dst, struct wva_error *err)
{
    struct wva_node *node = dst;
    struct json_object *spec, *status, *alloc;
    const char *product;
    size_t vendor = 0, mark;
    bool unschedulable = false;
    struct meta m;
    struct json_object *flag;

    if (read_metadata(p, item, false, &m, NULL, NULL, err) < 0)
        return -1;
    node->name = wva_xstrdup(m.name);
    if (read_label(p, &m, gpu_product_keys, GPU_VENDORS, &product, &vendor, err) < 0)
        return -1;
    node->accelerator = wva_xstrdup(product);

    if (jp_get(p, item, "spec", JK_OBJECT, false, &spec, err) < 0)
        return -1;
    if (spec) {
        mark = jp_key(p, "spec");
        if (jp_get(p, spec, "unschedulable", JK_BOOL, false, &flag, err) < 0)
            return -1;
        unschedulable = flag && json_object_get_boolean(flag);
        jp_pop(p, mark);
    }
    node->unschedulable = unschedulable;

    if (jp_get(p, item, "status", JK_OBJECT, false, &status, err) < 0)
        return -1;
    if (status) {
        mark = jp_key(p, "status");
        if (jp_get(p, status, "allocatable", JK_OBJECT, false, &alloc, err) < 0)
            return -1;
        if (alloc) {
            /* The labelled vendor's GPUs; without a product label, the first
             * vendor present (such a node is not in any inventory anyway). */
            size_t first = product ? vendor : 0, last = product ? vendor + 1 : GPU_VENDORS;
            int rc = 0;

            jp_key(p, "allocatable");
            for (size_t v = first; v < last && rc == 0; v++)
                if ((rc = jp_get_quantity(p, alloc, gpu_resource_keys[v],
                                          &node->allocatable_gpus, err)) < 0)
                    return -1;
        }
        jp_pop(p, mark);
    }
    return 0;
}

static int read_configmap(struct jpath *p, struct json_object *item, void *dst,
                          struct wva_error *err)
{
    struct wva_configmap *cm = dst;
    struct meta m;

    if (read_metadata(p, item, true, &m, NULL, NULL, err) < 0)
        return -1;
    cm->namespace_name = wva_xstrdup(m.ns);
    cm->name = wva_xstrdup(m.name);
    return jp_get_map(p, item, "data", false, &cm->data, err) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* VariantAutoscalings: strict metadata, lenient spec and status         */

/* Only the first problem is kept: the SPEC's checks are ordered and the
 * first failing one is what the user is told to fix. */
static void spec_problem(struct wva_va *va, const struct wva_error *e)
{
    if (!va->spec_problem)
        va->spec_problem = wva_xstrdup(e->msg);
}

/* A required non-empty string of the spec; empty counts as missing. */
static struct json_object *spec_string(struct jpath *p, struct json_object *obj,
                                       const char *key, char **dst, struct wva_va *va)
{
    struct json_object *v;
    struct wva_error e;

    if (jp_get(p, obj, key, JK_STRING, true, &v, &e) < 0) {
        spec_problem(va, &e);
        return NULL;
    }
    if (!json_object_get_string_len(v)) {
        jp_fail_at(p, key, &e, "missing");
        spec_problem(va, &e);
        return NULL;
    }
    *dst = wva_xstrdup(json_object_get_string(v));
    return v;
}

/* One spec.metrics entry: exactly {name, target}. */
static int read_metric_target(struct jpath *p, struct json_object *entry,
                              struct wva_metric_target *out, struct wva_error *err)
{
    struct json_object_iterator it, end;
    struct json_object *target;
    const char *name;
    char buf[DESCRIBE_MAX];

    if (jp_check(p, entry, JK_OBJECT, err) < 0)
        return -1;
    it = json_object_iter_begin(entry);
    end = json_object_iter_end(entry);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *key = json_object_iter_peek_name(&it);

        if (strcmp(key, "name") != 0 && strcmp(key, "target") != 0)
            return jp_fail(p, err, "unknown key \"%.64s\"", key);
    }
    if (jp_get_string(p, entry, "name", true, &name, err) < 0)
        return -1;
    if (!is_metric_name(name))
        return jp_fail_at(p, "name", err, "%s is not a Prometheus metric name",
                          describe(json_object_object_get(entry, "name"), buf, sizeof(buf)));
    if (jp_get(p, entry, "target", JK_NUMBER, true, &target, err) < 0)
        return -1;
    out->target = json_object_get_double(target);
    if (!(out->target > 0) || !isfinite(out->target))
        return jp_fail_at(p, "target", err, "expected number > 0, got %s",
                          describe(target, buf, sizeof(buf)));
    out->name = wva_xstrdup(name);
    return 0;
}

/* Read the spec leniently (SPEC section 4 check InvalidSpec, in order).
 * Everything that reads fine is kept, even after a problem, so the plan
 * can still show the target and model of a skipped VA. */
static void read_va_spec(struct json_object *item, struct wva_va *va)
{
    struct jpath path = {{0}, 0};
    struct jpath *p = &path;
    struct json_object *spec = NULL, *ref = NULL, *kind, *v, *metrics;
    struct wva_error e;
    int max = -1;
    bool have_min_max = true;

    va->variant_cost = 10.0;
    va->min_replicas = 0;
    va->max_replicas = -1;
    va->priority = 0;

    if (jp_get(p, item, "spec", JK_OBJECT, true, &spec, &e) < 0) {
        spec_problem(va, &e);
        goto out;
    }
    jp_key(p, "spec");
    if (jp_get(p, spec, "scaleTargetRef", JK_OBJECT, true, &ref, &e) < 0)
        spec_problem(va, &e);
    if (ref) {
        size_t mark = jp_key(p, "scaleTargetRef");

        spec_string(p, ref, "name", &va->target_name, va);
        kind = spec_string(p, ref, "kind", &va->target_kind, va);
        if (kind && strcmp(va->target_kind, "Deployment") != 0) {
            char buf[DESCRIBE_MAX];

            jp_fail_at(p, "kind", &e, "%s is not Deployment", describe(kind, buf, sizeof(buf)));
            spec_problem(va, &e);
        }
        jp_pop(p, mark);
    }
    spec_string(p, spec, "modelID", &va->model_id, va);

    if (jp_get(p, spec, "variantCost", JK_STRING, false, &v, &e) < 0) {
        spec_problem(va, &e);
    } else if (v) {
        const char *text = json_object_get_string(v);
        char buf[DESCRIBE_MAX];
        double cost;

        if (!values_is_decimal(text)) {
            jp_fail_at(p, "variantCost", &e, "%s does not match ^\\d+(\\.\\d+)?$",
                       describe(v, buf, sizeof(buf)));
            spec_problem(va, &e);
        } else if (!isfinite(cost = strtod(text, NULL))) {
            jp_fail_at(p, "variantCost", &e, "%s is out of range", describe(v, buf, sizeof(buf)));
            spec_problem(va, &e);
        } else {
            va->variant_cost = cost;
        }
    }

    if (jp_get_int(p, spec, "minReplicas", 0, false, &va->min_replicas, &e) < 0) {
        spec_problem(va, &e);
        have_min_max = false;
    }
    if (jp_get_int(p, spec, "maxReplicas", 0, false, &max, &e) < 0) {
        spec_problem(va, &e);
        have_min_max = false;
    }
    va->max_replicas = max;
    if (have_min_max && max >= 0 && va->min_replicas > max) {
        wva_error_set(&e, "spec.minReplicas %d > spec.maxReplicas %d", va->min_replicas, max);
        spec_problem(va, &e);
    }
    if (jp_get_int(p, spec, "priority", INT_MIN, false, &va->priority, &e) < 0)
        spec_problem(va, &e);

    if (jp_get(p, spec, "metrics", JK_ARRAY, false, &metrics, &e) < 0)
        spec_problem(va, &e);
    if (metrics) {
        size_t n = json_object_array_length(metrics);
        size_t mark = jp_key(p, "metrics");

        va->metrics = n ? wva_xcalloc(n, sizeof(va->metrics[0])) : NULL;
        for (size_t i = 0; i < n; i++) {
            size_t mark2 = jp_index(p, i);

            if (read_metric_target(p, json_object_array_get_idx(metrics, i),
                                   &va->metrics[va->metrics_count], &e) < 0)
                spec_problem(va, &e);
            else
                va->metrics_count++;
            jp_pop(p, mark2);
        }
        jp_pop(p, mark);
    }

out:
    if (va->spec_problem && json_object_object_get_ex(item, "spec", &spec))
        va->raw_spec_json = wva_xstrdup(json_object_to_json_string_ext(
            spec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* A string of the status, or NULL when absent or of another type. */
static char *status_string(struct jpath *p, struct json_object *obj, const char *key)
{
    struct wva_error ignored;
    const char *s;

    return jp_get_string(p, obj, key, false, &s, &ignored) > 0 ? wva_xstrdup(s) : NULL;
}

/* The status is ours (written by a previous run): anything unexpected there
 * is read as absent rather than failing the run. */
static void read_va_status(struct json_object *item, struct wva_va *va)
{
    struct jpath path = {{0}, 0};
    struct jpath *p = &path;
    struct json_object *status, *alloc, *conds;
    struct wva_error ignored;
    const char *text;
    size_t n;

    va->status_desired_replicas = -1;
    va->status_last_run_time = -1;
    if (jp_get(p, item, "status", JK_OBJECT, false, &status, &ignored) <= 0)
        return;
    if (jp_get(p, status, "desiredOptimizedAlloc", JK_OBJECT, false, &alloc, &ignored) > 0) {
        double t;

        jp_get_int(p, alloc, "numReplicas", 0, false, &va->status_desired_replicas, &ignored);
        va->status_accelerator = status_string(p, alloc, "accelerator");
        if (jp_get_string(p, alloc, "lastRunTime", false, &text, &ignored) > 0 &&
            values_parse_rfc3339(text, &t, NULL) == 0)
            va->status_last_run_time = t;
    }
    if (jp_get(p, status, "conditions", JK_ARRAY, false, &conds, &ignored) <= 0)
        return;
    n = json_object_array_length(conds);
    va->conditions = n ? wva_xcalloc(n, sizeof(va->conditions[0])) : NULL;
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(conds, i);
        struct wva_condition *cond = &va->conditions[va->conditions_count];

        if (jp_check(p, c, JK_OBJECT, &ignored) < 0)
            continue;
        cond->type = status_string(p, c, "type");
        cond->status = status_string(p, c, "status");
        cond->reason = status_string(p, c, "reason");
        cond->message = status_string(p, c, "message");
        cond->last_transition_time = status_string(p, c, "lastTransitionTime");
        va->conditions_count++;
    }
}

static int read_va(struct jpath *p, struct json_object *item, void *dst, struct wva_error *err)
{
    struct wva_va *va = dst;
    struct meta m;

    if (read_metadata(p, item, true, &m, &va->labels, NULL, err) < 0)
        return -1;
    va->namespace_name = wva_xstrdup(m.ns);
    va->name = wva_xstrdup(m.name);
    va->resource_version = wva_xstrdup(m.resource_version);
    read_va_spec(item, va);
    read_va_status(item, va);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Splitting the big arrays                                             */

/* Why: json-c builds a tree of the whole document.  For a 60 MB snapshot
 * that is a ~1 GB tree, and allocating and releasing it costs more than
 * everything else together (measured: ~2 s of CPU).  So the scanner below
 * only finds where the elements of the few big arrays (List items, metric
 * results) start and end.  json-c then parses the rest of the document
 * with those arrays emptied, and each element on its own as it is read,
 * so memory is reused while it is hot.  The scanner validates nothing and
 * reports nothing: on anything unexpected (or any json-c error in a piece)
 * the loader parses the whole document instead, which gives json-c's own
 * error message and position. */

/* The metric result arrays of the document and where each one goes. */
static const struct {
    const char *key;
    size_t offset;
} metric_fields[] = {
    {"kvCacheUsage", offsetof(struct wva_metrics, kv_cache_usage)},
    {"queueLength", offsetof(struct wva_metrics, queue_length)},
    {"cacheConfig", offsetof(struct wva_metrics, cache_config)},
    {"requestCount", offsetof(struct wva_metrics, request_count)},
    {"gatewayQueue", offsetof(struct wva_metrics, gateway_queue)},
    {"runningRequests", offsetof(struct wva_metrics, running_requests)},
    {"requestRate", offsetof(struct wva_metrics, request_rate)},
};
#define METRIC_FIELDS (sizeof(metric_fields) / sizeof(metric_fields[0]))

#define SCAN_FAIL SIZE_MAX
#define SCAN_MAX_KEYS 256       /* more members where we split: fall back */
#define SCAN_PATH_MAX 256

struct span {
    size_t start, end;          /* one element: text[start, end) */
};

struct split_array {
    char *id;                   /* "pods/items", "metrics/custom/<name>" */
    size_t open, close;         /* positions of its '[' and ']' */
    int depth;                  /* containers enclosing an element */
    struct span *items;
    size_t count, cap;
};

struct doc {
    const char *text;
    size_t len;
    struct split_array *arrays; /* none when the whole tree was parsed */
    size_t count, cap;
};

static void doc_release(struct doc *d)
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

static size_t scan_ws(const struct doc *d, size_t pos)
{
    while (pos < d->len && is_json_ws(d->text[pos]))
        pos++;
    return pos;
}

/* pos is at '"': returns the position after the closing quote. */
static size_t scan_string(const struct doc *d, size_t pos, bool *escaped)
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
static size_t scan_value(const struct doc *d, size_t pos)
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

/* 2: split this array; 1: look inside this object; 0: skip. */
static int split_role(const char *path)
{
    static const char *const lists[] = {
        "namespaces", "variantAutoscalings", "deployments", "pods", "configMaps", "nodes",
    };
    const char *slash = strchr(path, '/');

    if (strncmp(path, "metrics", 7) == 0 && (path[7] == '\0' || path[7] == '/')) {
        if (!path[7])
            return 1;
        path += 8;
        if (strncmp(path, "custom/", 7) == 0)
            return 2;
        if (strcmp(path, "custom") == 0)
            return 1;
        for (size_t f = 0; f < METRIC_FIELDS; f++)
            if (strcmp(path, metric_fields[f].key) == 0)
                return 2;
        return 0;
    }
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        size_t n = strlen(lists[i]);

        if (strncmp(path, lists[i], n) != 0)
            continue;
        if (path[n] == '\0')
            return 1;
        if (slash == path + n && strcmp(slash + 1, "items") == 0)
            return 2;
    }
    return 0;
}

static size_t scan_array(struct doc *d, size_t pos, const char *path, int depth)
{
    struct split_array *a;

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
static size_t scan_object(struct doc *d, size_t pos, const char *path, int depth)
{
    struct span keys[SCAN_MAX_KEYS];
    size_t nkeys = 0;

    pos = scan_ws(d, pos + 1);
    if (pos < d->len && d->text[pos] == '}')
        return pos + 1;
    while (pos < d->len && d->text[pos] == '"') {
        char child[SCAN_PATH_MAX];
        bool escaped = false;
        size_t key = pos + 1, key_end, klen;
        int role;

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
        role = split_role(child);
        if (role == 2 && d->text[pos] == '[')
            pos = scan_array(d, pos, child, depth + 1);
        else if (role == 1 && d->text[pos] == '{')
            pos = scan_object(d, pos, child, depth + 1);
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

/* Find the big arrays and build the document without their elements.
 * false: not splittable (d is left without arrays). */
static bool split_document(struct doc *d, struct wva_strbuf *skeleton)
{
    size_t pos = scan_ws(d, 0), from = 0;

    if (pos >= d->len || d->text[pos] != '{' || scan_object(d, pos, "", 1) == SCAN_FAIL) {
        doc_release(d);
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

static const struct split_array *doc_find(const struct doc *d, const char *id)
{
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->arrays[i].id, id) == 0)
            return &d->arrays[i];
    return NULL;
}

/* The elements of one array, from the tree or parsed one at a time. */
struct elements {
    struct json_object *arr;
    const struct split_array *split;
    const char *text;
    struct json_tokener *tok;
    struct json_object *cur;        /* the element last parsed (owned) */
};

static size_t elements_open(struct elements *e, const struct doc *d, struct json_object *arr,
                            const char *id)
{
    memset(e, 0, sizeof(*e));
    e->arr = arr;
    e->split = arr ? doc_find(d, id) : NULL;
    if (!e->split)
        return arr ? json_object_array_length(arr) : 0;
    e->text = d->text;
    e->tok = json_tokener_new_ex(SNAPSHOT_MAX_DEPTH - e->split->depth);
    if (!e->tok) {
        /* the project's policy on allocation failure (see strbuf.h) */
        fputs("wva-optimizer: out of memory creating a JSON parser\n", stderr);
        abort();
    }
    json_tokener_set_flags(e->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    return e->split->count;
}

/* Element i into *item (NULL for a JSON null).  -2 when its text is not
 * valid JSON: the caller restarts on the whole document to report it. */
static int elements_get(struct elements *e, size_t i, struct json_object **item)
{
    const struct span *s;

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

static void elements_close(struct elements *e)
{
    json_object_put(e->cur);
    if (e->tok)
        json_tokener_free(e->tok);
}

/* ------------------------------------------------------------------ */
/* Lists, metrics, the document                                         */

typedef int (*item_reader)(struct jpath *p, struct json_object *item, void *dst,
                           struct wva_error *err);

/* A Kubernetes List object at root[key].  *items and *count are set before
 * the items are read, so a failure part-way leaves zeroed entries that
 * snapshot_free handles.  Returns 1, 0 (absent, optional), -1 (err set) or
 * -2 (an element is not valid JSON). */
static int read_list(const struct doc *d, struct jpath *p, struct json_object *root,
                     const char *key, bool required, size_t item_size, item_reader read_item,
                     void **items, size_t *count, struct wva_error *err)
{
    struct json_object *list, *arr, *item;
    struct elements e;
    char id[64];
    size_t mark, n;
    int rc = jp_get(p, root, key, JK_OBJECT, required, &list, err);

    *items = NULL;
    *count = 0;
    if (rc <= 0)
        return rc;
    mark = jp_key(p, key);
    if (!json_object_object_get_ex(list, "items", NULL))
        return jp_fail_at(p, "items", err, "missing");
    /* "items": null is how Go writes an empty list. */
    if (jp_get(p, list, "items", JK_ARRAY, false, &arr, err) < 0)
        return -1;
    snprintf(id, sizeof(id), "%s/items", key);
    n = elements_open(&e, d, arr, id);
    if (n > SNAPSHOT_MAX_ITEMS) {
        elements_close(&e);
        return jp_fail_at(p, "items", err, "%zu items exceed the limit of %u", n,
                          SNAPSHOT_MAX_ITEMS);
    }
    *items = n ? wva_xcalloc(n, item_size) : NULL;
    *count = n;
    jp_key(p, "items");
    rc = 1;
    for (size_t i = 0; i < n && rc > 0; i++) {
        size_t mark2 = jp_index(p, i);

        if ((rc = elements_get(&e, i, &item)) < 0)
            break;
        if (jp_check(p, item, JK_OBJECT, err) < 0 ||
            read_item(p, item, (char *)*items + i * item_size, err) < 0)
            rc = -1;
        else
            rc = 1;
        jp_pop(p, mark2);
    }
    elements_close(&e);
    jp_pop(p, mark);
    return rc;
}

/* "<number ts>, "<string value>"" of one instant-vector sample. */
static int read_sample_value(struct jpath *p, struct json_object *sample, double *value,
                             struct wva_error *err)
{
    struct json_object *pair, *v;
    char buf[DESCRIBE_MAX];
    const char *text;
    char *endp;
    size_t mark, mark2, n;

    if (jp_get(p, sample, "value", JK_ARRAY, true, &pair, err) < 0)
        return -1;
    mark = jp_key(p, "value");
    n = json_object_array_length(pair);
    if (n != 2)
        return jp_fail(p, err, "expected [timestamp, \"value\"], got array of %zu", n);
    mark2 = jp_index(p, 0);
    if (jp_check(p, json_object_array_get_idx(pair, 0), JK_NUMBER, err) < 0)
        return -1;
    jp_pop(p, mark2);
    jp_index(p, 1);
    v = json_object_array_get_idx(pair, 1);
    if (jp_check(p, v, JK_STRING, err) < 0)
        return -1;
    text = json_object_get_string(v);
    *value = strtod(text, &endp);
    /* strtod also takes "NaN" and "+Inf", which is how Prometheus writes
     * them; leading blanks and trailing junk are not numbers. */
    if (!text[0] || isspace((unsigned char)text[0]) || *endp)
        return jp_fail(p, err, "expected numeric string, got %s", describe(v, buf, sizeof(buf)));
    jp_pop(p, mark);
    return 0;
}

/* An instant-vector result array (id names it for the splitter); NaN/Inf
 * samples are dropped (counted).  0, -1 or -2 as read_list. */
static int read_series(const struct doc *d, struct jpath *p, struct json_object *arr,
                       const char *id, struct wva_series *out, size_t *dropped,
                       struct wva_error *err)
{
    struct json_object *sample;
    struct elements e;
    size_t n = elements_open(&e, d, arr, id);
    int rc = 0;

    if (n > SNAPSHOT_MAX_SAMPLES) {
        elements_close(&e);
        out->items = NULL;
        out->count = 0;
        return jp_fail(p, err, "%zu samples exceed the limit of %u", n, SNAPSHOT_MAX_SAMPLES);
    }
    out->items = n ? wva_xcalloc(n, sizeof(out->items[0])) : NULL;
    out->count = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct wva_sample *s = &out->items[out->count];
        size_t mark = jp_index(p, i);

        /* s->labels is filled in place; on failure the caller frees the
         * series including this slot, so count covers it. */
        out->count++;
        if ((rc = elements_get(&e, i, &sample)) < 0)
            break;
        if (jp_check(p, sample, JK_OBJECT, err) < 0 ||
            jp_get_map(p, sample, "metric", false, &s->labels, err) < 0 ||
            read_sample_value(p, sample, &s->value, err) < 0) {
            rc = -1;
            break;
        }
        if (!isfinite(s->value)) {
            wva_kvlist_free(&s->labels);
            out->count--;
            (*dropped)++;
        }
        jp_pop(p, mark);
    }
    elements_close(&e);
    return rc;
}

static int read_metrics(const struct doc *d, struct jpath *p, struct json_object *root,
                        struct wva_metrics *m, struct wva_error *err)
{
    struct json_object *obj, *arr, *custom;
    struct json_object_iterator it, end;
    const char *prom_error;
    char id[SCAN_PATH_MAX];
    size_t mark, n;
    int rc = jp_get(p, root, "metrics", JK_OBJECT, false, &obj, err);

    if (rc <= 0)
        return rc;
    mark = jp_key(p, "metrics");
    for (size_t f = 0; f < METRIC_FIELDS; f++) {
        struct wva_series *series = (struct wva_series *)((char *)m + metric_fields[f].offset);
        size_t mark2;

        if (jp_get(p, obj, metric_fields[f].key, JK_ARRAY, false, &arr, err) < 0)
            return -1;
        if (!arr)
            continue;
        mark2 = jp_key(p, metric_fields[f].key);
        snprintf(id, sizeof(id), "metrics/%s", metric_fields[f].key);
        if ((rc = read_series(d, p, arr, id, series, &m->nonfinite_dropped, err)) < 0)
            return rc;
        jp_pop(p, mark2);
    }
    if (jp_get(p, obj, "custom", JK_OBJECT, false, &custom, err) < 0)
        return -1;
    if (custom) {
        size_t mark_custom = jp_key(p, "custom");

        n = (size_t)json_object_object_length(custom);
        m->custom = n ? wva_xcalloc(n, sizeof(m->custom[0])) : NULL;
        it = json_object_iter_begin(custom);
        end = json_object_iter_end(custom);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
            const char *name = json_object_iter_peek_name(&it);
            struct json_object *series = json_object_iter_peek_value(&it);
            struct wva_custom_series *cs = &m->custom[m->custom_count++];
            size_t mark2 = jp_key(p, name);

            cs->metric = wva_xstrdup(name);
            snprintf(id, sizeof(id), "metrics/custom/%s", name);
            if (jp_check(p, series, JK_ARRAY, err) < 0)
                return -1;
            if ((rc = read_series(d, p, series, id, &cs->series, &m->nonfinite_dropped,
                                  err)) < 0)
                return rc;
            jp_pop(p, mark2);
        }
        jp_pop(p, mark_custom);
    }
    if (jp_get_string(p, obj, "prometheusError", false, &prom_error, err) < 0)
        return -1;
    m->prometheus_error = wva_xstrdup(prom_error);
    jp_pop(p, mark);
    return 0;
}

/* 0, -1 (err set) or -2 (an element is not valid JSON). */
static int read_document(const struct doc *d, struct json_object *root,
                         struct wva_snapshot *snap, struct wva_error *err)
{
    struct jpath path = {{0}, 0};
    struct jpath *p = &path;
    struct json_object *v;
    char buf[DESCRIBE_MAX];
    const char *text;
    void *items;
    int version = 0, rc;

    if (jp_check(p, root, JK_OBJECT, err) < 0 ||
        jp_get_string(p, root, "kind", true, &text, err) < 0)
        return -1;
    if (strcmp(text, "WVASnapshot") != 0)
        return jp_fail_at(p, "kind", err, "expected \"WVASnapshot\", got %s",
                          describe(json_object_object_get(root, "kind"), buf, sizeof(buf)));
    if (jp_get_int(p, root, "version", INT_MIN, true, &version, err) < 0)
        return -1;
    if (version != SNAPSHOT_VERSION)
        return jp_fail_at(p, "version", err, "expected %d, got %d", SNAPSHOT_VERSION, version);
    if (jp_get(p, root, "capturedAt", JK_STRING, true, &v, err) < 0)
        return -1;
    if (values_parse_rfc3339(json_object_get_string(v), &snap->captured_at_epoch, NULL) < 0)
        return jp_fail_at(p, "capturedAt", err, "expected RFC 3339 timestamp, got %s",
                          describe(v, buf, sizeof(buf)));
    snap->captured_at = wva_xstrdup(json_object_get_string(v));
    if (jp_get_map(p, root, "settings", true, &snap->settings, err) < 0)
        return -1;

#define READ_LIST(key, required, field, reader)                                            \
    do {                                                                                   \
        rc = read_list(d, p, root, key, required, sizeof(snap->field[0]), reader, &items, \
                       &snap->field##_count, err);                                         \
        snap->field = items;                                                               \
        if (rc < 0)                                                                        \
            return rc;                                                                     \
    } while (0)
    READ_LIST("namespaces", true, namespaces, read_namespace);
    READ_LIST("variantAutoscalings", true, vas, read_va);
    READ_LIST("deployments", true, deployments, read_deployment);
    READ_LIST("pods", true, pods, read_pod);
    READ_LIST("configMaps", true, configmaps, read_configmap);
    READ_LIST("nodes", false, nodes, read_node);
#undef READ_LIST
    snap->has_nodes = rc > 0;
    return read_metrics(d, p, root, &snap->metrics, err);
}

/* Byte offset to "line L, column C" for a parse error. */
static void locate(const char *text, size_t offset, size_t *line, size_t *col)
{
    const char *nl;
    const char *start = text;

    *line = 1;
    while ((nl = memchr(start, '\n', offset - (size_t)(start - text))) != NULL) {
        (*line)++;
        start = nl + 1;
    }
    *col = offset - (size_t)(start - text) + 1;
}

/* Parse text as one JSON document.  report: word a failure into err (the
 * whole document); otherwise a failure is silent (the skeleton, whose
 * failure only means "parse the whole document instead"). */
static int parse_json(const char *text, size_t len, bool report, struct json_object **out,
                      struct wva_error *err)
{
    struct json_tokener *tok = json_tokener_new_ex(SNAPSHOT_MAX_DEPTH);
    enum json_tokener_error jerr;
    size_t offset, line, col;

    *out = NULL;
    if (!tok) {
        wva_error_set(err, "not valid JSON: cannot allocate the parser");
        return -1;
    }
    /* Strict: no comments, single quotes or NaN literals, nothing after the
     * document; and valid UTF-8. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    *out = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    offset = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue) {
        /* All of the document is here: the terminating NUL ends a trailing
         * literal or reports the truncation. */
        *out = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        offset = len;
    }
    json_tokener_free(tok);
    if (jerr == json_tokener_success && *out)
        return 0;
    json_object_put(*out);
    *out = NULL;
    if (!report)
        return -1;
    if (offset > len)
        offset = len;
    locate(text, offset, &line, &col);
    wva_error_set(err, "not valid JSON: %s at line %zu, column %zu (byte %zu)",
                  jerr == json_tokener_continue ? "unexpected end of data"
                                                : json_tokener_error_desc(jerr),
                  line, col, offset);
    return -1;
}

/* One attempt: split (when split is true) or whole.  -2 asks for the
 * whole-document attempt. */
static int parse_attempt(const char *text, size_t len, bool split, struct wva_snapshot **out,
                         struct wva_error *err)
{
    struct doc d = {text, len, NULL, 0, 0};
    struct wva_strbuf skeleton = WVA_STRBUF_INIT;
    struct json_object *root = NULL;
    struct wva_snapshot *snap = NULL;
    int rc = -2;

    if (split) {
        if (!split_document(&d, &skeleton) ||
            parse_json(wva_strbuf_str(&skeleton), skeleton.len, false, &root, err) < 0)
            goto out;
    } else if ((rc = parse_json(text, len, true, &root, err)) < 0) {
        goto out;
    }
    snap = wva_xcalloc(1, sizeof(*snap));
    if ((rc = read_document(&d, root, snap, err)) < 0)
        goto out;
    snapshot_finish(snap);
    *out = snap;
    snap = NULL;
out:
    json_object_put(root);
    snapshot_free(snap);
    wva_strbuf_release(&skeleton);
    doc_release(&d);
    return rc;
}

int snapshot_parse(const char *text, size_t len, struct wva_snapshot **out,
                   struct wva_error *err)
{
    int rc;

    *out = NULL;
    if (len > SNAPSHOT_MAX_BYTES) {
        wva_error_set(err, "snapshot is %zu bytes, more than the 512 MiB limit", len);
        return -1;
    }
    rc = parse_attempt(text, len, true, out, err);
    if (rc == -2)
        rc = parse_attempt(text, len, false, out, err);
    return rc < 0 ? -1 : 0;
}

int snapshot_load_file(const char *path, struct wva_snapshot **out, struct wva_error *err)
{
    bool is_stdin = strcmp(path, "-") == 0;
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    FILE *f = NULL;
    char chunk[1 << 16];
    size_t n;
    int rc = -1;

    *out = NULL;
    f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        wva_error_set(err, "snapshot %s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (sb.len + n > SNAPSHOT_MAX_BYTES) {
            wva_error_set(err, "snapshot %s: file is larger than the 512 MiB limit", path);
            goto out;
        }
        wva_strbuf_add(&sb, chunk, n);
    }
    if (ferror(f)) {
        wva_error_set(err, "snapshot %s: read error: %s", path, strerror(errno));
        goto out;
    }
    if (snapshot_parse(wva_strbuf_str(&sb), sb.len, out, err) < 0) {
        wva_error_prefix(err, "snapshot %s: ", path);
        goto out;
    }
    rc = 0;
out:
    if (f && !is_stdin)
        fclose(f);
    wva_strbuf_release(&sb);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Lookup indexes                                                       */

struct index_entry {
    const char *ns;         /* "" for cluster-scoped kinds */
    const char *name;
    size_t pos;             /* position in the snapshot's array */
};

struct wva_snapshot_index {
    struct index_entry *namespaces;
    struct index_entry *deployments;
    struct index_entry *configmaps;
    size_t namespaces_count, deployments_count, configmaps_count;
};

static int index_cmp(const void *a, const void *b)
{
    const struct index_entry *x = a, *y = b;
    int c = strcmp(x->ns, y->ns);

    if (!c)
        c = strcmp(x->name, y->name);
    if (!c)
        c = (x->pos > y->pos) - (x->pos < y->pos);
    return c;
}

/* Sorted (ns, name, pos) for the items of one array; ns_off is SIZE_MAX for
 * cluster-scoped kinds.  Items without a name are left out. */
static struct index_entry *index_build(const void *items, size_t count, size_t stride,
                                       size_t ns_off, size_t name_off, size_t *len)
{
    struct index_entry *idx = wva_xcalloc(count ? count : 1, sizeof(*idx));
    size_t n = 0;

    for (size_t i = 0; i < count; i++) {
        const char *item = (const char *)items + i * stride;
        const char *ns = ns_off == SIZE_MAX ? "" : *(char *const *)(item + ns_off);
        const char *name = *(char *const *)(item + name_off);

        if (!name)
            continue;
        idx[n].ns = ns ? ns : "";
        idx[n].name = name;
        idx[n].pos = i;
        n++;
    }
    qsort(idx, n, sizeof(*idx), index_cmp);
    *len = n;
    return idx;
}

/* Position of the first (ns, name) entry, or SIZE_MAX. */
static size_t index_find(const struct index_entry *idx, size_t len, const char *ns,
                         const char *name)
{
    size_t lo = 0, hi = len;
    struct index_entry key = {ns ? ns : "", name, 0};

    /* lower bound: with duplicates, the first in array order (pos 0 in key) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (index_cmp(&idx[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < len && strcmp(idx[lo].ns, key.ns) == 0 && strcmp(idx[lo].name, name) == 0)
        return idx[lo].pos;
    return SIZE_MAX;
}

static void index_free(struct wva_snapshot_index *ix)
{
    if (!ix)
        return;
    free(ix->namespaces);
    free(ix->deployments);
    free(ix->configmaps);
    free(ix);
}

void snapshot_finish(struct wva_snapshot *snap)
{
    struct wva_snapshot_index *ix;

    if (!snap)
        return;
    index_free(snap->index);
    ix = wva_xcalloc(1, sizeof(*ix));
    ix->namespaces = index_build(snap->namespaces, snap->namespaces_count,
                                    sizeof(snap->namespaces[0]), SIZE_MAX,
                                    offsetof(struct wva_namespace, name), &ix->namespaces_count);
    ix->deployments = index_build(snap->deployments, snap->deployments_count,
                                     sizeof(snap->deployments[0]),
                                     offsetof(struct wva_deployment, namespace_name),
                                     offsetof(struct wva_deployment, name),
                                     &ix->deployments_count);
    ix->configmaps = index_build(snap->configmaps, snap->configmaps_count,
                                    sizeof(snap->configmaps[0]),
                                    offsetof(struct wva_configmap, namespace_name),
                                    offsetof(struct wva_configmap, name), &ix->configmaps_count);
    snap->index = ix;
}

const struct wva_namespace *snapshot_find_namespace(const struct wva_snapshot *snap,
                                                    const char *name)
{
    size_t pos;

    if (!snap || !name)
        return NULL;
    if (snap->index) {
        pos = index_find(snap->index->namespaces, snap->index->namespaces_count, "", name);
        return pos == SIZE_MAX ? NULL : &snap->namespaces[pos];
    }
    for (pos = 0; pos < snap->namespaces_count; pos++)
        if (snap->namespaces[pos].name && strcmp(snap->namespaces[pos].name, name) == 0)
            return &snap->namespaces[pos];
    return NULL;
}

/* Linear fallback for snapshots built without snapshot_finish. */
static bool same_ns_name(const char *ns_a, const char *name_a, const char *ns_b,
                         const char *name_b)
{
    return name_a && strcmp(name_a, name_b) == 0 && strcmp(ns_a ? ns_a : "", ns_b) == 0;
}

const struct wva_deployment *snapshot_find_deployment(const struct wva_snapshot *snap,
                                                      const char *ns, const char *name)
{
    size_t pos;

    if (!snap || !name)
        return NULL;
    if (snap->index) {
        pos = index_find(snap->index->deployments, snap->index->deployments_count, ns, name);
        return pos == SIZE_MAX ? NULL : &snap->deployments[pos];
    }
    for (pos = 0; pos < snap->deployments_count; pos++)
        if (same_ns_name(snap->deployments[pos].namespace_name, snap->deployments[pos].name,
                         ns ? ns : "", name))
            return &snap->deployments[pos];
    return NULL;
}

const struct wva_configmap *snapshot_find_configmap(const struct wva_snapshot *snap,
                                                    const char *ns, const char *name)
{
    size_t pos;

    if (!snap || !name)
        return NULL;
    if (snap->index) {
        pos = index_find(snap->index->configmaps, snap->index->configmaps_count, ns, name);
        return pos == SIZE_MAX ? NULL : &snap->configmaps[pos];
    }
    for (pos = 0; pos < snap->configmaps_count; pos++)
        if (same_ns_name(snap->configmaps[pos].namespace_name, snap->configmaps[pos].name,
                         ns ? ns : "", name))
            return &snap->configmaps[pos];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Serialisation                                                        */

static void put(struct json_object *obj, const char *key, struct json_object *v)
{
    json_object_object_add(obj, key, v);
}

static void put_string(struct json_object *obj, const char *key, const char *value)
{
    if (value)
        put(obj, key, json_object_new_string(value));
}

static void put_map(struct json_object *obj, const char *key, const struct wva_kvlist *list)
{
    struct json_object *map;

    if (!list->count)
        return;
    map = json_object_new_object();
    for (size_t i = 0; i < list->count; i++)
        put_string(map, list->items[i].key, list->items[i].value);
    put(obj, key, map);
}

/* A child object of obj, created on first use. */
static struct json_object *child(struct json_object *obj, const char *key)
{
    struct json_object *c;

    if (json_object_object_get_ex(obj, key, &c) && c)
        return c;
    c = json_object_new_object();
    put(obj, key, c);
    return c;
}

/* The shortest %g text that reads back as the same double: 0.65 stays
 * "0.65" rather than %.17g's "0.65000000000000002".  %.17g always reads
 * back (for a finite value; NaN and infinities get its text as before). */
static void format_double(double d, char *buf, size_t size)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* A JSON number for d in that shortest form, still written as a double
 * ("20.0", as json-c does) so that it reads back as one. */
static struct json_object *double_json(double d)
{
    char buf[40];

    if (!isfinite(d))
        return json_object_new_double(d);
    format_double(d, buf, sizeof(buf) - 2);
    if (!strpbrk(buf, ".eE"))
        strcat(buf, ".0");
    return json_object_new_double_s(d, buf);
}

/* Whole counts as Kubernetes writes them ("2"); fractions as numbers. */
static struct json_object *quantity_json(double q)
{
    char buf[64];

    if (q == floor(q) && q < 1e15) {
        snprintf(buf, sizeof(buf), "%.0f", q);
        return json_object_new_string(buf);
    }
    return double_json(q);
}

/* The vendor a product label belongs to, so re-emitted keys look right. */
static size_t product_vendor(const char *product)
{
    if (product && strncasecmp(product, "AMD", 3) == 0)
        return 1;
    if (product && strncasecmp(product, "Intel", 5) == 0)
        return 2;
    return 0;
}

/* A gpu request as one container, the way the readers will find it again. */
static void put_gpu_containers(struct json_object *pod_spec, double gpus, const char *product)
{
    struct json_object *containers = json_object_new_array();
    struct json_object *c = json_object_new_object();

    put_string(c, "name", "main");
    if (gpus > 0)
        put(child(child(c, "resources"), "requests"),
            gpu_resource_keys[product_vendor(product)], quantity_json(gpus));
    json_object_array_add(containers, c);
    put(pod_spec, "containers", containers);
}

static struct json_object *metadata_json(struct json_object *item, const char *ns,
                                         const char *name, const char *rv, bool deleting,
                                         const char *captured_at)
{
    struct json_object *md = child(item, "metadata");

    put_string(md, "name", name);
    put_string(md, "namespace", ns);
    put_string(md, "resourceVersion", rv);
    /* the original time is not kept: only "being deleted" matters */
    if (deleting)
        put_string(md, "deletionTimestamp", captured_at);
    return md;
}

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Append obj's text and release it: the document is written one item at a
 * time so that no tree of the whole snapshot is ever built. */
static void emit(struct wva_strbuf *sb, struct json_object *obj)
{
    wva_strbuf_adds(sb, json_object_to_json_string_ext(obj, JSON_FLAGS));
    json_object_put(obj);
}

static void emit_key(struct wva_strbuf *sb, const char *key)
{
    emit(sb, json_object_new_string(key));
    wva_strbuf_adds(sb, ":");
}

/* ,"key":{"apiVersion":..,"kind":..,"items":[  (constant strings) */
static void list_begin(struct wva_strbuf *sb, const char *key, const char *api_version,
                       const char *kind)
{
    wva_strbuf_addf(sb, ",\"%s\":{\"apiVersion\":\"%s\",\"kind\":\"%s\",\"items\":[", key,
                    api_version, kind);
}

static void list_end(struct wva_strbuf *sb)
{
    wva_strbuf_adds(sb, "]}");
}

static void item_sep(struct wva_strbuf *sb, size_t i)
{
    if (i)
        wva_strbuf_adds(sb, ",");
}

/* The shortest plain decimal that reads back as the same double, so it
 * still matches ^\d+(\.\d+)?$ (no exponent, unlike %g). */
static void format_decimal(double d, char *buf, size_t size)
{
    for (int prec = 0; prec <= 17; prec++) {
        snprintf(buf, size, "%.*f", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

static struct json_object *va_spec_json(const struct wva_va *va)
{
    struct json_object *spec = json_object_new_object();
    struct json_object *ref = child(spec, "scaleTargetRef");
    char buf[400];

    put_string(ref, "apiVersion", "apps/v1");
    put_string(ref, "kind", va->target_kind);
    put_string(ref, "name", va->target_name);
    put_string(spec, "modelID", va->model_id);
    format_decimal(va->variant_cost, buf, sizeof(buf));
    put_string(spec, "variantCost", buf);
    put(spec, "minReplicas", json_object_new_int(va->min_replicas));
    if (va->max_replicas >= 0)
        put(spec, "maxReplicas", json_object_new_int(va->max_replicas));
    put(spec, "priority", json_object_new_int(va->priority));
    if (va->metrics_count) {
        struct json_object *arr = json_object_new_array();

        for (size_t i = 0; i < va->metrics_count; i++) {
            struct json_object *m = json_object_new_object();

            put_string(m, "name", va->metrics[i].name);
            put(m, "target", double_json(va->metrics[i].target));
            json_object_array_add(arr, m);
        }
        put(spec, "metrics", arr);
    }
    return spec;
}

static struct json_object *va_json(const struct wva_va *va)
{
    struct json_object *item = json_object_new_object();
    struct json_object *md = metadata_json(item, va->namespace_name, va->name,
                                           va->resource_version, false, NULL);
    struct json_object *status = json_object_new_object();
    char buf[32];

    put_map(md, "labels", &va->labels);
    if (!va->spec_problem) {
        put(item, "spec", va_spec_json(va));
    } else if (va->raw_spec_json) {
        /* It came from json_object_to_json_string, so it parses; a NULL
         * result is the JSON null, which also reproduces the problem. */
        put(item, "spec", json_tokener_parse(va->raw_spec_json));
    }
    if (va->status_desired_replicas >= 0 || va->status_accelerator ||
        va->status_last_run_time >= 0) {
        struct json_object *alloc = child(status, "desiredOptimizedAlloc");

        if (va->status_desired_replicas >= 0)
            put(alloc, "numReplicas", json_object_new_int(va->status_desired_replicas));
        put_string(alloc, "accelerator", va->status_accelerator);
        if (va->status_last_run_time >= 0) {
            values_format_rfc3339(va->status_last_run_time, buf, sizeof(buf));
            put_string(alloc, "lastRunTime", buf);
        }
    }
    if (va->conditions_count) {
        struct json_object *conds = json_object_new_array();

        for (size_t i = 0; i < va->conditions_count; i++) {
            const struct wva_condition *c = &va->conditions[i];
            struct json_object *o = json_object_new_object();

            put_string(o, "type", c->type);
            put_string(o, "status", c->status);
            put_string(o, "reason", c->reason);
            put_string(o, "message", c->message);
            put_string(o, "lastTransitionTime", c->last_transition_time);
            json_object_array_add(conds, o);
        }
        put(status, "conditions", conds);
    }
    put(item, "status", status);
    return item;
}

static struct json_object *deployment_json(const struct wva_deployment *d,
                            const char *captured_at)
{
    struct json_object *item = json_object_new_object();
    struct json_object *spec = child(item, "spec");
    struct json_object *pod_spec;
    const char *product = d->node_selector_accelerator;

    metadata_json(item, d->namespace_name, d->name, d->resource_version, d->deleting,
                  captured_at);
    put(spec, "replicas", json_object_new_int(d->replicas));
    put_map(child(spec, "selector"), "matchLabels", &d->selector);
    pod_spec = child(child(spec, "template"), "spec");
    if (product)
        put_string(child(pod_spec, "nodeSelector"), gpu_product_keys[product_vendor(product)],
                   product);
    put_gpu_containers(pod_spec, d->gpu_request, product);
    put(child(item, "status"), "readyReplicas", json_object_new_int(d->ready_replicas));
    return item;
}

static struct json_object *pod_json(const struct wva_pod *pod,
                     const char *captured_at)
{
    struct json_object *item = json_object_new_object();
    struct json_object *md = metadata_json(item, pod->namespace_name, pod->name, NULL,
                                           pod->terminating, captured_at);
    struct json_object *spec = child(item, "spec");

    if (pod->pod_template_hash)
        put_string(child(md, "labels"), "pod-template-hash", pod->pod_template_hash);
    if (pod->owner_replicaset) {
        struct json_object *refs = json_object_new_array();
        struct json_object *ref = json_object_new_object();

        put_string(ref, "apiVersion", "apps/v1");
        put_string(ref, "kind", "ReplicaSet");
        put_string(ref, "name", pod->owner_replicaset);
        json_object_array_add(refs, ref);
        put(md, "ownerReferences", refs);
    }
    put_string(spec, "nodeName", pod->node_name);
    put_gpu_containers(spec, pod->gpu_request, NULL);
    if (pod->phase)
        put_string(child(item, "status"), "phase", pod->phase);
    return item;
}

static struct json_object *node_json(const struct wva_node *node)
{
    struct json_object *item = json_object_new_object();
    struct json_object *md = metadata_json(item, NULL, node->name, NULL, false, NULL);
    size_t vendor = product_vendor(node->accelerator);

    if (node->accelerator)
        put_string(child(md, "labels"), gpu_product_keys[vendor], node->accelerator);
    if (node->unschedulable)
        put(child(item, "spec"), "unschedulable", json_object_new_boolean(1));
    put(child(child(item, "status"), "allocatable"), gpu_resource_keys[vendor],
        quantity_json(node->allocatable_gpus));
    return item;
}

static void emit_series(struct wva_strbuf *sb, const struct wva_series *series, double ts)
{
    char buf[40];

    wva_strbuf_adds(sb, "[");
    for (size_t i = 0; i < series->count; i++) {
        const struct wva_sample *s = &series->items[i];
        struct json_object *o = json_object_new_object();
        struct json_object *metric = json_object_new_object();
        struct json_object *pair = json_object_new_array();

        for (size_t k = 0; k < s->labels.count; k++)
            put_string(metric, s->labels.items[k].key, s->labels.items[k].value);
        put(o, "metric", metric);
        json_object_array_add(pair, double_json(ts));
        format_double(s->value, buf, sizeof(buf));
        json_object_array_add(pair, json_object_new_string(buf));
        put(o, "value", pair);
        item_sep(sb, i);
        emit(sb, o);
    }
    wva_strbuf_adds(sb, "]");
}

char *snapshot_to_json(const struct wva_snapshot *snap)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    const char *captured_at = snap->captured_at;
    char stamp[32];

    if (!captured_at) {
        values_format_rfc3339(snap->captured_at_epoch, stamp, sizeof(stamp));
        captured_at = stamp;
    }
    wva_strbuf_addf(&sb, "{\"kind\":\"WVASnapshot\",\"version\":%d,", SNAPSHOT_VERSION);
    emit_key(&sb, "capturedAt");
    emit(&sb, json_object_new_string(captured_at));
    if (snap->settings.count) {
        struct json_object *settings = json_object_new_object();

        wva_strbuf_adds(&sb, ",");
        emit_key(&sb, "settings");
        for (size_t i = 0; i < snap->settings.count; i++)
            put_string(settings, snap->settings.items[i].key, snap->settings.items[i].value);
        emit(&sb, settings);
    }

    list_begin(&sb, "namespaces", "v1", "NamespaceList");
    for (size_t i = 0; i < snap->namespaces_count; i++) {
        const struct wva_namespace *ns = &snap->namespaces[i];
        struct json_object *item = json_object_new_object();
        struct json_object *md = metadata_json(item, NULL, ns->name, NULL, ns->deleting,
                                               captured_at);

        put_map(md, "labels", &ns->labels);
        put_map(md, "annotations", &ns->annotations);
        item_sep(&sb, i);
        emit(&sb, item);
    }
    list_end(&sb);
    list_begin(&sb, "variantAutoscalings", "llmd.ai/v1alpha1", "VariantAutoscalingList");
    for (size_t i = 0; i < snap->vas_count; i++) {
        item_sep(&sb, i);
        emit(&sb, va_json(&snap->vas[i]));
    }
    list_end(&sb);
    list_begin(&sb, "deployments", "apps/v1", "DeploymentList");
    for (size_t i = 0; i < snap->deployments_count; i++) {
        item_sep(&sb, i);
        emit(&sb, deployment_json(&snap->deployments[i], captured_at));
    }
    list_end(&sb);
    list_begin(&sb, "pods", "v1", "PodList");
    for (size_t i = 0; i < snap->pods_count; i++) {
        item_sep(&sb, i);
        emit(&sb, pod_json(&snap->pods[i], captured_at));
    }
    list_end(&sb);
    list_begin(&sb, "configMaps", "v1", "ConfigMapList");
    for (size_t i = 0; i < snap->configmaps_count; i++) {
        const struct wva_configmap *cm = &snap->configmaps[i];
        struct json_object *item = json_object_new_object();

        metadata_json(item, cm->namespace_name, cm->name, NULL, false, NULL);
        put_map(item, "data", &cm->data);
        item_sep(&sb, i);
        emit(&sb, item);
    }
    list_end(&sb);
    if (snap->has_nodes) {
        list_begin(&sb, "nodes", "v1", "NodeList");
        for (size_t i = 0; i < snap->nodes_count; i++) {
            item_sep(&sb, i);
            emit(&sb, node_json(&snap->nodes[i]));
        }
        list_end(&sb);
    }

    wva_strbuf_adds(&sb, ",\"metrics\":{");
    for (size_t f = 0; f < METRIC_FIELDS; f++) {
        const struct wva_series *series =
            (const struct wva_series *)((const char *)&snap->metrics + metric_fields[f].offset);

        item_sep(&sb, f);
        emit_key(&sb, metric_fields[f].key);
        emit_series(&sb, series, snap->captured_at_epoch);
    }
    if (snap->metrics.custom_count) {
        wva_strbuf_adds(&sb, ",\"custom\":{");
        for (size_t i = 0; i < snap->metrics.custom_count; i++) {
            item_sep(&sb, i);
            emit_key(&sb, snap->metrics.custom[i].metric);
            emit_series(&sb, &snap->metrics.custom[i].series, snap->captured_at_epoch);
        }
        wva_strbuf_adds(&sb, "}");
    }
    if (snap->metrics.prometheus_error) {
        wva_strbuf_adds(&sb, ",");
        emit_key(&sb, "prometheusError");
        emit(&sb, json_object_new_string(snap->metrics.prometheus_error));
    }
    wva_strbuf_adds(&sb, "}}\n");
    return wva_strbuf_detach(&sb);
}

/* ------------------------------------------------------------------ */
/* Freeing                                                              */

static void series_free(struct wva_series *s)
{
    for (size_t i = 0; i < s->count; i++)
        wva_kvlist_free(&s->items[i].labels);
    free(s->items);
}

static void va_free(struct wva_va *va)
{
    free(va->namespace_name);
    free(va->name);
    free(va->resource_version);
    wva_kvlist_free(&va->labels);
    free(va->spec_problem);
    free(va->target_kind);
    free(va->target_name);
    free(va->model_id);
    for (size_t i = 0; i < va->metrics_count; i++)
        free(va->metrics[i].name);
    free(va->metrics);
    free(va->raw_spec_json);
    free(va->status_accelerator);
    for (size_t i = 0; i < va->conditions_count; i++) {
        struct wva_condition *c = &va->conditions[i];

        free(c->type);
        free(c->status);
        free(c->reason);
        free(c->message);
        free(c->last_transition_time);
    }
    free(va->conditions);
}

/* One item of each list; the item's memory itself is the array's. */
static void namespace_release(void *item)
{
    struct wva_namespace *ns = item;

    free(ns->name);
    wva_kvlist_free(&ns->labels);
    wva_kvlist_free(&ns->annotations);
}

static void va_release(void *item)
{
    va_free(item);
}

static void deployment_release(void *item)
{
    struct wva_deployment *d = item;

    free(d->namespace_name);
    free(d->name);
    free(d->resource_version);
    wva_kvlist_free(&d->selector);
    free(d->node_selector_accelerator);
}

static void pod_release(void *item)
{
    struct wva_pod *pod = item;

    free(pod->namespace_name);
    free(pod->name);
    free(pod->owner_replicaset);
    free(pod->pod_template_hash);
    free(pod->node_name);
    free(pod->phase);
}

static void configmap_release(void *item)
{
    struct wva_configmap *cm = item;

    free(cm->namespace_name);
    free(cm->name);
    wva_kvlist_free(&cm->data);
}

static void node_release(void *item)
{
    struct wva_node *node = item;

    free(node->name);
    free(node->accelerator);
}

void snapshot_free(struct wva_snapshot *snap)
{
    if (!snap)
        return;
    free(snap->captured_at);
    wva_kvlist_free(&snap->settings);
    for (size_t i = 0; i < snap->namespaces_count; i++)
        namespace_release(&snap->namespaces[i]);
    free(snap->namespaces);
    for (size_t i = 0; i < snap->vas_count; i++)
        va_release(&snap->vas[i]);
    free(snap->vas);
    for (size_t i = 0; i < snap->deployments_count; i++)
        deployment_release(&snap->deployments[i]);
    free(snap->deployments);
    for (size_t i = 0; i < snap->pods_count; i++)
        pod_release(&snap->pods[i]);
    free(snap->pods);
    for (size_t i = 0; i < snap->configmaps_count; i++)
        configmap_release(&snap->configmaps[i]);
    free(snap->configmaps);
    for (size_t i = 0; i < snap->nodes_count; i++)
        node_release(&snap->nodes[i]);
    free(snap->nodes);
    series_free(&snap->metrics.kv_cache_usage);
    series_free(&snap->metrics.queue_length);
    series_free(&snap->metrics.cache_config);
    series_free(&snap->metrics.request_count);
    series_free(&snap->metrics.gateway_queue);
    series_free(&snap->metrics.running_requests);
    series_free(&snap->metrics.request_rate);
    for (size_t i = 0; i < snap->metrics.custom_count; i++) {
        free(snap->metrics.custom[i].metric);
        series_free(&snap->metrics.custom[i].series);
    }
    free(snap->metrics.custom);
    free(snap->metrics.prometheus_error);
    index_free(snap->index);
    free(snap->room);
    free(snap);
}

/* ------------------------------------------------------------------ */
/* One item at a time (live snapshots)                                  */

/* Why: a live run gets its objects as json-c trees, a List page at a time.
 * Converting them here, with the readers snapshot_parse uses, avoids
 * turning the trees back into text only to parse that text again. */

#define SNAPSHOT_LISTS 6

static const struct {
    const char *key;            /* the document's member, for messages */
    size_t item_size;
    item_reader read;
    void (*release)(void *item);
} list_kinds[SNAPSHOT_LISTS] = {
    [SNAPSHOT_NAMESPACES] = {"namespaces", sizeof(struct wva_namespace), read_namespace,
                             namespace_release},
    [SNAPSHOT_VAS] = {"variantAutoscalings", sizeof(struct wva_va), read_va, va_release},
    [SNAPSHOT_DEPLOYMENTS] = {"deployments", sizeof(struct wva_deployment), read_deployment,
                              deployment_release},
    [SNAPSHOT_PODS] = {"pods", sizeof(struct wva_pod), read_pod, pod_release},
    [SNAPSHOT_CONFIGMAPS] = {"configMaps", sizeof(struct wva_configmap), read_configmap,
                             configmap_release},
    [SNAPSHOT_NODES] = {"nodes", sizeof(struct wva_node), read_node, node_release},
};

/* The allocated size of each array snapshot_append_item grew.  It is only
 * trusted while the array and its count are still the ones recorded here:
 * an array that anything else replaced or resized counts as full. */
struct wva_snapshot_room {
    void *base[SNAPSHOT_LISTS];
    size_t count[SNAPSHOT_LISTS];
    size_t cap[SNAPSHOT_LISTS];
};

static bool list_valid(enum snapshot_list list)
{
    return (unsigned)list < SNAPSHOT_LISTS;
}

static void *list_items(const struct wva_snapshot *snap, enum snapshot_list list)
{
    switch (list) {
    case SNAPSHOT_NAMESPACES: return snap->namespaces;
    case SNAPSHOT_VAS: return snap->vas;
    case SNAPSHOT_DEPLOYMENTS: return snap->deployments;
    case SNAPSHOT_PODS: return snap->pods;
    case SNAPSHOT_CONFIGMAPS: return snap->configmaps;
    case SNAPSHOT_NODES: return snap->nodes;
    }
    return NULL;
}

static size_t list_count(const struct wva_snapshot *snap, enum snapshot_list list)
{
    switch (list) {
    case SNAPSHOT_NAMESPACES: return snap->namespaces_count;
    case SNAPSHOT_VAS: return snap->vas_count;
    case SNAPSHOT_DEPLOYMENTS: return snap->deployments_count;
    case SNAPSHOT_PODS: return snap->pods_count;
    case SNAPSHOT_CONFIGMAPS: return snap->configmaps_count;
    case SNAPSHOT_NODES: return snap->nodes_count;
    }
    return 0;
}

static void list_store_count(struct wva_snapshot *snap, enum snapshot_list list, size_t n)
{
    switch (list) {
    case SNAPSHOT_NAMESPACES: snap->namespaces_count = n; break;
    case SNAPSHOT_VAS: snap->vas_count = n; break;
    case SNAPSHOT_DEPLOYMENTS: snap->deployments_count = n; break;
    case SNAPSHOT_PODS: snap->pods_count = n; break;
    case SNAPSHOT_CONFIGMAPS: snap->configmaps_count = n; break;
    case SNAPSHOT_NODES: snap->nodes_count = n; break;
    }
}

static void list_set_items(struct wva_snapshot *snap, enum snapshot_list list, void *items)
{
    switch (list) {
    case SNAPSHOT_NAMESPACES: snap->namespaces = items; break;
    case SNAPSHOT_VAS: snap->vas = items; break;
    case SNAPSHOT_DEPLOYMENTS: snap->deployments = items; break;
    case SNAPSHOT_PODS: snap->pods = items; break;
    case SNAPSHOT_CONFIGMAPS: snap->configmaps = items; break;
    case SNAPSHOT_NODES: snap->nodes = items; break;
    }
}

/* The lookup indexes name items by position and point at their strings:
 * after a change to the lists they would answer wrongly. */
static void drop_index(struct wva_snapshot *snap)
{
    index_free(snap->index);
    snap->index = NULL;
}

/* A zeroed slot at the end of the list (not yet counted), growing the
 * array geometrically. */
static void *list_slot(struct wva_snapshot *snap, enum snapshot_list list)
{
    struct wva_snapshot_room *room = snap->room;
    size_t size = list_kinds[list].item_size;
    size_t n = list_count(snap, list);
    char *items = list_items(snap, list);
    size_t cap = n;

    if (!room)
        room = snap->room = wva_xcalloc(1, sizeof(*room));
    if (items && items == room->base[list] && n == room->count[list] && room->cap[list] > n)
        cap = room->cap[list];
    if (cap == n) {
        cap = n < 16 ? 16 : 2 * n;
        items = wva_xrealloc(items, cap * size);
        list_set_items(snap, list, items);
        room->base[list] = items;
        room->cap[list] = cap;
    }
    room->count[list] = n;
    memset(items + n * size, 0, size);
    return items + n * size;
}

/* Record a count set here, so that the room stays trusted. */
static void list_set_count(struct wva_snapshot *snap, enum snapshot_list list, size_t n)
{
    struct wva_snapshot_room *room = snap->room;

    if (room && list_valid(list) && room->base[list] == list_items(snap, list) &&
        room->count[list] == list_count(snap, list))
        room->count[list] = n;
    list_store_count(snap, list, n);
}

int snapshot_append_item(struct wva_snapshot *snap, enum snapshot_list list,
                         struct json_object *item, struct wva_error *err)
{
    struct jpath path = {{0}, 0};
    size_t n;
    void *slot;

    if (!list_valid(list)) {
        wva_error_set(err, "snapshot: unknown list %d", (int)list);
        return -1;
    }
    n = list_count(snap, list);
    jp_key(&path, list_kinds[list].key);
    if (n >= SNAPSHOT_MAX_ITEMS)
        return jp_fail_at(&path, "items", err, "%zu items exceed the limit of %u", n + 1,
                          SNAPSHOT_MAX_ITEMS);
    jp_key(&path, "items");
    jp_index(&path, n);
    if (jp_check(&path, item, JK_OBJECT, err) < 0)
        return -1;
    drop_index(snap);
    slot = list_slot(snap, list);
    if (list_kinds[list].read(&path, item, slot, err) < 0) {
        list_kinds[list].release(slot);
        return -1;
    }
    list_set_count(snap, list, n + 1);
    return 0;
}

size_t snapshot_list_count(const struct wva_snapshot *snap, enum snapshot_list list)
{
    if (!snap || !list_valid(list))
        return 0;
    return list_count(snap, list);
}

void snapshot_truncate_list(struct wva_snapshot *snap, enum snapshot_list list, size_t count)
{
    size_t n;
    char *items;

    if (!snap || !list_valid(list))
        return;
    n = list_count(snap, list);
    if (count >= n)
        return;
    drop_index(snap);
    items = list_items(snap, list);
    for (size_t i = count; i < n; i++)
        list_kinds[list].release(items + i * list_kinds[list].item_size);
    list_set_count(snap, list, count);
}
