/* secret.h - secrets in memory: bearer tokens, private keys, files that
 * may hold either (kubeconfigs).
 *
 * A secret is overwritten before its memory is released, so that it does
 * not linger in the heap for a later bug (or a core dump, which main also
 * forbids) to expose.  Every module that holds a secret frees it with these
 * helpers; none writes its own wiping loop.  Reading a secret file is here
 * too, so that every token file is read with the same bounds, the same
 * trimming and the same errors, and never copied around by realloc.
 *
 * This module knows memory and files; it knows nothing of HTTP, Kubernetes
 * or Prometheus, and its error messages never quote a secret.
 */
#ifndef WVA_SECRET_H
#define WVA_SECRET_H

#include <stddef.h>

#include "wva/error.h"
#include "wva/strbuf.h"

/* Token files are small: a file larger than this is not a token. */
#define WVA_SECRET_TOKEN_MAX (64u * 1024u)

/* Overwrite len bytes at buf in a way the compiler may not optimise away
 * (explicit_bzero).  NULL is a no-op. */
void wva_secret_wipe(void *buf, size_t len);

/* Wipe a NUL-terminated secret, then free() it.  NULL is a no-op. */
void wva_secret_free(char *s);

/* Wipe a buffer's whole capacity, then release it (empty afterwards). */
void wva_secret_strbuf_release(struct wva_strbuf *sb);

/* Read the whole file at path, at most max bytes, into a NUL-terminated
 * buffer the caller frees with wva_secret_free() (or wipes; *len, when not
 * NULL, is its length).  Growth copies are wiped too.  NULL + err (kind
 * WVA_ERR_CONFIG) on failure: "WHAT PATH: cannot open: REASON", "WHAT
 * PATH: cannot read: REASON", "WHAT PATH: larger than MAX bytes"; what
 * names the setting or field the path came from. */
char *wva_secret_read_file(const char *what, const char *path, size_t max, size_t *len,
                           struct wva_error *err);

/* A token file: read as above (at most WVA_SECRET_TOKEN_MAX bytes), with
 * surrounding whitespace removed (tools write a trailing newline).  Refused
 * when it holds a NUL byte or nothing but whitespace ("WHAT PATH: contains
 * a NUL byte", "WHAT PATH: empty").  Free with wva_secret_free(). */
char *wva_secret_read_token(const char *what, const char *path, struct wva_error *err);

#endif
