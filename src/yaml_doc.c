/* yaml_doc.c - a small read-only YAML tree, built from libyaml's event
 * stream (yaml_parser_parse), for ConfigMap values and kubeconfig files.
 *
 * Why events rather than libyaml's document loader: the loader expands
 * aliases (a "billion laughs" document explodes in memory) and only lets us
 * check bounds after everything is built.  Walking events we refuse anchors
 * and aliases, and stop at the size, depth and node-count bounds of the
 * header as soon as they are crossed.  The documents are untrusted; every
 * error names the line and column (1-based) libyaml reports.
 *
 * This module knows YAML only: no ConfigMap or kubeconfig semantics.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "wva/strbuf.h"
#include "wva/yaml_doc.h"

struct yaml_node {
    enum yaml_node_kind kind;
    char *scalar;                   /* YAML_NODE_SCALAR only */
    char **keys;                    /* YAML_NODE_MAP only, count entries */
    struct yaml_node **children;    /* map values or sequence items */
    size_t count;
    size_t cap;
};

/* One open collection while events arrive. */
struct frame {
    struct yaml_node *node;
    char *pending_key;              /* map: key read, value not yet */
    yaml_mark_t start;
};

struct builder {
    struct frame stack[YAML_DOC_MAX_DEPTH];
    int depth;
    size_t nodes;
    struct yaml_node *root;
    struct wva_error *err;
};

static struct yaml_node *node_new(enum yaml_node_kind kind)
{
    struct yaml_node *n = wva_xcalloc(1, sizeof(*n));

    n->kind = kind;
    return n;
}

void yaml_doc_free(struct yaml_node *root)
{
    if (!root)
        return;
    for (size_t i = 0; i < root->count; i++) {
        if (root->keys)
            free(root->keys[i]);
        yaml_doc_free(root->children[i]);
    }
    free(root->keys);
    free(root->children);
    free(root->scalar);
    free(root);
}

static void node_append(struct yaml_node *parent, char *key, struct yaml_node *child)
{
    if (parent->count == parent->cap) {
        parent->cap = parent->cap ? parent->cap * 2 : 4;
        parent->children = wva_xrealloc(parent->children,
                                        parent->cap * sizeof(*parent->children));
        if (parent->kind == YAML_NODE_MAP)
            parent->keys = wva_xrealloc(parent->keys, parent->cap * sizeof(*parent->keys));
    }
    if (parent->kind == YAML_NODE_MAP)
        parent->keys[parent->count] = key;
    parent->children[parent->count++] = child;
}

static void set_mark_error(struct wva_error *err, yaml_mark_t mark, const char *what)
{
    wva_error_set(err, "line %zu column %zu: %s", mark.line + 1, mark.column + 1, what);
}

/* Plain scalars spelled as YAML nulls are nulls; a quoted or !!str-tagged
 * "null" stays a string. */
