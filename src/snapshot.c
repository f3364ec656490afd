/* snapshot.c - the snapshot document of SPEC section 8 read into struct
 * wva_snapshot (see include/wva/snapshot.h).
 *
 * json-c parses the document (strict, depth-limited); the code below walks
 * the tree once, copies the few fields the engine reads and drops the
 * tree.  For speed the big arrays (List items, metric results) are parsed
 * one element at a time (json_split.h); the result is the same as parsing
 * the whole tree, which is what happens on any doubt.  Each Kubernetes
 * object goes through snapshot_append_item(), as in live runs.
 *
 * This module knows the document's shape; the objects' fields are
 * k8s_objects.c's, the type checks jpath.c's.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wva/json_split.h"
#include "wva/jpath.h"
#include "wva/snapshot_index.h"
#include "wva/snapshot_lists.h"
#include "wva/snapshot_model.h"
#include "wva/snapshot.h"
#include "wva/strbuf.h"
#include "wva/values.h"

#define SNAPSHOT_MAX_BYTES ((size_t)512 * 1024 * 1024)
#define SNAPSHOT_MAX_DEPTH 64
/* Samples per metrics series: far above any real cluster, low enough that
 * a hostile input cannot make the run allocate without end. */
#define SNAPSHOT_MAX_SAMPLES 5000000u

/* Which arrays the splitter parses element by element: the items of every
 * List and the metric results (named and custom). */
static enum json_split_role split_role(const char *path)
{
    const struct snapshot_metric *fields;
    size_t nfields;

    if (strncmp(path, "metrics", 7) == 0 && (path[7] == '\0' || path[7] == '/')) {
        if (!path[7])
            return JSON_SPLIT_DESCEND;
        path += 8;
        if (strncmp(path, "custom/", 7) == 0)
            return JSON_SPLIT_ARRAY;
        if (strcmp(path, "custom") == 0)
            return JSON_SPLIT_DESCEND;
        fields = snapshot_metrics(&nfields);
        for (size_t f = 0; f < nfields; f++)
            if (strcmp(path, fields[f].key) == 0)
                return JSON_SPLIT_ARRAY;
        return JSON_SPLIT_SKIP;
    }
    for (size_t l = 0; l < SNAPSHOT_LISTS; l++) {
        const char *key = snapshot_list_key((enum snapshot_list)l);
        size_t n = strlen(key);

        if (strncmp(path, key, n) != 0)
            continue;
        if (path[n] == '\0')
            return JSON_SPLIT_DESCEND;
        if (path[n] == '/' && strcmp(path + n + 1, "items") == 0)
            return JSON_SPLIT_ARRAY;
    }
    return JSON_SPLIT_SKIP;
}

/* A Kubernetes List object at root[key], its items appended to the list
 * of snap one by one with snapshot_append_item() (the live runs' way too,
 * so both read objects the same way and word errors alike).  Returns 1,
 * 0 (absent, optional), -1 (err set) or -2 (an element is not valid
 * JSON). */
static int read_list(const struct json_split *d, struct jpath *p, struct json_object *root,
                     enum snapshot_list kind, bool required, struct wva_snapshot *snap,
                     struct wva_error *err)
{
    const char *key = snapshot_list_key(kind);
    struct json_object *list, *arr, *item;
    struct json_elements e;
    struct wva_strbuf id = WVA_STRBUF_INIT;
    size_t mark, n;
    int rc = jp_get(p, root, key, JK_OBJECT, required, &list, err);

    if (rc <= 0)
        return rc;
    mark = jp_key(p, key);
    if (!json_object_object_get_ex(list, "items", NULL))
        return jp_fail_at(p, "items", err, "missing");
    /* "items": null is how Go writes an empty list. */
    if (jp_get(p, list, "items", JK_ARRAY, false, &arr, err) < 0)
        return -1;
    wva_strbuf_addf(&id, "%s/items", key);
    n = json_elements_open(&e, d, arr, wva_strbuf_str(&id));
    wva_strbuf_release(&id);
    if (n > SNAPSHOT_MAX_ITEMS) {
        json_elements_close(&e);
        return jp_fail_at(p, "items", err, "%zu items exceed the limit of %u", n,
                          SNAPSHOT_MAX_ITEMS);
    }
    snapshot_reserve_list(snap, kind, n);
    rc = 1;
    for (size_t i = 0; i < n && rc > 0; i++) {
        if ((rc = json_elements_get(&e, i, &item)) < 0)
            break;
        rc = snapshot_append_item(snap, kind, item, err) < 0 ? -1 : 1;
    }
    json_elements_close(&e);
    jp_pop(p, mark);
    return rc;
}

/* "<number ts>, "<string value>"" of one instant-vector sample. */
static int read_sample_value(struct jpath *p, struct json_object *sample, double *value,
                             struct wva_error *err)
{
    struct json_object *pair, *v;
    char buf[JPATH_DESCRIBE_MAX];
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
        return jp_fail(p, err, "expected numeric string, got %s", jp_describe(v, buf, sizeof(buf)));
    jp_pop(p, mark);
    return 0;
}

/* An instant-vector result array (id names it for the splitter); NaN/Inf
 * samples are dropped (counted).  0, -1 or -2 as read_list. */
static int read_series(const struct json_split *d, struct jpath *p, struct json_object *arr,
                       const char *id, struct wva_series *out, size_t *dropped,
                       struct wva_error *err)
{
    struct json_object *sample;
    struct json_elements e;
    size_t n = json_elements_open(&e, d, arr, id);
    int rc = 0;

