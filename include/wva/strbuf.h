/* strbuf.h - the one growable byte buffer of the project.
 *
 * Always NUL-terminated.  A zero-initialised struct (WVA_STRBUF_INIT) is a
 * valid empty buffer.  Allocation failure aborts: a process that cannot
 * allocate a few kilobytes cannot autoscale anything safely.
 */
#ifndef WVA_STRBUF_H
#define WVA_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct wva_strbuf {
    char *buf;    /* NULL until the first append; use wva_strbuf_str() */
    size_t len;
    size_t cap;
};

#define WVA_STRBUF_INIT {NULL, 0, 0}

void wva_strbuf_add(struct wva_strbuf *sb, const char *data, size_t len);
void wva_strbuf_adds(struct wva_strbuf *sb, const char *s);
void wva_strbuf_addf(struct wva_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void wva_strbuf_vaddf(struct wva_strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* The contents, never NULL ("" when empty).  Owned by sb. */
const char *wva_strbuf_str(const struct wva_strbuf *sb);
void wva_strbuf_reset(struct wva_strbuf *sb);
/* Hand the buffer to the caller (free() it); sb becomes empty. */
char *wva_strbuf_detach(struct wva_strbuf *sb);
void wva_strbuf_release(struct wva_strbuf *sb);

/* Allocation helpers that abort on out-of-memory (see above). */
void *wva_xmalloc(size_t n);
void *wva_xcalloc(size_t count, size_t size);
void *wva_xrealloc(void *p, size_t n);
char *wva_xstrdup(const char *s);           /* NULL in, NULL out */

#endif
