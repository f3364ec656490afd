/* error.h - errors as values.
 *
 * Every fallible function returns 0 on success or -1 on failure and, on
 * failure, fills a caller-provided struct wva_error with one sentence saying
 * what went wrong and where (object, field, value).  Nothing below main()
 * prints errors; the caller decides what to tell the user.
 */
#ifndef WVA_ERROR_H
#define WVA_ERROR_H

#include <stddef.h>

#define WVA_ERROR_MAX 1024

struct wva_error {
    char msg[WVA_ERROR_MAX];
};

/* Replace the message.  err may be NULL (the message is dropped). */
void wva_error_set(struct wva_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepend context ("while reading X: ") to the current message. */
void wva_error_prefix(struct wva_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clear the message. */
void wva_error_clear(struct wva_error *err);

#endif