    if (n > SNAPSHOT_MAX_SAMPLES) {
        json_elements_close(&e);
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
        if ((rc = json_elements_get(&e, i, &sample)) < 0)
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
    json_elements_close(&e);
    return rc;
}

static int read_metrics(const struct json_split *d, struct jpath *p, struct json_object *root,
                        struct wva_metrics *m, struct wva_error *err)
{
    struct json_object *obj, *arr, *custom;
    struct json_object_iterator it, end;
    struct wva_strbuf id = WVA_STRBUF_INIT;
    const struct snapshot_metric *fields;
    const char *prom_error;
    size_t mark, n, nfields;
    int rc = jp_get(p, root, "metrics", JK_OBJECT, false, &obj, err);

    if (rc <= 0)
        return rc;
    rc = -1;
    mark = jp_key(p, "metrics");
    fields = snapshot_metrics(&nfields);
    for (size_t f = 0; f < nfields; f++) {
        struct wva_series *series = snapshot_metric_series(m, &fields[f]);
        size_t mark2;

        if (jp_get(p, obj, fields[f].key, JK_ARRAY, false, &arr, err) < 0)
            goto out;
        if (!arr)
            continue;
        mark2 = jp_key(p, fields[f].key);
        wva_strbuf_reset(&id);
        wva_strbuf_addf(&id, "metrics/%s", fields[f].key);
        rc = read_series(d, p, arr, wva_strbuf_str(&id), series, &m->nonfinite_dropped, err);
        if (rc < 0)
            goto out;
        jp_pop(p, mark2);
    }
    rc = -1;
    if (jp_get(p, obj, "custom", JK_OBJECT, false, &custom, err) < 0)
        goto out;
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
            wva_strbuf_reset(&id);
            wva_strbuf_addf(&id, "metrics/custom/%s", name);
            rc = -1;
            if (jp_check(p, series, JK_ARRAY, err) < 0)
                goto out;
            rc = read_series(d, p, series, wva_strbuf_str(&id), &cs->series,
                             &m->nonfinite_dropped, err);
            if (rc < 0)
                goto out;
            jp_pop(p, mark2);
        }
        jp_pop(p, mark_custom);
    }
    rc = -1;
    if (jp_get_string(p, obj, "prometheusError", false, &prom_error, err) < 0)
        goto out;
    m->prometheus_error = wva_xstrdup(prom_error);
    jp_pop(p, mark);
    rc = 0;
out:
    wva_strbuf_release(&id);
    return rc;
}

/* 0, -1 (err set) or -2 (an element is not valid JSON). */
static int read_document(const struct json_split *d, struct json_object *root,
                         struct wva_snapshot *snap, struct wva_error *err)
{
    static const struct {
        enum snapshot_list kind;
        bool required;
    } lists[SNAPSHOT_LISTS] = {
        {SNAPSHOT_NAMESPACES, true}, {SNAPSHOT_VAS, true}, {SNAPSHOT_DEPLOYMENTS, true},
        {SNAPSHOT_PODS, true}, {SNAPSHOT_CONFIGMAPS, true}, {SNAPSHOT_NODES, false},
    };
    struct jpath path;
    struct jpath *p = &path;
    struct json_object *v;
    char buf[JPATH_DESCRIBE_MAX];
    const char *text;
    int version = 0, rc = 0;

    jp_init(p);
    if (jp_check(p, root, JK_OBJECT, err) < 0 ||
        jp_get_string(p, root, "kind", true, &text, err) < 0)
        return -1;
    if (strcmp(text, "WVASnapshot") != 0)
        return jp_fail_at(p, "kind", err, "expected \"WVASnapshot\", got %s",
                          jp_describe(json_object_object_get(root, "kind"), buf, sizeof(buf)));
    if (jp_get_int(p, root, "version", INT_MIN, true, &version, err) < 0)
        return -1;
    if (version != SNAPSHOT_DOCUMENT_VERSION)
        return jp_fail_at(p, "version", err, "expected %d, got %d", SNAPSHOT_DOCUMENT_VERSION,
                          version);
    if (jp_get(p, root, "capturedAt", JK_STRING, true, &v, err) < 0)
        return -1;
    if (values_parse_rfc3339(json_object_get_string(v), &snap->captured_at_epoch, NULL) < 0)
        return jp_fail_at(p, "capturedAt", err, "expected RFC 3339 timestamp, got %s",
                          jp_describe(v, buf, sizeof(buf)));
    snap->captured_at = wva_xstrdup(json_object_get_string(v));
    if (jp_get_map(p, root, "settings", true, &snap->settings, err) < 0)
        return -1;
    /* in document order; "nodes" is the only optional list */
    for (size_t l = 0; l < SNAPSHOT_LISTS; l++)
        if ((rc = read_list(d, p, root, lists[l].kind, lists[l].required, snap, err)) < 0)
            return rc;
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
    struct json_split d = {text, len, SNAPSHOT_MAX_DEPTH, NULL, 0, 0};
    struct wva_strbuf skeleton = WVA_STRBUF_INIT;
    struct json_object *root = NULL;
    struct wva_snapshot *snap = NULL;
    int rc = -2;

    if (split) {
        if (!json_split_document(&d, split_role, &skeleton) ||
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
    json_split_release(&d);
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
