/* warnings.h - the warnings of one run, in the order found: ignored
 * ConfigMap entries, dropped samples and the like, shown in the plan.
 *
 * A base module: whoever finds something worth telling adds it; the plan
 * shows them.  Ownership: the list owns its strings and array;
 * wva_warnings_free() releases them.  A zero-initialised list is empty.
 */
#ifndef WVA_WARNINGS_H
#define WVA_WARNINGS_H

#include <stddef.h>

struct wva_warnings {
    char **items;           /* exactly count strings (malloc'd, or NULL) */
    size_t count;
};

/* Append a formatted warning.  w NULL is a no-op. */
void wva_warnings_add(struct wva_warnings *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append msg (malloc'd; the list takes it over) unless an identical
 * warning is already there, in which case msg is freed: for findings that
 * show up once per model they touch. */
void wva_warnings_add_once(struct wva_warnings *w, char *msg);

/* Free the strings and the array; the list becomes empty.  NULL is a no-op. */
void wva_warnings_free(struct wva_warnings *w);

#endif
