/* json_split.h - finding the elements of a JSON document's big arrays
 * without building its tree, so that each element is parsed on its own.
 *
 * Why: json-c builds a tree of the whole document.  For a 60 MB snapshot
 * that is a ~1 GB tree, and allocating and releasing it costs more than
 * everything else together (measured: ~2 s of CPU).  So the scanner only
 * finds where the elements of the arrays the caller names start and end;
 * json-c then parses the rest of the document (the "skeleton", with those
 * arrays emptied) and each element on its own as it is read, so memory is
 * reused while it is hot.
 *
 * The scanner validates nothing and reports nothing: on anything
 * unexpected it gives up, and json_elements_get() reports an element that
 * is not valid JSON; the caller then parses the whole document instead,
 * which gives json-c's own error message and position.  A document whose
 * member paths are long or have many keys is not split (a checked limit,
 * never a cut path).
 *
 * A base module: it knows JSON text and json-c, nothing of what the
 * document means (the caller's role function says which arrays to split).
 */
#ifndef WVA_JSON_SPLIT_H
#define WVA_JSON_SPLIT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "wva/strbuf.h"

/* What to do with the member at a path: "pods/items", "metrics/custom/m"
 * (member names joined with '/', the document's own members first). */
enum json_split_role {
    JSON_SPLIT_SKIP,        /* a value like any other */
    JSON_SPLIT_DESCEND,     /* an object: look at its members */
    JSON_SPLIT_ARRAY,       /* an array: split it into its elements */
};
typedef enum json_split_role (*json_split_role_fn)(const char *path);

struct json_span {
    size_t start, end;          /* one element: text[start, end) */
};

struct json_split_array {
    char *id;                   /* its path */
    size_t open, close;         /* positions of its '[' and ']' */
    int depth;                  /* containers enclosing an element */
    struct json_span *items;
    size_t count, cap;
};

/* The document and the arrays found in it.  Set text, len and max_depth
 * (the nesting json-c may accept for the whole document); zero the rest. */
struct json_split {
    const char *text;
    size_t len;
    int max_depth;
    struct json_split_array *arrays;    /* in document order */
    size_t count, cap;
};

/* Scan d->text, record the arrays role() names, and append the skeleton
 * (the document with those arrays emptied) to skeleton.  false: not
 * splittable (d is left without arrays; skeleton is then meaningless). */
bool json_split_document(struct json_split *d, json_split_role_fn role,
                         struct wva_strbuf *skeleton);

/* Free the arrays found; d keeps its text.  Safe on a zeroed d. */
void json_split_release(struct json_split *d);

/* The elements of one array of the skeleton's tree: parsed one at a time
 * from the text when d split that array (found by its path id), else read
 * from arr itself. */
struct json_elements {
    struct json_object *arr;
    const struct json_split_array *split;
    const char *text;
    struct json_tokener *tok;
    struct json_object *cur;        /* the element last parsed (owned) */
};

/* Start on arr (NULL: no elements); returns the number of elements. */
size_t json_elements_open(struct json_elements *e, const struct json_split *d,
                          struct json_object *arr, const char *id);

/* Element i into *item (NULL for a JSON null), valid until the next call
 * or json_elements_close().  Returns 0, or -2 when its text is not valid
 * JSON: the caller then parses the whole document to report it. */
int json_elements_get(struct json_elements *e, size_t i, struct json_object **item);

void json_elements_close(struct json_elements *e);

#endif
