/* error.c - errors as values (see include/wva/error.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wva/error.h"

void wva_error_set(struct wva_error *err, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
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
    if (err)
        err->msg[0] = '\0';
}