static bool scalar_is_null(const yaml_event_t *ev)
{
    const char *tag = (const char *)ev->data.scalar.tag;
    const char *v = (const char *)ev->data.scalar.value;

    if (tag)
        return strcmp(tag, YAML_NULL_TAG) == 0;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Attaches a finished or newly opened node to the open collection (or makes
 * it the root).  A scalar arriving where a map expects a key becomes the
 * key.  Takes ownership of node on success and on failure. */
static int attach(struct builder *b, struct yaml_node *node, yaml_mark_t mark)
{
    struct frame *top;

    if (b->depth == 0) {
        b->root = node;
        return 0;
    }
    top = &b->stack[b->depth - 1];
    if (top->node->kind == YAML_NODE_SEQ) {
        node_append(top->node, NULL, node);
        return 0;
    }
    if (!top->pending_key) {
        if (node->kind == YAML_NODE_MAP || node->kind == YAML_NODE_SEQ) {
            set_mark_error(b->err, mark, "complex (non-scalar) map keys are not supported");
            yaml_doc_free(node);
            return -1;
        }
        top->pending_key = node->scalar;
        node->scalar = NULL;
        yaml_doc_free(node);
        return 0;
    }
    node_append(top->node, top->pending_key, node);
    top->pending_key = NULL;
    return 0;
}

static int count_node(struct builder *b, yaml_mark_t mark)
{
    if (++b->nodes > YAML_DOC_MAX_NODES) {
        wva_error_set(b->err, "line %zu column %zu: more than %u nodes in one document",
                      mark.line + 1, mark.column + 1, (unsigned)YAML_DOC_MAX_NODES);
        return -1;
    }
    return 0;
}

static int refuse_anchor(struct builder *b, const yaml_char_t *anchor, yaml_mark_t mark)
{
    if (!anchor)
        return 0;
    wva_error_set(b->err, "line %zu column %zu: aliases are not supported (anchor &%s)",
                  mark.line + 1, mark.column + 1, (const char *)anchor);
    return -1;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Duplicate keys are a YAML error that libyaml does not check; Kubernetes
 * refuses them too.  Sorting a copy keeps this O(n log n) on big maps. */
static int check_duplicate_keys(struct builder *b, const struct frame *f)
{
    struct yaml_node *map = f->node;
    char **sorted;
    int rc = 0;

    if (map->count < 2)
        return 0;
    sorted = wva_xmalloc(map->count * sizeof(*sorted));
    memcpy(sorted, map->keys, map->count * sizeof(*sorted));
    qsort(sorted, map->count, sizeof(*sorted), cmp_str_ptr);
    for (size_t i = 1; i < map->count; i++) {
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            wva_error_set(b->err, "line %zu column %zu: duplicate key \"%.64s\" in this map",
                          f->start.line + 1, f->start.column + 1, sorted[i]);
            rc = -1;
            break;
        }
    }
    free(sorted);
    return rc;
}

static bool expecting_key(const struct builder *b)
{
    const struct frame *top = b->depth ? &b->stack[b->depth - 1] : NULL;

    return top && top->node->kind == YAML_NODE_MAP && !top->pending_key;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
    struct yaml_node *node;

    if (refuse_anchor(b, ev->data.scalar.anchor, ev->start_mark) ||
        count_node(b, ev->start_mark))
        return -1;
    if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length)) {
        set_mark_error(b->err, ev->start_mark, "NUL character in a scalar");
        return -1;
    }
    /* A null in key position keeps its text as the key's name. */
    if (!expecting_key(b) && scalar_is_null(ev))
        return attach(b, node_new(YAML_NODE_NULL), ev->start_mark);
    node = node_new(YAML_NODE_SCALAR);
    node->scalar = wva_xstrdup((const char *)ev->data.scalar.value);
    return attach(b, node, ev->start_mark);
}

static int on_collection_start(struct builder *b, const yaml_event_t *ev,
                               enum yaml_node_kind kind)
{
    const yaml_char_t *anchor = kind == YAML_NODE_MAP ? ev->data.mapping_start.anchor
                                                      : ev->data.sequence_start.anchor;
    struct yaml_node *node;

    if (refuse_anchor(b, anchor, ev->start_mark) || count_node(b, ev->start_mark))
        return -1;
    if (b->depth == YAML_DOC_MAX_DEPTH) {
        wva_error_set(b->err, "line %zu column %zu: nesting deeper than %d levels",
                      ev->start_mark.line + 1, ev->start_mark.column + 1, YAML_DOC_MAX_DEPTH);
        return -1;
    }
    node = node_new(kind);
    if (attach(b, node, ev->start_mark))
        return -1;
    b->stack[b->depth].node = node;
    b->stack[b->depth].pending_key = NULL;
    b->stack[b->depth].start = ev->start_mark;
    b->depth++;
    return 0;
}

static int on_collection_end(struct builder *b)
{
    struct frame *f = &b->stack[b->depth - 1];
    int rc = 0;

    if (f->node->kind == YAML_NODE_MAP)
        rc = check_duplicate_keys(b, f);
    b->depth--;
    return rc;
}

