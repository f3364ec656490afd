/* strbuf.c - growable buffer and aborting allocators. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wva/strbuf.h"

static void out_of_memory(size_t n)
{
    fprintf(stderr, "wva-optimizer: out of memory allocating %zu bytes\n", n);
    abort();
}

void *wva_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        out_of_memory(n);
    return p;
}

void *wva_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);

    if (!p)
        out_of_memory(count * size);
    return p;
}

void *wva_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        out_of_memory(n);
    return q;
}

char *wva_xstrdup(const char *s)
{
    char *d;
    size_t n;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    d = wva_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

static void grow(struct wva_strbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;

    if (need <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    sb->buf = wva_xrealloc(sb->buf, cap);
    sb->cap = cap;
}

void wva_strbuf_add(struct wva_strbuf *sb, const char *data, size_t len)
{
    grow(sb, len);
    if (len)
        memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
}

void wva_strbuf_adds(struct wva_strbuf *sb, const char *s)
{
    wva_strbuf_add(sb, s, strlen(s));
}

void wva_strbuf_vaddf(struct wva_strbuf *sb, const char *fmt, va_list ap)
{
    char small[256];
    va_list again;
    int n;

    /* Format into a stack buffer first: most lines are short, and it avoids
     * a second pass for them. */
    va_copy(again, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    if (n >= 0 && (size_t)n < sizeof(small)) {
        wva_strbuf_add(sb, small, (size_t)n);
    } else if (n >= 0) {
        grow(sb, (size_t)n);
        vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, again);
        sb->len += (size_t)n;
    }
    va_end(again);
}

void wva_strbuf_addf(struct wva_strbuf *sb, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    wva_strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

const char *wva_strbuf_str(const struct wva_strbuf *sb)
{
    return sb->buf ? sb->buf : "";
}

void wva_strbuf_reset(struct wva_strbuf *sb)
{
    sb->len = 0;
    if (sb->buf)
        sb->buf[0] = '\0';
}

char *wva_strbuf_detach(struct wva_strbuf *sb)
{
    char *p = sb->buf ? sb->buf : wva_xstrdup("");

    sb->buf = NULL;
    sb->len = sb->cap = 0;
    return p;
}

void wva_strbuf_release(struct wva_strbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}
