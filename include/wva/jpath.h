/* jpath.h - reading a json-c tree with the JSON path of every value in
 * hand: the one place that checks types and words errors about them.
 *
 * A malformed document is reported the same way wherever the problem is:
 * "deployments.items[3].spec.replicas: expected integer, got \"abc\"".  The
 * path grows as a reader descends (jp_key, jp_index) and shrinks back
 * (jp_pop to the mark those returned); the getters extend it only when
 * there is something to report, because they run for every field of every
 * item.  A JSON null reads as an absent optional member, as Kubernetes' own
 * decoder does.
 *
 * A base module for the snapshot readers: it knows JSON and error
 * messages, nothing of Kubernetes or of what the document means.
 */
#ifndef WVA_JPATH_H
#define WVA_JPATH_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "wva/error.h"
#include "wva/kvlist.h"

/* Bytes of path text kept for messages: a deeper path is shown cut, and
 * ends in "..." so that the cut is visible. */
#define JPATH_MAX 512
/* Bytes of a string value any getter accepts. */
#define JPATH_MAX_STRING (1024u * 1024u)
/* Bytes of an offending value quoted in a message (jp_describe). */
#define JPATH_DESCRIBE_MAX 96

struct jpath {
    char buf[JPATH_MAX];
    size_t len;
    bool cut;               /* the text above lost its end */
};

/* The empty path (the document itself). */
void jp_init(struct jpath *p);

/* Push a member / an index; return the mark to restore with jp_pop. */
size_t jp_key(struct jpath *p, const char *key);
size_t jp_index(struct jpath *p, size_t i);
void jp_pop(struct jpath *p, size_t mark);

/* Set err to "path: message"; always returns -1, so that callers can
 * `return jp_fail(...)`.  jp_fail_at names the member key of the current
 * path. */
int jp_fail(const struct jpath *p, struct wva_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int jp_fail_at(struct jpath *p, const char *key, struct wva_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A value as a message shows it: its kind for containers, else its JSON
 * text (strings quoted), shortened with "..." to fit buf
 * (JPATH_DESCRIBE_MAX bytes).  Returns buf or a string owned by v. */
const char *jp_describe(struct json_object *v, char *buf, size_t size);

enum jkind { JK_OBJECT, JK_ARRAY, JK_STRING, JK_INT, JK_NUMBER, JK_BOOL, JK_QUANTITY };

/* Check the value at the current path: 0, or -1 with err. */
int jp_check(const struct jpath *p, struct json_object *v, enum jkind kind,
             struct wva_error *err);

/* Member key of obj, checked to be of kind.  Returns 1 with *out set, 0
 * when absent or null and not required (*out NULL), -1 with err naming
 * path.key. */
int jp_get(struct jpath *p, struct json_object *obj, const char *key, enum jkind kind,
           bool required, struct json_object **out, struct wva_error *err);

/* A string member of at most JPATH_MAX_STRING bytes; *out is borrowed from
 * obj.  Returns as jp_get. */
int jp_get_string(struct jpath *p, struct json_object *obj, const char *key, bool required,
                  const char **out, struct wva_error *err);

/* An integer member in [min, INT_MAX]; *out is left alone when absent. */
int jp_get_int(struct jpath *p, struct json_object *obj, const char *key, int min,
               bool required, int *out, struct wva_error *err);

/* A Kubernetes quantity member (string or JSON number), finite and >= 0;
 * optional. */
int jp_get_quantity(struct jpath *p, struct json_object *obj, const char *key, double *out,
                    struct wva_error *err);

/* Copy an object of strings into list (which must be empty); optional.
 * With scalars_as_text, numbers and booleans are taken in their JSON text
 * form (a settings object, where "60" and 60 mean the same).  On failure
 * list holds what was copied so far (the caller frees it). */
int jp_get_map(struct jpath *p, struct json_object *obj, const char *key,
               bool scalars_as_text, struct wva_kvlist *list, struct wva_error *err);

#endif
