/* error.h - errors as values.
 *
 * Every fallible function returns 0 on success or -1 on failure and, on
 * failure, fills a caller-provided struct wva_error with a kind (what sort
 * of failure, as curl's CURLcode) and one sentence saying what went wrong
 * and where (object, field, value).  Nothing below main() prints errors or
 * picks an exit code: the command maps the kind to its exit code with
 * wva_exit_code_for() (exit_codes.h), the one place where that is decided.
 */
#ifndef WVA_ERROR_H
#define WVA_ERROR_H

#include <stddef.h>

#define WVA_ERROR_MAX 1024

enum wva_error_kind {
    WVA_ERR_NONE = 0,       /* no error recorded */
    WVA_ERR_INTERNAL,       /* unexpected: a bug or exhausted resources */
    WVA_ERR_USAGE,          /* the command line is wrong */
    WVA_ERR_CONFIG,         /* a setting, ConfigMap or kubeconfig value is wrong */
    WVA_ERR_INPUT,          /* an input document (snapshot, file) is malformed */
    WVA_ERR_UNREACHABLE,    /* no answer: connection, DNS, TLS, timeout */
    WVA_ERR_FORBIDDEN,      /* 401/403: the credentials may not do this */
    WVA_ERR_NOT_FOUND,      /* 404: the object does not exist */
    WVA_ERR_CONFLICT,       /* 409: the object changed meanwhile */
    WVA_ERR_SERVER,         /* the server answered with an error or nonsense */
    WVA_ERR_STORE,          /* the history store failed (I/O, busy, full) */
    WVA_ERR_PARTIAL,        /* some writes failed, the others were applied */
    WVA_ERR_CHECK_FAILED,   /* doctor: at least one check failed */
};

struct wva_error {
    enum wva_error_kind kind;
    char msg[WVA_ERROR_MAX];
};

/* Replace the message; the kind becomes WVA_ERR_INTERNAL (unclassified).
 * err may be NULL (the message is dropped).  Prefer wva_error_setk where
 * the kind is known. */
void wva_error_set(struct wva_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Replace kind and message. */
void wva_error_setk(struct wva_error *err, enum wva_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend context ("while reading X: ") to the current message; the kind is
 * kept. */
void wva_error_prefix(struct wva_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clear kind and message. */
void wva_error_clear(struct wva_error *err);

/* A short stable name for a kind ("config", "unreachable", ...), for logs
 * and JSON. */
const char *wva_error_kind_name(enum wva_error_kind kind);

#endif
