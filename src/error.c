/* error.c - errors as values (see include/wva/error.h) and the one mapping
 * from error kinds to exit codes (include/wva/exit_codes.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wva/error.h"
#include "wva/exit_codes.h"

static void set_message(struct wva_error *err, const char *fmt, va_list ap)
{
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

void wva_error_set(struct wva_error *err, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    err->kind = WVA_ERR_INTERNAL;
    va_start(ap, fmt);
    set_message(err, fmt, ap);
    va_end(ap);
}

void wva_error_setk(struct wva_error *err, enum wva_error_kind kind, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    err->kind = kind;
    va_start(ap, fmt);
    set_message(err, fmt, ap);
    va_end(ap);
}

void wva_error_prefix(struct wva_error *err, const char *fmt, ...)
{
    char prefix[WVA_ERROR_MAX];
    char old[WVA_ERROR_MAX];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    size_t plen = strnlen(prefix, sizeof(err->msg) - 1);
    memcpy(err->msg, prefix, plen);
    size_t olen = strnlen(old, sizeof(err->msg) - 1 - plen);
    memcpy(err->msg + plen, old, olen);
    err->msg[plen + olen] = '\0';
}

void wva_error_clear(struct wva_error *err)
{
    if (!err)
        return;
    err->kind = WVA_ERR_NONE;
    err->msg[0] = '\0';
}

const char *wva_error_kind_name(enum wva_error_kind kind)
{
    switch (kind) {
    case WVA_ERR_NONE: return "none";
    case WVA_ERR_INTERNAL: return "internal";
    case WVA_ERR_USAGE: return "usage";
    case WVA_ERR_CONFIG: return "config";
    case WVA_ERR_INPUT: return "input";
    case WVA_ERR_UNREACHABLE: return "unreachable";
    case WVA_ERR_FORBIDDEN: return "forbidden";
    case WVA_ERR_NOT_FOUND: return "not-found";
    case WVA_ERR_CONFLICT: return "conflict";
    case WVA_ERR_SERVER: return "server";
    case WVA_ERR_STORE: return "store";
    case WVA_ERR_PARTIAL: return "partial";
    case WVA_ERR_CHECK_FAILED: return "check-failed";
    }
    return "unknown";
}

enum wva_exit_code wva_exit_code_for(enum wva_error_kind kind)
{
    switch (kind) {
    case WVA_ERR_NONE:
        return EXIT_OK;
    case WVA_ERR_USAGE:
    case WVA_ERR_CONFIG:
    case WVA_ERR_INPUT:
        return EXIT_USAGE;
    case WVA_ERR_PARTIAL:
        return EXIT_PARTIAL;
    case WVA_ERR_CHECK_FAILED:
        return EXIT_DOCTOR_FAILED;
    case WVA_ERR_INTERNAL:
    case WVA_ERR_UNREACHABLE:
    case WVA_ERR_FORBIDDEN:
    case WVA_ERR_NOT_FOUND:
    case WVA_ERR_CONFLICT:
    case WVA_ERR_SERVER:
    case WVA_ERR_STORE:
        break;
    }
    return EXIT_RUNTIME;
}