static void set_parser_error(struct wva_error *err, const yaml_parser_t *parser)
{
    const char *problem = parser->problem ? parser->problem : "malformed YAML";

    if (parser->error == YAML_MEMORY_ERROR) {
        wva_error_set(err, "out of memory while parsing YAML");
    } else if (parser->context) {
        wva_error_set(err, "line %zu column %zu: %s (%s at line %zu column %zu)",
                      parser->problem_mark.line + 1, parser->problem_mark.column + 1,
                      problem, parser->context, parser->context_mark.line + 1,
                      parser->context_mark.column + 1);
    } else {
        wva_error_set(err, "line %zu column %zu: %s", parser->problem_mark.line + 1,
                      parser->problem_mark.column + 1, problem);
    }
}

struct yaml_node *yaml_doc_parse(const char *text, size_t len, struct wva_error *err)
{
    struct builder b;
    yaml_parser_t parser;
    yaml_event_t ev;
    bool done = false, ok = false;

    memset(&b, 0, sizeof(b));
    b.err = err;
    if (!text && len > 0) {
        wva_error_set(err, "no YAML text");
        return NULL;
    }
    if (len > YAML_DOC_MAX_BYTES) {
        wva_error_set(err, "YAML document of %zu bytes exceeds the limit of %u bytes",
                      len, (unsigned)YAML_DOC_MAX_BYTES);
        return NULL;
    }
    if (!yaml_parser_initialize(&parser)) {
        wva_error_set(err, "out of memory initialising the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""), len);
    while (!done) {
        int rc = 0;

        if (!yaml_parser_parse(&parser, &ev)) {
            set_parser_error(err, &parser);
            goto out;
        }
        switch (ev.type) {
        case YAML_SCALAR_EVENT:
            rc = on_scalar(&b, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = on_collection_start(&b, &ev, YAML_NODE_SEQ);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = on_collection_start(&b, &ev, YAML_NODE_MAP);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = on_collection_end(&b);
            break;
        case YAML_ALIAS_EVENT:
            wva_error_set(err, "line %zu column %zu: aliases are not supported (alias *%s)",
                          ev.start_mark.line + 1, ev.start_mark.column + 1,
                          (const char *)ev.data.alias.anchor);
            rc = -1;
            break;
        case YAML_DOCUMENT_END_EVENT:   /* only the first document counts */
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc)
            goto out;
    }
    if (!b.root)
        b.root = node_new(YAML_NODE_NULL);
    ok = true;
out:
    yaml_parser_delete(&parser);
    if (!ok) {
        /* Open frames hold keys not yet attached; the nodes themselves are
         * all reachable from the root. */
        for (int i = 0; i < b.depth; i++)
            free(b.stack[i].pending_key);
        yaml_doc_free(b.root);
        return NULL;
    }
    return b.root;
}

enum yaml_node_kind yaml_node_kind(const struct yaml_node *node)
{
    return node ? node->kind : YAML_NODE_NULL;
}

const char *yaml_node_scalar(const struct yaml_node *node)
{
    return node && node->kind == YAML_NODE_SCALAR ? node->scalar : NULL;
}

size_t yaml_node_size(const struct yaml_node *node)
{
    if (!node || (node->kind != YAML_NODE_MAP && node->kind != YAML_NODE_SEQ))
        return 0;
    return node->count;
}

const char *yaml_node_map_key(const struct yaml_node *node, size_t i)
{
    if (!node || node->kind != YAML_NODE_MAP || i >= node->count)
        return NULL;
    return node->keys[i];
}

const struct yaml_node *yaml_node_map_value(const struct yaml_node *node, size_t i)
{
    if (!node || node->kind != YAML_NODE_MAP || i >= node->count)
        return NULL;
    return node->children[i];
}

const struct yaml_node *yaml_node_get(const struct yaml_node *node, const char *key)
{
    if (!node || node->kind != YAML_NODE_MAP || !key)
        return NULL;
    for (size_t i = 0; i < node->count; i++)
        if (strcmp(node->keys[i], key) == 0)
            return node->children[i];
    return NULL;
}

const struct yaml_node *yaml_node_item(const struct yaml_node *node, size_t i)
{
    if (!node || node->kind != YAML_NODE_SEQ || i >= node->count)
        return NULL;
    return node->children[i];
}
